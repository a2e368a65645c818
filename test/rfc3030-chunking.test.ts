// RFC 3030 CHUNKING (BDAT) byte for byte against scripted servers: whole BDAT transactions back to
// back with PIPELINING, one chunk at a time without it, and a refused chunk.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { script } from '../transports/mock.ts';
import { run, lines, dec } from './helpers.ts';

const NAME = 'client.example';

/** A user that streams one chunk each time the network goes quiet, then ends the body. */
function streamer(id: number, chunks: string[]) {
  let i = 0;
  return (core: import('../core/connection.ts').SmtpConnection, clock: { now: number }) => {
    if (i < chunks.length) core.writeBody(id, new TextEncoder().encode(chunks[i++]), clock.now);
    else if (i++ === chunks.length) core.endBody(id, clock.now);
    else return false;
    return true;
  };
}

test('CHUNKING + PIPELINING: whole BDAT transactions back to back across messages', () => {
  const s = run(
    { name: NAME, tls: 'none' },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250-PIPELINING', '250-CHUNKING', '250 8BITMIME')
      // Both messages arrive before any reply is sent. The RSET between them: the first is still in
      // flight, and a server that keeps a transaction after a refused BDAT (Exim) must not put the
      // second message in it (issue 12).
      .expect('MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'BDAT 7 LAST', 'RSET', 'MAIL FROM:<a@x.org>', 'RCPT TO:<c@x.org>', 'BDAT 6 LAST')
      .send('250 ok', '250 ok', '250 2.0.0 one', '250 reset', '250 ok', '250 ok', '250 2.0.0 two')
      .expect('QUIT')
      .send('221 bye'),
    [
      { envelope: { from: 'a@x.org', to: ['b@x.org'] }, body: 'first\r\n' },
      { envelope: { from: 'a@x.org', to: ['c@x.org'] }, body: '.two\n' },
    ],
  );
  assert.equal(
    s.results.map((r) => r.outcome),
    ['accepted', 'accepted'],
  );
  assert.is(
    s.clientText,
    lines(`EHLO ${NAME}`, 'MAIL FROM:<a@x.org>', 'RCPT TO:<b@x.org>', 'BDAT 7 LAST') +
      'first\r\n' +
      lines('RSET', 'MAIL FROM:<a@x.org>', 'RCPT TO:<c@x.org>', 'BDAT 6 LAST') +
      '.two\r\n' +
      lines('QUIT'),
  );
  // BDAT: no dot-stuffing, line endings normalised.
  assert.is(dec.decode(s.server.messages[1]), '.two\r\n');
});

test('CHUNKING without PIPELINING: waits for each BDAT reply', () => {
  const s = run(
    { name: NAME, tls: 'none', chunkSize: 4 },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250 CHUNKING')
      .expect('MAIL FROM:<a@x.org>')
      .send('250 ok')
      .expect('RCPT TO:<b@x.org>')
      .send('250 ok')
      .expect('BDAT 4')
      .send('250 chunk')
      .expect('BDAT 4')
      .send('250 chunk')
      .expect('BDAT 0 LAST')
      .send('250 done')
      .expect('QUIT')
      .send('221 bye'),
    [{ envelope: { from: 'a@x.org', to: ['b@x.org'] } }],
    { onIdle: streamer(1, ['ab', 'cd', 'ef\r\n', '']) },
  );
  assert.is(s.results[0]!.outcome, 'accepted');
  assert.is(dec.decode(s.server.messages[0]), 'abcdef\r\n');
});

test('BDAT chunk rejected: transaction rejected, RSET before the next one', () => {
  const s = run(
    { name: NAME, tls: 'none', chunkSize: 4 },
    script()
      .send('220 mx')
      .expect(`EHLO ${NAME}`)
      .send('250-mx', '250 CHUNKING')
      .expect('MAIL FROM:<a@x.org>')
      .send('250 ok')
      .expect('RCPT TO:<b@x.org>')
      .send('250 ok')
      .expect('BDAT 4')
      .send('552 5.3.4 too big')
      .expect('RSET')
      .send('250 ok')
      .expect('MAIL FROM:<a@x.org>')
      .send('250 ok')
      .expect('RCPT TO:<c@x.org>')
      .send('250 ok')
      .expect('BDAT 3 LAST')
      .send('250 ok')
      .expect('QUIT')
      .send('221 bye'),
    [{ envelope: { from: 'a@x.org', to: ['b@x.org'] } }, { envelope: { from: 'a@x.org', to: ['c@x.org'] }, body: 'z\r\n' }],
    { onIdle: streamer(1, ['abcd', 'efgh', 'ij']) },
  );
  assert.equal(
    s.results.map((r) => r.outcome),
    ['rejected', 'accepted'],
  );
  assert.is(s.results[0]!.reply?.code, 552);
});

test.run();
