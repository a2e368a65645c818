// Output accounting: everything poll() hands out, in order, and how far the transport has taken
// it. Offsets count octets from the first one ever polled (as quinn-proto acknowledges send
// buffers by offset): "unknown" needs the end of a message to have reached the transport, so
// the end's offset is compared with `taken`, never guessed from the poll count.
import { SmtpUsageError } from './errors.ts';
import type { Output, SmtpEvent } from './events.ts';
import { OutputBuffer } from './outbuf.ts';
import { Queue } from './queue.ts';

/** A write in the queue; while it is the open one, its bytes are still collecting in `outbuf`. */
interface WriteItem {
  readonly type: 'write';
  chunks: Uint8Array[];
  bytes: number;
}

export class OutputQueue {
  private readonly items = new Queue<Output | WriteItem>();
  private readonly outbuf = new OutputBuffer();
  private openWrite: WriteItem | undefined; // the last item queued while it collects bytes
  /** Octets queued so far. */
  enqueued = 0;
  /** Octets handed to the transport by poll() so far. */
  polled = 0;
  /** Octets the transport has taken (written()); tracks `polled` without the written signal. */
  taken = 0;
  /** When `taken` last moved, or output became outstanding. */
  takenAt = 0;

  constructor(private readonly writtenSignal: boolean) {}

  /** A command line: straight into the output slab, CRLF added, so a pipelined group leaves as one write. */
  line(text: string): void {
    const item = this.writeItem();
    const bytes = this.outbuf.line(text);
    item.bytes += bytes;
    this.enqueued += bytes;
  }

  bytes(view: Uint8Array): void {
    if (view.length === 0) return;
    const item = this.writeItem();
    this.outbuf.bytes(view);
    item.bytes += view.length;
    this.enqueued += view.length;
  }

  views(views: readonly Uint8Array[]): void {
    for (let i = 0; i < views.length; i++) this.bytes(views[i]!);
  }

  /** A non-write output (an event, start-tls, compute, close): it seals the write before it. */
  push(item: Output): void {
    this.sealWrite();
    this.items.push(item);
  }

  event(event: SmtpEvent): void {
    this.push({ type: 'event', event });
  }

  /** The next output, counted as handed out; undefined when nothing is queued. */
  next(now: number): Output | undefined {
    const item = this.items.shift();
    if (item === undefined) return undefined;
    if (item.type === 'write') {
      if (item === this.openWrite) this.sealWrite();
      const bytes = (item as WriteItem).bytes;
      if (!this.writtenSignal) this.taken += bytes;
      else if (this.taken === this.polled) this.takenAt = now; // output outstanding from now
      this.polled += bytes;
    }
    return item;
  }

  /** The transport took the output up to `offset`. Offsets only grow; a smaller one is ignored. */
  written(offset: number, now: number): void {
    if (!(Number.isSafeInteger(offset) && offset >= 0 && offset <= this.polled)) {
      throw new SmtpUsageError(`written(): offset must be an integer from 0 to the ${this.polled} octets polled, not ${String(offset)}`);
    }
    if (offset <= this.taken) return;
    this.taken = offset;
    this.takenAt = now;
  }

  /** Polled and not yet taken: the data-block timer runs on it (see deadlines.ts). */
  get stalled(): boolean {
    return this.taken < this.polled;
  }

  /** Queued and not yet polled. */
  get unpolled(): number {
    return this.enqueued - this.polled;
  }

  /** The write item collecting bytes now: the open one, else a new one. */
  private writeItem(): WriteItem {
    if (this.openWrite) return this.openWrite;
    const item: WriteItem = { type: 'write', chunks: [], bytes: 0 };
    this.items.push(item);
    this.openWrite = item;
    return item;
  }

  /** Close the collecting write: its bytes become its views. Anything queued after it starts a new one. */
  private sealWrite(): void {
    const item = this.openWrite;
    if (!item) return;
    this.openWrite = undefined;
    item.chunks = this.outbuf.take();
  }
}
