// UTF-8 (RFC 3629) in plain ECMAScript, so the core runs where TextEncoder/TextDecoder do not
// exist (QuickJS, Moddable XS, Hermes). Encoding writes U+FFFD for a lone surrogate and
// decoding replaces each maximal invalid subsequence with one U+FFFD: both as the WHATWG
// Encoding Standard does, so results equal TextEncoder's and TextDecoder's.
// Hot callers: command lines (outbuf.ts) and reply text (reply.ts), mostly ASCII: each has an
// ASCII loop before the general case.

const REPLACEMENT = 0xfffd;
/** String.fromCharCode.apply takes at most this many arguments at once here. */
const APPLY_LIMIT = 4096;

/** Octets `text` takes in UTF-8. */
export function utf8Length(text: string): number {
  const n = text.length;
  let octets = n;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) octets += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      octets += 2; // a pair: 2 units, 4 octets
      i++;
    } else octets += 2;
  }
  return octets;
}

/** Write `text` from its unit `from` into `out` at `at`; returns the octets written. `out` must
 *  have room (3 octets per UTF-16 unit always suffice). */
export function encodeUtf8Into(text: string, from: number, out: Uint8Array, at: number): number {
  const start = at;
  const n = text.length;
  for (let i = from; i < n; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[at++] = c;
    } else if (c < 0x800) {
      out[at++] = 0xc0 | (c >> 6);
      out[at++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < n ? text.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && (next & 0xfc00) === 0xdc00) {
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i++;
          out[at++] = 0xf0 | (c >> 18);
          out[at++] = 0x80 | ((c >> 12) & 0x3f);
          out[at++] = 0x80 | ((c >> 6) & 0x3f);
          out[at++] = 0x80 | (c & 0x3f);
          continue;
        }
        c = REPLACEMENT; // a lone surrogate
      }
      out[at++] = 0xe0 | (c >> 12);
      out[at++] = 0x80 | ((c >> 6) & 0x3f);
      out[at++] = 0x80 | (c & 0x3f);
    }
  }
  return at - start;
}

/** `text` as UTF-8 octets (a new array of exactly that length). */
export function encodeUtf8(text: string): Uint8Array {
  const out = new Uint8Array(utf8Length(text));
  encodeUtf8Into(text, 0, out, 0);
  return out;
}

/** Decode, replacing invalid sequences with U+FFFD; a leading byte order mark is dropped (as
 *  TextDecoder does by default). */
export function decodeUtf8(bytes: Uint8Array): string {
  return decode(bytes, false, true)!;
}

/** Decode, or undefined when `bytes` is not valid UTF-8; a byte order mark is kept. */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  return decode(bytes, true, false);
}

function decode(bytes: Uint8Array, fatal: boolean, stripBom: boolean): string | undefined {
  const n = bytes.length;
  let i = stripBom && n >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  // ASCII, the common case: no per-unit work beyond the check.
  let ascii = i;
  while (ascii < n && bytes[ascii]! < 0x80) ascii++;
  if (ascii === n) return fromUnits(bytes, i, n);
  let text = fromUnits(bytes, i, ascii);
  i = ascii;
  const units: number[] = [];
  // The WHATWG decoder: `needed` continuation octets, each within [lower, upper].
  let needed = 0;
  let seen = 0;
  let cp = 0;
  let lower = 0x80;
  let upper = 0xbf;
  while (i < n) {
    const b = bytes[i]!;
    if (needed === 0) {
      i++;
      if (b < 0x80) units.push(b);
      else if (b >= 0xc2 && b <= 0xdf) {
        needed = 1;
        cp = b & 0x1f;
      } else if (b >= 0xe0 && b <= 0xef) {
        if (b === 0xe0) lower = 0xa0; // no overlong forms
        if (b === 0xed) upper = 0x9f; // no surrogates
        needed = 2;
        cp = b & 0x0f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        if (b === 0xf0) lower = 0x90; // no overlong forms
        if (b === 0xf4) upper = 0x8f; // nothing past U+10FFFF
        needed = 3;
        cp = b & 0x07;
      } else {
        if (fatal) return undefined;
        units.push(REPLACEMENT);
      }
    } else if (b < lower || b > upper) {
      // The sequence so far is invalid: one U+FFFD, and this octet starts afresh (not consumed).
      if (fatal) return undefined;
      units.push(REPLACEMENT);
      needed = seen = cp = 0;
      lower = 0x80;
      upper = 0xbf;
    } else {
      i++;
      lower = 0x80;
      upper = 0xbf;
      cp = (cp << 6) | (b & 0x3f);
      if (++seen === needed) {
        if (cp < 0x10000) units.push(cp);
        else units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
        needed = seen = cp = 0;
      }
    }
    if (units.length >= APPLY_LIMIT) {
      text += String.fromCharCode.apply(null, units);
      units.length = 0;
    }
  }
  if (needed !== 0) {
    if (fatal) return undefined;
    units.push(REPLACEMENT); // truncated at the end
  }
  return text + String.fromCharCode.apply(null, units);
}

/** Octets below 0x80 from `start` to `end`, as a string. */
function fromUnits(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= APPLY_LIMIT) {
    const part = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
    return String.fromCharCode.apply(null, part as unknown as number[]);
  }
  let text = '';
  for (let at = start; at < end; at += APPLY_LIMIT) {
    text += String.fromCharCode.apply(null, bytes.subarray(at, Math.min(end, at + APPLY_LIMIT)) as unknown as number[]);
  }
  return text;
}
