// The pool (client/pool.ts) through the Node transport against a real smtp-server in process
// (test/smtp-server-fixture.ts): many messages over a few connections, each delivered once; a
// transient refusal retried on another connection, an unknown outcome never; streams never
// retried; the rate limit and connect failures settle honestly. Split from client-node-transport.test.ts.
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exitWhenDone } from './exit-when-done.ts';
import { body, plain, sleep, startServer } from './smtp-server-fixture.ts';
import { createPool } from '../transports/node.ts';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

test('pool: 3 connections carry 300 messages, each delivered once', async () => {
  const srv = await startServer();
  const pool = createPool({ ...plain(srv.port), maxConnections: 3 });
  const results = await Promise.all(
    Array.from({ length: 300 }, (_, i) =>
      pool.send({ from: 'a@example.com', to: 'b@example.com', body: `X-Seq: ${i}\r\n\r\nmessage ${i}\r\n` }),
    ),
  );
  await pool.close();
  assert.ok(results.every((r) => r.outcome === 'accepted'));
  assert.is(srv.messages.length, 300);
  const seqs = new Set(srv.messages.map((m) => /X-Seq: (\d+)/.exec(m.body.toString())![1]));
  assert.is(seqs.size, 300);
  assert.ok(srv.stats.maxOpen <= 3, `at most 3 at once, saw ${srv.stats.maxOpen}`);
  assert.ok(new Set(srv.messages.map((m) => m.session)).size >= 3, 'the load was spread');
  await sleep(50);
  assert.is(srv.stats.open, 0);
  await srv.close();
});

test('pool: a transient rejection is retried on another connection; unknown never is', async () => {
  let failedOnce = false;
  let drops = 0;
  const srv = await startServer({
    // Greylisting at MAIL FROM (see the report: a 4xx at RCPT under PIPELINING loses its transience in the core).
    onMailFrom(address, _session, callback) {
      if (address.address === 'greylist@example.com' && !failedOnce) {
        failedOnce = true;
        const err = new Error('Try again later') as Error & { responseCode: number };
        err.responseCode = 451;
        return callback(err);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (text.includes('drop-me')) {
          drops++;
          srv.dropAll();
          return;
        }
        srv.messages.push({ from: '', to: session.envelope.rcptTo.map((r) => r.address), body: Buffer.from(text), session: session.id });
        callback(null);
      });
    },
  });
  const pool = createPool({ ...plain(srv.port), maxConnections: 2, retries: 2 });
  const grey = await pool.send({ from: 'greylist@example.com', to: 'b@example.com', body: body('grey') });
  assert.is(grey.outcome, 'accepted');
  assert.is(srv.stats.connections, 2, 'the retry went to a second connection');
  const lost = await pool.send({ from: 'a@example.com', to: 'b@example.com', body: body('drop-me') });
  assert.is(lost.outcome, 'unknown');
  assert.is(drops, 1, 'an unknown outcome must not be retried');
  // The dead connection is replaced.
  const next = await pool.send({ from: 'a@example.com', to: 'b@example.com', body: body('next') });
  assert.is(next.outcome, 'accepted');
  await pool.close();
  assert.is(srv.messages.length, 2);
  await srv.close();
});

test('pool: streams are not retried; rate limit and connect failures settle honestly', async () => {
  let calls = 0;
  const srv = await startServer({
    onMailFrom(_address, _session, callback) {
      calls++;
      const err = new Error('Try again later') as Error & { responseCode: number };
      err.responseCode = 451;
      callback(err);
    },
  });
  const pool = createPool({ ...plain(srv.port), retries: 3 });
  const r = await pool.send({ from: 'a@example.com', to: 'b@example.com', body: [body('stream')] });
  assert.is(r.outcome, 'rejected');
  assert.is(r.error?.transient, true);
  assert.is(calls, 1);
  const s = await pool.send({ from: 'a@example.com', to: 'b@example.com', body: body('string') });
  assert.is(s.outcome, 'rejected');
  assert.is(calls, 5); // one attempt and three retries
  await pool.close();
  await srv.close();

  const ok = await startServer();
  const limited = createPool({ ...plain(ok.port), rateLimit: { messages: 4, perMs: 50 } });
  const all = await Promise.all(
    Array.from({ length: 12 }, (_, i) => limited.send({ from: 'a@example.com', to: 'b@example.com', body: body(`r${i}`) })),
  );
  assert.ok(all.every((x) => x.outcome === 'accepted'));
  await limited.close();
  await ok.close();

  const probe = createServer();
  await new Promise<void>((res) => probe.listen(0, '127.0.0.1', () => res()));
  const freePort = (probe.address() as AddressInfo).port;
  await new Promise<void>((res) => probe.close(() => res()));
  const dead = createPool({ ...plain(freePort), retries: 1 });
  const d = await dead.send({ from: 'a@example.com', to: 'b@example.com', body: body('nowhere') });
  assert.is(d.outcome, 'rejected');
  assert.is(d.error?.code, 'ECONNECTION');
  await dead.close();
});

test('no unhandled promise rejections', async () => {
  await sleep(50);
  assert.equal(unhandled, []);
});

exitWhenDone(test);
test.run();
