// Bytes waiting to be handed to the transport. Commands and small body pieces are copied into
// a slab, so a pipelined batch of many small messages leaves as one view instead of thousands
// (every view costs the runtime a write request and an iovec); large body views pass through
// uncopied. A slab region is never written again once handed out, so no signal from the
// transport is needed: a full slab is replaced, and the GC frees it when the views are written.

import { encodeUtf8Into } from './utf8.ts';

/** Views shorter than this are copied into the slab; longer ones are passed through. */
const COPY_LIMIT = 8 * 1024;
const SLAB_SIZE = 64 * 1024;

export class OutputBuffer {
  private slab = new Uint8Array(SLAB_SIZE);
  private start = 0; // first slab octet not yet sealed into a view
  private pos = 0; // next free slab octet
  private views: Uint8Array[] = [];

  /** Append a command line as UTF-8 (ASCII except SMTPUTF8 addresses) and CRLF; returns its octet count. */
  line(text: string): number {
    const n = text.length;
    // UTF-8 needs at most 3 octets per UTF-16 unit.
    if (this.pos + n * 3 + 2 > this.slab.length) this.newSlab(n * 3 + 2);
    const slab = this.slab;
    const at = this.pos;
    // ASCII is copied directly: a native encode call costs more than a short command.
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7f) break;
      slab[at + i] = c;
    }
    if (i < n) i += encodeUtf8Into(text, i, slab, at + i);
    slab[at + i] = 0x0d;
    slab[at + i + 1] = 0x0a;
    this.pos = at + i + 2;
    return i + 2;
  }

  /** Append a view: copied when small, else kept as is (the caller must not modify it). */
  bytes(view: Uint8Array): void {
    const n = view.length;
    if (n === 0) return;
    if (n >= COPY_LIMIT) {
      this.seal();
      this.views.push(view);
      return;
    }
    if (this.pos + n > this.slab.length) this.newSlab(n);
    this.slab.set(view, this.pos);
    this.pos += n;
  }

  /** Everything appended since the last take(), in order; empty when nothing was. */
  take(): Uint8Array[] {
    this.seal();
    const views = this.views;
    this.views = [];
    return views;
  }

  private seal(): void {
    if (this.pos > this.start) this.views.push(this.slab.subarray(this.start, this.pos));
    this.start = this.pos;
  }

  private newSlab(need: number): void {
    this.seal();
    this.slab = new Uint8Array(Math.max(SLAB_SIZE, need));
    this.start = 0;
    this.pos = 0;
  }
}
