// The client's writing side of its link: what poll() gives out goes to the link at once, in
// order, a large write in pieces of at most WRITE_PIECE octets with a written signal each. It
// counts output offsets as the core does (from the first octet polled), reports with the
// core's written() how far the transport has taken them, and remembers how far the transport
// is done with the views (viewsDone, for the read ring).
import type { SmtpConnection } from '../core/connection.ts';
import { MIB } from './options.ts';
import type { Link } from './transport.ts';

/** A larger write goes to the link in pieces of this size, each with its own written signal, so
 *  the core's data-block timer sees the transport's progress through a large whole body. */
const WRITE_PIECE = MIB;

/** What the writer sees of its SmtpClient. */
export interface WriterHost {
  readonly core: SmtpConnection;
  readonly isClosed: boolean;
  /** write() threw: the link is lost, as if it had reported that error. */
  linkFailed(err: unknown): void;
  /** The core's next deadline may have moved (after written()). */
  rearm(): void;
  /** Something that must not throw did (in the transport's callback): end the session. */
  crash(err: unknown): void;
  /** A write finished: a streaming send may go on. */
  wake(): void;
}

export class LinkWriter {
  /** The link, once connected. */
  link: Link | undefined;
  /** The link reported end or error, or the client dropped it: nothing more is written. */
  done = false;
  /** The last link.write() did not ask us to wait for drain(). */
  writable = true;
  readonly #host: WriterHost;
  #handed = 0; // octets given to the link so far (the core's output offset)
  #finished = 0; // the output offset up to which the link has run onWritten

  constructor(host: WriterHost) {
    this.#host = host;
  }

  /** The output offset the link is done with (its views free); Infinity once it is gone. */
  get viewsDone(): number {
    return this.done ? Infinity : this.#finished;
  }

  /** One 'write' output of the core. Dropped when the link is gone: the core learns that
   *  separately, from the link's end or error. */
  write(chunks: Uint8Array[]): void {
    if (!this.link || this.done) return;
    let bytes = 0;
    for (let i = 0; i < chunks.length; i++) bytes += chunks[i]!.length;
    if (bytes <= WRITE_PIECE) this.#write(this.link, chunks, bytes);
    else for (const piece of pieces(chunks, WRITE_PIECE)) this.#write(this.link, piece.chunks, piece.bytes);
  }

  /** End the link gracefully once its writes are flushed; the transport releases it. */
  close(): void {
    if (this.link && !this.done) this.link.close();
  }

  /** Drop the link now; queued writes are discarded. */
  destroy(): void {
    if (this.link && !this.done) {
      this.done = true;
      this.link.destroy();
    }
  }

  /** One link write. The core learns how far the link has taken its output from the written
   *  signal, or at once from a link that gives none. */
  #write(link: Link, chunks: Uint8Array[], bytes: number): void {
    if (this.done) return; // an earlier piece failed
    const end = (this.#handed += bytes);
    const signals = link.signalsWritten === true;
    try {
      this.writable = link.write(chunks, (taken) => this.#written(end, signals && taken !== false));
    } catch (err) {
      this.#host.linkFailed(err);
      return;
    }
    if (!signals) this.#host.core.written(end, Date.now());
  }

  /** The link is done with the views of the write ending at output offset `end` (writes finish
   *  in order); `taken`: the transport took its octets and says so. */
  #written(end: number, taken: boolean): void {
    if (end > this.#finished) this.#finished = end;
    if (taken && !this.#host.isClosed) {
      // The core's data-block timer moves on. (This runs in the transport's callback: a throw
      // would escape as an uncaught exception.)
      try {
        this.#host.core.written(end, Date.now());
        this.#host.rearm();
      } catch (err) {
        this.#host.crash(err);
      }
    }
    this.#host.wake();
  }
}

/** `chunks` as consecutive groups of at most `size` octets (views, never copies). */
function pieces(chunks: readonly Uint8Array[], size: number): { chunks: Uint8Array[]; bytes: number }[] {
  const out: { chunks: Uint8Array[]; bytes: number }[] = [];
  let group: Uint8Array[] = [];
  let bytes = 0;
  for (const chunk of chunks) {
    for (let at = 0; at < chunk.length;) {
      const n = Math.min(chunk.length - at, size - bytes);
      group.push(at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n));
      bytes += n;
      at += n;
      if (bytes === size) {
        out.push({ chunks: group, bytes });
        group = [];
        bytes = 0;
      }
    }
  }
  if (bytes > 0) out.push({ chunks: group, bytes });
  return out;
}
