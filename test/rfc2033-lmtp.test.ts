// RFC 2033 LMTP byte for byte against scripted servers: LHLO (no HELO fallback) and one final reply
// per accepted recipient after the end of data.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { script } from '../transports/mock.ts';
import { run } from './helpers.ts';

const NAME = 'client.example';

test('LMTP: LHLO, and one final reply per accepted recipient', () => {
  const s = run(
    { name: NAME, lmtp: true, tls: 'none' },
    script()
      .send('220 lmtp ready')
      .expect(`LHLO ${NAME}`)
      .send('250-lmtp', '250-PIPELINING', '250 ENHANCEDSTATUSCODES')
      .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'RCPT TO:<c@x.org>', 'RCPT TO:<d@x.org>', 'DATA')
      .send('250 ok', '250 ok', '550 5.1.1 unknown', '250 ok', '354 go')
      .expect('.')
      .send('250 2.0.0 b delivered', '452 4.2.2 d over quota')
      .expect('QUIT')
      .send('221 bye'),
    [{ envelope: { from: 'a@x.org', to: ['b@x.org', 'c@x.org', 'd@x.org'] }, body: 'hi\r\n' }],
  );
  const r = s.results[0]!;
  assert.is(r.outcome, 'accepted');
  assert.equal(
    r.accepted.map((x) => x.address),
    ['b@x.org'],
  );
  assert.equal(
    r.rejected.map((x) => [x.address, x.reply.code]),
    [
      ['c@x.org', 550],
      ['d@x.org', 452],
    ],
  );
});

test('LMTP: link lost between per-recipient replies: the rest are unknown', () => {
  const s = run(
    { name: NAME, lmtp: true, tls: 'none' },
    script()
      .send('220 lmtp')
      .expect(`LHLO ${NAME}`)
      .send('250-lmtp', '250 PIPELINING')
      .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'RCPT TO:<c@x.org>', 'DATA')
      .send('250 ok', '250 ok', '250 ok', '354 go')
      .expect('.')
      .send('250 b delivered')
      .eof(),
    [{ envelope: { from: 'a@x.org', to: ['b@x.org', 'c@x.org'] }, body: 'hi\r\n' }],
  );
  const r = s.results[0]!;
  assert.is(r.outcome, 'unknown');
  assert.equal(
    r.accepted.map((x) => x.address),
    ['b@x.org'],
  );
  assert.equal(r.unknown, ['c@x.org']);
});

test('LMTP: LHLO refused is an error, no HELO fallback', () => {
  const s = run({ name: NAME, lmtp: true }, script().send('220 lmtp').expect(`LHLO ${NAME}`).send('500 no'), [], { quit: false });
  assert.is(s.closedEvent?.error?.code, 'EREPLY');
});

test.run();
