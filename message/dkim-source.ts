// The message a DKIM signer reads twice: once to hash it, once to send it (with the signature
// in front). A whole message (string or bytes) is simply read twice; a streamed one is given as
// a function that opens it afresh each time (a file, a builder's output), so neither read holds
// more than one chunk. The signed result is a body source the client streams.
import type { PullIntoSource } from '../client/client.ts';
import { DkimError } from './dkim-errors.ts';

/** One reading of a streamed message: what the client accepts as a streaming body. */
export type DkimStream = PullIntoSource | AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string> | ReadableStream<Uint8Array>;

/**
 * A message the signer can read twice: the whole message as a string (sent as UTF-8) or bytes,
 * or a function that returns a fresh stream of it on every call, e.g.
 * `() => fileBody('message.eml')` or `() => fs.createReadStream(path)`.
 */
export type DkimSource = string | Uint8Array | (() => DkimStream | Promise<DkimStream>);

const encoder = new TextEncoder();
const READ_SIZE = 64 * 1024;

/**
 * Reads a whole source once, handing each chunk to `each` (synchronously; the view is valid
 * during the call only). Resolves with the number of octets read.
 */
export async function readSource(source: DkimSource, each: (chunk: Uint8Array) => void): Promise<number> {
  if (typeof source === 'string') source = encoder.encode(source);
  if (source instanceof Uint8Array) {
    each(source);
    return source.length;
  }
  if (typeof source !== 'function')
    throw new DkimError('options', 'the message must be a string, a Uint8Array or a function that returns a fresh stream of it');
  const stream = await source();
  let total = 0;
  const take = (chunk: unknown): void => {
    const bytes = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
    if (!(bytes instanceof Uint8Array)) throw new DkimError('source', 'message chunks must be Uint8Array or string');
    total += bytes.length;
    each(bytes);
  };
  const s = stream as Partial<PullIntoSource & ReadableStream<Uint8Array> & AsyncIterable<unknown> & Iterable<unknown>>;
  if (typeof s.readInto === 'function') {
    // One buffer, reused: `each` has absorbed a chunk before the next read.
    const buffer = new Uint8Array(READ_SIZE);
    try {
      for (;;) {
        const n = await s.readInto(buffer);
        if (!(Number.isInteger(n) && n >= 0 && n <= buffer.length))
          throw new DkimError('source', `readInto() resolved with ${String(n)}, not an octet count`);
        if (n === 0) break;
        take(buffer.subarray(0, n));
      }
    } finally {
      await s.close?.();
    }
  } else if (typeof s.getReader === 'function') {
    const reader = s.getReader();
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) take(r.value);
    } catch (err) {
      await reader.cancel().catch(() => {});
      throw err;
    } finally {
      reader.releaseLock();
    }
  } else if (typeof s[Symbol.asyncIterator] === 'function') {
    for await (const chunk of s as AsyncIterable<unknown>) take(chunk);
  } else if (typeof s[Symbol.iterator] === 'function') {
    for (const chunk of s as Iterable<unknown>) take(chunk);
  } else {
    throw new DkimError(
      'source',
      'the message function must return a { readInto } source, an (async) iterable of chunks or a ReadableStream',
    );
  }
  return total;
}

/**
 * A streamed message with its DKIM-Signature field(s) in front: a `{ readInto }` body for the
 * client (`client.send({ body: signed, ... })`), also async-iterable. It opens the source again
 * on the first read, and fails the send if that second reading gives a different number of
 * octets than the one that was signed (the signature would not verify).
 */
export class DkimSignedStream implements PullIntoSource, AsyncIterable<Uint8Array> {
  /** The DKIM-Signature header field(s), CRLF-terminated, as prepended. */
  readonly header: string;
  /** Octets of the signed message: header fields plus the message as first read. */
  readonly size: number;
  readonly #head: Uint8Array;
  readonly #open: () => DkimStream | Promise<DkimStream>;
  readonly #expected: number;
  #headAt = 0;
  #reader: ChunkReader | undefined;
  #read = 0;
  #closed = false;
  #iterated = false;

  constructor(header: string, open: () => DkimStream | Promise<DkimStream>, messageSize: number) {
    this.header = header;
    this.#head = encoder.encode(header);
    this.#open = open;
    this.#expected = messageSize;
    this.size = this.#head.length + messageSize;
  }

  async readInto(buffer: Uint8Array): Promise<number> {
    if (this.#closed) throw new DkimError('source', 'the signed message was already closed');
    if (this.#headAt < this.#head.length) {
      const n = Math.min(buffer.length, this.#head.length - this.#headAt);
      buffer.set(this.#head.subarray(this.#headAt, this.#headAt + n), 0);
      this.#headAt += n;
      return n;
    }
    this.#reader ??= new ChunkReader(await this.#open());
    const n = await this.#reader.readInto(buffer);
    this.#read += n;
    if (this.#read > this.#expected || (n === 0 && this.#read !== this.#expected)) {
      throw new DkimError(
        'source',
        `the message gave ${n === 0 ? this.#read : 'more than ' + this.#expected} octets when sent but ${this.#expected} when signed: its function must return the same message every time`,
      );
    }
    return n;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#reader?.close();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.#iterated) throw new DkimError('source', 'a signed message stream can be read once');
    this.#iterated = true;
    try {
      for (;;) {
        const buffer = new Uint8Array(READ_SIZE); // fresh each time: the consumer may keep it
        const n = await this.readInto(buffer);
        if (n === 0) return;
        yield buffer.subarray(0, n);
      }
    } finally {
      await this.close();
    }
  }
}

/** Any DkimStream read as `readInto`: pull-into sources directly, others through their chunks. */
class ChunkReader {
  readonly #pull: PullIntoSource | undefined;
  readonly #next: (() => Promise<IteratorResult<unknown>>) | undefined;
  readonly #stop: (() => unknown) | undefined;
  #chunk: Uint8Array = new Uint8Array(0);
  #at = 0;
  #done = false;

  constructor(stream: DkimStream) {
    const s = stream as Partial<PullIntoSource & ReadableStream<Uint8Array> & AsyncIterable<unknown> & Iterable<unknown>>;
    if (typeof s.readInto === 'function') {
      this.#pull = stream as PullIntoSource;
    } else if (typeof s.getReader === 'function') {
      const reader = s.getReader();
      this.#next = () => reader.read() as Promise<IteratorResult<unknown>>;
      this.#stop = () => reader.cancel();
    } else if (typeof s[Symbol.asyncIterator] === 'function' || typeof s[Symbol.iterator] === 'function') {
      const it: AsyncIterator<unknown> | Iterator<unknown> =
        typeof s[Symbol.asyncIterator] === 'function' ? s[Symbol.asyncIterator]!() : s[Symbol.iterator]!();
      this.#next = async () => it.next();
      this.#stop = () => it.return?.();
    } else {
      throw new DkimError(
        'source',
        'the message function must return a { readInto } source, an (async) iterable of chunks or a ReadableStream',
      );
    }
  }

  async readInto(buffer: Uint8Array): Promise<number> {
    if (this.#pull) return this.#pull.readInto(buffer);
    while (this.#at === this.#chunk.length) {
      if (this.#done) return 0;
      const r = await this.#next!();
      if (r.done) {
        this.#done = true;
        return 0;
      }
      const c = typeof r.value === 'string' ? encoder.encode(r.value) : r.value;
      if (!(c instanceof Uint8Array)) throw new DkimError('source', 'message chunks must be Uint8Array or string');
      this.#chunk = c;
      this.#at = 0;
    }
    const n = Math.min(buffer.length, this.#chunk.length - this.#at);
    buffer.set(this.#chunk.subarray(this.#at, this.#at + n), 0);
    this.#at += n;
    return n;
  }

  async close(): Promise<void> {
    if (this.#pull) await this.#pull.close?.();
    else if (!this.#done) await this.#stop?.();
  }
}
