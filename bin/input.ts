// Standard input as a message body: a regular file is read at positions (SIZE= declared), a pipe
// or terminal is streamed. Input that cannot be a message (a directory, a closed descriptor, a
// read error) fails with EX_NOINPUT and says why, instead of sending an empty message.
import { fstatSync, read } from 'node:fs';
import type { PullIntoSource } from '../transports/node.ts';
import { makeFileBody } from '../files/file-source.ts';
import { InputFileError } from './args.ts';

const MB = 1 << 20;

/** What stdin is; throws InputFileError (exit 66) for input that cannot be a message. */
export function stdinKind(): { kind: 'file'; size: number } | { kind: 'stream' } {
  let st;
  try {
    st = fstatSync(0);
  } catch (err) {
    throw new InputFileError(
      `cannot read standard input: ${err instanceof Error ? err.message : String(err)} (is it closed? give the message with "< message.eml")`,
    );
  }
  if (st.isDirectory()) throw new InputFileError('standard input is a directory, not a message (did you mean "< dir/message.eml"?)');
  if (st.isFile()) return { kind: 'file', size: st.size };
  return { kind: 'stream' };
}

/**
 * A raw message's stream with its first chunk already read, so an empty stdin (a closed
 * descriptor, which Node reopens as /dev/null, an empty pipe or file) fails before connecting.
 */
export async function nonEmpty(source: AsyncIterable<Uint8Array>): Promise<AsyncIterable<Uint8Array>> {
  const it = source[Symbol.asyncIterator]();
  let first = await it.next();
  while (!first.done && first.value.length === 0) first = await it.next();
  if (first.done) throw new InputFileError('standard input is empty: no message to send (give it with "< message.eml", or use --text)');
  const head = first.value;
  return (async function* () {
    yield head;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  })();
}

/** Stdin as a file (`smtpwire send ... < message.eml`), read at positions from its start. */
export function stdinFile(size: number): PullIntoSource {
  const readAt = (buffer: Uint8Array, position: number): Promise<number> =>
    new Promise((resolve, reject) => {
      read(0, buffer, 0, buffer.length, position, (err, n) => (err ? reject(inputError(err)) : resolve(n)));
    });
  // fd 0 is not ours to close.
  return makeFileBody('stdin', { size, isFile: true }, {}, async () => ({ read: readAt, close: () => {} }));
}

function inputError(err: Error): Error {
  return Object.assign(new InputFileError(`cannot read standard input: ${err.message}`), {
    code: (err as { code?: string }).code ?? 'EIO',
  });
}

/** Stdin as a stream of chunks; a read error becomes an InputFileError. */
export async function* stdinStream(): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of process.stdin) yield chunk as Uint8Array;
  } catch (err) {
    throw err instanceof Error ? inputError(err) : err;
  }
}

/** Someone who forgot `< message.eml` should not stare at a silent terminal. */
export function hintIfTerminal(what: string): void {
  if (process.stdin.isTTY) process.stderr.write(`smtpwire: reading ${what} from the terminal; end it with Ctrl-D\n`);
}

export async function readStdinText(): Promise<string> {
  stdinKind();
  hintIfTerminal('the text');
  const chunks: Uint8Array[] = [];
  for await (const chunk of stdinStream()) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A progress line for a file body, as withProgress() draws one for a stream. It counts octets
 * the client has READ from the source, not octets the socket took: the client does not expose
 * the latter, and what it reads ahead is bounded by its buffer ring, so the line says "read".
 */
export function fileWithProgress(source: PullIntoSource, size: number): PullIntoSource {
  const tty = process.stderr.isTTY === true;
  let total = 0;
  let drawn = 0;
  const draw = (end: string): void => {
    process.stderr.write(
      `\rsmtpwire: read ${(total / MB).toFixed(1)} MB of the message (${Math.min(100, Math.floor((total / Math.max(1, size)) * 100))}%)${end}`,
    );
  };
  return {
    size,
    readInto: async (buffer) => {
      const n = await source.readInto(buffer);
      total += n;
      const now = Date.now();
      if (tty && total > MB && now - drawn >= 200) {
        draw('');
        drawn = now;
      }
      return n;
    },
    close: () => {
      if (drawn) draw('\n');
      return source.close?.();
    },
  };
}

/** Pass a stream through, drawing a progress line on a terminal once the body passes 1 MB. */
export async function* withProgress(source: AsyncIterable<Uint8Array>, size: number | undefined): AsyncGenerator<Uint8Array> {
  const tty = process.stderr.isTTY === true;
  let total = 0;
  let drawn = 0;
  const draw = (end: string): void => {
    const pct = size ? ` (${Math.min(100, Math.floor((total / size) * 100))}%)` : '';
    process.stderr.write(`\rsmtpwire: read ${(total / MB).toFixed(1)} MB of the message${pct}${end}`);
  };
  try {
    for await (const chunk of source) {
      total += chunk.length;
      const now = Date.now();
      if (tty && total > MB && now - drawn >= 200) {
        draw('');
        drawn = now;
      }
      yield chunk;
    }
  } finally {
    if (drawn) draw('\n');
  }
}
