// fileBody() for runtimes with node:fs (Node, and Bun, which implements node:fs/promises
// natively): a file as a pull-into message body. The client reads the file straight into its
// own reused buffers (client/ring.ts), with positioned reads: no buffer per read, no copy.
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { makeFileBody, type FileBody, type FileBodyOptions, type OpenFile } from './file-source.ts';

export type { FileBody, FileBodyOptions };

/**
 * A message body read from a file. The file is stat()ed now (a missing file throws here), opened
 * on the first read, read into the buffers the client lends, and closed when the send is done
 * with it (finished, cancelled or failed). One use: a second send needs a second fileBody().
 *
 * ```ts
 * const body = fileBody('message.eml');
 * await client.send({ from, to, body, size: body.size });
 * ```
 */
export function fileBody(path: string | URL, options: FileBodyOptions = {}): FileBody {
  const name = typeof path === 'string' ? path : fileURLToPath(path);
  const stat = statSync(name);
  return makeFileBody(name, { size: stat.size, isFile: stat.isFile() }, options, async (): Promise<OpenFile> => {
    // node:fs/promises on the first open, not at load: the CLI's CommonJS bundle would load it
    // (and readline with it) at start-up, ~0.8 ms of a one-off send.
    const { open } = await import('node:fs/promises');
    const fh = await open(name, 'r');
    return {
      read: async (buffer, position) => (await fh.read(buffer, 0, buffer.length, position)).bytesRead,
      close: () => fh.close(),
    };
  });
}
