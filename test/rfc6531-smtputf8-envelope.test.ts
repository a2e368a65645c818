// The envelope with international addresses: U-label domains go as A-labels when the server
// lacks SMTPUTF8 and as UTF-8 (with SMTPUTF8) when it has it; a non-ASCII local part without
// SMTPUTF8 is a typed error before MAIL. Exact bytes against scripted servers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { script } from '../transports/mock.ts';
import { run } from './helpers.ts';
import { prepareEnvelope } from '../core/envelope.ts';
import { SmtpUsageError } from '../core/errors.ts';
import { asciiAddress } from '../core/idn.ts';

const NAME = 'client.example';

test('no SMTPUTF8: U-label domains in MAIL FROM and RCPT TO go as A-labels', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250 8BITMIME')
      .expect('MAIL FROM:<a@xn--bcher-kva.example>')
      .send('250 ok')
      .expect('RCPT TO:<b@xn--fsqu00a.xn--4rr70v>')
      .send('250 ok')
      .expect('RCPT TO:<c@ascii.example>')
      .send('250 ok')
      .expect('DATA')
      .send('354 go')
      .expect('.')
      .send('250 ok')
      .expect('QUIT')
      .send('221 bye'),
    [{ envelope: { from: 'a@B\u00fccher.example', to: ['b@\u4f8b\u5b50.\u5e7f\u544a', { address: 'c@ascii.example' }] }, body: 'x\r\n' }],
  );
  assert.is(s.results[0]!.outcome, 'accepted'); // the A-labels are Node's too: test/rfc3492-idn-node.test.ts
});

test('SMTPUTF8 offered: U-label domains stay UTF-8 and MAIL carries SMTPUTF8', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250-8BITMIME', '250 SMTPUTF8')
      .expect('MAIL FROM:<a@x.org> SMTPUTF8')
      .send('250 ok')
      .expect('RCPT TO:<b@b\u00fccher.example>')
      .send('250 ok')
      .expect('DATA')
      .send('354 go')
      .expect('.')
      .send('250 ok')
      .expect('QUIT')
      .send('221 bye'),
    [{ envelope: { from: 'a@x.org', to: ['b@b\u00fccher.example'] }, body: 'x\r\n' }],
  );
  assert.is(s.results[0]!.outcome, 'accepted');
});

test('no SMTPUTF8: a non-ASCII local part fails before MAIL; an IDN-only message in the same session goes', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250 8BITMIME')
      .expect('MAIL FROM:<a@x.org>')
      .send('250 ok')
      .expect('RCPT TO:<b@xn--bcher-kva.example>')
      .send('250 ok')
      .expect('DATA')
      .send('354 go')
      .expect('.')
      .send('250 ok')
      .expect('QUIT')
      .send('221 bye'),
    [
      { envelope: { from: 'a@x.org', to: ['j\u00f6rg@b\u00fccher.example'] }, body: 'x\r\n' },
      { envelope: { from: 'a@x.org', to: ['b@b\u00fccher.example'] }, body: 'x\r\n' },
    ],
  );
  assert.equal(
    s.results.map((r) => [r.outcome, r.error?.code]),
    [
      ['rejected', 'ECAPABILITY'],
      ['accepted', undefined],
    ],
  );
  assert.match(s.results[0]!.error!.message, /SMTPUTF8/);
});

test('asking for SMTPUTF8 keeps it required even when A-labels would do', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script().send('220 mx').expect(`EHLO ${NAME}`).send('250-mx', '250 8BITMIME').expect('QUIT').send('221 bye'),
    [{ envelope: { from: 'a@x.org', to: ['b@b\u00fccher.example'], smtpUtf8: true }, body: 'x\r\n' }],
  );
  assert.is(s.results[0]!.error?.code, 'ECAPABILITY');
});

test('an invalid international domain is a usage error at submit', () => {
  for (const bad of ['b@a\u200db.example', 'b@\u0301x.example', 'b@x\u2488y.example', `b@${'\u00e4'.repeat(60)}.example`]) {
    assert.throws(
      () => prepareEnvelope({ from: 'a@x.org', to: [bad] }, undefined, undefined, asciiAddress),
      (e: unknown) => e instanceof SmtpUsageError,
      bad,
    );
  }
  const env = prepareEnvelope({ from: 'a@x.org', to: ['b@b\u00fccher.example', 'c@y.org'] }, undefined, undefined, asciiAddress);
  assert.is(env.smtpUtf8, false);
  assert.is(env.idn, true);
  assert.equal(
    env.recipients.map((r) => r.asciiPath),
    ['<b@xn--bcher-kva.example>', undefined],
  );
});

test('SMTPUTF8 advertised: the parameter goes with a non-ASCII address', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250-8BITMIME', '250 SMTPUTF8')
      .expect('MAIL FROM:<a@x.org> SMTPUTF8')
      .send('250 ok')
      .expect('RCPT TO:<jörg@bücher.example>')
      .send('250 ok')
      .expect('DATA')
      .send('354 go')
      .expect('.')
      .send('250 ok')
      .expect('QUIT')
      .send('221 bye'),
    [{ envelope: { from: 'a@x.org', to: ['jörg@bücher.example'] }, body: 'x\r\n' }],
  );
  assert.is(s.results[0]!.outcome, 'accepted');
});

test.run();
