// Message body encoding for DATA (RFC 5321 §4.5.2 dot-stuffing, §2.3.8 CRLF) and BDAT
// (RFC 3030, no stuffing). This is the throughput hot path: clean CRLF input is scanned with
// native indexOf and passed through as views of the caller's chunks, never copied.
//
// Smuggling (bare CR or LF around a dot, e.g. "\n.\n") is defeated by normalising every bare
// CR and bare LF to CRLF before dot-stuffing is judged, so the receiver and we agree on where
// every line starts and the only CRLF "." CRLF on the wire is the terminator end() adds.
import { SmtpUsageError } from './errors.ts';
import type { SimdScanner } from './simd-scan.ts';

/** A faster cleanRun, when the runtime has one: core/simd-scan.ts simdScanner (passed in by the
 *  Node/Deno/Bun entries, never imported here, so a Worker bundle has no WebAssembly). */
export type BodyScan = () => SimdScanner | undefined;

export interface BodyEncoderOptions {
  /** DATA: double a leading "." on every line and let end() write the terminator. */
  dotStuff: boolean;
  /**
   * Turn every bare CR and bare LF into CRLF. When false with dotStuff, the input must already
   * be CRLF text and a bare CR or LF throws (it could smuggle a terminator); when false without
   * dotStuff (BDAT, e.g. BINARYMIME), bytes pass through untouched.
   */
  normalizeLineEndings: boolean;
  /** Longest line in octets on the wire, excluding CRLF, counting a stuffed dot. Default 998; 0 = unlimited. */
  maxLineLength?: number;
  /** The SIMD check for large chunks (BodyScan); default: the JavaScript loop. */
  scan?: BodyScan;
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

// Shared constants, returned as views in the output: callers must not write into them.
const LF_BYTES = Uint8Array.of(LF);
const CRLF_BYTES = Uint8Array.of(CR, LF);
const DOT_BYTES = Uint8Array.of(DOT);
const DOT_CRLF = Uint8Array.of(DOT, CR, LF);
const CRLF_DOT_CRLF = Uint8Array.of(CR, LF, DOT, CR, LF);
const LF_DOT_CRLF = Uint8Array.of(LF, DOT, CR, LF);

export class BodyEncoder {
  readonly #dotStuff: boolean;
  readonly #normalize: boolean;
  readonly #max: number;
  readonly #scan: BodyScan | undefined;
  #written = 0;
  #lineLen = 0; // octets of the current line written so far, excluding its terminator
  #atLineStart = true;
  #pendingCR = false; // the last chunk ended with a CR whose meaning depends on the next byte
  #state: 'open' | 'ended' | 'failed' = 'open';

  constructor(options: BodyEncoderOptions) {
    if (options === null || typeof options !== 'object') throw new SmtpUsageError('BodyEncoder options must be an object');
    const max = options.maxLineLength ?? 998;
    if (!Number.isSafeInteger(max) || max < 0) throw new SmtpUsageError('maxLineLength must be a non-negative integer');
    this.#dotStuff = options.dotStuff === true;
    this.#normalize = options.normalizeLineEndings === true;
    this.#max = max;
    this.#scan = options.scan;
  }

  /** Octets emitted so far (for BDAT sizes and SIZE checks). */
  get written(): number {
    return this.#written;
  }

  /**
   * Encode one chunk. Returns views in wire order: subarrays of `chunk` plus small shared
   * constants (CRLF, "."). Throws SmtpUsageError for an over-long line (or a bare CR/LF when
   * not normalising in DATA mode); the encoder is unusable after a throw.
   */
  encode(chunk: Uint8Array): Uint8Array[] {
    this.#checkOpen();
    if (!(chunk instanceof Uint8Array)) this.#fail('body chunks must be Uint8Array');
    const out: Uint8Array[] = [];
    const n = chunk.length;
    if (n === 0) return out;
    // Raw BDAT with no line limit: nothing to look at.
    if (!this.#normalize && !this.#dotStuff && this.#max === 0) {
      this.#written += n;
      out.push(chunk);
      return out;
    }
    const max = this.#max;
    const normalize = this.#normalize;
    const dotStuff = this.#dotStuff;
    // The usual chunk of a streamed body is already wire-ready: one small, tight scan says so,
    // and the chunk goes out whole. (Small, so the JIT compiles it fast and early; the general
    // loop below is only for chunks that need rewriting.)
    if (normalize) {
      const state = cleanRun(chunk, this.#pendingCR, this.#atLineStart, this.#lineLen, max, dotStuff, this.#scan);
      if (state >= 0) {
        this.#pendingCR = (state & RUN_PENDING_CR) !== 0;
        this.#atLineStart = (state & RUN_AT_LINE_START) !== 0;
        this.#lineLen = state >>> 2;
        this.#written += n;
        out.push(chunk);
        return out;
      }
    }
    // The aligned middle of the chunk as 32-bit words, for the word-at-a-time scan.
    const head = (4 - (chunk.byteOffset & 3)) & 3;
    const words = n - head >= 32 ? new Uint32Array(chunk.buffer, chunk.byteOffset + head, (n - head) >>> 2) : undefined;
    let lineLen = this.#lineLen;
    let atLineStart = this.#atLineStart;
    let pos = 0;
    let seg = 0; // start of the run of input bytes not yet pushed; pushed as one view
    let merged = 0; // out[0..merged) are final; later views may still be coalesced
    if (this.#pendingCR) {
      this.#pendingCR = false;
      let ended = true;
      if (chunk[0] === LF)
        pos = 1; // the CRLF completes verbatim
      else if (normalize) out.push(LF_BYTES);
      else if (dotStuff) this.#fail('bare CR in the body (enable normalizeLineEndings)');
      else ended = false; // raw: the CR was an ordinary octet
      if (ended) {
        lineLen = 0;
        atLineStart = true;
      } else if (max !== 0 && ++lineLen > max) this.#tooLong();
    }
    while (pos < n) {
      if (atLineStart) {
        atLineStart = false;
        if (dotStuff && chunk[pos] === DOT) {
          if (pos > seg) out.push(chunk.subarray(seg, pos));
          out.push(DOT_BYTES);
          lineLen = 1;
          seg = pos; // the original dot follows the stuffed one
        }
      }
      const t = findLineBreak(chunk, words, head, pos);
      lineLen += t - pos;
      if (max !== 0 && lineLen > max) this.#tooLong();
      if (t === n) break;
      if (chunk[t] === CR) {
        if (t + 1 === n) {
          // Whether this CR is half of a CRLF is only known from the next chunk.
          this.#pendingCR = true;
          break;
        }
        if (chunk[t + 1] === LF) {
          pos = t + 2;
        } else if (normalize) {
          pos = t + 1;
          out.push(chunk.subarray(seg, pos), LF_BYTES);
          seg = pos;
        } else if (dotStuff) {
          this.#fail('bare CR in the body (enable normalizeLineEndings)');
        } else {
          // raw: a bare CR is content and the line goes on
          pos = t + 1;
          if (max !== 0 && ++lineLen > max) this.#tooLong();
          continue;
        }
      } else if (normalize) {
        // A bare LF (a CR before it would have been found first).
        if (t > seg) out.push(chunk.subarray(seg, t));
        out.push(CRLF_BYTES);
        pos = seg = t + 1;
      } else if (dotStuff) {
        this.#fail('bare LF in the body (enable normalizeLineEndings)');
      } else {
        pos = t + 1; // raw: a bare LF ends a line
      }
      lineLen = 0;
      atLineStart = true;
      // Input full of bare line endings makes two small views per line; past a few thousand,
      // one copy is cheaper than holding them all (a big chunk could make millions).
      if (out.length - merged > MERGE_AFTER) merged = coalesce(out, merged);
    }
    if (seg === 0) out.push(chunk);
    else if (seg < n) out.push(chunk.subarray(seg));
    this.#lineLen = lineLen;
    this.#atLineStart = atLineStart;
    for (let i = 0; i < out.length; i++) this.#written += out[i]!.length;
    return out;
  }

  /**
   * Finish. DATA: the rest of the stream so it ends in exactly one CRLF "." CRLF (".\r\n"
   * alone for an empty body). BDAT: only the normalisation of a trailing CR, if any.
   */
  end(): Uint8Array[] {
    this.#checkOpen();
    const out: Uint8Array[] = [];
    let lf = false;
    if (this.#pendingCR) {
      this.#pendingCR = false;
      if (this.#normalize) lf = true;
      else if (this.#dotStuff) this.#fail('bare CR at the end of the body (enable normalizeLineEndings)');
      else if (this.#max !== 0 && ++this.#lineLen > this.#max) this.#tooLong(); // raw: the CR is content
    }
    if (this.#dotStuff) out.push(lf ? LF_DOT_CRLF : this.#atLineStart ? DOT_CRLF : CRLF_DOT_CRLF);
    else if (lf) out.push(LF_BYTES);
    for (const v of out) this.#written += v.length;
    this.#state = 'ended';
    return out;
  }

  #tooLong(): never {
    this.#fail(
      `a body line is longer than ${this.#max} octets (RFC 5321 §4.5.3.1.6); encode the body (e.g. quoted-printable) or raise maxLineLength`,
    );
  }

  #checkOpen(): void {
    if (this.#state === 'ended') throw new SmtpUsageError('BodyEncoder already ended');
    if (this.#state === 'failed') throw new SmtpUsageError('BodyEncoder failed earlier and cannot continue');
  }

  #fail(message: string): never {
    this.#state = 'failed';
    throw new SmtpUsageError(message);
  }
}

const MERGE_AFTER = 4096;

/** Replaces out[from..] with one copy of their bytes; returns the new out.length. */
function coalesce(out: Uint8Array[], from: number): number {
  let size = 0;
  for (let i = from; i < out.length; i++) size += out[i]!.length;
  const copy = new Uint8Array(size);
  let o = 0;
  for (let i = from; i < out.length; i++) {
    copy.set(out[i]!, o);
    o += out[i]!.length;
  }
  out.length = from;
  out.push(copy);
  return out.length;
}

/**
 * Whether `chunk` can go on the wire as it is, given the encoder's state before it: every CR is
 * followed by LF (a CR at the very end waits for the next chunk), every LF follows a CR, no line
 * passes `max` (0: no limit) and, with `dotStuff`, no line starts with ".". -1 when it cannot;
 * else the state after it: RUN_* bits, and above them (>>> 2) the octets of the line under way
 * (capped; only compared with `max`).
 */
const RUN_PENDING_CR = 1; // the chunk ends with a CR
const RUN_AT_LINE_START = 2; // the chunk ends with a CRLF

// Below this many octets the JavaScript loop is as quick as the call into WebAssembly.
const SIMD_MIN_OCTETS = 512;

function cleanRun(
  chunk: Uint8Array,
  pendingCR: boolean,
  atLineStart: boolean,
  lineLen: number,
  max: number,
  dotStuff: boolean,
  scan: BodyScan | undefined,
): number {
  // The SIMD loop judges line lengths per 16-octet block, so it needs max >= 16 (or no limit).
  if (scan !== undefined && chunk.length >= SIMD_MIN_OCTETS && (max === 0 || max >= 16)) {
    const simd = scan();
    if (simd !== undefined) return simd.cleanRun(chunk, pendingCR, atLineStart, lineLen, max, dotStuff);
  }
  return cleanRunScalar(chunk, pendingCR, atLineStart, lineLen, max, dotStuff);
}

/** cleanRun in plain JavaScript, four octets at a time: the reference the SIMD loop is tested against. */
export function cleanRunScalar(
  chunk: Uint8Array,
  pendingCR: boolean,
  atLineStart: boolean,
  lineLen: number,
  max: number,
  dotStuff: boolean,
): number {
  const n = chunk.length;
  let i = 0;
  if (pendingCR) {
    if (chunk[0] !== LF) return -1;
    i = 1;
    lineLen = 0;
    atLineStart = true;
  }
  if (dotStuff && atLineStart && i < n && chunk[i] === DOT) return -1;
  let lineStart = i - lineLen; // may be negative: the line began in an earlier chunk
  const limit = max === 0 ? Infinity : max;
  const head = Math.min(n, (4 - (chunk.byteOffset & 3)) & 3);
  const count = (n - head) >>> 2;
  const words = count > 0 ? new Uint32Array(chunk.buffer, chunk.byteOffset + head, count) : undefined;
  const wordsEnd = head + (count << 2);
  while (i < n) {
    if (words !== undefined && i >= head && i < wordsEnd && ((i - head) & 3) === 0) {
      // Whole words with no octet below 0x0e hold no CR or LF.
      let j = (i - head) >>> 2;
      while (j < count) {
        const v = words[j]!;
        if (((v - 0x0e0e0e0e) & ~v & 0x80808080) !== 0) break;
        j++;
      }
      i = head + (j << 2);
      if (i >= n) break;
    }
    const b = chunk[i]!;
    if (b === CR) {
      if (i - lineStart > limit) return -1;
      if (i + 1 === n) return ((i - lineStart) << 2) | RUN_PENDING_CR; // the LF comes with the next chunk
      if (chunk[i + 1] !== LF) return -1;
    } else if (b === LF) {
      if (i === 0 || chunk[i - 1] !== CR) return -1;
      lineStart = i + 1;
      if (dotStuff && chunk[lineStart] === DOT) return -1;
    }
    i++;
  }
  const open = n - lineStart;
  if (open > limit) return -1;
  return (Math.min(open, 0x1fffffff) << 2) | (lineStart === n ? RUN_AT_LINE_START : 0);
}

// Index of the first CR or LF at or after `from`, or chunk.length. Clean text is scanned four
// octets at a time: a word with no octet below 0x0e cannot hold either, and native indexOf
// costs too much per call when lines are short.
function findLineBreak(chunk: Uint8Array, words: Uint32Array | undefined, head: number, from: number): number {
  const n = chunk.length;
  let i = from;
  if (words !== undefined) {
    const end = head + (words.length << 2);
    while (i < end && ((i - head) & 3) !== 0) {
      const b = chunk[i];
      if (b === CR || b === LF) return i;
      i++;
    }
    for (let j = (i - head) >> 2, jn = words.length; j < jn; j++) {
      const v = words[j]!;
      // Nonzero exactly when some octet of v is below 0x0e.
      if (((v - 0x0e0e0e0e) & ~v & 0x80808080) !== 0) {
        const p = head + (j << 2);
        for (let k = p; k < p + 4; k++) {
          const b = chunk[k];
          if (b === CR || b === LF) return k;
        }
      }
    }
    if (i < end) i = end;
  }
  for (; i < n; i++) {
    const b = chunk[i];
    if (b === CR || b === LF) return i;
  }
  return n;
}

/** What scanBody found. */
export const BODY_EIGHT_BIT = 1; // an octet >= 0x80: the body needs 8BITMIME
export const BODY_NOT_CANONICAL = 2; // a bare CR or LF, a line longer than the limit, or no final CRLF

/**
 * What decides how a whole body can be sent: BODY_* flags, 0 for clean 7-bit CRLF text. A body
 * without BODY_NOT_CANONICAL can go by BDAT exactly as given, which spares the encoder (DATA
 * also needs no line to start with "."; see isWireReady).
 */
export function scanBody(bytes: Uint8Array, maxLine = 998, scan?: BodyScan): number {
  const simd = scan !== undefined && bytes.length >= SIMD_MIN_OCTETS && (maxLine === 0 || maxLine >= 16) ? scan() : undefined;
  if (simd !== undefined) {
    // One pass answers both; a scan that stops early (not wire-ready) may not have seen every octet.
    const run = simd.cleanRun(bytes, false, true, 0, maxLine, false);
    const ready = run >= 0 && (run & RUN_AT_LINE_START) !== 0;
    const eightBit = simd.sawEightBit() || (!ready && needsEightBit(bytes));
    return (eightBit ? BODY_EIGHT_BIT : 0) | (ready ? 0 : BODY_NOT_CANONICAL);
  }
  const flags = needsEightBit(bytes) ? BODY_EIGHT_BIT : 0;
  return isWireReady(bytes, false, maxLine, scan) ? flags : flags | BODY_NOT_CANONICAL;
}

/** True when a whole body can go on the wire exactly as given: CRLF lines (the last one too)
 *  of at most `maxLine` octets, no bare CR or LF, and for DATA no line starting with ".". */
export function isWireReady(bytes: Uint8Array, dotStuff: boolean, maxLine = 998, scan?: BodyScan): boolean {
  const run = cleanRun(bytes, false, true, 0, maxLine, dotStuff, scan);
  return run >= 0 && (run & RUN_AT_LINE_START) !== 0 && bytes.length > 0;
}

/** True when any octet is >= 0x80 (the body needs 8BITMIME or an encoding). */
export function needsEightBit(bytes: Uint8Array): boolean {
  const n = bytes.length;
  let i = 0;
  // Unaligned head, then four octets at a time, then the tail.
  const head = Math.min(n, (4 - (bytes.byteOffset & 3)) & 3);
  for (; i < head; i++) if (bytes[i]! & 0x80) return true;
  const words = (n - i) >>> 2;
  if (words > 0) {
    const w = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
    for (let j = 0; j < words; j++) if (w[j]! & 0x80808080) return true;
    i += words * 4;
  }
  for (; i < n; i++) if (bytes[i]! & 0x80) return true;
  return false;
}
