// Header fields (RFC 5322 §2.2, §3.2.2) and RFC 2047 encoded-words. Every value is checked for
// CR, LF, NUL and the other controls before it is written, so no caller text can end a header
// line or start a new one: the only line breaks in the output are the folds written here.
// In the core because composeMessage uses it too; message/header.ts re-exports it.
import { SmtpUsageError } from './errors.ts';
import { encodeBase64 } from './sasl/base64.ts';
import { printable, utf8 } from './text.ts';

const CRLF = '\r\n';
/** RFC 5322 §2.1.1: a line SHOULD be at most 78 characters, and MUST be at most 998. */
export const SOFT_LINE = 78;
export const HARD_LINE = 998;
/** RFC 2047 §2: an encoded-word is at most 75 characters. */
const WORD_MAX = 75;

// C0 except TAB, DEL, C1, the Unicode line and paragraph separators, and lone surrogates
// (which UTF-8 encoding would turn into U+FFFD behind the caller's back).
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]|\p{Cs}/u;

/** Throws SmtpUsageError naming `what` when `value` holds CR, LF, NUL or another control (TAB
 *  is fine: it is white space in a header). core/address.ts's assertNoControls refuses TAB too. */
export function assertHeaderText(value: string, what: string): void {
  if (typeof value !== 'string') throw new SmtpUsageError(`${what} must be a string`);
  if (CONTROL.test(value)) {
    throw new SmtpUsageError(`${what} contains a control character (CR, LF, NUL, ...): "${printable(value)}"; remove it`);
  }
}

/** Throws SmtpUsageError unless `name` is a field name: printable ASCII except ':' (RFC 5322 ftext). */
export function assertHeaderName(name: string): void {
  if (typeof name !== 'string' || !/^[\x21-\x39\x3b-\x7e]{1,900}$/.test(name)) {
    throw new SmtpUsageError(`invalid header name "${printable(String(name))}": use printable ASCII without ':' or spaces`);
  }
}

// ---- RFC 2047 encoded-words ------------------------------------------------------------------

/** Where the encoded-word goes: unstructured text (§5 (1)) or a phrase such as a display name
 *  (§5 (3)), where Q may only leave letters, digits and !*+-/ unencoded. */
export type EncodeContext = 'text' | 'phrase';

function qSafe(c: number, context: EncodeContext): boolean {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true;
  if (context === 'phrase') return c === 0x21 || c === 0x2a || c === 0x2b || c === 0x2d || c === 0x2f;
  return c > 0x20 && c < 0x7f && c !== 0x3d && c !== 0x3f && c !== 0x5f; // not = ? _
}

function qEncodeChar(bytes: Uint8Array, context: EncodeContext): string {
  let out = '';
  for (const b of bytes) {
    if (b === 0x20) out += '_';
    else if (qSafe(b, context)) out += String.fromCharCode(b);
    else out += `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * `text` as RFC 2047 encoded-words in UTF-8, separated by single spaces: Q or B, whichever
 * makes the shorter result; split between characters (code points), never inside one; every
 * word at most 75 characters, the first at most `firstMax` (room left on the first line).
 * `only` forces one of the two encodings.
 */
export function encodeWordsOnly(text: string, context: EncodeContext = 'text', firstMax = WORD_MAX, only?: 'B' | 'Q'): string {
  // Too little room for even one character: the first word goes on the next line anyway.
  const first = firstMax >= 24 ? Math.min(firstMax, WORD_MAX) : WORD_MAX;
  const bytes = Array.from(text, (c) => utf8(c));
  const b = only === 'Q' ? undefined : packBase64(bytes, (i) => Math.floor(((i === 0 ? first : WORD_MAX) - 12) / 4) * 3);
  if (only === 'B') return b!;
  const q = pack(
    bytes.map((c) => qEncodeChar(c, context)),
    (i) => (i === 0 ? first : WORD_MAX) - 12,
    (s) => `=?UTF-8?Q?${s}?=`,
  );
  return b !== undefined && b.length < q.length ? b : q;
}

// Greedy: each word takes as many characters as its room allows (room(i) for the i-th word).
function pack(parts: string[], room: (i: number) => number, wrap: (s: string) => string): string {
  const words: string[] = [];
  let cur = '';
  for (const p of parts) {
    if (cur.length + p.length > room(words.length) && cur !== '') {
      words.push(wrap(cur));
      cur = '';
    }
    cur += p;
  }
  if (cur !== '' || words.length === 0) words.push(wrap(cur));
  return words.join(' ');
}

function packBase64(chars: Uint8Array[], room: (i: number) => number): string {
  const words: string[] = [];
  let cur: number[] = [];
  for (const c of chars) {
    if (cur.length + c.length > room(words.length) && cur.length > 0) {
      words.push(`=?UTF-8?B?${encodeBase64(Uint8Array.from(cur))}?=`);
      cur = [];
    }
    for (const x of c) cur.push(x);
  }
  if (cur.length > 0 || words.length === 0) words.push(`=?UTF-8?B?${encodeBase64(Uint8Array.from(cur))}?=`);
  return words.join(' ');
}

/** A word a decoder could take for an encoded-word, or one that cannot go as it is. */
function needsEncoding(word: string, smtpUtf8: boolean): boolean {
  if (word.includes('=?')) return true;
  if (!smtpUtf8 && /[^\x20-\x7e\t]/.test(word)) return true;
  return utf8(word).length > SOFT_LINE - 1; // too long to fold to 78 columns
}

/**
 * Unstructured text (Subject, Comments, custom fields) ready for a header: ASCII words stay
 * as they are, runs of words that are not ASCII (or look like encoded-words, or are too long
 * to fold) become RFC 2047 encoded-words. White space between two encoded-words is not kept
 * by decoders, so the spaces inside a run are encoded with it. With `smtpUtf8` (RFC 6532)
 * UTF-8 stays as it is. `firstColumn` is where the text starts on its line (the field name,
 * colon and space): the first word is made to fit there, since some readers (Python's email)
 * keep the white space of a value that starts on a continuation line.
 */
export function encodeWords(text: string, opts: { smtpUtf8?: boolean; firstColumn?: number } = {}): string {
  assertHeaderText(text, 'header text');
  const smtpUtf8 = opts.smtpUtf8 === true;
  // Tokens: alternating white space and words. White space at the end goes with the last
  // word (inside its encoded-word when it is encoded), so no fold is needed just for it.
  const trailing = /[ \t]*$/.exec(text)![0];
  const tokens = text.slice(0, text.length - trailing.length).match(/[ \t]+|[^ \t]+/g) ?? [];
  // The first word goes on the field's own line (foldHeader never folds before it), after any
  // leading white space.
  const lead = /^[ \t]/.test(tokens[0] ?? '') ? 1 : 0;
  const firstMax = SOFT_LINE - (opts.firstColumn ?? 0) - (lead ? utf8(tokens[0]!).length : 0);
  let out = '';
  let tail = trailing;
  let i = 0;
  while (i < tokens.length) {
    const tok = tokens[i]!;
    const atStart = i === lead;
    const withTail = i === tokens.length - 1 ? tok + tail : tok;
    if (/^[ \t]/.test(tok) || !(needsEncoding(tok, smtpUtf8) || (atStart && utf8(withTail).length > firstMax && firstMax >= 24))) {
      out += tok;
      i++;
      continue;
    }
    // A run: this word, then (space, word) pairs while the next word needs encoding too.
    let run = tok;
    let j = i + 1;
    while (j + 1 < tokens.length && needsEncoding(tokens[j + 1]!, smtpUtf8)) {
      run += tokens[j]! + tokens[j + 1]!;
      j += 2;
    }
    if (j >= tokens.length) {
      run += tail;
      tail = '';
    }
    out += encodeWordsOnly(run, 'text', atStart ? firstMax : WORD_MAX);
    i = j;
  }
  return out + tail;
}

// ---- Folding (RFC 5322 §2.2.3) ---------------------------------------------------------------

/**
 * `Name: value\r\n`, folded before white space so lines are at most 78 octets where the value
 * allows and never over 998. The value must already be encoded (see encodeWords and the
 * address formatters); CR, LF, NUL and other controls are refused. A run without white space
 * longer than a line can hold is refused too: encode it with encodeWords (unstructured text)
 * or shorten it.
 */
export function foldHeader(name: string, value: string): string {
  assertHeaderName(name);
  assertHeaderText(value, `header ${name}`);
  if (value === '') return `${name}:${CRLF}`;
  // Pieces: one white-space character and the word after it (possibly none), so a fold can go
  // before any white space. Trailing white space stays with the last word.
  const pieces = ` ${value}`.match(/[ \t][^ \t]*/g)!;
  while (pieces.length > 1 && /^[ \t]+$/.test(pieces[pieces.length - 1]!)) {
    const last = pieces.pop()!;
    pieces[pieces.length - 1] += last;
  }
  let out = `${name}:`;
  let line = out.length;
  let content = true; // the current line holds more than white space (the name counts)
  // Never fold before the value's first word: a fold right after the colon makes readers
  // (Python's email among them) take the value with a leading space. The first line may then
  // exceed 78 octets, never 998.
  let started = false;
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    const n = utf8(piece).length;
    // Break before a piece that does not fit in 78 octets, and whenever 998 requires it; never
    // leave a line of white space only.
    if (started && content && line + n > SOFT_LINE) {
      out += CRLF;
      line = 0;
      content = false;
    }
    if (line + n > HARD_LINE) {
      throw new SmtpUsageError(`header ${name} has a word too long for a header line (over ${HARD_LINE} octets): encode or shorten it`);
    }
    out += piece;
    line += n;
    if (piece.length > 1) content = started = true;
  }
  return out + CRLF;
}

/** An unstructured field (Subject, custom headers), encoded and folded. */
export function unstructuredHeader(name: string, text: string, opts: { smtpUtf8?: boolean } = {}): string {
  assertHeaderName(name);
  return foldHeader(name, encodeWords(text, { ...opts, firstColumn: name.length + 2 }));
}
