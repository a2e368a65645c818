// RFC 2920 PIPELINING byte for byte against scripted servers: the MAIL/RCPT/DATA group in one
// write, per-recipient results inside it, the lone dot after an unwanted 354, and the one-command-
// at-a-time path when the server does not advertise it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { script } from '../transports/mock.ts';
import { run, dec } from './helpers.ts';

const NAME = 'client.example';
const EHLO_PIPE = ['250-mx.example', '250-PIPELINING', '250-8BITMIME', '250-SIZE 1000000', '250 ENHANCEDSTATUSCODES'];

test('PIPELINING: MAIL, every RCPT and DATA go as one group; per-recipient results', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send(...EHLO_PIPE)
      // The server reads the whole group before answering: a client that waited would stall.
      .expect('MAIL FROM:<a@x.org> SIZE=5', 'RCPT TO:<b@x.org>', 'RCPT TO:<c@x.org>', 'RCPT TO:<d@x.org>', 'DATA')
      .send('250 2.1.0 ok', '250 2.1.5 ok', '550 5.1.1 no such user', '251 2.1.5 forwarded', '354 go')
      .expect('.')
      .send('250 2.0.0 queued')
      .expect('QUIT')
      .send('221 bye'),
    [{ envelope: { from: 'a@x.org', to: ['b@x.org', 'c@x.org', 'd@x.org'], size: 5 }, body: 'hi\r\n' }],
  );
  const r = s.results[0]!;
  assert.is(r.outcome, 'accepted');
  assert.equal(
    r.accepted.map((x) => x.address),
    ['b@x.org', 'd@x.org'],
  );
  assert.equal(
    r.rejected.map((x) => [x.address, x.reply.code, x.reply.enhanced]),
    [['c@x.org', 550, '5.1.1']],
  );
  assert.is(r.reply?.enhanced, '2.0.0');
  // The whole group left in a single write.
  const firstMailWrite = s.outputs.find((o) => o.type === 'write' && o.chunks.some((c) => dec.decode(c).startsWith('MAIL')));
  assert.ok(firstMailWrite && firstMailWrite.type === 'write');
  assert.ok(
    firstMailWrite.chunks
      .map((c) => dec.decode(c))
      .join('')
      .includes('DATA\r\n'),
  );
});

test('PIPELINING: every recipient rejected, DATA refused: rejected, RSET, next message goes', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send(...EHLO_PIPE)
      .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'DATA')
      .send('250 ok', '550 5.1.1 no', '554 5.5.1 no valid recipients')
      .expect('RSET', 'MAIL FROM:<a@x.org>', 'RCPT TO:<c@x.org>', 'DATA')
      .send('250 flushed', '250 ok', '250 ok', '354 go')
      .expect('.')
      .send('250 ok')
      .expect('QUIT')
      .send('221 bye'),
    [
      { envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'one\r\n' },
      { envelope: { from: 'a@x.org', to: ['c@x.org'] }, body: 'two\r\n' },
    ],
  );
  assert.equal(
    s.results.map((r) => r.outcome),
    ['rejected', 'accepted'],
  );
  assert.is(s.results[0]!.error?.code, 'EREPLY');
  assert.is(s.results[0]!.error?.transient, false);
  assert.is(s.server.messages.length, 1);
  assert.is(dec.decode(s.server.messages[0]), 'two\r\n');
});

test('PIPELINING: every recipient rejected but DATA got 354: a lone dot ends it (RFC 2920)', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send(...EHLO_PIPE)
      .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'DATA')
      .send('250 ok', '550 no', '354 go ahead anyway')
      .expect('.')
      .send('554 no valid recipients')
      .expect('QUIT')
      .send('221 bye'),
    [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'secret body\r\n' }],
  );
  assert.is(s.results[0]!.outcome, 'rejected');
  assert.ok(!s.clientText.includes('secret body'), 'the body is never sent');
  assert.is(s.server.messages[0]!.length, 0);
});

test('without PIPELINING: one command at a time, no DATA when every RCPT failed, RSET before the next', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250 mx')
      .expect('MAIL FROM:<a@x.org>')
      .send('250 ok')
      .expect('RCPT TO:<b@x.org>')
      .send('550 no')
      .expect('RCPT TO:<c@x.org>')
      .send('450 later')
      .expect('RSET')
      .send('250 ok')
      .expect('MAIL FROM:<a@x.org>')
      .send('250 ok')
      .expect('RCPT TO:<d@x.org>')
      .send('250 ok')
      .expect('DATA')
      .send('354 go')
      .expect('.')
      .send('250 ok')
      .expect('QUIT')
      .send('221 bye'),
    [
      { envelope: { from: 'a@x.org', to: ['b@x.org', 'c@x.org'] }, body: 'x\r\n' },
      { envelope: { from: 'a@x.org', to: ['d@x.org'] }, body: 'y\r\n' },
    ],
  );
  const r = s.results[0]!;
  assert.is(r.outcome, 'rejected');
  assert.equal(
    r.rejected.map((x) => x.reply.code),
    [550, 450],
  );
  assert.is(s.results[1]!.outcome, 'accepted');
});

test('421 unprompted in the middle of a pipelined run: everything pending fails as transient', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250-PIPELINING', '250 CHUNKING')
      .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'BDAT 3 LAST', 'RSET', 'MAIL FROM:<a@x.org>', 'RCPT TO:<c@x.org>', 'BDAT 3 LAST')
      .send('250 ok', '250 ok', '250 one done', '421 4.3.0 shutting down'),
    [
      { envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x\r\n' },
      { envelope: { from: 'a@x.org', to: ['c@x.org'] }, body: 'y\r\n' },
    ],
    { quit: false },
  );
  assert.equal(
    s.results.map((r) => r.outcome),
    ['accepted', 'rejected'],
  );
  assert.is(s.results[1]!.error?.transient, true);
  assert.is(s.closedEvent?.error?.transient, true);
});

test('PIPELINING: every recipient greylisted (4xx): the refusal is transient and names RCPT', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250 PIPELINING')
      .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'DATA')
      .send('250 ok', '451 4.7.1 greylisted', '554 5.5.1 no valid recipients')
      .expect('QUIT')
      .send('221 bye'),
    [{ envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'x\r\n' }],
  );
  const r = s.results[0]!;
  assert.is(r.outcome, 'rejected');
  assert.is(r.reply?.code, 451);
  assert.is(r.error?.transient, true);
  assert.is((r.error as import('../core/errors.ts').SmtpReplyError).command, 'RCPT');
});

test.run();
