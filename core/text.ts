// Text helpers shared by the core. Server text is untrusted: control characters are made
// visible once, here, so no log line, error message or terminal ever receives them raw.

import { encodeUtf8 } from './utf8.ts';

export { decodeUtf8 } from './utf8.ts';

export function utf8(text: string): Uint8Array {
  return encodeUtf8(text);
}

// C0 controls except TAB, DEL, the C1 block, and the Unicode line/paragraph separators and
// bidi overrides, which can rewrite what a terminal shows.
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Untrusted text made safe to show: each control character becomes a visible escape. */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
