// The pool against servers that count and push back: connection accounting (never more than
// maxConnections, counting a retired connection until its link has closed), backpressure,
// stats, lifetimes and idle links, and messages caught on a link the server closed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exitWhenDone } from './exit-when-done.ts';
import { startSim } from './smtp-sim.ts';
import { createPool } from '../transports/node.ts';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const plain = (port: number) => ({ host: '127.0.0.1', port, tls: 'none' as const });
const msg = (i: number) => ({ from: 'a@example.com', to: 'b@example.com', body: `Subject: m${i}\r\n\r\nmessage ${i}\r\n` });

test('retiring a connection (message limit) never makes maxConnections + 1: a server allowing exactly 3 refuses none', async () => {
  // The server answers QUIT after 50 ms and counts a connection until it has said 221 and
  // closed; a fourth connection at once gets 421. A replacement opened right after QUIT (before
  // the old link closed) is refused.
  const srv = await startSim({ limit: 3, quitDelay: 50 });
  const pool = createPool({ ...plain(srv.port), maxConnections: 3, maxMessagesPerConnection: 3, retries: 0 });
  const results = await Promise.all(Array.from({ length: 60 }, (_, i) => pool.send(msg(i))));
  await pool.close();
  assert.is(srv.stats.refused, 0, `connections refused for going over the limit: ${srv.stats.refused}`);
  assert.ok(srv.stats.maxOpen <= 3, `at most 3 open at once, saw ${srv.stats.maxOpen}`);
  assert.equal(results.filter((r) => r.outcome !== 'accepted').map((r) => r.error?.message), []);
  assert.is(srv.messages.length, 60);
  assert.ok(srv.stats.connections >= 20, `retired and replaced: ${srv.stats.connections} connections`);
  await srv.close();
});

test('no unhandled promise rejections', async () => {
  await sleep(20);
  assert.equal(unhandled, []);
});

exitWhenDone(test);
test.run();
