// fileBody() for Deno (needs --allow-read): Deno.open and Deno.FsFile.read behind the
// runtime-neutral file-source.ts.
import { makeFileBody, type FileBody, type FileBodyOptions } from './file-source.ts';

/**
 * A message body read from a file (needs --allow-read): stat()ed now, opened on the first read,
 * read by Deno.FsFile.read straight into the client's reused buffers, closed when the send is
 * done with it. Pass `size` on for SIZE=: `send({ ..., body, size: body.size })`.
 */
export function fileBody(path: string | URL, options: FileBodyOptions = {}): FileBody {
  const name = typeof path === 'string' ? path : decodeURIComponent(path.pathname);
  const info = Deno.statSync(path);
  return makeFileBody(name, { size: info.size, isFile: info.isFile }, options, async () => {
    const file = await Deno.open(path, { read: true });
    const start = options.start ?? 0;
    if (start > 0) await file.seek(start, Deno.SeekMode.Start);
    return {
      // Reads come in order from `start`, so the file's own position is the one asked for.
      read: async (buffer) => (await file.read(buffer)) ?? 0,
      close: () => file.close(),
    };
  });
}

export type { FileBody, FileBodyOptions };
