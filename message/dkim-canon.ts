// DKIM canonicalisation (RFC 6376 §3.4): the "simple" and "relaxed" forms of header fields and of
// the body, and the split of a raw message into its header fields and its body.
//
// Line endings are read the way the client puts the message on the wire (core/body.ts): CRLF,
// a bare CR and a bare LF each end a line. So a message with Unix line endings is signed as
// the CRLF message the server receives, and the signature holds as delivered.
//
// Header text is handled as "binary strings": one char per octet (0-255), so 8-bit header
// octets pass through unchanged whatever their encoding.
import { DkimError } from './dkim-errors.ts';

export type CanonicalizationAlgorithm = 'simple' | 'relaxed';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

// ---------------------------------------------------------------- header fields

/**
 * One header field canonicalised for the signature hash, with its trailing CRLF. `field` is the
 * whole field as it stands ("Name: value", folded lines joined by CRLF, no final CRLF).
 */
export function canonicalizeHeader(field: string, algorithm: CanonicalizationAlgorithm): string {
  if (algorithm === 'simple') return field + '\r\n';
  // relaxed (§3.4.2): name lower-cased and stripped of WSP before the colon; value unfolded,
  // WSP runs made one SP, WSP at its start and end removed.
  const colon = field.indexOf(':');
  const name = lowerAscii(field.slice(0, colon).replace(/[ \t]+$/, ''));
  const value = field
    .slice(colon + 1)
    .replace(/\r\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ /, '')
    .replace(/ $/, '');
  return `${name}:${value}\r\n`;
}

/** The field's name as header lists compare it: lower case, no WSP before the colon. */
export function headerName(field: string): string {
  return lowerAscii(field.slice(0, field.indexOf(':')).replace(/[ \t]+$/, ''));
}

/** Lower-cases A-Z only: a header name is ASCII, and other octets must stay as they are. */
export function lowerAscii(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

// ---------------------------------------------------------------- the body

/** Octet classes for the body scan. */
const CONTENT = 0;
const WSP = 1;
const EOL_CR = 2;
const EOL_LF = 3;
const SIMPLE_CLASS = new Uint8Array(256);
const RELAXED_CLASS = new Uint8Array(256);
SIMPLE_CLASS[CR] = RELAXED_CLASS[CR] = EOL_CR;
SIMPLE_CLASS[LF] = RELAXED_CLASS[LF] = EOL_LF;
RELAXED_CLASS[SP] = RELAXED_CLASS[HTAB] = WSP;

const OUT_SIZE = 16 * 1024;
/** A run of plain octets at least this long goes to the sink as a view, not through the buffer. */
const DIRECT_RUN = 4 * 1024;

/**
 * The body canonicalisation of RFC 6376 §3.4.3 (simple) and §3.4.4 (relaxed), streaming: write()
 * any split of the body, then end(). The canonical octets go to `sink` in order, as views that
 * are valid only during the call (a hash absorbs them at once). State carried from one chunk to
 * the next is a few flags and a count of empty lines not yet known to be trailing, so memory
 * stays constant whatever the body.
 */
export class DkimBodyCanonicalizer {
  readonly #class: Uint8Array;
  readonly #simple: boolean;
  readonly #sink: (bytes: Uint8Array) => void;
  readonly #out = new Uint8Array(OUT_SIZE);
  #used = 0;
  #pendingCR = false; // the last chunk ended with a CR: it ended a line; an LF next belongs to it
  #lineHasContent = false; // the current line has an octet that survives canonicalisation
  #wsp = false; // relaxed: a WSP run is pending inside the current line
  #emptyLines = 0; // empty lines held back: dropped if only empty lines follow them
  #emitted = false; // any canonical octet so far
  #ended = false;

  constructor(algorithm: CanonicalizationAlgorithm, sink: (bytes: Uint8Array) => void) {
    this.#simple = algorithm === 'simple';
    this.#class = this.#simple ? SIMPLE_CLASS : RELAXED_CLASS;
    this.#sink = sink;
  }

  write(chunk: Uint8Array): void {
    if (this.#ended) throw new Error('DkimBodyCanonicalizer: write() after end()');
    const n = chunk.length;
    const cls = this.#class;
    const out = this.#out;
    // The hot loop works on locals; fields are written back at the end (and around flushes).
    let used = this.#used;
    let lineHasContent = this.#lineHasContent;
    let wsp = this.#wsp;
    let i = 0;
    if (this.#pendingCR) {
      this.#pendingCR = false;
      if (n > 0 && chunk[0] === LF) i = 1; // the LF of a CRLF split across chunks
    }
    while (i < n) {
      const c = cls[chunk[i]!]!;
      if (c === CONTENT) {
        let j = i + 1;
        while (j < n && cls[chunk[j]!] === CONTENT) j++;
        const len = j - i;
        if (!lineHasContent) {
          if (this.#emptyLines > 0) {
            this.#used = used;
            this.#flushEmptyLines();
            used = this.#used;
          }
          lineHasContent = true;
          this.#emitted = true;
        }
        if (used + 1 + len > OUT_SIZE) {
          this.#used = used;
          this.#flush();
          used = 0;
        }
        if (wsp) {
          out[used++] = SP;
          wsp = false;
        }
        if (len >= DIRECT_RUN) {
          this.#used = used;
          this.#flush();
          used = 0;
          this.#sink(chunk.subarray(i, j));
        } else if (len <= 16) {
          for (let k = i; k < j; k++) out[used++] = chunk[k]!;
        } else {
          out.set(chunk.subarray(i, j), used);
          used += len;
        }
        i = j;
      } else if (c === WSP) {
        wsp = true;
        i++;
      } else {
        if (c === EOL_CR) {
          if (i + 1 === n) this.#pendingCR = true;
          else if (chunk[i + 1] === LF) i++;
        }
        i++;
        if (lineHasContent) {
          if (used + 2 > OUT_SIZE) {
            this.#used = used;
            this.#flush();
            used = 0;
          }
          out[used++] = CR;
          out[used++] = LF;
        } else {
          this.#emptyLines++;
        }
        lineHasContent = false;
        wsp = false;
      }
    }
    this.#used = used;
    this.#lineHasContent = lineHasContent;
    this.#wsp = wsp;
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    // A last line without a line break gets one (both algorithms); trailing empty lines are
    // dropped; an empty body is CRLF in simple and nothing at all in relaxed.
    if (this.#lineHasContent || (this.#simple && !this.#emitted)) {
      this.#put(CR);
      this.#put(LF);
    }
    this.#flush();
  }

  #flushEmptyLines(): void {
    for (; this.#emptyLines > 0; this.#emptyLines--) {
      this.#put(CR);
      this.#put(LF);
    }
  }

  #put(b: number): void {
    if (this.#used === OUT_SIZE) this.#flush();
    this.#out[this.#used++] = b;
    this.#emitted = true;
  }

  #flush(): void {
    if (this.#used === 0) return;
    this.#sink(this.#out.subarray(0, this.#used));
    this.#used = 0;
  }
}

// ---------------------------------------------------------------- the header section

/** Longest header section read before giving up (the body after it is streamed, any size). */
export const MAX_HEADER_SECTION = 1024 * 1024;

/**
 * Splits a streamed raw message into its header fields and its body. write() each chunk in
 * order: while the header section lasts it returns undefined; from the chunk where the body
 * starts on, it returns the body octets of the chunk (a view, possibly empty). end() closes a
 * message that has no body. `fields` holds each field as a binary string, folded lines joined
 * by CRLF, without the final CRLF.
 */
export class HeaderSectionReader {
  readonly fields: string[] = [];
  #line = ''; // the header line being read, as a binary string
  #pendingCR = false;
  #skipLF = false; // the blank line ended with a CR at a chunk's end: a first LF is still its
  #done = false;
  #size = 0;
  #lineNumber = 0;

  get done(): boolean {
    return this.#done;
  }

  write(chunk: Uint8Array): Uint8Array | undefined {
    if (this.#done) {
      if (this.#skipLF) {
        this.#skipLF = false;
        if (chunk.length > 0 && chunk[0] === LF) return chunk.subarray(1);
      }
      return chunk;
    }
    const n = chunk.length;
    let i = 0;
    if (this.#pendingCR) {
      this.#pendingCR = false;
      if (n > 0 && chunk[0] === LF) i = 1;
    }
    let start = i;
    for (; i < n; i++) {
      const b = chunk[i]!;
      if (b !== CR && b !== LF) continue;
      this.#line += binaryString(chunk, start, i);
      let next = i + 1;
      if (b === CR) {
        if (next === n) this.#pendingCR = true;
        else if (chunk[next] === LF) next++;
      }
      if (this.#endLine()) {
        this.#done = true;
        if (this.#pendingCR) {
          this.#pendingCR = false;
          this.#skipLF = true;
        }
        return chunk.subarray(next);
      }
      i = next - 1;
      start = next;
    }
    this.#line += binaryString(chunk, start, n);
    this.#check();
    return undefined;
  }

  /** The message ended: the header section ends with it (a message with no body). */
  end(): void {
    if (this.#done) return;
    if (this.#line !== '') this.#endLine();
    this.#done = true;
  }

  /** One line of the header section has ended; true when it was the blank line. */
  #endLine(): boolean {
    const line = this.#line;
    this.#line = '';
    this.#lineNumber++;
    this.#size += line.length + 2;
    this.#check();
    if (line === '') return true;
    const first = line.charCodeAt(0);
    if (first === SP || first === HTAB) {
      if (this.fields.length === 0) throw new DkimError('message', 'the message starts with a folded (indented) line, not a header field');
      this.fields[this.fields.length - 1] += '\r\n' + line;
      return false;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || /[^\x21-\x7e]/.test(line.slice(0, colon).replace(/[ \t]+$/, ''))) {
      const hint = line.startsWith('From ') ? ' (an mbox "From " line must be removed first)' : '';
      throw new DkimError(
        'message',
        `line ${this.#lineNumber} of the header section is not a header field: ${JSON.stringify(line.slice(0, 60))}${hint}`,
      );
    }
    this.fields.push(line);
    return false;
  }

  #check(): void {
    if (this.#size + this.#line.length > MAX_HEADER_SECTION) {
      throw new DkimError(
        'message',
        `the header section is longer than ${MAX_HEADER_SECTION} octets (is there a blank line between the header and the body?)`,
      );
    }
  }
}

/** Octets [from, to) of `bytes` as a binary string. */
export function binaryString(bytes: Uint8Array, from = 0, to = bytes.length): string {
  let s = '';
  for (let i = from; i < to; i += 8192) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(to, i + 8192)) as unknown as number[]);
  }
  return s;
}

/** A binary string (one char per octet) as octets. */
export function binaryBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
