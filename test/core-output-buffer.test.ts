// core/outbuf.ts, the slab the core's output is copied into: small pieces copied and joined,
// large views passed through uncopied, UTF-8 exactly as the platform's encoder writes it, and the
// rule the transport relies on: a view once handed out (take()) is never written again, so no
// signal is needed before a slab region could be reused. core/output.ts (the accounting on top)
// is core-output.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { OutputBuffer } from '../core/outbuf.ts';
import { OutputQueue } from '../core/output.ts';
import type { Output } from '../core/events.ts';

const enc = new TextEncoder();
const join = (views: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(views.reduce((n, v) => n + v.length, 0));
  let at = 0;
  for (const v of views) {
    out.set(v, at);
    at += v.length;
  }
  return out;
};

test('nothing appended: take() gives no view; empty views add nothing', () => {
  const b = new OutputBuffer();
  assert.equal(b.take(), []);
  b.bytes(new Uint8Array(0));
  assert.equal(b.take(), []);
});

test('copy limit: a view under 8 KiB is copied and joined to its neighbours; 8 KiB and up passes through as the same object', () => {
  const b = new OutputBuffer();
  const small = new Uint8Array(8 * 1024 - 1).fill(0x62);
  const big = new Uint8Array(8 * 1024).fill(0x63);
  b.line('BDAT 16383');
  b.bytes(small);
  b.bytes(big);
  b.line('NOOP');
  const views = b.take();
  assert.is(views.length, 3);
  assert.ok(views[0] !== small && views[0]!.length === 12 + small.length, 'the line and the small view share one copied view');
  assert.ok(views[1] === big, 'the large view itself');
  assert.equal(join(views), join([enc.encode('BDAT 16383\r\n'), small, big, enc.encode('NOOP\r\n')]));
  small.fill(0); // the caller may reuse a copied view at once
  assert.is(views[0]![12], 0x62);
});

test("UTF-8: every string (astral, lone surrogates) gives the platform encoder's octets plus CRLF, and line() returns that count", () => {
  fc.assert(
    fc.property(
      fc.string({
        unit: fc.oneof(
          fc.constantFrom('a', 'é', '€', '😀', '\ud800', '\udfff', '\udbff\udc00'),
          fc.string({ unit: 'binary', maxLength: 3 }),
        ),
        maxLength: 40,
      }),
      (s) => {
        const b = new OutputBuffer();
        const want = enc.encode(s + '\r\n');
        assert.is(b.line(s), want.length);
        assert.equal(join(b.take()), want);
      },
    ),
    { numRuns: 500 },
  );
});

test('a line longer than a slab (100,000 three-octet characters) gets a slab of its own, byte-exact', () => {
  const b = new OutputBuffer();
  b.line('x'.repeat(60_000)); // most of the first slab
  const long = '€'.repeat(100_000);
  assert.is(b.line(long), 300_002);
  assert.equal(join(b.take()), enc.encode('x'.repeat(60_000) + '\r\n' + long + '\r\n'));
});

test('a view handed out is never written again: later lines fill new slab space or a new slab, never the old views', () => {
  const b = new OutputBuffer();
  b.line('MAIL FROM:<a@x.org>');
  const first = b.take();
  const copy = join(first);
  for (let i = 0; i < 10_000; i++) b.line(`RCPT TO:<r${i}@x.org>`); // several slabs' worth
  b.bytes(new Uint8Array(5000).fill(0xff));
  const rest = b.take();
  assert.equal(join(first), copy);
  assert.ok(rest.length > 1, 'the slab rolled over');
  assert.is(new TextDecoder().decode(join(rest)).split('\r\n').length, 10_001);
});

type Op = { kind: 'line'; text: string } | { kind: 'bytes'; size: number; fill: number } | { kind: 'take' };
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .string({ unit: fc.constantFrom('A', 'z', ' ', ':', '<', '@', 'ü', '😀'), maxLength: 600 })
      .map((text) => ({ kind: 'line' as const, text })),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('bytes' as const),
      size: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 8000, max: 9000 }), fc.integer({ min: 20_000, max: 70_000 })),
      fill: fc.integer({ min: 0, max: 255 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'take' as const }) },
);

test('property: any mix of lines, views and takes: the taken views, joined, are exactly what was appended; no empty view; no earlier view ever changes', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
      const b = new OutputBuffer();
      const expected: Uint8Array[] = [];
      const taken: { view: Uint8Array; copy: Uint8Array }[] = [];
      const takeAll = () => {
        for (const view of b.take()) {
          assert.ok(view.length > 0, 'no empty view');
          taken.push({ view, copy: view.slice() });
        }
      };
      for (const o of ops) {
        if (o.kind === 'line') {
          const want = enc.encode(o.text + '\r\n');
          assert.is(b.line(o.text), want.length);
          expected.push(want);
        } else if (o.kind === 'bytes') {
          const v = new Uint8Array(o.size).fill(o.fill);
          b.bytes(v);
          expected.push(v.slice());
          if (o.size < 8 * 1024) v.fill(o.fill ^ 0xff); // a copied view may be reused by its owner at once
        } else takeAll();
      }
      takeAll();
      for (const t of taken) assert.equal(t.view, t.copy, 'a handed-out view changed');
      assert.equal(join(taken.map((t) => t.view)), join(expected));
    }),
    { numRuns: 200 },
  );
});

type QOp =
  | { kind: 'line'; text: string }
  | { kind: 'bytes'; size: number }
  | { kind: 'event' }
  | { kind: 'next' }
  | { kind: 'written'; part: number };
const qop: fc.Arbitrary<QOp> = fc.oneof(
  fc.string({ unit: fc.constantFrom('A', ' ', 'é'), maxLength: 30 }).map((text) => ({ kind: 'line' as const, text })),
  fc.integer({ min: 0, max: 10_000 }).map((size) => ({ kind: 'bytes' as const, size })),
  fc.constant({ kind: 'event' as const }),
  fc.constant({ kind: 'next' as const }),
  fc.double({ min: 0, max: 1, noNaN: true }).map((part) => ({ kind: 'written' as const, part })),
);

test('property: the output queue hands out events in order, joins the bytes between them into one write, and its offsets add up', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.array(qop, { maxLength: 80 }), (signal, ops) => {
      const q = new OutputQueue(signal);
      // The model: a list of outputs, where consecutive byte appends share one write.
      const model: ({ type: 'write'; bytes: number } | { type: 'event'; n: number })[] = [];
      let events = 0;
      let polledModel = 0;
      let enqueuedModel = 0;
      let taken = 0;
      let now = 0;
      const append = (n: number) => {
        if (n === 0) return;
        const last = model[model.length - 1];
        if (last?.type === 'write') last.bytes += n;
        else model.push({ type: 'write', bytes: n });
        enqueuedModel += n;
      };
      const poll = () => {
        const got: Output | undefined = q.next(++now);
        const want = model.shift();
        if (want === undefined) return assert.is(got, undefined);
        assert.is(got?.type, want.type);
        if (got?.type === 'write' && want.type === 'write') {
          assert.is(
            got.chunks.reduce((n, c) => n + c.length, 0),
            want.bytes,
          );
          polledModel += want.bytes;
          if (!signal) taken = polledModel;
        } else if (got?.type === 'event' && want.type === 'event') {
          assert.equal(got.event, { type: 'transcript', from: 'client', text: String(want.n) });
        }
      };
      for (const o of ops) {
        if (o.kind === 'line') {
          q.line(o.text);
          append(enc.encode(o.text).length + 2);
        } else if (o.kind === 'bytes') {
          q.bytes(new Uint8Array(o.size));
          append(o.size);
        } else if (o.kind === 'event') {
          q.event({ type: 'transcript', from: 'client', text: String(events) });
          model.push({ type: 'event', n: events++ });
        } else if (o.kind === 'next') poll();
        else if (signal) {
          const offset = Math.floor(o.part * polledModel);
          q.written(offset, ++now);
          taken = Math.max(taken, offset);
        }
        assert.is(q.enqueued, enqueuedModel);
        assert.is(q.polled, polledModel);
        assert.is(q.unpolled, enqueuedModel - polledModel);
        assert.is(q.taken, taken);
        assert.is(q.stalled, taken < polledModel);
      }
      while (model.length > 0) poll();
      assert.is(q.next(++now), undefined);
    }),
    { numRuns: 300 },
  );
});

test.run();
