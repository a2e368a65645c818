// Addresses in headers (message/address.ts): parsing address lists, writing mailboxes with
// display names and IDN domains, the envelope form, and round trips. Python's email package
// checks the same output independently in test/message-python.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { displayName, domainName } from './message-arb.ts';
import {
  envelopeAddress,
  formatDisplayName,
  formatGroup,
  formatMailboxes,
  parseAddressList,
  toMailboxes,
  type Mailbox,
} from '../message/address.ts';
import { foldHeader } from '../message/header.ts';
import { domainToAscii } from '../message/idn.ts';
import { SmtpAddressError, SmtpUsageError } from '../core/errors.ts';

const addressError = (e: unknown): boolean => e instanceof SmtpAddressError;
const usage = (e: unknown): boolean => e instanceof SmtpUsageError;

test('parseAddressList: the forms mail programs write', () => {
  assert.equal(parseAddressList('"Bob, Jr." <bob@x.example>, alice@y.example'), [
    { name: 'Bob, Jr.', address: 'bob@x.example' },
    { address: 'alice@y.example' },
  ]);
  assert.equal(parseAddressList('John Q. Public <john@ex.com> (the man), (only a comment) jane@ex.com (Jane)'), [
    { name: 'John Q. Public', address: 'john@ex.com' },
    { address: 'jane@ex.com' },
  ]);
  assert.equal(parseAddressList('team: a@b.example, "x y"@d.example;, undisclosed-recipients:;'), [
    { group: 'team', members: [{ address: 'a@b.example' }, { address: '"x y"@d.example' }] },
    { group: 'undisclosed-recipients', members: [] },
  ]);
  assert.equal(parseAddressList('=?UTF-8?B?SsO2cmc=?= =?UTF-8?Q?_M=C3=BCller?= <j@b\u00fccher.example>'), [
    { name: 'J\u00f6rg M\u00fcller', address: 'j@b\u00fccher.example' },
  ]);
  // A character split across two encoded-words (common, though RFC 2047 forbids it).
  assert.equal(parseAddressList('=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?= <a@b.example>')[0], { name: '\u00e9\u00e9', address: 'a@b.example' });
  assert.equal(parseAddressList('=?iso-8859-1?q?J=F6rg?= <j@x.example>')[0], { name: 'J\u00f6rg', address: 'j@x.example' });
  assert.equal(parseAddressList('=?unknown-charset?q?x?= <j@x.example>')[0], { name: '=?unknown-charset?q?x?=', address: 'j@x.example' });
  assert.equal(parseAddressList('"quoted \\"inner\\" \\\\ back" <q@x.example>')[0], {
    name: 'quoted "inner" \\ back',
    address: 'q@x.example',
  });
  assert.equal(parseAddressList('<@relay.example,@other.example:user@final.example>'), [{ address: 'user@final.example' }]);
  assert.equal(parseAddressList('a@[192.0.2.1], b@[IPv6:2001:db8::1]'), [
    { address: 'a@[192.0.2.1]' },
    { address: 'b@[IPv6:2001:db8::1]' },
  ]);
  assert.equal(parseAddressList('"john"."doe"@x.example, "john doe"@x.example'), [
    { address: 'john.doe@x.example' },
    { address: '"john doe"@x.example' },
  ]);
  assert.equal(parseAddressList('J\u00f6rg <j\u00f6rg@b\u00fccher.example>'), [
    { name: 'J\u00f6rg', address: 'j\u00f6rg@b\u00fccher.example' },
  ]);
  assert.equal(parseAddressList('a@x.example,\r\n\tb@y.example'), [{ address: 'a@x.example' }, { address: 'b@y.example' }]); // folded
  assert.equal(parseAddressList(' , a@x.example ,, '), [{ address: 'a@x.example' }]);
  assert.equal(parseAddressList(''), []);
});

test('parseAddressList: anything unparseable is an SmtpAddressError that says where', () => {
  const cases: [string, RegExp][] = [
    ['bob', /not an address/],
    ['Bob Smith', /not an address/],
    ['a@', /domain/],
    ['@x.example', /unexpected "@"/],
    ['<a@b.example> x', /","/],
    ['"unclosed <a@b.example>', /unclosed quoted string/],
    ['a@b.example (unclosed', /unclosed comment/],
    ['<a@b.example', /">"/],
    ['<>', /empty or invalid address/],
    ['g: a@b.example', /closing ";"/],
    ['g: h: a@b.example;;', /group/],
    ['a..b@x.example', /local part/],
    ['a.@x.example', /dot/],
    ['a@-x.example', /invalid domain/],
    ['a@x\u200d.example', /JOINER/],
    ['a@b.example\r\nBcc: evil@x.example', /control character/],
    ['a@b.example\0', /control character/],
    ['a\\b@x.example', /unexpected character/],
    ['a@[1.2.3', /unclosed domain literal/],
    ['=?UTF-8?Q?a=0D=0ABcc=3A_x?= <a@b.example>', /encoded display name holds a control character/],
    ['=?UTF-8?B?AA==?= <a@b.example>', /control character/],
  ];
  for (const [text, re] of cases) {
    try {
      parseAddressList(text);
      assert.unreachable(`parsed ${JSON.stringify(text)}`);
    } catch (e) {
      assert.ok(addressError(e) || usage(e), `${JSON.stringify(text)}: ${String(e)}`);
      assert.match((e as Error).message, re, JSON.stringify(text));
      assert.not.ok(/[\r\n\0]/.test((e as Error).message));
    }
  }
});

test('toMailboxes: strings, lists, objects; groups flattened; the field in errors', () => {
  assert.equal(toMailboxes('a@x.example', 'To'), [{ address: 'a@x.example' }]);
  assert.equal(toMailboxes('Ann <a@x.example>', 'To'), [{ name: 'Ann', address: 'a@x.example' }]);
  assert.equal(toMailboxes({ name: 'Bob, Jr.', address: 'b@x.example' }, 'To'), [{ name: 'Bob, Jr.', address: 'b@x.example' }]);
  assert.equal(toMailboxes({ name: '', address: 'b@x.example' }, 'To'), [{ address: 'b@x.example' }]);
  assert.equal(toMailboxes(['a@x.example, team: b@x.example, c@x.example;', { address: 'd@x.example' }], 'Cc'), [
    { address: 'a@x.example' },
    { address: 'b@x.example' },
    { address: 'c@x.example' },
    { address: 'd@x.example' },
  ]);
  assert.equal(toMailboxes([], 'Bcc'), []);
  assert.throws(
    () => toMailboxes('not an address', 'Reply-To'),
    (e: unknown) => addressError(e) && /^Reply-To: /.test((e as Error).message),
  );
  assert.throws(
    () => toMailboxes({ address: 'Ann <a@x.example>' }, 'To'),
    (e: unknown) => addressError(e) && /put the display name in name/.test((e as Error).message),
  );
  assert.throws(() => toMailboxes({ name: 'a\r\nBcc: x@y', address: 'a@x.example' }, 'To'), usage);
  assert.throws(() => toMailboxes(42 as unknown as string, 'To'), usage);
  assert.throws(() => toMailboxes({ name: 7, address: 'a@x.example' } as unknown as Mailbox, 'To'), usage);
});

test('formatMailboxes: quoting, RFC 2047, IDN with and without SMTPUTF8', () => {
  const list: Mailbox[] = [
    { name: 'Bob, Jr.', address: 'bob@x.example' },
    { name: 'J\u00f6rg M\u00fcller', address: 'j@b\u00fccher.example' },
    { name: 'Plain Name', address: 'p@x.example' },
    { address: 'bare@x.example' },
    { name: 'a"b\\c', address: 'q@x.example' },
    { name: '=?utf-8?q?x?=', address: 'e@x.example' },
    { address: 'john doe@x.example' },
  ];
  assert.is(
    formatMailboxes(list, { smtpUtf8: false }),
    '"Bob, Jr." <bob@x.example>, =?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <j@xn--bcher-kva.example>, Plain Name <p@x.example>, ' +
      'bare@x.example, "a\\"b\\\\c" <q@x.example>, =?UTF-8?B?PT91dGYtOD9xP3g/PQ==?= <e@x.example>, "john doe"@x.example',
  );
  assert.is(formatMailboxes(list.slice(1, 2), { smtpUtf8: true }), 'J\u00f6rg M\u00fcller <j@b\u00fccher.example>');
  assert.throws(
    () => formatMailboxes([{ address: 'j\u00f6rg@x.example' }], { smtpUtf8: false }),
    (e: unknown) => addressError(e) && /SMTPUTF8/.test((e as Error).message),
  );
  assert.is(formatMailboxes([{ address: 'j\u00f6rg@x.example' }], { smtpUtf8: true }), 'j\u00f6rg@x.example');
  assert.throws(() => formatMailboxes([{ name: 'x\ny', address: 'a@x.example' }], { smtpUtf8: false }), usage);
  assert.throws(() => formatMailboxes([{ address: '' }], { smtpUtf8: false }), usage);
  assert.is(formatGroup({ group: 'undisclosed-recipients', members: [] }, { smtpUtf8: false }), 'undisclosed-recipients:;');
  assert.is(formatGroup({ group: 'Team A', members: [{ address: 'a@x.example' }] }, { smtpUtf8: false }), 'Team A: a@x.example;');
  // A long name without spaces is encoded, so the header can still fold to 78 columns.
  const long = formatDisplayName('x'.repeat(200), { smtpUtf8: false });
  assert.ok(long.split(' ').every((w) => w.length <= 75));
  // ... counted in octets with SMTPUTF8, and after quoting for escapes.
  assert.match(formatDisplayName('\u{1f600}'.repeat(20), { smtpUtf8: true }), /^=\?UTF-8\?B\?/);
  assert.is(formatDisplayName('\u{1f600}'.repeat(10), { smtpUtf8: true }), '\u{1f600}'.repeat(10));
  assert.match(formatDisplayName('\\"'.repeat(30), { smtpUtf8: false }), /^=\?UTF-8\?/);
});

test('envelopeAddress: A-labels without SMTPUTF8, UTF-8 with it, typed error for a UTF-8 local part', () => {
  assert.is(envelopeAddress('a@B\u00fccher.example', { smtpUtf8: false }), 'a@xn--bcher-kva.example');
  assert.is(envelopeAddress('a@b\u00fccher.example', { smtpUtf8: true }), 'a@b\u00fccher.example');
  assert.is(envelopeAddress('john doe@x.example', { smtpUtf8: false }), '"john doe"@x.example');
  assert.is(envelopeAddress('', { smtpUtf8: false }), '');
  assert.throws(
    () => envelopeAddress('j\u00f6rg@x.example', { smtpUtf8: false }),
    (e: unknown) => addressError(e) && /SMTPUTF8/.test((e as Error).message),
  );
  assert.is(envelopeAddress('j\u00f6rg@x.example', { smtpUtf8: true }), 'j\u00f6rg@x.example');
  assert.throws(() => envelopeAddress('a@x\r\n.example', { smtpUtf8: false }), usage);
  assert.throws(() => envelopeAddress('a@-bad.example', { smtpUtf8: true }), usage);
});

test('the examples in docs/messages.md give what the page says', () => {
  assert.equal(toMailboxes('"Bob, Jr." <bob@x.example>, ann@y.example', 'To'), [
    { name: 'Bob, Jr.', address: 'bob@x.example' },
    { address: 'ann@y.example' },
  ]);
  assert.throws(
    () => toMailboxes('Bob Smith', 'Cc'),
    (e: unknown) =>
      addressError(e) &&
      (e as Error).message ===
        'Cc: cannot parse address list: "Bob Smith" is not an address (local@domain), and no <address> follows it at position 9 (near "Bob Smith")',
  );
  const to = formatMailboxes(
    [
      { name: 'Bob, Jr.', address: 'bob@x.example' },
      { name: 'J\u00f6rg M\u00fcller', address: 'j@b\u00fccher.example' },
    ],
    { smtpUtf8: false },
  );
  assert.is(to, '"Bob, Jr." <bob@x.example>, =?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <j@xn--bcher-kva.example>');
  assert.is(foldHeader('To', to), 'To: "Bob, Jr." <bob@x.example>, =?UTF-8?B?SsO2cmcgTcO8bGxlcg==?=\r\n <j@xn--bcher-kva.example>\r\n');
  assert.is(domainToAscii('B\u00fccher.EXAMPLE'), 'xn--bcher-kva.example');
  assert.is(domainToAscii('fa\u00df.de'), 'xn--fa-hia.de');
  assert.throws(
    () => domainToAscii('a..b'),
    (e: unknown) => addressError(e) && (e as Error).message === 'invalid domain "a..b": empty label',
  );
});

// ---- Round trips --------------------------------------------------------------------------------

const nameText = displayName({ tab: true });
const localPart = fc.oneof(
  fc.stringMatching(/^[a-z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\.[a-z0-9_-]{1,8}){0,2}$/),
  fc.string({ unit: fc.constantFrom('a', ' ', '"', '\\', ',', '@', '(', '.'), minLength: 1, maxLength: 10 }),
);
export const mailboxArb = fc.record({ name: fc.option(nameText, { nil: undefined }), local: localPart, domain: domainName });

/** What parsing the output must give back for this input. */
function expected(m: { name?: string; local: string; domain: string }, smtpUtf8: boolean): Mailbox {
  const address = envelopeAddress(`${m.local}@${m.domain}`, { smtpUtf8 });
  return m.name === undefined || m.name === '' ? { address } : { name: m.name, address };
}

test('parseAddressList(formatMailboxes(x)) gives x back: any names, quoting, IDN (property)', () => {
  fc.assert(
    fc.property(fc.array(mailboxArb, { minLength: 1, maxLength: 5 }), fc.boolean(), (ms, smtpUtf8) => {
      const list: Mailbox[] = ms.map((m) =>
        m.name === undefined ? { address: `${m.local}@${m.domain}` } : { name: m.name, address: `${m.local}@${m.domain}` },
      );
      let want: Mailbox[];
      try {
        want = ms.map((m) => expected(m, smtpUtf8));
      } catch (e) {
        // An address the envelope refuses (e.g. an empty quoted local part) is refused here too.
        assert.ok(usage(e));
        assert.throws(() => formatMailboxes(list, { smtpUtf8 }), usage);
        return;
      }
      const value = formatMailboxes(list, { smtpUtf8 });
      assert.not.ok(/[\r\n\0]/.test(value));
      if (!smtpUtf8) assert.ok(/^[\x20-\x7e\t]*$/.test(value), `not ASCII: ${value}`);
      const field = foldHeader('To', value);
      const octets = (l: string): number => new TextEncoder().encode(l).length;
      for (const l of field.slice(0, -2).split('\r\n')) assert.ok(octets(l) <= 998);
      // Lines fit 78 whenever every address does (names are quoted, or encoded when a run of
      // theirs would not fit).
      const specs = ms.map((m) => envelopeAddress(`${m.local}@${m.domain}`, { smtpUtf8 }));
      if (specs.every((a) => !/[ \t]/.test(a) && octets(a) <= 70)) {
        for (const l of field.slice(0, -2).split('\r\n')) assert.ok(octets(l) <= 78, `line over 78: ${JSON.stringify(l)}`);
      }
      // Parsing the folded field (as a receiver would) gives the same mailboxes.
      const parsed = parseAddressList(field.slice('To:'.length, -2));
      assert.equal(parsed, want);
      // And the canonical addresses match the A-label form Node's UTS #46 would give.
      if (!smtpUtf8) for (const m of ms) assert.ok((parsed[ms.indexOf(m)] as Mailbox).address.endsWith(`@${domainToAscii(m.domain)}`));
    }),
    { numRuns: 2000 },
  );
});

test('no input ever puts CR, LF or NUL in a formatted header (property)', () => {
  const hostile = fc.string({
    unit: fc.constantFrom('a', '@', '\r', '\n', '\0', ' ', '"', '<', '>', 'x.example', '\u2028', '\t', ',', ':', ';'),
    maxLength: 30,
  });
  fc.assert(
    fc.property(hostile, hostile, fc.boolean(), (name, address, smtpUtf8) => {
      try {
        const out = foldHeader('To', formatMailboxes([{ name, address }], { smtpUtf8 }));
        assert.not.ok(/[\0]|\r(?!\n[ \t])|(?<!\r)\n/.test(out.slice(0, -2)), JSON.stringify(out));
      } catch (e) {
        assert.ok(usage(e), String(e));
      }
      try {
        toMailboxes(`${name} ${address}`, 'To');
      } catch (e) {
        assert.ok(usage(e), String(e));
      }
    }),
    { numRuns: 3000 },
  );
});

test('parseAddressList on arbitrary text: a list of valid mailboxes or an SmtpUsageError, nothing else (property)', () => {
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.string({
      unit: fc.constantFrom(
        'a',
        'b.c',
        '@',
        '<',
        '>',
        '"',
        '\\',
        '(',
        ')',
        ',',
        ';',
        ':',
        '.',
        ' ',
        '[',
        ']',
        '=?UTF-8?B?',
        '?=',
        'QQ==',
        '\u00e9',
        '-',
      ),
      maxLength: 40,
    }),
  );
  fc.assert(
    fc.property(text, (t) => {
      let list: ReturnType<typeof parseAddressList>;
      try {
        list = parseAddressList(t);
      } catch (e) {
        assert.ok(usage(e), `${JSON.stringify(t)}: ${String(e)}`);
        return;
      }
      for (const a of list) {
        for (const m of 'group' in a ? a.members : [a]) {
          // Every address parsed is one the envelope takes as it is (canonical form).
          assert.is(envelopeAddress(m.address, { smtpUtf8: true }), m.address);
          if (m.name !== undefined) assert.type(m.name, 'string');
        }
      }
    }),
    { numRuns: 5000 },
  );
});

test.run();
