// Shared plumbing for transports whose sockets are a ReadableStream/WritableStream pair (Deno,
// Cloudflare Workers): a reader loop that feeds LinkHandlers, a writer with byte-counted
// backpressure behind Link.write(), an in-place TLS upgrade that hands the runtime a quiet,
// flushed, unlocked socket, plus the connect deadline/abort race and TLS error wrapping that
// every non-Node transport (Bun too) needs. Bytes only: no SMTP here.
import { SmtpAbortError, SmtpTimeoutError, SmtpTlsError } from '../core/errors.ts';
import type { ConnectParams, Link, LinkHandlers } from '../client/transport.ts';

export interface StreamPair {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
}

/** What a runtime supplies for one socket. */
export interface StreamSocket {
  /** The socket's streams (read once, when the link attaches). */
  readonly streams: StreamPair;
  /**
   * Upgrade the socket to TLS (STARTTLS) and resolve with the streams of the secure socket once
   * the handshake (certificate check included) is done. Called with no read pending, every
   * queued write flushed and both stream locks released.
   */
  startTls(): Promise<StreamPair>;
  /** Release the socket now. Must not throw; may be called more than once. */
  release(): void;
  /**
   * Set when the runtime completes TLS handshakes lazily and cannot say why one failed (workerd:
   * a rejected certificate surfaces as a clean EOF or a failed write on the secure streams).
   * The link then reports an end or failure that comes before the first byte after a handshake
   * as an SmtpTlsError carrying this explanation.
   */
  readonly lateHandshakeFailure?: string;
}

/** Bytes queued in the writer above which write() asks the caller to wait for drain(). */
const HIGH_WATER = 64 * 1024;
/** drain() is called once the queue is back down to this. */
const LOW_WATER = 16 * 1024;
/** Chunks smaller than this are copied together into one write (the streams have no writev). */
const SMALL = 16 * 1024;
/** Most bytes one coalesced write may hold. */
const BATCH = 64 * 1024;

type State = 'open' | 'upgrading' | 'closing' | 'closed';

export class StreamLink implements Link {
  readonly signalsWritten = true;
  #socket: StreamSocket;
  #handlers: LinkHandlers;
  #secure: boolean;
  #state: State = 'open';
  #reported = false; // end() or error() has been called (exactly once)
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #queued = 0; // bytes handed to the writer and not yet written
  #needDrain = false; // write() returned false: call drain() when the queue is low again
  #lastWrite: Promise<void> = Promise.resolve();
  #writeError: { err: unknown } | undefined;
  /** Since the last TLS handshake nothing was read (only tracked for lateHandshakeFailure sockets). */
  #freshTls = false;

  constructor(socket: StreamSocket, handlers: LinkHandlers, secure: boolean) {
    this.#socket = socket;
    this.#handlers = handlers;
    this.#secure = secure;
    this.#freshTls = secure && socket.lateHandshakeFailure !== undefined;
    this.#attach(socket.streams);
  }

  get secure(): boolean {
    return this.#secure;
  }

  write(chunks: Uint8Array[], onWritten?: () => void): boolean {
    const writer = this.#writer;
    if (this.#state !== 'open' || !writer) {
      // Nothing of these will be written; run onWritten after the writes before them.
      if (onWritten) void this.#lastWrite.then(onWritten);
      return false;
    }
    let last: Promise<void> | undefined;
    for (const bytes of coalesce(chunks)) {
      const n = bytes.byteLength;
      this.#queued += n;
      last = this.#lastWrite = writer.write(bytes).then(
        () => {
          this.#queued -= n;
          if (this.#needDrain && this.#queued <= LOW_WATER && this.#state === 'open' && !this.#reported) {
            this.#needDrain = false;
            this.#handlers.drain();
          }
        },
        (err: unknown) => this.#writeFailed(err),
      );
    }
    // A writer's write() promises settle in order, once the sink is done with the chunk
    // (written, or failed/aborted when the link dies): the last one settles this write.
    if (onWritten) void (last ?? this.#lastWrite).then(onWritten);
    if (this.#queued <= HIGH_WATER) return true;
    this.#needDrain = true;
    return false;
  }

  async startTls(): Promise<void> {
    if (this.#state !== 'open') throw new SmtpTlsError('TLS failed: the connection is not open');
    this.#state = 'upgrading';
    // Detach first: the reader loop sees this and issues no further read, so the runtime gets a
    // socket with nothing in flight (Deno refuses to upgrade a stream with a pending read).
    const reader = this.#reader!;
    const writer = this.#writer!;
    this.#reader = undefined;
    this.#writer = undefined;
    try {
      await this.#lastWrite; // the STARTTLS command is flushed (and was answered) by now
      if (this.#writeError) throw this.#writeError.err;
      reader.releaseLock();
      writer.releaseLock();
      const streams = await this.#socket.startTls();
      if (this.#state !== 'upgrading') throw new Error('the connection was closed during the TLS handshake');
      this.#state = 'open';
      this.#secure = true;
      this.#freshTls = this.#socket.lateHandshakeFailure !== undefined;
      this.#attach(streams);
    } catch (err) {
      if (this.#state === 'upgrading') this.#state = 'closed';
      this.#reported = true; // the caller learns of this failure from the rejection
      this.#socket.release();
      throw tlsError(err);
    }
  }

  close(): void {
    if (this.#state === 'upgrading') return this.destroy();
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    const writer = this.#writer;
    // Flush, end our side (FIN, after close_notify on TLS), then release without waiting on the peer.
    const closing = writer ? writer.close() : Promise.resolve();
    void closing
      .catch(() => {})
      .then(() => {
        this.#socket.release();
        this.#report(undefined);
      });
  }

  destroy(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    const reader = this.#reader;
    const writer = this.#writer;
    this.#reader = undefined;
    this.#writer = undefined;
    writer?.abort().catch(() => {});
    reader?.cancel().catch(() => {});
    this.#socket.release();
    void Promise.resolve().then(() => this.#report(undefined));
  }

  #attach(streams: StreamPair): void {
    const reader = streams.readable.getReader();
    this.#reader = reader;
    this.#writer = streams.writable.getWriter();
    this.#queued = 0;
    this.#lastWrite = Promise.resolve();
    void this.#readLoop(reader);
  }

  async #readLoop(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    try {
      // Stop before the next read as soon as the link is detached (upgrade, destroy).
      while (this.#reader === reader) {
        const { value, done } = await reader.read();
        if (this.#reader !== reader) return;
        if (done) return this.#peerClosed();
        if (value.byteLength === 0) continue;
        this.#freshTls = false;
        this.#handlers.data(value);
      }
    } catch (err) {
      if (this.#reader !== reader) return; // our own release/cancel ended the read
      if (this.#state === 'closing') return this.#report(undefined);
      this.#fail(err);
    }
  }

  /** EOF from the peer: report it and end our side too (no half-open links). */
  #peerClosed(): void {
    if (this.#freshTls && this.#state === 'open') return this.#fail(new Error('the connection closed before the first byte over TLS'));
    this.#report(undefined);
    if (this.#state === 'open') this.close();
  }

  #writeFailed(err: unknown): void {
    this.#writeError ??= { err };
    if (this.#state === 'open') this.#fail(err);
  }

  #fail(err: unknown): void {
    // On runtimes that handshake lazily, a link that dies before the first byte after a
    // handshake died of the handshake (see StreamSocket.lateHandshakeFailure).
    const error = this.#freshTls ? tlsError(err, this.#socket.lateHandshakeFailure) : err;
    this.#state = 'closed';
    this.#reader = undefined;
    this.#writer = undefined;
    this.#socket.release();
    this.#report(error);
  }

  #report(err: unknown): void {
    if (this.#reported) return;
    this.#reported = true;
    if (err === undefined) this.#handlers.end();
    else this.#handlers.error(err);
  }
}

/** Merge runs of small views into one copy so a pipelined batch is one write, not dozens. */
export function coalesce(chunks: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  let runBytes = 0;
  const flush = (): void => {
    if (run.length === 1) out.push(run[0]!);
    else if (run.length > 1) {
      const merged = new Uint8Array(runBytes);
      let at = 0;
      for (const c of run) {
        merged.set(c, at);
        at += c.byteLength;
      }
      out.push(merged);
    }
    run = [];
    runBytes = 0;
  };
  for (const c of chunks) {
    if (c.byteLength === 0) continue;
    if (c.byteLength >= SMALL) {
      flush();
      out.push(c);
      continue;
    }
    if (runBytes + c.byteLength > BATCH) flush();
    run.push(c);
    runBytes += c.byteLength;
  }
  flush();
  return out;
}

/**
 * Run one connection attempt under the connect deadline and the abort signal. `attempt` gets a
 * `track` callback: whatever it registers there is released if the deadline or the signal wins
 * while the attempt is still under way (so a hung handshake is torn down, not leaked); a socket
 * that arrives after that is handed to `discard`.
 */
export function connectWithin<T>(
  params: ConnectParams,
  attempt: (track: (release: () => void) => void) => Promise<T>,
  discard: (value: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const signal = params.signal;
    if (signal?.aborted) return reject(new SmtpAbortError());
    let settled = false;
    let release: (() => void) | undefined;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const cancel = (err: unknown): void => {
      if (!finish()) return;
      try {
        release?.();
      } catch {
        // tearing down an attempt we gave up on; its errors are not ours to report
      }
      reject(err);
    };
    const onAbort = (): void => cancel(new SmtpAbortError());
    const timer = setTimeout(() => cancel(new SmtpTimeoutError('connect', params.connectTimeout)), params.connectTimeout);
    signal?.addEventListener('abort', onAbort, { once: true });
    let running: Promise<T>;
    try {
      running = attempt((r) => (release = r));
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(
      (value) => {
        if (finish()) resolve(value);
        else discard(value);
      },
      (err: unknown) => {
        if (finish()) reject(err);
      },
    );
  });
}

/** Wrap a handshake or certificate failure as core's SmtpTlsError (kept as `cause`). */
export function tlsError(err: unknown, hint?: string): SmtpTlsError {
  if (err instanceof SmtpTlsError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const error = new SmtpTlsError(`TLS failed: ${message}${hint ? ` (${hint})` : ''}`);
  (error as { cause?: unknown }).cause = err;
  return error;
}

/** ConnectParams.ca as a list of PEM strings (what Deno and Bun take). */
export function pemList(ca: ConnectParams['ca']): string[] | undefined {
  if (ca === undefined) return undefined;
  const decoder = new TextDecoder();
  return (Array.isArray(ca) ? ca : [ca]).map((c) => (typeof c === 'string' ? c : decoder.decode(c)));
}
