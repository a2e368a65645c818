// Transcript tests: the exact bytes of full sessions, one per feature, against scripted servers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { script } from '../transports/mock.ts';
import { run, lines, dec } from './helpers.ts';
import { SmtpConnection } from '../core/full.ts';

const NAME = 'client.example';
const EHLO_PIPE = ['250-mx.example', '250-PIPELINING', '250-8BITMIME', '250-SIZE 1000000', '250 ENHANCEDSTATUSCODES'];

test('plain session: EHLO, MAIL, RCPT, DATA, body, QUIT', () => {
  const s = run({ name: NAME, tls: 'none' }, script()
    .send('220 mx.example ESMTP')
    .expect(`EHLO ${NAME}`).send('250-mx.example', '250 8BITMIME')
    .expect('MAIL FROM:<a@example.com>').send('250 ok')
    .expect('RCPT TO:<b@example.org>').send('250 ok')
    .expect('DATA').send('354 go')
    .expect('.').send('250 2.0.0 queued as X')
    .expect('QUIT').send('221 bye'),
  [{ envelope: { from: 'a@example.com', to: ['b@example.org'] }, body: 'Subject: hi\r\n\r\nhello\r\n' }]);
  assert.is(s.clientText, lines(`EHLO ${NAME}`, 'MAIL FROM:<a@example.com>', 'RCPT TO:<b@example.org>', 'DATA', 'Subject: hi', '', 'hello', '.', 'QUIT'));
  assert.is(s.results.length, 1);
  assert.is(s.results[0]!.outcome, 'accepted');
  assert.equal(s.results[0]!.accepted.map((r) => r.address), ['b@example.org']);
  assert.is(s.closedEvent?.error, undefined);
  assert.ok(s.closed);
  assert.is(dec.decode(s.server.messages[0]), 'Subject: hi\r\n\r\nhello\r\n');
});

test('EHLO refused with 502: HELO fallback, no extensions used', () => {
  const s = run({ name: NAME, tls: 'opportunistic' }, script()
    .send('220 old.example')
    .expect(`EHLO ${NAME}`).send('502 5.5.2 what?')
    .expect(`HELO ${NAME}`).send('250 old.example')
    .expect('MAIL FROM:<a@x.org>').send('250 ok')
    .expect('RCPT TO:<b@x.org>').send('250 ok')
    .expect('DATA').send('354 go')
    .expect('.').send('250 ok')
    .expect('QUIT').send('221 bye'),
  [{ envelope: { from: 'a@x.org', to: ['b@x.org'], size: 10 }, body: 'x\r\n' }]);
  assert.is(s.results[0]!.outcome, 'accepted');
  assert.ok(!s.clientText.includes('SIZE='), 'no ESMTP parameter after HELO');
});

test('EHLO not understood (500): HELO fallback', () => {
  const s = run({ name: NAME }, script()
    .send('220 old')
    .expect(`EHLO ${NAME}`).send('500 unrecognized')
    .expect(`HELO ${NAME}`).send('250 old')
    .expect('QUIT').send('221 bye'));
  assert.is(s.closedEvent?.error, undefined);
});

test('PIPELINING: MAIL, every RCPT and DATA go as one group; per-recipient results', () => {
  const s = run({ name: NAME, tls: 'none' }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send(...EHLO_PIPE)
    // The server reads the whole group before answering: a client that waited would stall.
    .expect('MAIL FROM:<a@x.org> SIZE=5', 'RCPT TO:<b@x.org>', 'RCPT TO:<c@x.org>', 'RCPT TO:<d@x.org>', 'DATA')
    .send('250 2.1.0 ok', '250 2.1.5 ok', '550 5.1.1 no such user', '251 2.1.5 forwarded', '354 go')
    .expect('.').send('250 2.0.0 queued')
    .expect('QUIT').send('221 bye'),
  [{ envelope: { from: 'a@x.org', to: ['b@x.org', 'c@x.org', 'd@x.org'], size: 5 }, body: 'hi\r\n' }]);
  const r = s.results[0]!;
  assert.is(r.outcome, 'accepted');
  assert.equal(r.accepted.map((x) => x.address), ['b@x.org', 'd@x.org']);
  assert.equal(r.rejected.map((x) => [x.address, x.reply.code, x.reply.enhanced]), [['c@x.org', 550, '5.1.1']]);
  assert.is(r.reply?.enhanced, '2.0.0');
  // The whole group left in a single write.
  const firstMailWrite = s.outputs.find((o) => o.type === 'write' && o.chunks.some((c) => dec.decode(c).startsWith('MAIL')));
  assert.ok(firstMailWrite && firstMailWrite.type === 'write');
  assert.ok(firstMailWrite.chunks.map((c) => dec.decode(c)).join('').includes('DATA\r\n'));
});

test('PIPELINING: every recipient rejected, DATA refused: rejected, RSET, next message goes', () => {
  const s = run({ name: NAME, tls: 'none' }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send(...EHLO_PIPE)
    .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'DATA')
    .send('250 ok', '550 5.1.1 no', '554 5.5.1 no valid recipients')
    .expect('RSET', 'MAIL FROM:<a@x.org>', 'RCPT TO:<c@x.org>', 'DATA')
    .send('250 flushed', '250 ok', '250 ok', '354 go')
    .expect('.').send('250 ok')
    .expect('QUIT').send('221 bye'),
  [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'one\r\n' }, { envelope: { from: 'a@x.org', to: ['c@x.org'] }, body: 'two\r\n' }]);
  assert.equal(s.results.map((r) => r.outcome), ['rejected', 'accepted']);
  assert.is(s.results[0]!.error?.code, 'EREPLY');
  assert.is(s.results[0]!.error?.transient, false);
  assert.is(s.server.messages.length, 1);
  assert.is(dec.decode(s.server.messages[0]), 'two\r\n');
});

test('PIPELINING: every recipient rejected but DATA got 354: a lone dot ends it (RFC 2920)', () => {
  const s = run({ name: NAME, tls: 'none' }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send(...EHLO_PIPE)
    .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'DATA')
    .send('250 ok', '550 no', '354 go ahead anyway')
    .expect('.').send('554 no valid recipients')
    .expect('QUIT').send('221 bye'),
  [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'secret body\r\n' }]);
  assert.is(s.results[0]!.outcome, 'rejected');
  assert.ok(!s.clientText.includes('secret body'), 'the body is never sent');
  assert.is(s.server.messages[0]!.length, 0);
});

test('without PIPELINING: one command at a time, no DATA when every RCPT failed, RSET before the next', () => {
  const s = run({ name: NAME, tls: 'none' }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250 mx')
    .expect('MAIL FROM:<a@x.org>').send('250 ok')
    .expect('RCPT TO:<b@x.org>').send('550 no')
    .expect('RCPT TO:<c@x.org>').send('450 later')
    .expect('RSET').send('250 ok')
    .expect('MAIL FROM:<a@x.org>').send('250 ok')
    .expect('RCPT TO:<d@x.org>').send('250 ok')
    .expect('DATA').send('354 go').expect('.').send('250 ok')
    .expect('QUIT').send('221 bye'),
  [{ envelope: { from: 'a@x.org', to: ['b@x.org', 'c@x.org'] }, body: 'x\r\n' }, { envelope: { from: 'a@x.org', to: ['d@x.org'] }, body: 'y\r\n' }]);
  const r = s.results[0]!;
  assert.is(r.outcome, 'rejected');
  assert.equal(r.rejected.map((x) => x.reply.code), [550, 450]);
  assert.is(s.results[1]!.outcome, 'accepted');
});

test('a failed transaction with nothing after it: QUIT needs no RSET', () => {
  const s = run({ name: NAME, tls: 'none' }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250 mx')
    .expect('MAIL FROM:<a@x.org>').send('250 ok')
    .expect('RCPT TO:<b@x.org>').send('550 no')
    .expect('QUIT').send('221 bye'),
  [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x\r\n' }]);
  assert.is(s.results[0]!.outcome, 'rejected');
});

/** A user that streams one chunk each time the network goes quiet, then ends the body. */
function streamer(id: number, chunks: string[]) {
  let i = 0;
  return (core: import('../core/connection.ts').SmtpConnection, clock: { now: number }) => {
    if (i < chunks.length) core.writeBody(id, new TextEncoder().encode(chunks[i++]!), clock.now);
    else if (i++ === chunks.length) core.endBody(id, clock.now);
    else return false;
    return true;
  };
}

test('MAIL FROM rejected: transaction rejected with that reply, connection stays usable', () => {
  const s = run({ name: NAME, tls: 'none' }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250 mx')
    .expect('MAIL FROM:<bad@x.org>').send('553 5.7.1 sender refused')
    .expect('MAIL FROM:<good@x.org>').send('250 ok')
    .expect('RCPT TO:<b@x.org>').send('250 ok')
    .expect('DATA').send('354 go')
    .expect('.').send('250 ok')
    .expect('QUIT').send('221 bye'),
  [{ envelope: { from: 'bad@x.org', to: ['b@x.org'] }, body: 'x\r\n' }, { envelope: { from: 'good@x.org', to: ['b@x.org'] }, body: 'y\r\n' }]);
  assert.equal(s.results.map((r) => r.outcome), ['rejected', 'accepted']);
  assert.is(s.results[0]!.reply?.code, 553);
});

test('CHUNKING + PIPELINING: whole BDAT transactions back to back across messages', () => {
  const s = run({ name: NAME, tls: 'none' }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', '250-PIPELINING', '250-CHUNKING', '250 8BITMIME')
    // Both messages arrive before any reply is sent. The RSET between them: the first is still in
    // flight, and a server that keeps a transaction after a refused BDAT (Exim) must not put the
    // second message in it (issue 12).
    .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'BDAT 7 LAST', 'RSET', 'MAIL FROM:<a@x.org>', 'RCPT TO:<c@x.org>', 'BDAT 6 LAST')
    .send('250 ok', '250 ok', '250 2.0.0 one', '250 reset', '250 ok', '250 ok', '250 2.0.0 two')
    .expect('QUIT').send('221 bye'),
  [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'first\r\n' }, { envelope: { from: 'a@x.org', to: ['c@x.org'] }, body: '.two\n' }]);
  assert.equal(s.results.map((r) => r.outcome), ['accepted', 'accepted']);
  assert.is(s.clientText, lines(`EHLO ${NAME}`, 'MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'BDAT 7 LAST') + 'first\r\n' +
    lines('RSET', 'MAIL FROM:<a@x.org>', 'RCPT TO:<c@x.org>', 'BDAT 6 LAST') + '.two\r\n' + lines('QUIT'));
  // BDAT: no dot-stuffing, line endings normalised.
  assert.is(dec.decode(s.server.messages[1]), '.two\r\n');
});

test('CHUNKING without PIPELINING: waits for each BDAT reply', () => {
  const s = run({ name: NAME, tls: 'none', chunkSize: 4 }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', '250 CHUNKING')
    .expect('MAIL FROM:<a@x.org>').send('250 ok')
    .expect('RCPT TO:<b@x.org>').send('250 ok')
    .expect('BDAT 4').send('250 chunk')
    .expect('BDAT 4').send('250 chunk')
    .expect('BDAT 0 LAST').send('250 done')
    .expect('QUIT').send('221 bye'),
  [{ envelope: { from: 'a@x.org', to: ['b@x.org'] } }], { onIdle: streamer(1, ['ab', 'cd', 'ef\r\n', '']) });
  assert.is(s.results[0]!.outcome, 'accepted');
  assert.is(dec.decode(s.server.messages[0]), 'abcdef\r\n');
});

test('BDAT chunk rejected: transaction rejected, RSET before the next one', () => {
  const s = run({ name: NAME, tls: 'none', chunkSize: 4 }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', '250 CHUNKING')
    .expect('MAIL FROM:<a@x.org>').send('250 ok')
    .expect('RCPT TO:<b@x.org>').send('250 ok')
    .expect('BDAT 4').send('552 5.3.4 too big')
    .expect('RSET').send('250 ok')
    .expect('MAIL FROM:<a@x.org>').send('250 ok')
    .expect('RCPT TO:<c@x.org>').send('250 ok')
    .expect('BDAT 3 LAST').send('250 ok')
    .expect('QUIT').send('221 bye'),
  [{ envelope: { from: 'a@x.org', to: ['b@x.org'] } }, { envelope: { from: 'a@x.org', to: ['c@x.org'] }, body: 'z\r\n' }],
  { onIdle: streamer(1, ['abcd', 'efgh', 'ij']) });
  assert.equal(s.results.map((r) => r.outcome), ['rejected', 'accepted']);
  assert.is(s.results[0]!.reply?.code, 552);
});

test('LMTP: LHLO, and one final reply per accepted recipient', () => {
  const s = run({ name: NAME, lmtp: true, tls: 'none' }, script()
    .send('220 lmtp ready')
    .expect(`LHLO ${NAME}`).send('250-lmtp', '250-PIPELINING', '250 ENHANCEDSTATUSCODES')
    .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'RCPT TO:<c@x.org>', 'RCPT TO:<d@x.org>', 'DATA')
    .send('250 ok', '250 ok', '550 5.1.1 unknown', '250 ok', '354 go')
    .expect('.').send('250 2.0.0 b delivered', '452 4.2.2 d over quota')
    .expect('QUIT').send('221 bye'),
  [{ envelope: { from: 'a@x.org', to: ['b@x.org', 'c@x.org', 'd@x.org'] }, body: 'hi\r\n' }]);
  const r = s.results[0]!;
  assert.is(r.outcome, 'accepted');
  assert.equal(r.accepted.map((x) => x.address), ['b@x.org']);
  assert.equal(r.rejected.map((x) => [x.address, x.reply.code]), [['c@x.org', 550], ['d@x.org', 452]]);
});

test('LMTP: link lost between per-recipient replies: the rest are unknown', () => {
  const s = run({ name: NAME, lmtp: true, tls: 'none' }, script()
    .send('220 lmtp')
    .expect(`LHLO ${NAME}`).send('250-lmtp', '250 PIPELINING')
    .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'RCPT TO:<c@x.org>', 'DATA')
    .send('250 ok', '250 ok', '250 ok', '354 go')
    .expect('.').send('250 b delivered')
    .eof(),
  [{ envelope: { from: 'a@x.org', to: ['b@x.org', 'c@x.org'] }, body: 'hi\r\n' }]);
  const r = s.results[0]!;
  assert.is(r.outcome, 'unknown');
  assert.equal(r.accepted.map((x) => x.address), ['b@x.org']);
  assert.equal(r.unknown, ['c@x.org']);
});

test('LMTP: LHLO refused is an error, no HELO fallback', () => {
  const s = run({ name: NAME, lmtp: true }, script()
    .send('220 lmtp')
    .expect(`LHLO ${NAME}`).send('500 no'), [], { quit: false });
  assert.is(s.closedEvent?.error?.code, 'EREPLY');
});

test('DSN and ESMTP parameters only when advertised', () => {
  const envelope = {
    from: 'a@x.org', to: [{ address: 'b@x.org', notify: ['SUCCESS', 'FAILURE'] as const, orcpt: 'b+1=x@x.org' }],
    dsn: { ret: 'HDRS' as const, envid: 'id 1' }, size: 3, body: '8BITMIME' as const,
  };
  const s = run({ name: NAME, tls: 'none' }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', '250-DSN', '250-SIZE', '250 8BITMIME')
    .expect('MAIL FROM:<a@x.org> SIZE=3 BODY=8BITMIME RET=HDRS ENVID=id+201').send('250 ok')
    .expect('RCPT TO:<b@x.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2B1+3Dx@x.org').send('250 ok')
    .expect('DATA').send('354 go').expect('.').send('250 ok')
    .expect('QUIT').send('221 bye'),
  [{ envelope: { ...envelope, to: [...envelope.to] }, body: 'hé\r\n' }]);
  assert.is(s.results[0]!.outcome, 'accepted');
  const t = run({ name: NAME, tls: 'none' }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', '250 8BITMIME')
    .expect('MAIL FROM:<a@x.org> BODY=8BITMIME').send('250 ok')
    .expect('RCPT TO:<b@x.org>').send('250 ok')
    .expect('DATA').send('354 go').expect('.').send('250 ok')
    .expect('QUIT').send('221 bye'),
  [{ envelope: { ...envelope, to: [...envelope.to] }, body: 'hé\r\n' }]);
  assert.is(t.results[0]!.outcome, 'accepted');
});

test('8BITMIME / SMTPUTF8 / SIZE needed but missing: typed error before MAIL, session goes on', () => {
  const s = run({ name: NAME, tls: 'none' }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', '250 SIZE 100')
    .expect('QUIT').send('221 bye'),
  [
    { envelope: { from: 'a@x.org', to: ['b@x.org'], body: '8BITMIME' }, body: 'x' },
    { envelope: { from: 'a@x.org', to: ['jörg@x.org'] }, body: 'x' },
    { envelope: { from: 'a@x.org', to: ['b@x.org'], size: 101 }, body: 'x' },
  ]);
  assert.equal(s.results.map((r) => [r.outcome, r.error?.code]), [['rejected', 'ECAPABILITY'], ['rejected', 'ECAPABILITY'], ['rejected', 'ECAPABILITY']]);
  assert.ok(!s.clientText.includes('MAIL'));
});

test('SMTPUTF8 advertised: the parameter goes with a non-ASCII address', () => {
  const s = run({ name: NAME, tls: 'none' }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', '250-8BITMIME', '250 SMTPUTF8')
    .expect('MAIL FROM:<a@x.org> SMTPUTF8').send('250 ok')
    .expect('RCPT TO:<jörg@bücher.example>').send('250 ok')
    .expect('DATA').send('354 go').expect('.').send('250 ok')
    .expect('QUIT').send('221 bye'),
  [{ envelope: { from: 'a@x.org', to: ['jörg@bücher.example'] }, body: 'x\r\n' }]);
  assert.is(s.results[0]!.outcome, 'accepted');
});

test('STARTTLS: upgrade, forget the old capabilities, EHLO again, then AUTH', () => {
  const s = run({ name: NAME, tls: 'required', auth: { credentials: { user: 'u', pass: 'p' } } }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', '250-AUTH PLAIN', '250-PIPELINING', '250 STARTTLS')
    .expect('STARTTLS').send('220 go ahead')
    .tls()
    .expect(`EHLO ${NAME}`).send('250-mx', '250 AUTH PLAIN LOGIN')
    .expect('AUTH PLAIN AHUAcA==').send('235 ok')
    // Pre-TLS PIPELINING was forgotten: commands go one at a time now.
    .expect('MAIL FROM:<a@x.org>').send('250 ok')
    .expect('RCPT TO:<b@x.org>').send('250 ok')
    .expect('DATA').send('354 go').expect('.').send('250 ok')
    .expect('QUIT').send('221 bye'),
  [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x\r\n' }]);
  assert.is(s.results[0]!.outcome, 'accepted');
  const ready = s.events.find((e) => e.type === 'ready');
  assert.ok(ready && ready.type === 'ready' && ready.secure && ready.authenticated);
  assert.is(ready.type === 'ready' && ready.capabilities.pipelining, false);
  assert.ok(s.outputs.some((o) => o.type === 'start-tls'));
});

test('STARTTLS injection: a reply after the 220 in the same segment fails closed', () => {
  const s = run({ name: NAME, tls: 'required', auth: { credentials: { user: 'u', pass: 'p' } } }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', '250 STARTTLS')
    .expect('STARTTLS').sendRaw('220 go\r\n250-evil\r\n250 AUTH PLAIN\r\n')
    .tls(), [], { quit: false });
  assert.is(s.closedEvent?.error?.code, 'EPROTOCOL');
  assert.ok(!s.clientText.includes('AUTH'));
  assert.not.ok(s.outputs.some((o) => o.type === 'start-tls'), 'no handshake is started with a server caught injecting');
});

test('STARTTLS injection: a partial line after the 220 fails closed too', () => {
  const s = run({ name: NAME, tls: 'required' }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', '250 STARTTLS')
    .expect('STARTTLS').sendRaw('220 go\r\n25'), [], { quit: false });
  assert.is(s.closedEvent?.error?.code, 'EPROTOCOL');
});

for (const [label, reply] of [['not advertised', null], ['454', '454 TLS not available'], ['502', '502 no'], ['354', '354 what'], ['garbage', 'xyz']] as const) {
  test(`STARTTLS required, ${label}: no AUTH, no MAIL, typed error`, () => {
    const b = script().send('220 mx');
    if (reply === null) b.expect(`EHLO ${NAME}`).send('250-mx', '250 AUTH PLAIN');
    else b.expect(`EHLO ${NAME}`).send('250-mx', '250-AUTH PLAIN', '250 STARTTLS').expect('STARTTLS').send(reply);
    const s = run({ name: NAME, tls: 'required', auth: { credentials: { user: 'u', pass: 'p' } } }, b,
      [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x' }]);
    assert.ok(['ETLS', 'EPROTOCOL'].includes(s.closedEvent?.error?.code ?? ''), s.closedEvent?.error?.message);
    assert.ok(!s.clientText.includes('AUTH') && !s.clientText.includes('MAIL'));
    assert.is(s.results[0]!.outcome, 'rejected');
  });
}

test('opportunistic STARTTLS refused: go on in clear, but never AUTH in clear', () => {
  const s = run({ name: NAME, auth: { credentials: { user: 'u', pass: 'p' } } }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', '250-AUTH PLAIN', '250 STARTTLS')
    .expect('STARTTLS').send('454 4.7.0 not now')
    .expect('QUIT'), [], { quit: false });
  assert.is(s.closedEvent?.error?.code, 'EAUTH');
  assert.ok(!s.clientText.includes('AUTH'));
});

test('60 AUTH mechanisms on a plain link: no credentials sent', () => {
  const mechs = Array.from({ length: 60 }, (_, i) => `X-M${i}`).concat(['PLAIN', 'LOGIN']);
  const s = run({ name: NAME, tls: 'none', auth: { credentials: { user: 'u', pass: 'secret' } } }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', `250 AUTH ${mechs.join(' ')}`)
    .expect('QUIT'), [], { quit: false });
  assert.is(s.closedEvent?.error?.code, 'EAUTH');
  assert.ok(!s.clientText.includes('AUTH') && !s.clientText.includes('c2VjcmV0'));
});

test('implicit TLS: no STARTTLS, AUTH right away', () => {
  const s = run({ name: NAME, secure: true, auth: { credentials: { user: 'u', pass: 'p' }, mechanism: 'LOGIN' } }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', '250 AUTH=LOGIN')
    .expect('AUTH LOGIN').send('334 VXNlcm5hbWU6')
    .expect('dQ==').send('334 UGFzc3dvcmQ6')
    .expect('cA==').send('235 2.7.0 ok')
    .expect('QUIT').send('221 bye'));
  assert.is(s.closedEvent?.error, undefined);
});

test('a user name with no password or token: EAUTH says so, nothing is sent', () => {
  const s = run({ name: NAME, secure: true, auth: { credentials: { user: 'alice' } } }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', '250 AUTH PLAIN LOGIN XOAUTH2')
    .expect('QUIT'), [], { quit: false });
  assert.is(s.closedEvent?.error?.code, 'EAUTH');
  assert.match(s.closedEvent?.error?.message ?? '', 'auth.user "alice" has no password: give auth.pass, or auth.token');
  assert.ok(!s.clientText.includes('AUTH'));
});

test('AUTH CRAM-MD5: RFC 2195 vector on the wire', () => {
  const s = run({ name: NAME, secure: true, auth: { credentials: { user: 'tim', pass: 'tanstaaftanstaaf' } } }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', '250 AUTH CRAM-MD5 PLAIN LOGIN')
    .expect('AUTH CRAM-MD5').send('334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+')
    .expect('dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw').send('235 ok')
    .expect('QUIT').send('221 bye'));
  assert.is(s.closedEvent?.error, undefined);
});

test('AUTH SCRAM-SHA-256: RFC 7677 vector on the wire, server signature checked', () => {
  const nonce = 'rOprNGfwEbeRWgbNEkqO';
  const random = (n: number) => { const b = Uint8Array.from(atob(nonce), (c) => c.charCodeAt(0)); assert.is(n, b.length); return b; };
  const b64 = (s: string) => btoa(s);
  const s = run({ name: NAME, secure: true, random, auth: { credentials: { user: 'user', pass: 'pencil' } } }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', '250 AUTH SCRAM-SHA-256 PLAIN')
    .expect(`AUTH SCRAM-SHA-256 ${b64('n,,n=user,r=' + nonce)}`)
    .send(`334 ${b64('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')}`)
    .expect(b64('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='))
    .send(`334 ${b64('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')}`)
    .expect('').send('235 ok')
    .expect('QUIT').send('221 bye'));
  assert.is(s.closedEvent?.error, undefined, s.closedEvent?.error?.message);
});

test('AUTH SCRAM-SHA-256: wrong server signature cancels with *', () => {
  const nonce = 'rOprNGfwEbeRWgbNEkqO';
  const random = () => Uint8Array.from(atob(nonce), (c) => c.charCodeAt(0));
  const s = run({ name: NAME, secure: true, random, auth: { credentials: { user: 'user', pass: 'pencil' } } }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', '250 AUTH SCRAM-SHA-256')
    .expect(/^AUTH SCRAM-SHA-256 /).send(`334 ${btoa('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')}`)
    .expect(/./).send(`334 ${btoa('v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')}`)
    .expect('*').send('501 cancelled'), [], { quit: false });
  assert.is(s.closedEvent?.error?.code, 'EAUTH');
});

test('AUTH XOAUTH2 and OAUTHBEARER initial responses', () => {
  const x = run({ name: NAME, secure: true, auth: { credentials: { user: 'u@x.org', token: 'tok' }, mechanism: 'XOAUTH2' } }, script()
    .send('220 mx').expect(`EHLO ${NAME}`).send('250-mx', '250 AUTH XOAUTH2 OAUTHBEARER')
    .expect(`AUTH XOAUTH2 ${btoa('user=u@x.org\x01auth=Bearer tok\x01\x01')}`).send('235 ok')
    .expect('QUIT').send('221 bye'));
  assert.is(x.closedEvent?.error, undefined);
  const o = run({ name: NAME, secure: true, host: 'mx.x.org', port: 465, auth: { credentials: { user: 'u@x.org', token: 'tok' } } }, script()
    .send('220 mx').expect(`EHLO ${NAME}`).send('250-mx', '250 AUTH XOAUTH2 OAUTHBEARER')
    .expect(`AUTH OAUTHBEARER ${btoa('n,a=u@x.org,\x01host=mx.x.org\x01port=465\x01auth=Bearer tok\x01\x01')}`).send('235 ok')
    .expect('QUIT').send('221 bye'));
  assert.is(o.closedEvent?.error, undefined, o.closedEvent?.error?.message);
});

test('AUTH: an initial response that would pass 512 octets waits for the 334', () => {
  const token = 'T'.repeat(600);
  const s = run({ name: NAME, secure: true, auth: { credentials: { user: 'u', token }, mechanism: 'XOAUTH2' } }, script()
    .send('220 mx').expect(`EHLO ${NAME}`).send('250-mx', '250 AUTH XOAUTH2')
    .expect('AUTH XOAUTH2').send('334 ')
    .expect(btoa(`user=u\x01auth=Bearer ${token}\x01\x01`)).send('235 ok')
    .expect('QUIT').send('221 bye'));
  assert.is(s.closedEvent?.error, undefined);
});

test('AUTH rejected (535): typed auth error, transient for 454', () => {
  for (const [reply, transient] of [['535 5.7.8 bad credentials', false], ['454 4.7.0 try later', true]] as const) {
    const s = run({ name: NAME, secure: true, auth: { credentials: { user: 'u', pass: 'p' } } }, script()
      .send('220 mx').expect(`EHLO ${NAME}`).send('250-mx', '250 AUTH PLAIN')
      .expect(/^AUTH PLAIN /).send(reply).expect('QUIT'), [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x' }], { quit: false });
    assert.is(s.closedEvent?.error?.code, 'EAUTH');
    assert.is(s.closedEvent?.error?.transient, transient);
    assert.is(s.results[0]!.outcome, 'rejected');
  }
});

test('server lists no AUTH: the legacy rule tries PLAIN', () => {
  const s = run({ name: NAME, secure: true, auth: { credentials: { user: 'u', pass: 'p' } } }, script()
    .send('220 mx').expect(`EHLO ${NAME}`).send('250 mx')
    .expect('AUTH PLAIN AHUAcA==').send('235 ok')
    .expect('QUIT').send('221 bye'));
  assert.is(s.closedEvent?.error, undefined);
});

test('greeting 554: QUIT politely, typed permanent error; 421: transient', () => {
  const s = run({ name: NAME }, script().send('554 5.7.1 go away').expect('QUIT'),
    [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x' }], { quit: false });
  assert.is(s.closedEvent?.error?.code, 'EREPLY');
  assert.is(s.closedEvent?.error?.transient, false);
  assert.is(s.results[0]!.outcome, 'rejected');
  const t = run({ name: NAME }, script().send('421 4.3.2 busy'), [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x' }], { quit: false });
  assert.is(t.closedEvent?.error?.transient, true);
  assert.is(t.results[0]!.error?.transient, true);
});

test('421 unprompted in the middle of a pipelined run: everything pending fails as transient', () => {
  const s = run({ name: NAME, tls: 'none' }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', '250-PIPELINING', '250 CHUNKING')
    .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'BDAT 3 LAST', 'RSET', 'MAIL FROM:<a@x.org>', 'RCPT TO:<c@x.org>', 'BDAT 3 LAST')
    .send('250 ok', '250 ok', '250 one done', '421 4.3.0 shutting down'),
  [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x\r\n' }, { envelope: { from: 'a@x.org', to: ['c@x.org'] }, body: 'y\r\n' }], { quit: false });
  assert.equal(s.results.map((r) => r.outcome), ['accepted', 'rejected']);
  assert.is(s.results[1]!.error?.transient, true);
  assert.is(s.closedEvent?.error?.transient, true);
});

test('link lost after the final dot: outcome unknown, never sent or failed', () => {
  const s = run({ name: NAME, tls: 'none' }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250 mx')
    .expect('MAIL FROM:<a@x.org>').send('250 ok')
    .expect('RCPT TO:<b@x.org>').send('250 ok')
    .expect('DATA').send('354 go')
    .expect('.').reset(),
  [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x\r\n' }], { quit: false });
  assert.is(s.results[0]!.outcome, 'unknown');
  assert.is(s.closedEvent?.error?.code, 'ECONNECTION');
});

test('a 3xx to the end of data is unknown, never accepted', () => {
  const s = run({ name: NAME, tls: 'none' }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250 mx')
    .expect('MAIL FROM:<a@x.org>').send('250 ok')
    .expect('RCPT TO:<b@x.org>').send('250 ok')
    .expect('DATA').send('354 go')
    .expect('.').send('354 more please'),
  [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x\r\n' }], { quit: false });
  assert.is(s.results[0]!.outcome, 'unknown');
  assert.is(s.closedEvent?.error?.code, 'EPROTOCOL');
});

test('a 3xx to MAIL or RCPT is not an acceptance', () => {
  const s = run({ name: NAME, tls: 'none' }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250 mx')
    .expect('MAIL FROM:<a@x.org>').send('250 ok')
    .expect('RCPT TO:<b@x.org>').send('354 odd')
    .expect('QUIT').send('221 bye'),
  [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x\r\n' }]);
  // RCPT cannot get a 3xx (RFC 5321 §4.3.2): the replies are out of step, so the session fails
  // and the message, whose end was never written, is rejected as transient (issue 12).
  assert.is(s.results[0]!.outcome, 'rejected');
  assert.is(s.results[0]!.error?.code, 'EPROTOCOL');
  assert.is(s.results[0]!.error?.transient, true);
  assert.equal(s.results[0]!.accepted, []);
  assert.is(s.closedEvent?.error?.code, 'EPROTOCOL');
});

test('link lost before the final dot: rejected as transient', () => {
  const s = run({ name: NAME, tls: 'none' }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250 mx')
    .expect('MAIL FROM:<a@x.org>').send('250 ok')
    .eof(),
  [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x\r\n' }], { quit: false });
  assert.is(s.results[0]!.outcome, 'rejected');
  assert.is(s.results[0]!.error?.transient, true);
});

test('PIPELINING: every recipient greylisted (4xx): the refusal is transient and names RCPT', () => {
  const s = run({ name: NAME, tls: 'none' }, script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250-mx', '250 PIPELINING')
    .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'DATA')
    .send('250 ok', '451 4.7.1 greylisted', '554 5.5.1 no valid recipients')
    .expect('QUIT').send('221 bye'),
  [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x\r\n' }]);
  const r = s.results[0]!;
  assert.is(r.outcome, 'rejected');
  assert.is(r.reply?.code, 451);
  assert.is(r.error?.transient, true);
  assert.is((r.error as import('../core/errors.ts').SmtpReplyError).command, 'RCPT');
});

test('a failed STARTTLS handshake is a TLS error, and a typed transport error passes through', () => {
  const clock = 0;
  const core = new SmtpConnection({ tls: 'required' });
  core.start(clock);
  for (const line of ['220 mx', '250-mx\r\n250 STARTTLS', '220 go']) core.receive(new TextEncoder().encode(line + '\r\n'), clock);
  while (core.poll(clock).type !== 'wait');
  assert.is(core.state, 'tls');
  core.transportError(new Error('self-signed certificate'), 1);
  let closed: import('../core/events.ts').SmtpEvent | undefined;
  for (let o = core.poll(1); o.type !== 'wait'; o = core.poll(1)) if (o.type === 'event' && o.event.type === 'closed') closed = o.event;
  assert.is(closed?.type === 'closed' && closed.error?.code, 'ETLS');
});

for (const [label, dataReply, closes] of [['refused', '554 5.5.1 not now', false], ['accepted', '354 go', true]] as const) {
  test(`cancel while DATA awaits its reply (${label}): rejected now, the link closes only if 354 comes`, () => {
    const s = run({ name: NAME, tls: 'none' }, script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`).send('250-mx', '250 PIPELINING')
      .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'DATA')
      .send('250 ok', '250 ok', dataReply)
      .expect(...(closes ? [] : ['RSET', 'MAIL FROM:<a@x.org>', 'RCPT TO:<c@x.org>', 'DATA']))
      .send(...(closes ? [] : ['250 ok', '250 ok', '250 ok', '354 go'])).expect(...(closes ? [] : ['.'])).send(...(closes ? [] : ['250 ok'])),
    [{ envelope: { from: 'a@x.org', to: ['b@x.org'] } }, { envelope: { from: 'a@x.org', to: ['c@x.org'] }, body: 'two\r\n' }],
    { quit: false, onEvent: (e, core, clock) => { if (e.type === 'ready') core.cancel(1, clock.now); } });
    assert.is(s.results[0]!.outcome, 'rejected');
    assert.is(s.results[0]!.error?.code, 'EABORT');
    if (closes) {
      assert.is(s.closedEvent?.error?.code, 'ECONNECTION');
      assert.is(s.results[1]!.outcome, 'rejected');
      assert.ok(!s.clientText.includes('\r\n.\r\n'), 'no dot was sent for the cancelled message');
    } else {
      assert.is(s.results[1]!.outcome, 'accepted');
      assert.is(s.server.messages.length, 1);
      assert.is(dec.decode(s.server.messages[0]), 'two\r\n');
    }
  });
}

test('NOOP and RSET on request', () => {
  const clock0 = script()
    .send('220 mx')
    .expect(`EHLO ${NAME}`).send('250 mx')
    .expect('NOOP').send('250 2.0.0 ok')
    .expect('RSET').send('250 flushed')
    .expect('QUIT').send('221 bye');
  const s = run({ name: NAME, tls: 'none' }, clock0, [], {
    quit: false,
    onEvent: (e, core, clock) => {
      if (e.type === 'ready') { core.noop(clock.now); core.rset(clock.now); core.quit(clock.now); }
    },
  });
  const cmds = s.events.filter((e) => e.type === 'command');
  assert.equal(cmds.map((e) => e.type === 'command' && [e.command, e.reply.code]), [['NOOP', 250], ['RSET', 250]]);
});

test('transcript events: AUTH redacted, server text printable', () => {
  const s = run({ name: NAME, secure: true, transcript: true, auth: { credentials: { user: 'u', pass: 'hunter2' } } }, script()
    .send('220 mx \x1b[31mred\x1b[0m')
    .expect(`EHLO ${NAME}`).send('250-mx', '250 AUTH PLAIN')
    .expect(/^AUTH PLAIN/).send('235 ok')
    .expect('QUIT').send('221 bye'));
  const text = s.events.filter((e) => e.type === 'transcript').map((e) => e.type === 'transcript' && `${e.from}: ${e.text}`).join('\n');
  assert.ok(text.includes('client: AUTH PLAIN <redacted>'), text);
  assert.ok(!text.includes(btoa('\0u\0hunter2')));
  assert.ok(!text.includes('\x1b'));
  assert.ok(text.includes('\\x1b[31mred'));
});


test('DATA: a whole body changed after send() to hold "\\r\\n.\\r\\n" is still stuffed (checked when written)', () => {
  const enc = new TextEncoder();
  const core = new SmtpConnection({ name: NAME, tls: 'none' });
  const wire: Uint8Array[] = [];
  const drain = (): void => {
    for (let o = core.poll(0); o.type !== 'wait'; o = core.poll(0)) if (o.type === 'write') wire.push(...o.chunks);
  };
  core.start(0);
  core.receive(enc.encode('220 mx\r\n'), 0);
  drain();
  core.receive(enc.encode('250-mx\r\n250 PIPELINING\r\n'), 0); // no CHUNKING: DATA
  drain();
  const body = enc.encode('Subject: x\r\n\r\nline one\r\nline two\r\n'); // clean when sent
  core.send({ from: 'a@x.org', to: ['b@x.org'] }, 0, body);
  drain();
  body.set(enc.encode('\r\n.\r\n'), 'Subject: x\r\n\r\nline one'.length); // "...one\r\n.\r\ne two\r\n"
  core.receive(enc.encode('250 ok\r\n250 ok\r\n354 go\r\n'), 0);
  drain();
  const text = wire.map((v) => dec.decode(v)).join('');
  const data = text.slice(text.indexOf('DATA\r\n') + 6);
  assert.is(data, 'Subject: x\r\n\r\nline one\r\n..\r\ne two\r\n.\r\n');
});

test.run();
