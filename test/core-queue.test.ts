// core/queue.ts: Queue and SlotQueue against a plain array as the model, over runs long enough
// to compact the backing array many times (COMPACT_AFTER is 1,024), with SlotQueue's removals
// from anywhere (a cancelled transaction), repeated removals and removals of items it never
// held. Then through the connection: sends cancelled in a scattered order each settle once,
// and the ones left go out in order.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { Queue, SlotQueue, type Slotted } from '../core/queue.ts';
import { SmtpConnection as LeanSmtpConnection } from '../core/connection.ts';
import type { TransactionResult } from '../core/events.ts';

interface Item extends Slotted {
  readonly n: number;
}

type Op = { push: number } | { shift: true } | { remove: number } | { clear: true };
const op = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 40 }).map((k): Op => ({ push: k })) },
  { weight: 4, arbitrary: fc.constant<Op>({ shift: true }) },
  { weight: 4, arbitrary: fc.nat(5000).map((k): Op => ({ remove: k })) },
  { weight: 1, arbitrary: fc.constant<Op>({ clear: true }) },
);

let pushed = 0;
/** Push k new items onto the queue and onto the array it must agree with. */
function pushBoth(q: SlotQueue<Item>, model: Item[], k: number): void {
  for (let i = 0; i < k; i++) {
    const it = { n: pushed++, slot: -1 };
    q.push(it);
    model.push(it);
  }
}
/** Shift both: the same item, or nothing from either. */
function shiftBoth(q: SlotQueue<Item>, model: Item[]): Item | undefined {
  const it = q.shift();
  assert.is(it, model.shift());
  return it;
}

test('SlotQueue agrees with an array on front, shift, remove (from anywhere), length and clear', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
      const q = new SlotQueue<Item>();
      const other = new SlotQueue<Item>();
      let model: Item[] = [];
      const gone: Item[] = [];
      for (const o of ops) {
        if ('push' in o) {
          pushBoth(q, model, o.push);
        } else if ('shift' in o) {
          const it = shiftBoth(q, model);
          if (it) gone.push(it);
        } else if ('remove' in o) {
          if (model.length > 0) {
            const it = model[o.remove % model.length]!;
            other.remove(it); // not its queue: nothing happens
            q.remove(it);
            model = model.filter((x) => x !== it);
            gone.push(it);
          }
          // Removing what already left (or was never there) changes nothing.
          if (gone.length > 0) q.remove(gone[o.remove % gone.length]!);
        } else {
          q.clear();
          gone.push(...model);
          model = [];
        }
        assert.is(q.length, model.length);
        assert.is(q.front(), model[0]);
        assert.ok(
          gone.every((it) => it.slot === -1),
          'an item that left has no slot',
        );
      }
      const rest: Item[] = [];
      for (let it = q.shift(); it; it = q.shift()) rest.push(it);
      assert.equal(rest, model);
      assert.is(other.length, 0);
    }),
    { numRuns: 300, seed: 18 },
  );
});

// The backing array, read for the memory properties below (the queue keeps it private).
const backing = (q: SlotQueue<Item>): (Item | undefined)[] => (q as unknown as { items: (Item | undefined)[] }).items;

test('SlotQueue agrees with an array when whole runs are cancelled behind the head (the holes are dropped and slots renumbered)', () => {
  type Bulk = { push: number } | { shift: true } | { sweep: number; keepHead: boolean };
  const bulk = fc.oneof(
    fc.integer({ min: 1, max: 800 }).map((k): Bulk => ({ push: k })),
    fc.constant<Bulk>({ shift: true }),
    fc.record({ sweep: fc.integer({ min: 1, max: 5 }), keepHead: fc.boolean() }),
  );
  fc.assert(
    fc.property(fc.array(bulk, { maxLength: 40 }), (ops) => {
      const q = new SlotQueue<Item>();
      let model: Item[] = [];
      for (const o of ops) {
        if ('push' in o) {
          pushBoth(q, model, o.push);
        } else if ('shift' in o) {
          const it = shiftBoth(q, model);
          if (it) assert.is(it.slot, -1);
        } else {
          // Remove every `sweep`-th item, the head too unless keepHead (then it stays put).
          const gone = model.filter((_, i) => i % o.sweep === 0 && (i > 0 || !o.keepHead));
          for (const it of gone) q.remove(it);
          for (const it of gone) q.remove(it); // twice: nothing more happens
          assert.ok(gone.every((it) => it.slot === -1));
          model = model.filter((it) => !gone.includes(it));
        }
        assert.is(q.length, model.length);
        assert.is(q.front(), model[0]);
        const live = backing(q).filter((it) => it !== undefined);
        assert.equal(live, model, 'the backing array holds the items in order, and nothing else');
        // Holes behind the head stay under max(items, 1,024); the emptied front, under what follows it.
        assert.ok(backing(q).length <= 4 * model.length + 2048 + 2, `backing ${backing(q).length} for ${model.length}`);
      }
    }),
    { numRuns: 150 },
  );
});

test('SlotQueue: removals behind a head that does not move leave neither references nor an ever longer array', () => {
  // The head is a transaction still being written (a slow body, a full window): sends queued
  // behind it and cancelled, one after another, for as long as it stays.
  const q = new SlotQueue<Item>();
  const head = { n: -1, slot: -1 };
  q.push(head);
  const kept: Item[] = [];
  const removed: Item[] = [];
  for (let i = 0; i < 100_000; i++) {
    const it = { n: i, slot: -1 };
    q.push(it);
    if (i % 100 === 0) kept.push(it);
    else {
      q.remove(it);
      removed.push(it);
    }
  }
  assert.is(q.length, 1 + kept.length);
  const items = backing(q);
  const held = new Set(items);
  assert.ok(
    removed.every((it) => !held.has(it) && it.slot === -1),
    'no removed item is referenced',
  );
  assert.ok(items.length <= 2 * q.length + 2048, `backing array of ${items.length} for ${q.length} items`);
  // Every item left still has a slot that finds it, and they come out in order.
  q.remove(kept[7]!);
  assert.is(kept[7]!.slot, -1);
  const rest: Item[] = [];
  for (let it = q.shift(); it; it = q.shift()) rest.push(it);
  assert.equal(rest, [head, ...kept.filter((_, i) => i !== 7)]);
  assert.ok(rest.every((it) => it.slot === -1));
});

test('Queue agrees with an array on front, shift, length and clear', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
      const q = new Queue<number>();
      const model: number[] = [];
      let next = 0;
      for (const o of ops) {
        if ('push' in o) {
          for (let i = 0; i < o.push; i++) {
            q.push(next);
            model.push(next++);
          }
        } else if ('shift' in o) assert.is(q.shift(), model.shift());
        else if ('clear' in o) {
          q.clear();
          model.length = 0;
        }
        assert.is(q.length, model.length);
        assert.is(q.front(), model[0]);
      }
    }),
    { numRuns: 300, seed: 18 },
  );
});

const enc = new TextEncoder();
const dec = new TextDecoder();

test('a connection with 5,000 sends queued: 2,000 cancelled in a scattered order settle once each, the rest go out in order', () => {
  const core = new LeanSmtpConnection({ name: 'c.example', tls: 'none' });
  const N = 5000;
  const results = new Map<number, TransactionResult[]>();
  const mails: number[] = [];
  let input = '';
  let bdatLeft = 0;
  // A server that accepts everything: it answers each command line, skipping BDAT payloads.
  const answer = (bytes: Uint8Array): string => {
    input += dec.decode(bytes);
    let out = '';
    for (;;) {
      if (bdatLeft > 0) {
        const take = Math.min(bdatLeft, input.length);
        input = input.slice(take);
        bdatLeft -= take;
        if (bdatLeft > 0) return out;
      }
      const eol = input.indexOf('\r\n');
      if (eol < 0) return out;
      const line = input.slice(0, eol);
      input = input.slice(eol + 2);
      if (line.startsWith('EHLO')) out += '250-s.example\r\n250-PIPELINING\r\n250 CHUNKING\r\n';
      else if (line === 'QUIT') out += '221 bye\r\n';
      else {
        const bdat = /^BDAT (\d+)/.exec(line);
        if (bdat) bdatLeft = Number(bdat[1]);
        const mail = /^MAIL FROM:<m(\d+)@example.com>/.exec(line);
        if (mail) mails.push(Number(mail[1]));
        out += '250 ok\r\n';
      }
    }
  };
  const drive = (): void => {
    for (let replies = ''; ; replies = '') {
      for (let o = core.poll(0); o.type !== 'wait' && o.type !== 'close'; o = core.poll(0)) {
        if (o.type === 'write') for (const c of o.chunks) replies += answer(c);
        if (o.type === 'event' && o.event.type === 'transaction') {
          const r = o.event.result;
          results.set(r.id, [...(results.get(r.id) ?? []), r]);
        }
      }
      if (replies === '') return;
      core.receive(enc.encode(replies), 0);
    }
  };
  core.start(0);
  core.receive(enc.encode('220 s.example\r\n'), 0);
  const ids: number[] = [];
  for (let i = 0; i < N; i++) {
    ids.push(core.send({ from: `m${i}@example.com`, to: ['r@example.org'] }, 0, enc.encode(`Subject: ${i}\r\n\r\nx\r\n`)));
  }
  // None is written yet (the greeting's EHLO is still unanswered): cancel 2,000 scattered ones.
  const cancelled = new Set<number>();
  for (let k = 0; cancelled.size < 2000; k++) cancelled.add((k * 7919) % N);
  for (const i of cancelled) core.cancel(ids[i]!, 0);
  drive();
  core.quit(0);
  drive();
  assert.is(results.size, N);
  for (let i = 0; i < N; i++) {
    const list = results.get(ids[i]!)!;
    assert.is(list.length, 1, `send ${i} settled ${list.length} times`);
    assert.is(list[0]!.outcome, cancelled.has(i) ? 'rejected' : 'accepted', `send ${i}`);
  }
  const kept = [...Array(N).keys()].filter((i) => !cancelled.has(i));
  assert.equal(mails, kept, 'the sends left went out once each, in the order they were queued');
});

/** A server that accepts everything, for the whole connection: EHLO (PIPELINING, and CHUNKING
 *  when asked), MAIL (noting m<N>), RCPT, DATA and its body, BDAT and its payload, NOOP, RSET,
 *  QUIT. Replies collect in `out` until the test delivers them. */
function acceptingServer(chunking: boolean) {
  const srv = { out: '', mails: [] as number[] };
  let input = '';
  let bdatLeft = 0;
  let inData = false;
  const take = (bytes: Uint8Array): void => {
    input += dec.decode(bytes);
    for (;;) {
      if (bdatLeft > 0) {
        const n = Math.min(bdatLeft, input.length);
        input = input.slice(n);
        bdatLeft -= n;
        if (bdatLeft > 0) return;
      }
      if (inData) {
        const end = input.indexOf('\r\n.\r\n');
        if (end < 0) return;
        input = input.slice(end + 5);
        inData = false;
        srv.out += '250 queued\r\n';
      }
      const eol = input.indexOf('\r\n');
      if (eol < 0) return;
      const line = input.slice(0, eol);
      input = input.slice(eol + 2);
      if (line.startsWith('EHLO')) srv.out += `250-s.example\r\n250-PIPELINING\r\n250 ${chunking ? 'CHUNKING' : '8BITMIME'}\r\n`;
      else if (line === 'QUIT') srv.out += '221 bye\r\n';
      else if (line === 'DATA') {
        inData = true;
        srv.out += '354 go on\r\n';
      } else {
        const bdat = /^BDAT (\d+)/.exec(line);
        if (bdat) bdatLeft = Number(bdat[1]);
        const mail = /^MAIL FROM:<m(\d+)@example.com>/.exec(line);
        if (mail) srv.mails.push(Number(mail[1]));
        srv.out += '250 ok\r\n';
      }
    }
  };
  return Object.assign(srv, { take });
}

type Step = { send: true } | { cancel: number } | { noop: boolean } | { flush: true } | { deliver: number };
const step = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Step>({ send: true }) },
  { weight: 3, arbitrary: fc.nat(1000).map((k): Step => ({ cancel: k })) },
  { weight: 1, arbitrary: fc.boolean().map((noop): Step => ({ noop })) },
  { weight: 3, arbitrary: fc.constant<Step>({ flush: true }) },
  { weight: 4, arbitrary: fc.nat(120).map((k): Step => ({ deliver: k })) },
);

test('sends, cancels (queued, in flight or ended), NOOP/RSET and replies in any interleaving: each send settles once, one cancelled before its MAIL never goes out, the others go out once each in order', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.array(step, { minLength: 5, maxLength: 200, size: 'medium' }), (chunking, steps) => {
      const core = new LeanSmtpConnection({ name: 'c.example', tls: 'none' });
      const srv = acceptingServer(chunking);
      const results = new Map<number, TransactionResult[]>();
      const ids: number[] = [];
      const notOut = new Set<number>(); // cancelled before their MAIL was written
      const cancelled = new Set<number>();
      let closed = false;
      let failed: unknown;
      // Everything the core has to write goes to the server (the replies wait in srv.out).
      const flush = (): void => {
        for (let o = core.poll(0); o.type !== 'wait'; o = core.poll(0)) {
          if (o.type === 'close') {
            closed = true;
            return;
          }
          if (o.type === 'write') for (const c of o.chunks) srv.take(c);
          if (o.type === 'event' && o.event.type === 'transaction') {
            const r = o.event.result;
            results.set(r.id, [...(results.get(r.id) ?? []), r]);
          }
          if (o.type === 'event' && o.event.type === 'closed') failed = o.event.error;
        }
      };
      const deliver = (n: number): void => {
        const part = srv.out.slice(0, n);
        srv.out = srv.out.slice(part.length);
        if (!closed && part !== '') core.receive(enc.encode(part), 0);
      };
      core.start(0);
      core.receive(enc.encode('220 s.example\r\n'), 0);
      for (const st of steps) {
        if ('send' in st) {
          const i = ids.length;
          ids.push(core.send({ from: `m${i}@example.com`, to: ['r@example.org'] }, 0, enc.encode(`Subject: ${i}\r\n\r\nx\r\n`)));
        } else if ('cancel' in st) {
          if (ids.length === 0) continue;
          const i = st.cancel % ids.length;
          flush(); // the server has seen all the core wrote
          if (!srv.mails.includes(i) && !results.has(ids[i]!)) notOut.add(i);
          if (!results.has(ids[i]!)) cancelled.add(i);
          core.cancel(ids[i]!, 0);
        } else if ('noop' in st) {
          try {
            if (st.noop) core.noop(0);
            else core.rset(0);
          } catch (e) {
            assert.ok(closed || failed !== undefined || (e as Error).name === 'SmtpUsageError', String(e));
          }
        } else if ('flush' in st) flush();
        else {
          flush();
          deliver(st.deliver);
        }
      }
      if (!closed) core.quit(0);
      for (let guard = 0; !closed; guard++) {
        assert.ok(guard < 10_000, 'the session ends');
        flush();
        if (srv.out === '' && !closed) break;
        deliver(srv.out.length);
      }
      flush();
      assert.ok(closed, 'the session closed');
      for (let i = 0; i < ids.length; i++) {
        const list = results.get(ids[i]!) ?? [];
        assert.is(list.length, 1, `send ${i} settled ${list.length} times`);
        if (notOut.has(i)) assert.is(list[0]!.outcome, 'rejected', `send ${i}, cancelled before its MAIL`);
        else if (!cancelled.has(i) && failed === undefined) assert.is(list[0]!.outcome, 'accepted', `send ${i}`);
      }
      for (const i of notOut) assert.not.ok(srv.mails.includes(i), `send ${i} went out after it was cancelled`);
      for (let k = 1; k < srv.mails.length; k++) assert.ok(srv.mails[k - 1]! < srv.mails[k]!, `MAIL order ${srv.mails.join()}`);
    }),
    { numRuns: 300 },
  );
});

test.run();
