// core/envelope.ts on its own: the checks prepareEnvelope makes once at submit (every bad field a
// usage error), the MAIL and RCPT lines for each combination of what the server advertised
// (RFC 5321 §3.3; SIZE RFC 1870, BODY RFC 6152 / RFC 3030, SMTPUTF8 RFC 6531, DSN RFC 3461,
// REQUIRETLS RFC 8689), and the per-connection path cache (never a different answer, bounded).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { noCapabilities, type Capabilities } from '../core/capabilities.ts';
import { createPathCache, mailCommand, prepareEnvelope, rcptCommand, type Envelope } from '../core/envelope.ts';
import { SmtpCapabilityError, SmtpUsageError } from '../core/errors.ts';
import { asciiAddress } from '../core/idn.ts';

const usage = (e: unknown) => e instanceof SmtpUsageError;
const capability = (e: unknown) => e instanceof SmtpCapabilityError;
const caps = (over: Partial<Capabilities> = {}): Capabilities => ({ ...noCapabilities(), esmtp: true, ...over });
const ALL = caps({ size: 1000, eightBitMime: true, binaryMime: true, chunking: true, smtpUtf8: true, dsn: true, requireTls: true });

test('prepareEnvelope: every malformed field is a usage error at submit', () => {
  const good: Envelope = { from: 'a@x.org', to: ['b@x.org'] };
  const bad: [string, unknown][] = [
    ['not an object', null],
    ['from not a string', { ...good, from: 42 }],
    ['to missing', { from: 'a@x.org' }],
    ['to empty', { ...good, to: [] }],
    ['to not an array', { ...good, to: 'b@x.org' }],
    ['empty recipient', { ...good, to: [''] }],
    ['recipient spec with empty address', { ...good, to: [{ address: '' }] }],
    ['recipient spec not an object', { ...good, to: [null] }],
    ['CRLF in a recipient', { ...good, to: ['b@x.org>\r\nRCPT TO:<c@y.org'] }],
    ['no domain', { ...good, from: 'a@' }],
    ['notify empty list', { ...good, to: [{ address: 'b@x.org', notify: [] }] }],
    ['notify unknown value', { ...good, to: [{ address: 'b@x.org', notify: ['SOMETIMES'] }] }],
    ['notify NEVER inside a list', { ...good, to: [{ address: 'b@x.org', notify: ['NEVER'] }] }],
    ['size negative', { ...good, size: -1 }],
    ['size fractional', { ...good, size: 1.5 }],
    ['size unsafe', { ...good, size: 2 ** 53 }],
    ['size NaN', { ...good, size: NaN }],
    ['body unknown', { ...good, body: '8BIT' }],
    ['ret unknown', { ...good, dsn: { ret: 'BODY' } }],
    ['envid over 100 once encoded', { ...good, dsn: { envid: '+'.repeat(34) } }],
  ];
  for (const [what, env] of bad) assert.throws(() => prepareEnvelope(env as Envelope), usage, what);
  // The limits themselves are fine: 33 '+' are 99 octets of xtext, size 0 is a size.
  prepareEnvelope({ ...good, size: 0, dsn: { envid: '+'.repeat(33) } });
});

test('MAIL: the null sender is <>, parameters only for what the server advertised, in a fixed order', () => {
  const env = prepareEnvelope({
    from: '',
    to: ['b@x.org'],
    size: 10,
    body: '8BITMIME',
    dsn: { ret: 'HDRS', envid: 'id 1' },
    requireTls: true,
  });
  assert.is(mailCommand(env, ALL, true), 'MAIL FROM:<> SIZE=10 BODY=8BITMIME RET=HDRS ENVID=id+201 REQUIRETLS');
  const plain = prepareEnvelope({ from: 'a@x.org', to: ['b@x.org'], size: 10, dsn: { ret: 'FULL' } });
  assert.is(mailCommand(plain, caps(), false), 'MAIL FROM:<a@x.org>', 'no SIZE and no DSN unless advertised');
  assert.is(mailCommand(plain, caps({ size: 0 }), false), 'MAIL FROM:<a@x.org> SIZE=10', 'SIZE with no limit: declared, never refused');
});

test('MAIL: a message the server cannot take is a capability error naming what is missing', () => {
  const cases: [Envelope, Capabilities, boolean, RegExp][] = [
    [{ from: 'a@x.org', to: ['b@x.org'], size: 1001 }, ALL, true, /SIZE limit of 1000/],
    [{ from: 'a@x.org', to: ['b@x.org'], body: '8BITMIME' }, caps(), true, /8BITMIME/],
    [{ from: 'a@x.org', to: ['b@x.org'], body: 'BINARYMIME' }, caps({ binaryMime: true }), true, /BINARYMIME and CHUNKING/],
    [{ from: 'a@x.org', to: ['b@x.org'], body: 'BINARYMIME' }, caps({ chunking: true }), true, /BINARYMIME and CHUNKING/],
    [{ from: 'a@x.org', to: ['jörg@x.org'] }, caps(), true, /SMTPUTF8/],
    [{ from: 'a@x.org', to: ['b@x.org'], smtpUtf8: true }, caps(), true, /SMTPUTF8/],
    [{ from: 'a@x.org', to: ['b@x.org'], requireTls: true }, ALL, false, /REQUIRETLS/],
    [{ from: 'a@x.org', to: ['b@x.org'], requireTls: true }, caps(), true, /REQUIRETLS/],
  ];
  for (const [env, c, secure, message] of cases) {
    assert.throws(
      () => mailCommand(prepareEnvelope(env), c, secure),
      (e: unknown) => capability(e) && message.test((e as Error).message),
      message.source,
    );
  }
  assert.is(
    mailCommand(prepareEnvelope({ from: 'a@x.org', to: ['b@x.org'], size: 1000 }), ALL, true),
    'MAIL FROM:<a@x.org> SIZE=1000',
    'exactly the limit goes',
  );
});

test('BODY: the scanned body type applies when the envelope says nothing; an explicit one wins', () => {
  assert.is(prepareEnvelope({ from: 'a@x.org', to: ['b@x.org'] }, '8BITMIME').body, '8BITMIME');
  assert.is(prepareEnvelope({ from: 'a@x.org', to: ['b@x.org'], body: '7BIT' }, '8BITMIME').body, '7BIT');
  assert.is(
    mailCommand(prepareEnvelope({ from: 'a@x.org', to: ['b@x.org'], body: '7BIT' }), ALL, true),
    'MAIL FROM:<a@x.org>',
    '7BIT needs no BODY=',
  );
  assert.is(
    mailCommand(prepareEnvelope({ from: 'a@x.org', to: ['b@x.org'], body: 'BINARYMIME' }), ALL, true),
    'MAIL FROM:<a@x.org> BODY=BINARYMIME',
  );
});

test('RCPT: NOTIFY deduplicated in order, ORCPT as rfc822 xtext, both only with DSN; A-labels without SMTPUTF8', () => {
  const env = prepareEnvelope(
    {
      from: 'a@x.org',
      to: [
        { address: 'b@bücher.example', notify: ['FAILURE', 'DELAY', 'FAILURE'], orcpt: 'b+tag@x.org' },
        { address: 'c@x.org', notify: 'NEVER' },
        'd@x.org',
      ],
    },
    undefined,
    undefined,
    asciiAddress,
  ); // the IDN codec (smtpwire/idn), as the full entries pass it
  assert.equal(
    env.recipients.map((r) => rcptCommand(r, caps({ dsn: true }))),
    [
      'RCPT TO:<b@xn--bcher-kva.example> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b+2Btag@x.org',
      'RCPT TO:<c@x.org> NOTIFY=NEVER',
      'RCPT TO:<d@x.org>',
    ],
  );
  assert.equal(
    env.recipients.map((r) => rcptCommand(r, caps({ smtpUtf8: true }))),
    ['RCPT TO:<b@bücher.example>', 'RCPT TO:<c@x.org>', 'RCPT TO:<d@x.org>'],
  );
  assert.is(mailCommand(env, caps(), false), 'MAIL FROM:<a@x.org>', 'an IDN domain alone does not need SMTPUTF8');
  assert.is(mailCommand(env, caps({ smtpUtf8: true }), false), 'MAIL FROM:<a@x.org> SMTPUTF8', 'but uses it when offered');
});

test('path cache: a bare address is checked once and its prepared recipient shared; a bad one is never cached', () => {
  const cache = createPathCache();
  const a = prepareEnvelope({ from: 'a@x.org', to: ['b@x.org'] }, undefined, cache);
  const b = prepareEnvelope({ from: 'a@x.org', to: ['b@x.org'] }, undefined, cache);
  assert.ok(a.recipients[0] === b.recipients[0], 'the same frozen record');
  assert.ok(Object.isFrozen(a.recipients[0]));
  assert.ok(a === b, 'an envelope equal to the last one prepared is that same object');
  assert.ok(Object.isFrozen(a.recipients), 'the shared one-recipient list cannot be changed');
  const sized = prepareEnvelope({ from: 'a@x.org', to: ['b@x.org'], size: 10 }, undefined, cache);
  assert.is(sized.size, 10);
  assert.ok(sized !== a && sized.recipients === a.recipients, 'another size: its own envelope, the same recipient list');
  assert.is(prepareEnvelope({ from: 'a@x.org', to: ['b@x.org'], requireTls: true }, undefined, cache).requireTls, true);
  assert.is(prepareEnvelope({ from: 'a@x.org', to: ['b@x.org'] }, '8BITMIME', cache).body, '8BITMIME');
  assert.is(prepareEnvelope({ from: 'a@x.org', to: ['b@x.org'] }, undefined, cache).body, undefined);
  assert.is(cache.addresses.size, 2);
  for (let i = 0; i < 2; i++) assert.throws(() => prepareEnvelope({ from: 'a@x.org', to: ['bad address@'] }, undefined, cache), usage);
  assert.is(cache.addresses.size, 2);
  // Bounded: hostile variety clears it instead of growing it.
  for (let i = 0; i < 2000; i++) prepareEnvelope({ from: 'a@x.org', to: [`r${i}@x.org`] }, undefined, cache);
  assert.ok(cache.addresses.size <= 512, `cache holds ${cache.addresses.size}`);
  // A spec with DSN options gets its own record (it carries NOTIFY/ORCPT).
  const spec = prepareEnvelope({ from: 'a@x.org', to: [{ address: 'b@x.org', notify: 'NEVER' }] }, undefined, cache);
  assert.is(spec.recipients[0]!.notify, 'NEVER');
  const bare = prepareEnvelope({ from: 'a@x.org', to: ['b@x.org'] }, undefined, cache);
  assert.is(bare.recipients[0]!.notify, undefined);
});

test('property: with or without a path cache (however full), the same envelope prepares and renders the same MAIL and RCPT lines', () => {
  const local = fc.constantFrom('a', 'b.c', 'jörg', '"x y"', "o'k", 'a+b');
  const domain = fc.constantFrom('x.org', 'bücher.example', '[192.0.2.1]', 'mx-1.example', 'bad..dot', '例子.广告');
  const address = fc.oneof(
    fc.tuple(local, domain).map(([l, d]) => `${l}@${d}`),
    fc.constantFrom('', 'no-at', 'a@b@c.org'),
  );
  const recipient = fc.oneof(
    address,
    fc.record({ address, notify: fc.constantFrom(undefined, 'NEVER' as const, ['SUCCESS' as const]) }, { requiredKeys: ['address'] }),
  );
  const envelope = fc.record({ from: address, to: fc.array(recipient, { minLength: 1, maxLength: 4 }), smtpUtf8: fc.boolean() });
  const servers = [caps(), caps({ smtpUtf8: true, dsn: true })];
  const render = (f: () => ReturnType<typeof prepareEnvelope>): string[] => {
    let env;
    try {
      env = f();
    } catch (e) {
      assert.ok(usage(e), String(e));
      return ['usage error'];
    }
    return servers.flatMap((c) => {
      let mail: string;
      try {
        mail = mailCommand(env, c, true);
      } catch (e) {
        assert.ok(capability(e), String(e));
        mail = 'capability error';
      }
      return [mail, ...env.recipients.map((r) => rcptCommand(r, c))];
    });
  };
  const cache = createPathCache();
  const noCodecCache = createPathCache(); // a cache belongs to one connection, so to one codec
  fc.assert(
    fc.property(fc.array(envelope, { minLength: 1, maxLength: 8 }), (envs) => {
      for (const env of envs) {
        // With the IDN codec (the full entries) and without it (the Worker entry).
        for (const idn of [asciiAddress, undefined]) {
          const fresh = render(() => prepareEnvelope(env, undefined, undefined, idn));
          assert.equal(
            render(() => prepareEnvelope(env, undefined, idn ? cache : noCodecCache, idn)),
            fresh,
          );
          for (const line of fresh) assert.not.match(line, /[\r\n\0]/);
        }
      }
    }),
    { numRuns: 300 },
  );
});

test.run();
