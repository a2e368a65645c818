// Addresses in headers: RFC 5322 §3.4 address lists (quoted names, comments, groups, the
// obsolete forms mail programs still write), RFC 2047 encoded display names, RFC 6532 UTF-8
// headers, and IDN domains (A-labels unless the server has SMTPUTF8). Pure code, no I/O.
// The addr-spec itself is checked and written by core/address.ts, the same code that writes
// MAIL FROM and RCPT TO, so a header and the envelope never disagree about an address.
import { SmtpAddressError, SmtpUsageError } from '../core/errors.ts';
import { formatPath } from '../core/address.ts';
import { domainToAscii } from '../core/idn.ts';
import { decodeBase64 } from '../core/sasl/base64.ts';
import { printable, utf8 } from '../core/text.ts';
import { assertNoControls, encodeWordsOnly } from './header.ts';

export interface Mailbox {
  /** Display name: any Unicode text without control characters. */
  name?: string;
  /** local@domain; the domain may be in U-labels. */
  address: string;
}
export interface Group {
  group: string;
  members: Mailbox[];
}
export type AddressInput = string | Mailbox | readonly (string | Mailbox)[];

// ---- Tokens (RFC 5322 §3.2) --------------------------------------------------------------------

type TokenKind = 'atom' | 'quoted' | 'literal' | 'special';
interface Token {
  kind: TokenKind;
  /** atom text, quoted-string content (unescaped), domain literal with its brackets, or the special. */
  text: string;
  /** White space or a comment came before it. */
  space: boolean;
  pos: number;
}

// atext (RFC 5322 §3.2.3) widened to any non-ASCII character (RFC 6532 §3.2).
const ATEXT = /[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10ffff}]/u;
const SPECIALS = '<>:;@,.';
const MAX_INPUT = 1 << 20; // a header value bigger than this is not an address list

function parseError(text: string, pos: number, what: string): SmtpAddressError {
  const near = text.slice(Math.max(0, pos - 20), pos + 20);
  return new SmtpAddressError(`cannot parse address list: ${what} at position ${pos} (near "${printable(near)}")`);
}

function tokenize(text: string): Token[] {
  const toks: Token[] = [];
  let space = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    const pos = i;
    if (c === ' ' || c === '\t') {
      space = true;
      i++;
    } else if (c === '(') {
      // A comment: nested parentheses and quoted-pairs; it counts as white space.
      let depth = 0;
      for (; i < n; i++) {
        const d = text[i]!;
        if (d === '\\') i++;
        else if (d === '(') depth++;
        else if (d === ')' && --depth === 0) break;
      }
      if (i >= n) throw parseError(text, pos, 'unclosed comment "("');
      i++;
      space = true;
    } else if (c === '"') {
      let content = '';
      i++;
      for (; i < n && text[i] !== '"'; i++) {
        if (text[i] === '\\') i++;
        if (i < n) content += text[i];
      }
      if (i >= n) throw parseError(text, pos, 'unclosed quoted string');
      i++;
      toks.push({ kind: 'quoted', text: content, space, pos });
      space = false;
    } else if (c === '[') {
      const end = text.indexOf(']', i);
      if (end < 0) throw parseError(text, pos, 'unclosed domain literal "["');
      const lit = text.slice(i, end + 1);
      if (/[[\\]/.test(lit.slice(1, -1))) throw parseError(text, pos, 'invalid domain literal');
      toks.push({ kind: 'literal', text: lit.replace(/[ \t]/g, ''), space, pos });
      space = false;
      i = end + 1;
    } else if (SPECIALS.includes(c)) {
      toks.push({ kind: 'special', text: c, space, pos });
      space = false;
      i++;
    } else {
      const start = i;
      for (;;) {
        const cp = text.codePointAt(i);
        if (cp === undefined) break;
        const ch = String.fromCodePoint(cp);
        if (!ATEXT.test(ch)) break;
        i += ch.length;
      }
      if (i === start) throw parseError(text, pos, `unexpected character "${printable(c)}"`);
      toks.push({ kind: 'atom', text: text.slice(start, i), space, pos });
      space = false;
    }
  }
  return toks;
}

// ---- Encoded-words in display names (RFC 2047 §5 (3), §6) ----------------------------------------

const ENCODED_WORD = /^=\?([^?*\s]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=$/;

function encodedWordBytes(word: string): { charset: string; bytes: Uint8Array } | undefined {
  const m = ENCODED_WORD.exec(word);
  if (!m) return undefined;
  const charset = m[1]!.toLowerCase();
  let bytes: Uint8Array | undefined;
  if (m[2] === 'B' || m[2] === 'b') {
    bytes = decodeBase64(m[3]!);
  } else {
    const out: number[] = [];
    const s = m[3]!;
    for (let i = 0; i < s.length; i++) {
      const c = s[i]!;
      if (c === '_') out.push(0x20);
      else if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
        out.push(parseInt(s.slice(i + 1, i + 3), 16));
        i += 2;
      } else out.push(c.charCodeAt(0) & 0xff);
    }
    bytes = Uint8Array.from(out);
  }
  return bytes === undefined ? undefined : { charset, bytes };
}

function decodeCharset(charset: string, bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder(charset, { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined; // unknown charset or bytes that are not in it: the words stay as written
  }
}

/** The display name a phrase stands for: words joined by one space, encoded-words decoded
 *  (adjacent ones joined without the space between them, and decoded together, since senders
 *  split a character across two words). */
function phraseText(words: readonly Token[]): string {
  let out = '';
  let i = 0;
  while (i < words.length) {
    const t = words[i]!;
    const sep = out !== '' && t.space ? ' ' : '';
    const first = t.kind === 'atom' ? encodedWordBytes(t.text) : undefined;
    if (first === undefined) {
      out += sep + t.text;
      i++;
      continue;
    }
    // A run of encoded-words in one charset, separated only by white space.
    const parts = [first.bytes];
    let j = i + 1;
    for (; j < words.length; j++) {
      const w = words[j]!;
      const next = w.kind === 'atom' && w.space ? encodedWordBytes(w.text) : undefined;
      if (next === undefined || next.charset !== first.charset) break;
      parts.push(next.bytes);
    }
    const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    const decoded = decodeCharset(first.charset, all);
    // A control character hidden in an encoded-word would come out as a CR or LF in a header.
    if (decoded !== undefined && /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/.test(decoded)) {
      throw new SmtpAddressError(`an encoded display name holds a control character: "${printable(decoded)}"`);
    }
    out +=
      sep +
      (decoded ??
        words
          .slice(i, j)
          .map((w) => w.text)
          .join(' '));
    i = j;
  }
  return out;
}

// ---- Parser (RFC 5322 §3.4, with §4.4 obsolete forms) --------------------------------------------

class Parser {
  private p = 0;
  constructor(
    private readonly text: string,
    private readonly toks: Token[],
  ) {}

  private peek(): Token | undefined {
    return this.toks[this.p];
  }
  private isSpecial(t: Token | undefined, s: string): boolean {
    return t !== undefined && t.kind === 'special' && t.text === s;
  }
  private fail(what: string): SmtpAddressError {
    const t = this.peek();
    return parseError(this.text, t === undefined ? this.text.length : t.pos, what);
  }

  list(): (Mailbox | Group)[] {
    const out: (Mailbox | Group)[] = [];
    while (this.p < this.toks.length) {
      if (this.isSpecial(this.peek(), ',')) {
        this.p++; // an empty list element (obs-addr-list)
        continue;
      }
      out.push(this.address(false));
      if (this.p < this.toks.length) {
        if (!this.isSpecial(this.peek(), ',')) throw this.fail('expected "," between addresses');
        this.p++;
      }
    }
    return out;
  }

  private address(inGroup: boolean): Mailbox | Group {
    const words: Token[] = [];
    for (let t = this.peek(); t !== undefined && (t.kind === 'atom' || t.kind === 'quoted' || this.isSpecial(t, '.')); t = this.peek()) {
      words.push(t);
      this.p++;
    }
    const next = this.peek();
    if (this.isSpecial(next, '<')) {
      this.p++;
      const address = this.angleAddr();
      const name = phraseText(words);
      return name === '' ? { address } : { name, address };
    }
    if (this.isSpecial(next, ':')) {
      if (inGroup) throw this.fail('a group cannot hold another group');
      if (words.length === 0) throw this.fail('a group needs a name before ":"');
      this.p++;
      const members: Mailbox[] = [];
      for (;;) {
        const t = this.peek();
        if (t === undefined) throw this.fail('group is missing its closing ";"');
        if (this.isSpecial(t, ';')) {
          this.p++;
          break;
        }
        if (this.isSpecial(t, ',')) {
          this.p++;
          continue;
        }
        members.push(this.address(true) as Mailbox);
        const after = this.peek();
        if (after === undefined) throw this.fail('group is missing its closing ";"');
        if (!this.isSpecial(after, ',') && !this.isSpecial(after, ';')) throw this.fail('expected "," or ";" in the group');
      }
      return { group: phraseText(words), members };
    }
    if (this.isSpecial(next, '@') && words.length > 0) {
      this.p++;
      return { address: this.finish(localPart(this.text, words), this.domain()) };
    }
    if (words.length === 0) throw this.fail(next === undefined ? 'expected an address' : `unexpected "${next.text}"`);
    throw this.fail(`"${printable(phraseText(words))}" is not an address (local@domain), and no <address> follows it`);
  }

  private angleAddr(): string {
    // obs-route: "<@a.example,@b.example:user@c.example>": the route is dropped (RFC 5321 §C).
    if (this.isSpecial(this.peek(), '@')) {
      while (this.p < this.toks.length && !this.isSpecial(this.peek(), ':')) this.p++;
      this.p++;
    }
    const words: Token[] = [];
    for (let t = this.peek(); t !== undefined && (t.kind === 'atom' || t.kind === 'quoted' || this.isSpecial(t, '.')); t = this.peek()) {
      words.push(t);
      this.p++;
    }
    if (words.length === 0) throw this.fail('empty or invalid address in "<>"');
    if (!this.isSpecial(this.peek(), '@')) throw this.fail('address in "<>" needs "@" and a domain');
    this.p++;
    const address = this.finish(localPart(this.text, words), this.domain());
    if (!this.isSpecial(this.peek(), '>')) throw this.fail('expected ">" after the address');
    this.p++;
    return address;
  }

  private domain(): string {
    const t = this.peek();
    if (t !== undefined && t.kind === 'literal') {
      this.p++;
      return t.text;
    }
    let out = '';
    for (;;) {
      const a = this.peek();
      if (a === undefined || a.kind !== 'atom') throw this.fail('expected a domain after "@"');
      out += a.text;
      this.p++;
      if (!this.isSpecial(this.peek(), '.')) return out;
      this.p++;
      out += '.';
    }
  }

  private finish(local: string, domain: string): string {
    return checkAddrSpec(`${local}@${domain}`);
  }
}

// RFC 5322 dot-atom-text widened by RFC 6532.
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10ffff}]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10ffff}]+)*$/u;

/** The local part from its words: a dot-atom when it can be one, else one quoted-string. */
function localPart(text: string, words: readonly Token[]): string {
  let raw = '';
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const wantDot = i % 2 === 1;
    if (wantDot !== (w.kind === 'special')) throw parseError(text, w.pos, 'invalid local part (words must be separated by single dots)');
    raw += w.kind === 'special' ? '.' : w.text;
  }
  if (words.length % 2 === 0) throw parseError(text, words[words.length - 1]!.pos, 'local part ends with a dot');
  if (DOT_ATOM.test(raw)) return raw;
  return `"${raw.replace(/["\\]/g, '\\$&')}"`;
}

/** The canonical addr-spec (checked by the core's path rules and, for U-labels, by IDNA). */
function checkAddrSpec(address: string): string {
  let spec: string;
  try {
    spec = formatPath(address).slice(1, -1);
  } catch (err) {
    if (err instanceof SmtpUsageError) throw new SmtpAddressError(err.message);
    throw err;
  }
  const domain = spec.slice(spec.lastIndexOf('@') + 1);
  if (/[^\x00-\x7f]/.test(domain) && !domain.startsWith('[')) domainToAscii(domain); // throws when not a valid IDN
  return spec;
}

/** Unfolds a header value (CRLF before white space goes) and refuses any other line break or control. */
function unfold(text: string): string {
  const unfolded = text.replace(/\r\n(?=[ \t])/g, '');
  assertNoControls(unfolded, 'address list');
  return unfolded;
}

/**
 * Parses an RFC 5322 address-list: `"Bob, Jr." <bob@x.example>, alice@y.example (comment),
 * team: c@z.example, d@z.example;`. Display names are decoded (RFC 2047), addresses are in
 * canonical form (dot-atom, or a quoted local part only when needed). Throws SmtpAddressError
 * saying where the text stops making sense.
 */
export function parseAddressList(text: string): (Mailbox | Group)[] {
  if (typeof text !== 'string') throw new SmtpAddressError('an address list must be a string');
  if (text.length > MAX_INPUT) throw new SmtpAddressError('address list is too long');
  const clean = unfold(text);
  return new Parser(clean, tokenize(clean)).list();
}

function withField<T>(field: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof SmtpAddressError) throw new SmtpAddressError(`${field}: ${err.message}`);
    if (err instanceof SmtpUsageError) throw new SmtpUsageError(`${field}: ${err.message}`);
    throw err;
  }
}

function mailboxFromObject(m: Mailbox): Mailbox {
  if (m === null || typeof m !== 'object' || typeof m.address !== 'string') {
    throw new SmtpAddressError('an address object needs an address string: { name?, address }');
  }
  if (m.name !== undefined && typeof m.name !== 'string') throw new SmtpAddressError('a display name must be a string');
  if (/[<>]/.test(m.address)) {
    throw new SmtpAddressError(
      `address "${printable(m.address)}" holds "<" or ">": put the display name in name and only local@domain in address`,
    );
  }
  assertNoControls(m.address, 'address');
  if (m.name !== undefined) assertNoControls(m.name, 'display name');
  const address = checkAddrSpec(m.address);
  return m.name === undefined || m.name === '' ? { address } : { name: m.name, address };
}

/**
 * Mailboxes from what a caller may give: 'addr', 'Name <addr>', a header string holding a list
 * (groups are flattened), { name, address }, or an array of those. `field` names the header in
 * error messages ("To: cannot parse ..."). An empty string gives no mailboxes.
 */
export function toMailboxes(input: AddressInput, field: string): Mailbox[] {
  return withField(field, () => {
    const out: Mailbox[] = [];
    const one = (x: string | Mailbox): void => {
      if (typeof x === 'string') {
        for (const a of parseAddressList(x)) {
          if ('group' in a) out.push(...a.members);
          else out.push(a);
        }
      } else out.push(mailboxFromObject(x));
    };
    if (Array.isArray(input)) for (const x of input as readonly (string | Mailbox)[]) one(x);
    else if (typeof input === 'string' || (input !== null && typeof input === 'object')) one(input as string | Mailbox);
    else throw new SmtpAddressError('addresses must be a string, an { name, address } object or an array of them');
    return out;
  });
}

// ---- Writing --------------------------------------------------------------------------------------

// A phrase that can go as it is: atoms separated by single spaces.
const ATOMS_ASCII = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?: [A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;
const ATOMS_UTF8 = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10ffff}]+(?: [A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10ffff}]+)*$/u;
const LONGEST_PLAIN_WORD = 70; // longer runs without a space are encoded, so the line can fold

/** A display name as a phrase: atoms, a quoted-string, or RFC 2047 encoded-words. */
export function formatDisplayName(name: string, opts: { smtpUtf8: boolean }): string {
  assertNoControls(name, 'display name');
  const nonAscii = /[^\x00-\x7f]/.test(name);
  const tooLong = (text: string, limit: number): boolean => text.split(/[ \t]/).some((w) => utf8(w).length > limit);
  const longWord = tooLong(name, LONGEST_PLAIN_WORD);
  // "=?" would read as an encoded-word to many decoders, even inside quotes.
  if ((nonAscii && !opts.smtpUtf8) || name.includes('=?') || longWord) return encodeWordsOnly(name, 'phrase');
  if ((opts.smtpUtf8 ? ATOMS_UTF8 : ATOMS_ASCII).test(name)) return name;
  const quoted = `"${name.replace(/["\\]/g, '\\$&')}"`;
  // Escapes lengthen runs: one that no longer fits a folded line is encoded instead.
  return tooLong(quoted, LONGEST_PLAIN_WORD + 2) ? encodeWordsOnly(name, 'phrase') : quoted;
}

/** An addr-spec for this transaction: A-labels unless the server takes UTF-8 (SMTPUTF8). */
function addrSpecFor(address: string, smtpUtf8: boolean): string {
  const spec = checkAddrSpec(address);
  if (spec === '') throw new SmtpAddressError('an empty address cannot go in a header');
  if (smtpUtf8) return spec;
  const at = spec.lastIndexOf('@');
  const local = spec.slice(0, at);
  const domain = spec.slice(at + 1);
  if (/[^\x00-\x7f]/.test(local)) {
    throw new SmtpAddressError(`address "${printable(spec)}" has a non-ASCII local part, which needs a server with SMTPUTF8`);
  }
  return /[^\x00-\x7f]/.test(domain) && !domain.startsWith('[') ? `${local}@${domainToAscii(domain)}` : spec;
}

/** One mailbox for a header: `addr` or `Name <addr>`. */
export function formatMailbox(m: Mailbox, opts: { smtpUtf8: boolean }): string {
  const checked = mailboxFromObject(m);
  const spec = addrSpecFor(checked.address, opts.smtpUtf8);
  return checked.name === undefined ? spec : `${formatDisplayName(checked.name, opts)} <${spec}>`;
}

/**
 * A header value (unfolded; fold it with foldHeader) for these mailboxes, comma separated.
 * Names are quoted when needed and RFC 2047 encoded when not ASCII (unless smtpUtf8);
 * domains become A-labels unless smtpUtf8, when UTF-8 stays as it is (RFC 6532).
 */
export function formatMailboxes(list: readonly Mailbox[], opts: { smtpUtf8: boolean }): string {
  if (!Array.isArray(list as unknown)) throw new SmtpAddressError('formatMailboxes needs an array of mailboxes');
  return list.map((m) => formatMailbox(m, opts)).join(', ');
}

/** A group for a header (`name: a@x, b@y;`), e.g. `undisclosed-recipients:;`. */
export function formatGroup(g: Group, opts: { smtpUtf8: boolean }): string {
  return `${formatDisplayName(g.group, opts)}:${g.members.length > 0 ? ' ' + formatMailboxes(g.members, opts) : ''};`;
}

/**
 * The address for MAIL FROM / RCPT TO (without angle brackets; '' stays the null sender):
 * canonical local part, domain in A-labels unless smtpUtf8. A non-ASCII local part without
 * smtpUtf8 is an SmtpAddressError: only a server with SMTPUTF8 can take it.
 */
export function envelopeAddress(address: string, opts: { smtpUtf8: boolean }): string {
  if (address === '') return '';
  if (typeof address !== 'string') throw new SmtpAddressError('an address must be a string');
  return addrSpecFor(address, opts.smtpUtf8);
}
