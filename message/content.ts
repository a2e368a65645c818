// Attachment content of every kind the builder takes, read as a stream of octets with bounded
// memory: bytes, text (UTF-8), a `{ readInto }` source such as fileBody() from smtpwire/node,
// /deno or /bun (the runtime's file reader: this layer does no I/O of its own), an (async)
// iterable of chunks, a web ReadableStream, or a function returning one of those (or a promise of
// one), which makes
// the content readable more than once (a DKIM signer reads the message twice).
import { SmtpUsageError } from '../core/errors.ts';
import { BASE64_LINE_INPUT } from './encoding.ts';

/** A source the reader fills (`fileBody()` is one); the same contract as the client's body. */
export interface ReadIntoSource {
  readInto(buffer: Uint8Array): Promise<number>;
  close?(): unknown;
  readonly size?: number;
}

export type ContentSource =
  string | Uint8Array | ReadIntoSource | Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string> | ReadableStream<Uint8Array>;

export type AttachmentContent = ContentSource | (() => ContentSource | Promise<ContentSource>);

/** Read size for `{ readInto }` sources: whole base64 lines, about 64 KiB. */
const READ_SIZE = BASE64_LINE_INPUT * 1150;
const encoder = new TextEncoder();
// One-shot sources already opened once; a second rendering must fail, not send nothing.
const opened = new WeakSet<object>();

export function assertContent(content: unknown, what: string): void {
  if (typeof content === 'function' || typeof content === 'string' || content instanceof Uint8Array) return;
  if (content !== null && typeof content === 'object') {
    const c = content as Record<PropertyKey, unknown>;
    if (
      typeof c.readInto === 'function' ||
      typeof c.getReader === 'function' ||
      typeof c[Symbol.asyncIterator] === 'function' ||
      typeof c[Symbol.iterator] === 'function'
    )
      return;
  }
  throw new SmtpUsageError(
    `${what}.content must be a string, Uint8Array, { readInto } source (e.g. fileBody(path)), (async) iterable of chunks, ReadableStream, or a function returning one`,
  );
}

/** Octets the content will give, when that is known without reading it. */
export function contentSize(content: AttachmentContent): number | undefined {
  if (typeof content === 'string') return encoder.encode(content).length;
  if (content instanceof Uint8Array) return content.length;
  if (typeof content === 'function') return undefined;
  const size = (content as ReadIntoSource).size;
  return typeof (content as ReadIntoSource).readInto === 'function' && typeof size === 'number' && Number.isSafeInteger(size) && size >= 0
    ? size
    : undefined;
}

/** The content as chunks of octets. A one-shot source can be opened once. */
export async function* openContent(content: AttachmentContent): AsyncGenerator<Uint8Array> {
  // A function may be async: `async () => (await fetch(url)).body` on Workers.
  const source = typeof content === 'function' ? await content() : content;
  if (typeof source === 'string') {
    yield encoder.encode(source);
    return;
  }
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  if (source === null || typeof source !== 'object')
    throw new SmtpUsageError('an attachment content function must return a string, Uint8Array or stream');
  if (opened.has(source)) {
    throw new SmtpUsageError(
      'an attachment stream can be read only once: to render or sign the message again, give content as a function that returns a fresh source',
    );
  }
  opened.add(source);
  const s = source as Partial<ReadIntoSource & ReadableStream<Uint8Array> & AsyncIterable<unknown> & Iterable<unknown>>;
  if (typeof s.readInto === 'function') {
    const buffer = new Uint8Array(READ_SIZE);
    try {
      for (;;) {
        const n = await s.readInto(buffer);
        if (!(Number.isInteger(n) && n >= 0 && n <= buffer.length))
          throw new SmtpUsageError(`an attachment's readInto must resolve with 0 to ${buffer.length}, not ${String(n)}`);
        if (n === 0) return;
        // The buffer is reused: the consumer (the base64 encoder) copies what it keeps.
        yield buffer.subarray(0, n);
      }
    } finally {
      try {
        await s.close?.();
      } catch {
        // A failing close is not the message's problem.
      }
    }
  }
  if (typeof s.getReader === 'function') {
    const reader = s.getReader();
    let done = false;
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) {
          done = true;
          return;
        }
        yield chunkBytes(r.value);
      }
    } finally {
      if (!done) await reader.cancel().catch(() => {});
    }
  }
  if (typeof s[Symbol.asyncIterator] === 'function') {
    for await (const chunk of s as AsyncIterable<unknown>) yield chunkBytes(chunk);
    return;
  }
  for (const chunk of s as Iterable<unknown>) yield chunkBytes(chunk);
}

function chunkBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return encoder.encode(chunk);
  throw new SmtpUsageError('an attachment stream must give Uint8Array or string chunks');
}
