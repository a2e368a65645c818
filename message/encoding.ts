// Content-Transfer-Encoding (RFC 2045 §6) per body part: 7bit, 8bit (only when the server has
// 8BITMIME, RFC 6152), quoted-printable or base64. Whatever is chosen, no output line is longer
// than 998 octets (RFC 5322 §2.1.1) and no CR or LF appears except as a CRLF pair.

export type TransferEncoding = '7bit' | '8bit' | 'quoted-printable' | 'base64';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const HARD_LIMIT = 998;
/** Base64 input octets per output line: 57 -> 76 characters (RFC 2045 §6.8). */
export const BASE64_LINE_INPUT = 57;
const B64 = new Uint8Array(64);
{
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) B64[i] = alphabet.charCodeAt(i);
}
const encoder = new TextEncoder();

/** Text with every line ending (CRLF, bare CR, bare LF) made CRLF, as UTF-8. */
export function textToCrlfBytes(text: string): Uint8Array {
  return encoder.encode(text.replace(/\r\n|\r|\n/g, '\r\n'));
}

/**
 * The encoding for text already in CRLF form: 7bit when it is ASCII, 8bit when it has 8-bit
 * octets and the server takes them, else quoted-printable, or base64 when that is shorter (text
 * mostly outside ASCII). NUL or a line over 998 octets (997 when it starts with '.', which DATA
 * doubles) always forces an encoding.
 */
export function chooseTextEncoding(bytes: Uint8Array, eightBitMime: boolean): TransferEncoding {
  let high = 0;
  let clean = true;
  let lineStart = 0;
  // A line starting with '.' gains one octet when DATA dot-stuffs it (RFC 5321 §4.5.2), and the
  // limit counts that octet (§4.5.3.1.6, core/body.ts).
  const limit = (start: number): number => (bytes[start] === DOT ? HARD_LIMIT - 1 : HARD_LIMIT);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b >= 0x80) high++;
    else if (b === 0) clean = false;
    else if (b === LF) {
      if (i - 1 - lineStart > limit(lineStart)) clean = false; // the CR before it is not line content
      lineStart = i + 1;
    }
  }
  if (bytes.length - lineStart > limit(lineStart)) clean = false;
  if (clean && high === 0) return '7bit';
  if (clean && eightBitMime) return '8bit';
  // QP writes each 8-bit octet as three characters; base64 costs 4/3 of everything.
  return bytes.length + 2 * high > (bytes.length * 4) / 3 ? 'base64' : 'quoted-printable';
}

/** RFC 2045 §6.7 quoted-printable of CRLF text: CRLF stays a hard break, lines at most 76. */
export function encodeQuotedPrintable(bytes: Uint8Array): Uint8Array {
  // Worst case: every octet becomes "=XX", plus a soft break per 25 octets.
  const out = new Uint8Array(bytes.length * 3 + Math.ceil(bytes.length / 25) * 3 + 3);
  let o = 0;
  let line = 0;
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === CR && bytes[i + 1] === LF) {
      out[o++] = CR;
      out[o++] = LF;
      line = 0;
      i++;
      continue;
    }
    const last = i + 1 === n || (bytes[i + 1] === CR && bytes[i + 2] === LF);
    // Literal: printable ASCII except '='; space and tab too, unless they end a line (a
    // transport may strip trailing white space). A leading '.' or "From " is left to SMTP.
    const literal = (b >= 0x21 && b <= 0x7e && b !== 0x3d) || ((b === 0x20 || b === 0x09) && !last);
    const width = literal ? 1 : 3;
    // Leave room for the soft break '=' unless this is the line's last token.
    if (line + width > (last ? 76 : 75)) {
      out[o++] = 0x3d;
      out[o++] = CR;
      out[o++] = LF;
      line = 0;
    }
    if (literal) out[o++] = b;
    else {
      out[o++] = 0x3d;
      out[o++] = hexDigit(b >> 4);
      out[o++] = hexDigit(b & 15);
    }
    line += width;
  }
  return out.subarray(0, o);
}

function hexDigit(v: number): number {
  return v < 10 ? 0x30 + v : 0x37 + v; // '0'-'9', 'A'-'F'
}

/** Octets of base64 for `n` input octets in 76-character lines joined by CRLF (no final CRLF). */
export function base64Size(n: number): number {
  if (n === 0) return 0;
  const chars = Math.ceil(n / 3) * 4;
  return chars + 2 * (Math.ceil(chars / 76) - 1);
}

/**
 * Base64 of `bytes` in 76-character lines. `first` says whether this is the start of the part:
 * every later call starts with the CRLF that ends the previous line, so the part never ends in
 * a line break of its own. The caller passes whole lines (multiples of 57 octets) except for
 * the last call.
 */
export function encodeBase64Lines(bytes: Uint8Array, first: boolean): Uint8Array {
  const n = bytes.length;
  if (n === 0) return new Uint8Array(0);
  const lines = Math.ceil(n / BASE64_LINE_INPUT);
  const out = new Uint8Array(Math.ceil(n / 3) * 4 + 2 * lines);
  let o = 0;
  for (let start = 0; start < n; start += BASE64_LINE_INPUT) {
    if (start > 0 || !first) {
      out[o++] = CR;
      out[o++] = LF;
    }
    const end = Math.min(start + BASE64_LINE_INPUT, n);
    const whole = end - ((end - start) % 3);
    let i = start;
    for (; i < whole; i += 3) {
      const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
      out[o++] = B64[v >>> 18]!;
      out[o++] = B64[(v >>> 12) & 63]!;
      out[o++] = B64[(v >>> 6) & 63]!;
      out[o++] = B64[v & 63]!;
    }
    const rest = end - whole;
    if (rest > 0) {
      const v = (bytes[i]! << 16) | (rest === 2 ? bytes[i + 1]! << 8 : 0);
      out[o++] = B64[v >>> 18]!;
      out[o++] = B64[(v >>> 12) & 63]!;
      out[o++] = rest === 2 ? B64[(v >>> 6) & 63]! : 0x3d;
      out[o++] = 0x3d;
    }
  }
  return out.subarray(0, o);
}

/**
 * Base64 of a stream of chunks of any size, with bounded memory: whole 57-octet lines go out as
 * soon as they are complete, the remainder (under 57 octets) waits for the next chunk.
 */
export class Base64LineEncoder {
  #carry = new Uint8Array(BASE64_LINE_INPUT);
  #carried = 0;
  #first = true;

  /** Encoded output for the whole lines now available (possibly empty). */
  push(chunk: Uint8Array): Uint8Array {
    let input = chunk;
    if (this.#carried > 0) {
      const need = BASE64_LINE_INPUT - this.#carried;
      if (chunk.length < need) {
        this.#carry.set(chunk, this.#carried);
        this.#carried += chunk.length;
        return new Uint8Array(0);
      }
      this.#carry.set(chunk.subarray(0, need), this.#carried);
      const head = this.#emit(this.#carry);
      this.#carried = 0;
      input = chunk.subarray(need);
      const wholeLen = input.length - (input.length % BASE64_LINE_INPUT);
      const body = this.#emit(input.subarray(0, wholeLen));
      this.#keep(input.subarray(wholeLen));
      return concat(head, body);
    }
    const wholeLen = input.length - (input.length % BASE64_LINE_INPUT);
    const out = this.#emit(input.subarray(0, wholeLen));
    this.#keep(input.subarray(wholeLen));
    return out;
  }

  /** The last, partial line. */
  end(): Uint8Array {
    const out = this.#emit(this.#carry.subarray(0, this.#carried));
    this.#carried = 0;
    return out;
  }

  #emit(bytes: Uint8Array): Uint8Array {
    if (bytes.length === 0) return new Uint8Array(0);
    const out = encodeBase64Lines(bytes, this.#first);
    this.#first = false;
    return out;
  }

  #keep(rest: Uint8Array): void {
    this.#carry.set(rest, 0);
    this.#carried = rest.length;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Encode a whole in-memory part body with the given encoding. */
export function encodeBody(bytes: Uint8Array, encoding: TransferEncoding): Uint8Array {
  if (encoding === 'base64') return encodeBase64Lines(bytes, true);
  if (encoding === 'quoted-printable') return encodeQuotedPrintable(bytes);
  return bytes;
}
