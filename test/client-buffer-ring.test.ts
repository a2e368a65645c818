// client/ring.ts on its own: the buffers a pull-into body ({ readInto }) is read into. The rule
// it exists for: a view handed to the core is never overwritten until the transport has finished
// the write it went out in, yet buffers are reused (at most `count` of them) as soon as they may
// be. A model of the client's calls (body-stream.ts #pullInto) checks that on random schedules by
// stamping every view and re-reading it when its write completes. Runtime-neutral (CORE_TESTS).
// The ring through the real client over the mock transport: client-ring.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { BufferRing } from '../client/ring.ts';

const overlaps = (a: Uint8Array, b: Uint8Array): boolean =>
  a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;

test('one buffer is filled to its end over several reads before the next is taken', () => {
  const ring = new BufferRing(16, 3, true);
  const s1 = ring.space(0)!;
  assert.is(s1.length, 16);
  const v1 = ring.fill(10);
  assert.is(v1.length, 10);
  assert.ok(v1.buffer === s1.buffer && v1.byteOffset === s1.byteOffset, 'the view is the start of the space');
  const s2 = ring.space(0)!;
  assert.is(s2.length, 6, 'the rest of the same buffer');
  assert.is(s2.byteOffset, s1.byteOffset + 10);
  ring.handed();
  ring.fill(6);
  ring.handed();
  assert.is(ring.allocated, 1);
  const s3 = ring.space(0)!;
  assert.not.ok(overlaps(s3, s1), 'the full buffer is still in use: a new one');
  assert.is(ring.allocated, 2);
});

test('a handed view holds its buffer until it is settled into a write and that write is done', () => {
  const ring = new BufferRing(8, 2, true);
  const first = ring.space(0)!;
  ring.fill(8);
  ring.handed();
  const second = ring.space(0)!;
  assert.not.ok(overlaps(first, second));
  ring.fill(8);
  ring.handed();
  assert.is(ring.space(0), undefined, 'both held, none unsettled may be reused');
  ring.settle(1);
  assert.is(ring.space(0), undefined, 'write 1 not done yet');
  const again = ring.space(1)!;
  assert.ok(
    again.buffer === second.buffer && again.byteOffset === second.byteOffset && again.length === 8,
    'the current buffer starts over',
  );
  ring.fill(8);
  ring.handed();
  const other = ring.space(1)!;
  assert.ok(other.buffer === first.buffer && other.byteOffset === first.byteOffset && other.length === 8, 'then the other free one');
  assert.is(ring.allocated, 2);
});

test('unlend(): a view that will never be handed frees its buffer at once; settle() leaves unhanded views alone', () => {
  const ring = new BufferRing(8, 1, true);
  const s = ring.space(0)!;
  ring.fill(8);
  assert.is(ring.space(0), undefined, 'the lent view holds the only buffer');
  ring.settle(5);
  assert.is(ring.space(99), undefined, 'settling does not free a view still lent');
  ring.unlend();
  ring.unlend(); // a second call is harmless
  const again = ring.space(0)!;
  assert.ok(again.buffer === s.buffer && again.byteOffset === s.byteOffset && again.length === 8);
});

test('a current buffer whose views are all written starts over from its beginning (fewer, larger reads)', () => {
  const ring = new BufferRing(16, 2, true);
  const s = ring.space(0)!;
  ring.fill(4);
  ring.handed();
  ring.settle(1);
  assert.is(ring.space(0)!.length, 12, 'write 1 pending: the rest only');
  const whole = ring.space(1)!;
  assert.is(whole.length, 16);
  assert.is(whole.byteOffset, s.byteOffset);
});

test('without reuse every buffer is fresh memory and nothing ever waits', () => {
  const ring = new BufferRing(8, 2, false);
  const views: Uint8Array[] = [];
  for (let i = 0; i < 10; i++) {
    const s = ring.space(0)!;
    for (const v of views) assert.not.ok(overlaps(s, v), `read ${i} overlaps an earlier view`);
    views.push(ring.fill(Math.min(s.length, 5)));
    ring.handed();
  }
  assert.ok(ring.allocated > 2, 'no bound without reuse: the read size is all it chooses');
});

type Step =
  { kind: 'read'; part: number } | { kind: 'settle' } | { kind: 'complete'; writes: number } | { kind: 'unlend' } | { kind: 'linkDone' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map((part) => ({ kind: 'read' as const, part })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'settle' as const }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 3 }).map((writes) => ({ kind: 'complete' as const, writes })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'unlend' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'linkDone' as const }) },
);

interface Lent {
  view: Uint8Array;
  stamp: number;
  state: 'lent' | 'handed' | 'settled' | 'free';
  seq: number;
}

test('property: on any schedule of reads, settles and completed writes, no view is overwritten before its write is done; reuse stays within `count` buffers and waits only when all are busy', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 5 }),
      fc.boolean(),
      fc.array(step, { maxLength: 150 }),
      (size, count, reuses, steps) => {
        const ring = new BufferRing(size, count, reuses);
        const views: Lent[] = [];
        let ready: Lent | undefined;
        const buffers: Uint8Array[] = []; // each buffer the ring has handed out whole
        let writeSeq = 0; // writes the transport was given
        let written = 0; // writes it finished (in order)
        let linkDone = false; // the link died: nothing is in flight any more
        let stamp = 0;
        const busy = (v: Lent) => v.state === 'lent' || v.state === 'handed' || (v.state === 'settled' && v.seq > written);
        const check = (v: Lent) =>
          assert.ok(
            v.view.every((b) => b === (v.stamp & 0xff)),
            `view ${v.stamp} was overwritten while in use`,
          );
        const free = () => {
          for (const v of views) {
            if (v.state === 'settled' && v.seq <= written) {
              check(v);
              v.state = 'free';
            }
          }
        };
        const hand = () => {
          ready!.state = 'handed';
          ready = undefined;
          ring.handed();
        };
        for (const s of steps) {
          if (s.kind === 'read') {
            const space = ring.space(linkDone ? writeSeq : written);
            if (space === undefined) {
              assert.ok(reuses, 'without reuse a read never waits');
              // Waiting is only right when every buffer is busy: count of them, each with a busy view.
              assert.is(ring.allocated, count);
              assert.is(buffers.length, count);
              for (const b of buffers)
                assert.ok(
                  views.some((v) => busy(v) && overlaps(b, v.view)),
                  'a read waits while a buffer is free',
                );
              if (ready) hand(); // what the client does when full: hand the last read over first
              continue;
            }
            assert.ok(space.length >= 1 && space.length <= size);
            if (space.length === size && !buffers.some((b) => b.buffer === space.buffer && b.byteOffset === space.byteOffset))
              buffers.push(space);
            for (const v of views) {
              if (busy(v)) assert.not.ok(overlaps(space, v.view), `space overlaps view ${v.stamp} (${v.state})`);
              else if (!reuses) assert.not.ok(overlaps(space, v.view), 'without reuse memory is never read into twice');
            }
            const n = 1 + Math.min(space.length - 1, Math.floor(s.part * space.length));
            if (ready) hand(); // the read overlaps the core's work on the last one, then it is handed
            const view = ring.fill(n);
            assert.is(view.length, n);
            assert.ok(view.buffer === space.buffer && view.byteOffset === space.byteOffset);
            stamp++;
            view.fill(stamp & 0xff);
            ready = { view, stamp, state: 'lent', seq: 0 };
            views.push(ready);
          } else if (s.kind === 'settle') {
            // Everything handed so far goes out in the next write.
            const handed = views.filter((v) => v.state === 'handed');
            if (handed.length === 0) continue;
            writeSeq++;
            for (const v of handed) {
              v.state = 'settled';
              v.seq = writeSeq;
            }
            ring.settle(writeSeq);
            if (linkDone) {
              written = writeSeq; // a dead link's writes count as done at once
              free();
            }
          } else if (s.kind === 'complete') {
            written = Math.min(writeSeq, written + s.writes);
            free();
          } else if (s.kind === 'unlend') {
            if (ready) {
              check(ready);
              ready.state = 'free';
              ready = undefined;
            }
            ring.unlend();
          } else if (!linkDone) {
            // The link died: its writes will never complete, the client passes writeSeq as done,
            // and buffers come back only through settle (nothing is on the wire any more).
            linkDone = true;
            written = writeSeq;
            free();
          }
          if (reuses) assert.ok(ring.allocated <= count, `${ring.allocated} buffers for a bound of ${count}`);
        }
        for (const v of views) if (v.state !== 'free') check(v);
      },
    ),
    { numRuns: 400 },
  );
});

test.run();
