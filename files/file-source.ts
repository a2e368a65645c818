// The runtime-neutral half of fileBody(): options, the returned object and its bookkeeping. Each
// runtime supplies only "open this file" and "read at this position" (Node and Bun through
// node:fs/promises in node-file.ts, Deno through Deno.open in deno-file.ts). No runtime API here.
import type { PullIntoSource } from '../client/body-stream.ts';
import { SmtpUsageError } from '../core/errors.ts';

export interface FileBodyOptions {
  /** First octet to send (default 0). */
  start?: number;
  /** Octets to send from `start` at most (default: up to the end of the file as it is when read). */
  length?: number;
}

/** A file read by the client into its own buffers: pass it as `body`. */
export interface FileBody extends PullIntoSource {
  readonly path: string;
  /** Octets that will be sent, from stat() when fileBody() was called: pass it as `size` for the
   *  SIZE= parameter (a file that changes meanwhile is sent as it is when read). */
  readonly size: number;
  /** Closes the file (the client calls this when the send is done with it); idempotent. */
  close(): Promise<void>;
}

/** An open file as a runtime gives it: read into `buffer` from `position` (0 at the end). */
export interface OpenFile {
  read(buffer: Uint8Array, position: number): Promise<number>;
  close(): Promise<void> | void;
}

/** Builds a FileBody: validates `options` against the stat()ed size, opens lazily, reads in order. */
export function makeFileBody(
  name: string,
  stat: { size: number; isFile: boolean },
  options: FileBodyOptions,
  openFile: () => Promise<OpenFile>,
): FileBody {
  if (options === null || typeof options !== 'object') throw new SmtpUsageError('fileBody options must be an object');
  const start = options.start ?? 0;
  if (!(Number.isSafeInteger(start) && start >= 0)) throw new SmtpUsageError('fileBody start must be a non-negative integer');
  const length = options.length;
  if (length !== undefined && !(Number.isSafeInteger(length) && length >= 0))
    throw new SmtpUsageError('fileBody length must be a non-negative integer');
  if (!stat.isFile) throw new SmtpUsageError(`fileBody needs a regular file: ${name}`);
  const available = Math.max(0, stat.size - start);
  const size = length === undefined ? available : Math.min(length, available);
  // With `length`, reading stops there; without, at the end of the file as it is when read.
  const limit = length === undefined ? Infinity : start + length;
  let opening: Promise<OpenFile> | undefined;
  let file: OpenFile | undefined;
  let position = start;
  let closed = false;
  const read = async (f: OpenFile, buffer: Uint8Array): Promise<number> => {
    const n = await f.read(buffer, position);
    position += n;
    return n;
  };
  return {
    path: name,
    size,
    readInto(buffer: Uint8Array): Promise<number> {
      if (closed) return Promise.reject(new Error(`fileBody ${name} is closed`));
      const want = Math.min(buffer.length, limit - position);
      if (want <= 0) return Promise.resolve(0);
      const into = want === buffer.length ? buffer : buffer.subarray(0, want);
      // Once open, the read starts before this returns (no await first): the client overlaps
      // it with its work on the previous piece.
      if (file) return read(file, into);
      opening ??= openFile().then((f) => (file = f));
      return opening.then((f) => read(f, into));
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const pending = opening;
      opening = undefined;
      file = undefined;
      const f = await pending?.catch(() => undefined);
      await f?.close();
    },
  };
}
