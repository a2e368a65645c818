// RFC 4648 §4 base64, table based. SMTP AUTH (RFC 4954) carries every SASL message in it.
// Decoding is strict: a challenge that is not canonical base64 is a protocol error, and
// guessing at a hostile server's bytes would only hide it.
import { decodeUtf8 } from '../utf8.ts'; // the output is ASCII: no per-char work

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const PAD = 0x3d; // '='

const ENCODE = new Uint8Array(64);
const DECODE = new Uint8Array(256).fill(0xff); // 0xff: not in the alphabet
for (let i = 0; i < 64; i++) {
  ENCODE[i] = ALPHABET.charCodeAt(i);
  DECODE[ALPHABET.charCodeAt(i)] = i;
}

export function encodeBase64(bytes: Uint8Array): string {
  const n = bytes.length;
  const out = new Uint8Array(Math.ceil(n / 3) * 4);
  const whole = n - (n % 3);
  let o = 0;
  for (let i = 0; i < whole; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = ENCODE[v >>> 18]!;
    out[o++] = ENCODE[(v >>> 12) & 63]!;
    out[o++] = ENCODE[(v >>> 6) & 63]!;
    out[o++] = ENCODE[v & 63]!;
  }
  if (n - whole === 1) {
    const v = bytes[whole]!;
    out[o++] = ENCODE[v >>> 2]!;
    out[o++] = ENCODE[(v & 3) << 4]!;
    out[o++] = PAD;
    out[o++] = PAD;
  } else if (n - whole === 2) {
    const v = (bytes[whole]! << 8) | bytes[whole + 1]!;
    out[o++] = ENCODE[v >>> 10]!;
    out[o++] = ENCODE[(v >>> 4) & 63]!;
    out[o++] = ENCODE[(v & 15) << 2]!;
    out[o++] = PAD;
  }
  return decodeUtf8(out);
}

/**
 * Decodes canonical base64, or returns undefined when `text` is not exactly that: a length
 * that is not a multiple of 4, a character outside the alphabet (whitespace included),
 * misplaced or missing padding, or non-zero bits after the last encoded byte. The empty
 * string decodes to an empty array.
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  const n = text.length;
  if (n % 4 !== 0) return undefined;
  if (n === 0) return new Uint8Array(0);
  const pad = text.charCodeAt(n - 1) !== PAD ? 0 : text.charCodeAt(n - 2) !== PAD ? 1 : 2;
  const out = new Uint8Array((n / 4) * 3 - pad);
  const whole = pad === 0 ? n : n - 4; // the padded group is handled apart
  let o = 0;
  for (let i = 0; i < whole; i += 4) {
    const a = sextet(text, i),
      b = sextet(text, i + 1),
      c = sextet(text, i + 2),
      d = sextet(text, i + 3);
    if ((a | b | c | d) > 63) return undefined;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = v >>> 16;
    out[o++] = (v >>> 8) & 0xff;
    out[o++] = v & 0xff;
  }
  if (pad === 2) {
    const a = sextet(text, whole),
      b = sextet(text, whole + 1);
    if ((a | b) > 63 || (b & 15) !== 0) return undefined;
    out[o] = (a << 2) | (b >>> 4);
  } else if (pad === 1) {
    const a = sextet(text, whole),
      b = sextet(text, whole + 1),
      c = sextet(text, whole + 2);
    if ((a | b | c) > 63 || (c & 3) !== 0) return undefined;
    out[o++] = (a << 2) | (b >>> 4);
    out[o] = ((b & 15) << 4) | (c >>> 2);
  }
  return out;
}

// Code units above 0xff and '=' both map to 0xff, so padding inside the text is rejected too.
function sextet(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c > 0xff ? 0xff : DECODE[c]!;
}
