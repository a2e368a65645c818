// Checks on rendered messages shared by message-build.test.ts (every runtime) and
// message-mailparser.test.ts (Node): no Node API here.
import * as assert from 'uvu/assert';
import { joinBytes } from '../core/bytes.ts';
import type { RenderedMessage } from '../message/build.ts';

const dec = new TextDecoder('utf-8', { ignoreBOM: true });

/** The rendered body as one array (each chunk copied: the renderer may reuse its buffers). */
export async function collect(r: RenderedMessage): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of r.body) chunks.push(c.slice());
  return joinBytes(chunks);
}

/** Every line ends in CRLF (or is the last), none over 998 octets, no bare CR or LF. */
export function assertWireSafe(bytes: Uint8Array): void {
  let lineStart = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x0d) {
      assert.is(bytes[i + 1], 0x0a, `bare CR at ${i}`);
      assert.ok(i - lineStart <= 998, `line of ${i - lineStart} octets at ${lineStart}`);
      lineStart = i + 2;
      i++;
    } else if (b === 0x0a) assert.unreachable(`bare LF at ${i}`);
    else if (b === 0) assert.unreachable(`NUL at ${i}`);
  }
  assert.ok(bytes.length - lineStart <= 998, 'last line over 998 octets');
}

/** The header block as text, unfolded. */
export function headBlock(bytes: Uint8Array): string {
  const text = dec.decode(bytes);
  return text.slice(0, text.indexOf('\r\n\r\n') + 2).replace(/\r\n[ \t]/g, ' ');
}
