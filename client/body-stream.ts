// Streaming bodies into the core with bounded memory: iterables, async iterables, web streams
// (chunks the source allocates) and pull-into sources (`{ readInto }`, read into the client's
// BufferRing). The SmtpClient owns the link and the drive loop; it lends them here as a
// StreamHost.
//
// Only the oldest streaming send pulls (the core writes transactions in order), and only while
// the core's bufferedBefore(id) is below feedLimit(). Ring buffers are reused by offset: the
// core says up to which output offset its body views reach (bodyViewsReleasedAt), and the
// client says how far the link is done with its output (viewsDone).
import type { SmtpConnection } from '../core/connection.ts';
import { SmtpAbortError, SmtpUsageError } from '../core/errors.ts';
import { BufferRing } from './ring.ts';

/**
 * A body the client reads into buffers of its own (see `readSize`): the fast way to stream a
 * large body, such as a file (`fileBody()` in smtpwire/node, /deno, /bun). The client asks for
 * one read at a time, in order, and never calls close() while a read is pending.
 */
export interface PullIntoSource {
  /** Copy the next body octets into the start of `buffer` and resolve with how many (at most
   *  `buffer.length`); 0 means the body has ended. The buffer is lent for this call only: do
   *  not keep it. A rejection cancels the send, as a failing stream does. */
  readInto(buffer: Uint8Array): Promise<number>;
  /** Called once when the send is done with the source: after the end, or early (cancelled,
   *  rejected, the link lost). May return a promise; its failure is ignored. */
  close?(): unknown;
  /** Octets it will give, when known (`fileBody()` knows): declared as SIZE= unless the
   *  message gives `size`. */
  readonly size?: number;
}

/** A message body. Chunks are used as views: do not modify them after handing them over. */
export type BodySource =
  string | Uint8Array | PullIntoSource | Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string> | ReadableStream<Uint8Array>;

/** Pull-based view of a streaming BodySource that hands out its own chunks. */
interface ChunkSource {
  next(): Promise<IteratorResult<unknown>>;
  /** Release the source early (its return()/cancel()); may return a promise. */
  stop(): unknown;
}

/** A streaming body once opened: chunks it allocates, or reads into the client's ring. */
export type OpenedBody =
  { readonly kind: 'chunks'; readonly source: ChunkSource } | { readonly kind: 'pull'; readonly source: PullIntoSource };

/** What the streamer sees of a pending send. */
export interface StreamedSend {
  /** Body octets given so far (for the observer). */
  bytes: number;
}

/** The SmtpClient's side: its core, pending sends, link state and drive loop. */
export interface StreamHost {
  readonly core: SmtpConnection;
  readonly sends: { has(id: number): boolean; get(id: number): StreamedSend | undefined };
  readonly isClosed: boolean;
  /** The last link.write() did not ask to wait for drain(). */
  readonly writable: boolean;
  /** The output offset (as in the core's written()) the link is done with: its writes up to
   *  there have run onWritten (taken or dropped); Infinity once the link is gone. */
  readonly viewsDone: number;
  /** The link says when a write is done (the ring may reuse buffers). */
  readonly signalsWritten: boolean;
  pump(): void;
  /** Resolves after the next pump, drain or link end. */
  tick(): Promise<void>;
  wake(): void;
}

const encoder = new TextEncoder();

export class BodyStreamer {
  #host: StreamHost;
  #hwm: number;
  #readSize: number;
  #feeders: number[] = []; // streaming sends whose body has not ended, in send (= wire) order
  #ring: BufferRing | undefined; // read buffers of pull-into bodies, while one is being sent

  #buffers: ((size: number, count: number) => () => Uint8Array) | undefined;

  /** `buffers`: the body scan part's allocator (memory the SIMD check reads in place), if any. */
  constructor(host: StreamHost, hwm: number, readSize: number, buffers?: (size: number, count: number) => () => Uint8Array) {
    this.#buffers = buffers;
    this.#host = host;
    this.#hwm = hwm;
    this.#readSize = readSize;
  }

  /** A streaming send was queued: it pulls once the sends before it have ended. */
  enqueue(id: number): void {
    this.#feeders.push(id);
  }

  /** The session is over: nothing pulls any more. */
  clear(): void {
    this.#feeders = [];
  }

  /** Stream a body into the core, only while it is worth holding it; release the source after. */
  async feed(id: number, open: () => OpenedBody): Promise<void> {
    let ended = false;
    let body: OpenedBody | undefined;
    try {
      body = open();
      ended = body.kind === 'pull' ? await this.#pullInto(id, body.source) : await this.#pullChunks(id, body.source);
    } catch (err) {
      // The source failed: the message is incomplete and must not be delivered.
      if (this.#host.sends.has(id)) {
        const reason = new SmtpAbortError(`the message body source failed: ${err instanceof Error ? err.message : String(err)}`);
        (reason as { cause?: unknown }).cause = err;
        this.#host.core.cancel(id, Date.now(), reason);
        this.#host.pump();
      }
    } finally {
      this.unfeed(id);
      try {
        // A pull-into source is always closed (it holds a file, say); an iterator or a stream is
        // only stopped early, since one that ended has released itself.
        if (body?.kind === 'pull') await body.source.close?.();
        else if (body && !ended) await body.source.stop();
      } catch {
        // releasing a source we no longer read from; its errors are not ours to report
      }
    }
  }

  /** Chunks the source allocates go to the core as they are. True when the body ended. */
  async #pullChunks(id: number, source: ChunkSource): Promise<boolean> {
    for (;;) {
      if (!(await this.#mayFeed(id))) return false;
      const next = await source.next();
      if (!this.#host.sends.has(id)) return false;
      if (next.done) {
        this.#endBody(id);
        return true;
      }
      const bytes = toBytes(next.value);
      if (!bytes) {
        this.#host.core.cancel(id, Date.now(), new SmtpUsageError('body chunks must be Uint8Array or string'));
        this.#host.pump();
        return false;
      }
      if (!this.#host.core.writeBody(id, bytes, Date.now())) return false;
      const pending = this.#host.sends.get(id);
      if (pending) pending.bytes += bytes.length;
      this.#host.pump();
    }
  }

  /**
   * Read a pull-into source into the ring and hand each read to the core as a view of a ring
   * buffer. The next read is started before the last one is handed over, so the source's read
   * (a file read runs on another thread) overlaps the core's scan and the socket write. The
   * ring is shared by the pull-into sends of this client (one reads at a time) and dropped when
   * none is left; buffers still in the core or the transport are then simply not reused. True
   * when the body ended.
   */
  async #pullInto(id: number, source: PullIntoSource): Promise<boolean> {
    let ring = this.#ring;
    if (!ring) {
      const count = 2 + Math.ceil(this.#feedLimit() / this.#readSize);
      // Reuse needs the link to say when a write is done; without that every read is fresh.
      ring = this.#ring = new BufferRing(this.#readSize, count, this.#host.signalsWritten, this.#buffers);
    }
    ring.users++;
    let ready: Uint8Array | undefined; // read, not yet handed to the core
    const handOver = (): boolean => {
      const view = ready!;
      ready = undefined;
      ring.handed();
      if (!this.#host.core.writeBody(id, view, Date.now())) return false;
      const pending = this.#host.sends.get(id);
      if (pending) pending.bytes += view.length;
      this.#host.pump();
      return true;
    };
    try {
      for (;;) {
        let space: Uint8Array | undefined;
        for (;;) {
          const state = this.#readState(id, ring);
          if (state === 'gone') return false;
          if (state instanceof Uint8Array) {
            space = state;
            break;
          }
          // Every buffer is in use: the one read last must go first, or the core may wait for
          // it (a BDAT chunk not yet full) while we wait for a buffer.
          if (state === 'full' && ready) {
            if (!handOver()) return false;
            continue;
          }
          await this.#host.tick();
        }
        const reading = Promise.resolve(source.readInto(space));
        if (ready && !handOver()) {
          await reading.catch(() => {}); // close() only once no read is pending
          return false;
        }
        const n = await reading;
        if (!this.#host.sends.has(id)) return false;
        if (!(typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= space.length)) {
          this.#host.core.cancel(
            id,
            Date.now(),
            new SmtpUsageError(`readInto must resolve with an octet count from 0 to ${space.length}, not ${String(n)}`),
          );
          this.#host.pump();
          return false;
        }
        if (n === 0) {
          this.#endBody(id);
          return true;
        }
        ready = ring.fill(n);
      }
    } finally {
      ring.unlend();
      if (--ring.users === 0 && this.#ring === ring) this.#ring = undefined;
    }
  }

  #endBody(id: number): void {
    this.unfeed(id); // the next streaming send may pull now
    this.#host.core.endBody(id, Date.now());
    this.#host.pump();
  }

  /**
   * Wait until this send may pull its next chunk. Only the oldest streaming send pulls (the
   * core writes transactions in order, so a later one would only pile up in memory), and only
   * while the link is not pushing back and the core holds less than the high-water mark of
   * bytes that will go before (or are) its own. False once the send has settled.
   */
  async #mayFeed(id: number): Promise<boolean> {
    for (;;) {
      if (!this.#host.sends.has(id) || this.#host.isClosed) return false;
      if (this.#feeders[0] === id && this.#host.writable && this.#host.core.bufferedBefore(id) < this.#feedLimit()) return true;
      await this.#host.tick();
    }
  }

  /**
   * #mayFeed for a pull-into send, without waiting: 'gone' once the send has settled, 'wait'
   * while it may not pull, 'full' when it may but every ring buffer is in use, else where to
   * read next. The link's own backpressure (drain) does not apply when the ring reuses buffers:
   * the ring already bounds what the transport holds.
   */
  #readState(id: number, ring: BufferRing): Uint8Array | 'gone' | 'wait' | 'full' {
    if (!this.#host.sends.has(id) || this.#host.isClosed) return 'gone';
    if (this.#feeders[0] !== id) return 'wait';
    const core = this.#host.core;
    const releasedAt = core.bodyViewsReleasedAt;
    if (releasedAt !== undefined) ring.settle(releasedAt);
    if (core.bufferedBefore(id) >= this.#feedLimit() || !(ring.reuses || this.#host.writable)) return 'wait';
    return ring.space(this.#host.viewsDone) ?? 'full';
  }

  /**
   * Octets of body a streaming send may leave in the core: the high-water mark, but never less
   * than the BDAT chunk size, since the core holds a streamed BDAT body until it has a whole
   * chunk and a lower mark would wait for it forever.
   */
  #feedLimit(): number {
    return Math.max(this.#hwm, this.#host.core.chunkSize);
  }

  unfeed(id: number): void {
    const at = this.#feeders.indexOf(id);
    if (at >= 0) {
      this.#feeders.splice(at, 1);
      this.#host.wake();
    }
  }
}

export function fixedBody(body: unknown): Uint8Array | undefined {
  if (typeof body === 'string') return encoder.encode(body);
  if (body instanceof Uint8Array) return body;
  return undefined;
}

/** Checks a streaming body's type now; the returned function opens it (locks a web stream)
 *  only once the transaction exists. */
export function chunkSource(body: unknown): () => OpenedBody {
  if (body !== null && typeof body === 'object') {
    const b = body as Partial<ReadableStream<Uint8Array> & AsyncIterable<unknown> & Iterable<unknown> & PullIntoSource>;
    // Pull-into first: such an object may be iterable as well, and reading into the client's
    // buffers is the cheaper way.
    if (typeof b.readInto === 'function') {
      if (b.close !== undefined && typeof b.close !== 'function') throw new SmtpUsageError("a readInto body's close must be a function");
      return () => ({ kind: 'pull', source: body as PullIntoSource });
    }
    // A web stream: use its reader, which every runtime has (async iteration is not universal).
    if (typeof b.getReader === 'function') {
      return () => {
        const reader = b.getReader!();
        return { kind: 'chunks', source: { next: () => reader.read() as Promise<IteratorResult<unknown>>, stop: () => reader.cancel() } };
      };
    }
    const open =
      typeof b[Symbol.asyncIterator] === 'function'
        ? () => b[Symbol.asyncIterator]!()
        : typeof b[Symbol.iterator] === 'function'
          ? () => b[Symbol.iterator]!()
          : undefined;
    if (open) {
      return () => {
        const iterator: Iterator<unknown> | AsyncIterator<unknown> = open();
        return { kind: 'chunks', source: { next: async () => iterator.next(), stop: () => iterator.return?.() } };
      };
    }
  }
  throw new SmtpUsageError('body must be a string, Uint8Array, { readInto } source, (async) iterable of chunks or ReadableStream');
}

/** The size a pull-into source says it has, if it is a usable octet count. */
export function declaredSize(body: unknown): number | undefined {
  const size =
    body !== null && typeof body === 'object' && typeof (body as PullIntoSource).readInto === 'function'
      ? (body as PullIntoSource).size
      : undefined;
  return typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? size : undefined;
}

function toBytes(chunk: unknown): Uint8Array | undefined {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return encoder.encode(chunk);
  return undefined;
}
