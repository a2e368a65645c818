// A simple text/plain message (RFC 5322, MIME RFC 2045-2047) for the one-call API. Every
// caller string is checked for control characters first, so no header can be injected; the
// only CR and LF in the output are the ones written here.
import { SmtpUsageError } from './errors.ts';
import { assertNoControls, formatPath } from './address.ts';
import { encodeWordsOnly, foldHeader, SOFT_LINE } from './header.ts';
import { printable, utf8 } from './text.ts';

export interface ComposeInput {
  /** The sender's address (local@domain, no display name). */
  from: string;
  to: string[];
  cc?: string[];
  /** Any printable Unicode; non-ASCII is sent as RFC 2047 encoded-words. */
  subject: string;
  text: string;
  priority?: 'low' | 'normal' | 'high';
  date: Date;
  /** At least 12 random octets from the caller, for the Message-ID. */
  messageIdRandom: Uint8Array;
  /** The server offers 8BITMIME, so UTF-8 text can go unencoded. */
  eightBit: boolean;
  /** Extra header fields, written after the standard ones. Values are unstructured text. */
  headers?: Record<string, string>;
}

const CRLF = '\r\n';
const HARD_LIMIT = 998; // RFC 5322 §2.1.1: lines MUST be at most 998 characters
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// Fields this module writes; extra headers may not repeat them.
const OWN = new Set([
  'date',
  'message-id',
  'from',
  'to',
  'cc',
  'subject',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'x-priority',
  'importance',
]);

export function composeMessage(input: ComposeInput): Uint8Array {
  if (input === null || typeof input !== 'object') throw new SmtpUsageError('compose input must be an object');
  const from = headerAddress('from', input.from);
  if (!Array.isArray(input.to) || input.to.length === 0) throw new SmtpUsageError('to needs at least one address');
  const to = input.to.map((a) => headerAddress('to', a));
  if (input.cc !== undefined && !Array.isArray(input.cc)) throw new SmtpUsageError('cc must be an array of addresses');
  const cc = (input.cc ?? []).map((a) => headerAddress('cc', a));
  assertNoControls('subject', input.subject);
  if (typeof input.text !== 'string') throw new SmtpUsageError('text must be a string');
  if (!(input.date instanceof Date) || !(input.date.getUTCFullYear() >= 1900 && input.date.getUTCFullYear() <= 9999)) {
    throw new SmtpUsageError('date must be a valid Date between the years 1900 and 9999');
  }
  if (!(input.messageIdRandom instanceof Uint8Array) || input.messageIdRandom.length < 12) {
    throw new SmtpUsageError('messageIdRandom must be at least 12 random octets');
  }
  const priority = input.priority ?? 'normal';
  if (priority !== 'low' && priority !== 'normal' && priority !== 'high') throw new SmtpUsageError('priority must be low, normal or high');

  const lines: string[] = [];
  lines.push(`Date: ${formatDate(input.date)}`);
  const hex = Array.from(input.messageIdRandom, (b) => b.toString(16).padStart(2, '0')).join('');
  lines.push(`Message-ID: <${hex}@${from.slice(from.lastIndexOf('@') + 1)}>`);
  lines.push(`From: ${from}`);
  lines.push(foldList('To', to));
  if (cc.length > 0) lines.push(foldList('Cc', cc));
  lines.push(subjectField(input.subject));
  if (priority === 'high') lines.push('X-Priority: 1 (Highest)', 'Importance: High');
  else if (priority === 'low') lines.push('X-Priority: 5 (Lowest)', 'Importance: Low');
  lines.push('MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8');

  const text = input.text.replace(/\r\n|\r|\n/g, CRLF);
  const body = utf8(text);
  const eightBitBody = body.some((b) => b >= 0x80);
  // DATA doubles a leading '.', and the 998-octet limit counts it (core/body.ts).
  const clean = !body.includes(0) && text.split(CRLF).every((l) => utf8(l).length <= (l.startsWith('.') ? HARD_LIMIT - 1 : HARD_LIMIT));
  let cte: string;
  let bodyText: string | undefined;
  if (clean && !eightBitBody) cte = '7bit';
  else if (clean && input.eightBit === true) cte = '8bit';
  else {
    cte = 'quoted-printable';
    bodyText = encodeQuotedPrintable(body);
  }
  lines.push(`Content-Transfer-Encoding: ${cte}`);

  if (input.headers !== undefined) {
    if (input.headers === null || typeof input.headers !== 'object') throw new SmtpUsageError('headers must be an object');
    for (const [name, value] of Object.entries(input.headers)) {
      // field-name (RFC 5322 §3.6.8): printable ASCII except ':'.
      if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) throw new SmtpUsageError(`invalid header name: "${printable(name)}"`);
      if (OWN.has(name.toLowerCase())) throw new SmtpUsageError(`header ${name} is set by composeMessage and cannot be given in headers`);
      assertNoControls(`header ${name}`, value);
      lines.push(unstructuredField(name, value, false));
    }
  }

  const head = utf8(lines.join(CRLF) + CRLF + CRLF);
  const tail = bodyText === undefined ? body : utf8(bodyText);
  const out = new Uint8Array(head.length + tail.length);
  out.set(head, 0);
  out.set(tail, head.length);
  return out;
}

/** An addr-spec for a header, checked and quoted exactly as in the envelope. */
function headerAddress(field: string, address: string): string {
  if (typeof address !== 'string' || address === '') throw new SmtpUsageError(`${field} needs an address`);
  try {
    return formatPath(address).slice(1, -1);
  } catch (err) {
    if (err instanceof SmtpUsageError) throw new SmtpUsageError(`${field}: ${err.message}`);
    throw err;
  }
}

/** RFC 5322 §3.3 date-time, always in UTC. */
export function formatDate(d: Date): string {
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getUTCDay()]}, ${p2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`
  );
}

/** A folded field without its final CRLF (core/header.ts folds). */
function field(name: string, value: string): string {
  return foldHeader(name, value).slice(0, -2);
}

function foldList(name: string, addresses: string[]): string {
  return field(name, addresses.join(', '));
}

function subjectField(subject: string): string {
  return unstructuredField('Subject', subject, true);
}

/**
 * An unstructured field. Printable ASCII is folded at spaces; anything else (or, for the
 * subject, text that would not fold to 78 columns or that looks like an encoded-word) is
 * written as RFC 2047 B encoded-words.
 */
function unstructuredField(name: string, value: string, strict: boolean): string {
  const ascii = /^[\x20-\x7e]*$/.test(value);
  if (ascii && !(strict && value.includes('=?'))) {
    const folded = field(name, value); // throws when a word cannot fit 998 octets
    if (!strict || folded.split(CRLF).every((l) => l.length <= SOFT_LINE)) return folded;
  }
  return field(name, encodeWordsOnly(value, 'text', SOFT_LINE - name.length - 2, 'B'));
}

/** RFC 2045 §6.7 quoted-printable of CRLF text: CRLF stays a hard break, lines at most 76. */
export function encodeQuotedPrintable(bytes: Uint8Array): string {
  let out = '';
  let line = 0;
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === 0x0d && bytes[i + 1] === 0x0a) {
      out += CRLF;
      line = 0;
      i++;
      continue;
    }
    const last = i + 1 === n || (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a);
    // Literal: printable ASCII except '='; space and tab too, unless they end a line.
    const literal = (b >= 0x21 && b <= 0x7e && b !== 0x3d) || ((b === 0x20 || b === 0x09) && !last);
    const tok = literal ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
    // Leave room for the soft break '=' unless this is the line's last token.
    if (line + tok.length > (last ? 76 : 75)) {
      out += `=${CRLF}`;
      line = 0;
    }
    out += tok;
    line += tok.length;
  }
  return out;
}
