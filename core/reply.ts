// RFC 5321 §4.2 replies, parsed incrementally: bytes in any split, whole replies out.
// Bounded: a line longer than maxLineLength or a reply with more than maxLines lines is a
// protocol error, so a hostile server cannot make us hold unbounded memory.
import { SmtpProtocolError } from './errors.ts';
import { decodeUtf8, printable } from './text.ts';

export interface Reply {
  /** The three-digit code, 200..599. */
  readonly code: number;
  /** RFC 3463 enhanced status code ("5.1.1"), when the server advertised ENHANCEDSTATUSCODES. */
  readonly enhanced: string | undefined;
  /** The text of each line, after the code and separator (and the enhanced code on line 1).
   *  Control characters are already escaped (see text.ts). */
  readonly lines: readonly string[];
}

/** 2xx only: a 3xx is an intermediate reply and never means "done" (RFC 5321 §4.2.1). */
export const isPositive = (r: Reply): boolean => r.code >= 200 && r.code < 300;
export const isTransient = (r: Reply): boolean => r.code >= 400 && r.code < 500;
export const isPermanent = (r: Reply): boolean => r.code >= 500;

/** One-line, printable rendering of a reply, for messages and logs. */
export function describeReply(r: Reply): string {
  const text = r.lines.join(' / ');
  return `${r.code}${r.enhanced ? ' ' + r.enhanced : ''}${text ? ' ' + text : ''}`;
}

export interface ReplyParserLimits {
  maxLineLength: number;
  maxLines: number;
}

export const DEFAULT_REPLY_LIMITS: ReplyParserLimits = { maxLineLength: 4096, maxLines: 512 };

const LF = 0x0a;
const CR = 0x0d;
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)/;

export class ReplyParser {
  /** Parse RFC 3463 codes on the first line (set once ENHANCEDSTATUSCODES is advertised). */
  enhancedCodes = false;
  private readonly limits: ReplyParserLimits;
  private partial: Uint8Array | undefined; // an incomplete line carried to the next chunk
  private code = 0; // code of the multi-line reply in progress, 0 when none
  private lines: string[] = [];
  private readonly recent: (RecentReply | undefined)[] = new Array<RecentReply | undefined>(RECENT).fill(undefined);
  private recentNext = 0;

  constructor(limits: Partial<ReplyParserLimits> = {}) {
    this.limits = { ...DEFAULT_REPLY_LIMITS, ...limits };
  }

  /** True when bytes of an unfinished reply are buffered. */
  get midReply(): boolean {
    return this.partial !== undefined || this.code !== 0;
  }

  /** Forget everything buffered (used after STARTTLS, where leftovers are an attack). */
  reset(): void {
    this.partial = undefined;
    this.code = 0;
    this.lines = [];
    this.recent.fill(undefined);
  }

  /**
   * Feed bytes; returns the replies they complete, in order. Throws SmtpProtocolError on a
   * malformed or oversized reply; the parser is then unusable (the connection fails).
   * `onReply` may return false to stop parsing early; the rest of the chunk is returned
   * as `rest` so the caller can decide what it means (STARTTLS injection).
   */
  push(chunk: Uint8Array, onReply: (reply: Reply) => boolean | void): Uint8Array | undefined {
    let start = 0;
    const n = chunk.length;
    while (start < n) {
      // A plain loop: reply lines are short, and a runtime's indexOf (Node's Buffer wrapper
      // especially) costs more per call than scanning them.
      let lf = start;
      while (lf < n && chunk[lf] !== LF) lf++;
      if (lf === n) {
        this.keepPartial(chunk.subarray(start));
        return undefined;
      }
      // The line is bytes[at, end) without its LF (and CR); no view is made of it.
      let bytes = chunk;
      let at = start;
      if (this.partial) {
        bytes = concat(this.partial, chunk.subarray(start, lf));
        at = 0;
        this.partial = undefined;
      }
      let end = bytes === chunk ? lf : bytes.length;
      start = lf + 1;
      if (end > at && bytes[end - 1] === CR) end--;
      if (end - at > this.limits.maxLineLength) throw new SmtpProtocolError(`reply line longer than ${this.limits.maxLineLength} octets`);
      const reply = this.line(bytes, at, end);
      if (reply && onReply(reply) === false) return start < chunk.length ? chunk.subarray(start) : undefined;
    }
    return undefined;
  }

  private keepPartial(bytes: Uint8Array): void {
    const total = (this.partial?.length ?? 0) + bytes.length;
    // +1 leaves room for the CR of a CRLF split across chunks.
    if (total > this.limits.maxLineLength + 1) throw new SmtpProtocolError(`reply line longer than ${this.limits.maxLineLength} octets`);
    this.partial = this.partial ? concat(this.partial, bytes) : bytes.slice();
  }

  private line(bytes: Uint8Array, at: number, end: number): Reply | undefined {
    if (end - at < 3) throw new SmtpProtocolError(`malformed reply line: ${quote(bytes, at, end)}`);
    const d0 = bytes[at]! - 0x30,
      d1 = bytes[at + 1]! - 0x30,
      d2 = bytes[at + 2]! - 0x30;
    if (d0 < 2 || d0 > 5 || d1 < 0 || d1 > 5 || d2 < 0 || d2 > 9) {
      throw new SmtpProtocolError(`invalid reply code: ${quote(bytes, at, end)}`);
    }
    const code = d0 * 100 + d1 * 10 + d2;
    let more = false;
    if (end - at > 3) {
      const sep = bytes[at + 3];
      if (sep === 0x2d) more = true;
      else if (sep !== 0x20) throw new SmtpProtocolError(`malformed reply line: ${quote(bytes, at, end)}`);
    }
    if (this.code !== 0 && code !== this.code) {
      throw new SmtpProtocolError(`reply code changed inside a multi-line reply (${this.code} then ${code})`);
    }
    if (this.lines.length >= this.limits.maxLines) throw new SmtpProtocolError(`reply has more than ${this.limits.maxLines} lines`);
    const single = !more && this.code === 0;
    if (single && end - at <= CACHED_LINE) {
      const seen = this.recall(bytes, at, end);
      if (seen) return seen;
    }
    const text = end - at > 4 ? lineText(bytes, at + 4, end) : '';
    if (more) {
      this.lines.push(text);
      this.code = code;
      return undefined;
    }
    let lines: string[];
    if (this.lines.length === 0) {
      lines = [text]; // the usual single-line reply: no growable array
    } else {
      lines = this.lines;
      lines.push(text);
      this.lines = [];
    }
    this.code = 0;
    let enhanced: string | undefined;
    if (this.enhancedCodes) {
      const m = ENHANCED.exec(lines[0]!);
      if (m && m[1] === String(d0)) {
        enhanced = `${m[1]}.${m[2]}.${m[3]}`;
        // The enhanced code prefixes every line; drop it from each for clean text.
        for (let i = 0; i < lines.length; i++) {
          const li = lines[i]!;
          if (li.startsWith(enhanced)) lines[i] = li.slice(enhanced.length).replace(/^ /, '');
        }
      }
    }
    const reply: Reply = { code, enhanced, lines };
    if (single && end - at <= CACHED_LINE) this.remember(bytes, at, end, reply);
    return reply;
  }

  /** A reply seen a moment ago with exactly these octets (and the same enhanced-code setting). */
  private recall(bytes: Uint8Array, at: number, end: number): Reply | undefined {
    const n = end - at;
    for (let k = 0; k < RECENT; k++) {
      const seen = this.recent[k];
      if (seen === undefined || seen.octets.length !== n || seen.enhancedCodes !== this.enhancedCodes) continue;
      const octets = seen.octets;
      let i = 0;
      while (i < n && octets[i] === bytes[at + i]) i++;
      if (i === n) return seen.reply;
    }
    return undefined;
  }

  private remember(bytes: Uint8Array, at: number, end: number, reply: Reply): void {
    Object.freeze(reply.lines);
    this.recent[this.recentNext] = { octets: bytes.slice(at, end), enhancedCodes: this.enhancedCodes, reply: Object.freeze(reply) };
    this.recentNext = (this.recentNext + 1) % RECENT;
  }
}

// Bulk sending hears the same few short replies thousands of times ("250 2.1.5 Ok"): the last
// few are kept, frozen, and handed out again instead of decoding and allocating each anew.
const RECENT = 4;
const CACHED_LINE = 80;

interface RecentReply {
  readonly octets: Uint8Array;
  readonly enhancedCodes: boolean;
  readonly reply: Reply;
}

/** Reply text: most lines are short printable ASCII and skip the decoder and the escaping. */
function lineText(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 512) {
    let i = start;
    while (i < end && bytes[i]! >= 0x20 && bytes[i]! <= 0x7e) i++;
    if (i === end) return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  }
  return printable(decodeUtf8(bytes.subarray(start, end)));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function quote(bytes: Uint8Array, at: number, end: number): string {
  return JSON.stringify(printable(decodeUtf8(bytes.subarray(at, Math.min(end, at + 64)))));
}
