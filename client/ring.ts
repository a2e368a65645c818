// The buffers a pull-into body (`{ readInto }`, e.g. a file) is read into. The client owns them
// and reuses each one only once the transport has finished with every view of it, so a large
// body streams through a few fixed buffers instead of a fresh allocation per read (which costs
// page faults and leaves garbage that V8 frees late, since it is outside the JS heap).
//
// Bookkeeping, all driven by the client (see BodyStreamer #pullInto in body-stream.ts):
// - space(): where to read next. The buffer being filled is filled to its end over as many
//   reads as it takes, each read's octets becoming one view (fill()); then the next free buffer
//   is taken, or a new one allocated while fewer than `count` exist.
// - handed(): the view last filled went to the core (the client may read the next piece before
//   handing the last one over, so that the read overlaps the core's work on it); unlend(): it
//   never will (the send ended), so its octets are free at once.
// - settle(offset): the core says (SmtpConnection.bodyViewsReleasedAt) that every view handed
//   to it so far is out of the core and in output before `offset`; from then on those buffers
//   wait only for the transport to be done with the output up to that offset.
// - A buffer is free when no view of it is lent or unsettled and the transport is done with
//   its settling offset.
//
// Without reuse (a link that cannot say when a write is done) every buffer is fresh: the ring
// then only chooses the read size.
import { bodyBuffers } from '../core/simd-scan.ts';

interface Slot {
  readonly buf: Uint8Array;
  /** Octets of `buf` read so far (the rest is the space for the next read). */
  used: number;
  /** A view of this buffer was filled and not yet handed to the core. */
  lent: boolean;
  /** Views of this buffer were handed to the core and not yet settled. */
  pending: boolean;
  /** The output offset the transport must be done with to free this buffer (0: none needed). */
  releaseAt: number;
}

export class BufferRing {
  /** Octets per buffer: the most one read asks for. */
  readonly size: number;
  /** Buffers at most (only reached when the transport is slower than the source). */
  readonly count: number;
  /** Buffers are reused (the link signals written); else each read gets fresh memory. */
  readonly reuses: boolean;
  /** Bodies currently reading through this ring (the client drops the ring at zero). */
  users = 0;
  #slots: Slot[] = [];
  #current: Slot | undefined;
  #lent: Slot | undefined; // the slot of the view filled and not yet handed
  #allocated = 0;

  /** The core's bodyBuffers(): memory its SIMD body check reads in place, where it can. */
  #allocate: () => Uint8Array;

  constructor(size: number, count: number, reuses: boolean) {
    this.size = size;
    this.count = count;
    this.reuses = reuses;
    this.#allocate = bodyBuffers(size, count);
  }

  /** Buffers allocated so far (tests, and the docs' memory bound: at most `count` with reuse). */
  get allocated(): number {
    return this.#allocated;
  }

  /**
   * Where the next read goes: the unfilled rest of the current buffer, else a whole free buffer.
   * `done` is the output offset the transport is done with (writes finish in order; Infinity
   * once the link is gone). Undefined when every buffer is still in use: wait for a write to finish.
   */
  space(done: number): Uint8Array | undefined {
    const cur = this.#current;
    if (cur) {
      // Everything handed out of it is written: start it over (fewer, larger reads).
      if (this.reuses && cur.used > 0 && !cur.lent && !cur.pending && cur.releaseAt <= done) cur.used = 0;
      if (cur.used < cur.buf.length) return cur.used === 0 ? cur.buf : cur.buf.subarray(cur.used);
    }
    if (this.reuses) {
      for (const slot of this.#slots) {
        if (slot.lent || slot.pending || slot.releaseAt > done) continue;
        slot.used = 0;
        this.#current = slot;
        return slot.buf;
      }
      if (this.#slots.length >= this.count) return undefined;
    }
    const slot: Slot = { buf: this.#allocate(), used: 0, lent: false, pending: false, releaseAt: 0 };
    this.#allocated++;
    if (this.reuses) this.#slots.push(slot);
    this.#current = slot;
    return slot.buf;
  }

  /** `n` octets were read into the space last returned: the view of them, lent until handed()
   *  or unlend() (one at a time). */
  fill(n: number): Uint8Array {
    const cur = this.#current!;
    const view = cur.buf.subarray(cur.used, cur.used + n);
    cur.used += n;
    cur.lent = true;
    this.#lent = cur;
    return view;
  }

  /** The view last filled went to the core. */
  handed(): void {
    const slot = this.#lent!;
    this.#lent = undefined;
    slot.lent = false;
    slot.pending = true;
  }

  /** The view last filled (if still lent) will never be handed over: its buffer no longer
   *  waits for it (the octets stay counted as used until the buffer starts over). */
  unlend(): void {
    const slot = this.#lent;
    if (!slot) return;
    this.#lent = undefined;
    slot.lent = false;
  }

  /** Every view handed to the core so far is in output before `offset` (or dropped). */
  settle(offset: number): void {
    for (const slot of this.#slots) {
      if (!slot.pending) continue;
      slot.pending = false;
      slot.releaseAt = offset;
    }
  }
}
