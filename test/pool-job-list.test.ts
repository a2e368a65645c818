// client/job-list.ts, the pool's queue: a model check against a plain array (push, unshift,
// shift, removal from anywhere, iteration that removes as it goes), then the pool with a queue
// far larger than maxQueued's default: every queued send settles once when connects fail or
// when sends are cancelled while waiting, and nothing is left queued.
import { createServer, type AddressInfo, type Server } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { JobList, type Listed } from '../client/job-list.ts';
import { createPool } from '../transports/node.ts';
import { body, plain } from './smtp-server-fixture.ts';
import { exitWhenDone } from './exit-when-done.ts';

interface Item extends Listed<Item> {
  readonly n: number;
}
const item = (n: number): Item => ({ n, prev: undefined, next: undefined, list: undefined });

type Op = { op: 'push' | 'unshift' } | { op: 'shift' } | { op: 'remove'; at: number } | { op: 'sweep'; every: number };
const ops = fc.array(
  fc.oneof(
    fc.constant<Op>({ op: 'push' }),
    fc.constant<Op>({ op: 'unshift' }),
    fc.constant<Op>({ op: 'shift' }),
    fc.nat(40).map<Op>((at) => ({ op: 'remove', at })),
    fc.integer({ min: 1, max: 4 }).map<Op>((every) => ({ op: 'sweep', every })),
  ),
  { maxLength: 200 },
);

test('JobList behaves as an array under every mix of operations', () => {
  fc.assert(
    fc.property(ops, (script) => {
      const list = new JobList<Item>();
      const other = new JobList<Item>();
      let model: Item[] = [];
      let next = 0;
      for (const o of script) {
        if (o.op === 'push' || o.op === 'unshift') {
          const it = item(next++);
          list[o.op](it);
          if (o.op === 'push') model.push(it);
          else model.unshift(it);
        } else if (o.op === 'shift') {
          assert.is(list.shift(), model.shift());
        } else if (o.op === 'remove') {
          const victim = model[o.at % Math.max(1, model.length)];
          if (victim) {
            assert.is(other.remove(victim), false, 'another list does not take it out');
            assert.is(list.remove(victim), true);
            assert.is(list.remove(victim), false, 'a second removal finds nothing');
            model = model.filter((x) => x !== victim);
          }
        } else if (o.op === 'sweep') {
          // Remove every `every`-th item while iterating, as connectFailed does.
          let i = 0;
          for (const it of list) if (i++ % o.every === 0) list.remove(it);
          model = model.filter((_, j) => j % o.every !== 0);
        }
        assert.is(list.length, model.length);
        assert.is(list.first, model[0]);
        assert.equal([...list], model);
      }
    }),
    { numRuns: 500, seed: 18 },
  );
});

test('JobList refuses an item that is already listed (it would corrupt both lists)', () => {
  const a = new JobList<Item>();
  const b = new JobList<Item>();
  const it = item(1);
  a.push(it);
  assert.throws(
    () => b.push(it),
    (err: Error & { code?: string }) => err.code === 'EINTERNAL',
  );
  assert.equal([...a], [it]);
  assert.is(b.length, 0);
});

const N = 20_000;

test(`pool: ${N.toLocaleString('en-US')} queued sends against a closed port each settle once, rejected`, async () => {
  const probe = createServer();
  await new Promise<void>((res) => probe.listen(0, '127.0.0.1', () => res()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((res) => probe.close(() => res()));
  const pool = createPool({ ...plain(port), maxQueued: Infinity, retries: 1 });
  const results = await Promise.all(
    Array.from({ length: N }, (_, i) => pool.send({ from: 'a@example.com', to: 'b@example.com', body: body(`m${i}`) })),
  );
  assert.ok(results.every((r) => r.outcome === 'rejected' && r.error?.code === 'ECONNECTION'));
  const stats = pool.stats();
  assert.is(stats.queued, 0);
  assert.is(stats.rejected, N);
  await pool.close();
});

test(`pool: ${N.toLocaleString('en-US')} sends cancelled while queued or waiting for room each settle once, not started`, async () => {
  const probe = createServer();
  await new Promise<void>((res) => probe.listen(0, '127.0.0.1', () => res()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((res) => probe.close(() => res()));
  // A long back-off keeps everything waiting: half in the queue, half in the waiting room.
  const pool = createPool({ ...plain(port), maxQueued: N / 2, retries: 1_000_000 });
  const controllers = Array.from({ length: N }, () => new AbortController());
  const sends = controllers.map((c, i) => pool.send({ from: 'a@example.com', to: 'b@example.com', body: body(`m${i}`), signal: c.signal }));
  await new Promise((r) => setTimeout(r, 20));
  assert.is(pool.stats().queued + pool.stats().waiting, N);
  // Cancel from the middle outwards, so removals are not all at the front.
  for (let i = 0; i < N; i++) controllers[(i * 7919) % N]!.abort();
  const results = await Promise.all(sends);
  assert.ok(results.every((r) => r.outcome === 'rejected' && r.error?.code === 'EABORT'));
  assert.equal([pool.stats().queued, pool.stats().waiting], [0, 0]);
  await pool.close();
});

// A send put back in the queue is waiting again: after its session ended under it (a requeue,
// here a 421) or after a transient refusal (a retry, here a 451 and a closed link). Cancelling
// it then must settle it at once, as cancelling any waiting send does. Every later connect
// fails and retries are unbounded, so only the cancel can end it.
for (const [way, reply, counter] of [
  ['requeued', '421 4.3.2 shutting down', 'requeued'],
  ['retried', '451 4.3.0 try again later', 'retried'],
] as const) {
  test(`pool: a ${way} send cancelled while it waits again settles at once, not started`, async () => {
    let server: Server | undefined;
    server = createServer((socket) => {
      socket.on('error', () => {});
      socket.write('220 s.example\r\n');
      let buf = '';
      socket.on('data', (d) => {
        buf += d.toString('latin1');
        for (let eol = buf.indexOf('\r\n'); eol >= 0; eol = buf.indexOf('\r\n')) {
          const line = buf.slice(0, eol);
          buf = buf.slice(eol + 2);
          if (/^EHLO/i.test(line)) socket.write('250-s.example\r\n250 PIPELINING\r\n');
          else if (/^MAIL/i.test(line)) {
            // The server goes away: this link ends, and no connect works after.
            server?.close();
            server = undefined;
            socket.end(`${reply}\r\n`);
          } else socket.write('250 ok\r\n');
        }
      });
    });
    await new Promise<void>((res) => server!.listen(0, '127.0.0.1', () => res()));
    const port = (server.address() as AddressInfo).port;
    const pool = createPool({ ...plain(port), maxConnections: 1, retries: 1_000_000 });
    const controller = new AbortController();
    const sent = pool.send({ from: 'a@example.com', to: 'b@example.com', body: body('m'), signal: controller.signal });
    for (let i = 0; i < 200 && pool.stats()[counter] === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.is(pool.stats()[counter], 1, `the send was ${way} once`);
    assert.is(pool.stats().queued, 1, 'and waits in the queue');
    controller.abort();
    const timeout = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 2000).unref());
    const r = await Promise.race([sent, timeout]);
    assert.ok(r !== 'hung', 'the cancelled send settled');
    assert.is(r.outcome, 'rejected');
    assert.is(r.error?.code, 'EABORT');
    assert.is(pool.stats().queued, 0);
    await pool.close();
  });
}

exitWhenDone(test);
test.run();
