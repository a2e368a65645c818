// The header block of a raw message, for sendmail mode: read it (bounded) off the front of the
// stream, take recipients from To/Cc/Bcc (or the first Resent- block), drop Bcc, add From,
// Date and Message-ID when missing, and pass the body on untouched. Only the header block is
// ever held in memory; the body streams through.
import { SmtpUsageError } from '../core/errors.ts';
import { formatDate } from '../core/compose.ts';
import { printable } from '../core/text.ts';

/** A header block larger than this is refused rather than buffered. */
export const MAX_HEAD = 1 << 20;

export interface Field {
  /** Lower-case name. */
  name: string;
  /** The raw lines, line endings included (latin1: one char per octet). */
  raw: string;
}

export interface Head {
  fields: Field[];
  /** The empty line that ended the block ("\r\n" or "\n"; inserted when a non-header line
   *  ended it), or '' when the message has no body. */
  separator: string;
}

/** A field's first line (RFC 5322 field-name, then ':'; obsolete WSP before it allowed). */
const FIELD_LINE = /^[\x21-\x39\x3b-\x7e]+[ \t]*:/;

/** Whether a line belongs to the header block: a field, a folded continuation, a leading "From " line. */
function isHeadLine(line: string, first: boolean): boolean {
  if (line[0] === ' ' || line[0] === '\t') return !first;
  return FIELD_LINE.test(line) || (first && line.startsWith('From '));
}

/**
 * Splits off the header block; `rest` yields the octets after it. The block ends at the first
 * empty line, or (as sendmail and Postfix read it) at the first line that is not a header field:
 * input with no header at all (`dmesg | sendmail -i root`) is body, of any size.
 */
export async function readHead(source: AsyncIterable<Uint8Array>): Promise<{ head: Head; rest: AsyncIterable<Uint8Array> }> {
  const it = source[Symbol.asyncIterator]();
  let text = '';
  let pos = 0; // start of the first line not judged yet; everything before it is header
  let end = -1;
  let sepLen = 0;
  let inserted = ''; // the empty line a block ended by a non-header line lacks
  let eof = false;
  while (end < 0) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) {
      if (eof) {
        end = pos < text.length && !isHeadLine(text.slice(pos), pos === 0) ? pos : text.length;
        if (end < text.length) inserted = '\n';
        break;
      }
      if (text.length > MAX_HEAD)
        throw Object.assign(
          new SmtpUsageError(`the message's header block is larger than ${MAX_HEAD} octets (no empty line after the headers?)`),
          { dataError: true }, // the message's fault: exit 65
        );
      const next = await it.next();
      if (next.done) eof = true;
      else text += Buffer.from(next.value).toString('latin1');
      continue;
    }
    const line = text.slice(pos, nl + 1);
    if (line === '\n' || line === '\r\n') {
      end = pos;
      sepLen = line.length;
    } else if (!isHeadLine(line, pos === 0)) {
      end = pos;
      inserted = line.endsWith('\r\n') ? '\r\n' : '\n';
    } else {
      pos = nl + 1;
    }
  }
  const headText = text.slice(0, end);
  const after = text.slice(end + sepLen);
  const separator = sepLen > 0 ? text.slice(end, end + sepLen) : inserted;
  const fields: Field[] = [];
  for (const line of headText.match(/[^\n]*\n|[^\n]+$/g) ?? []) {
    if ((line[0] === ' ' || line[0] === '\t') && fields.length > 0) fields[fields.length - 1]!.raw += line;
    else
      fields.push({
        name: line
          .slice(0, Math.max(0, line.indexOf(':')))
          .trim()
          .toLowerCase(),
        raw: line,
      });
  }
  async function* rest(): AsyncGenerator<Uint8Array> {
    if (after.length) yield Buffer.from(after, 'latin1');
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { head: { fields, separator }, rest: rest() };
}

/** A field's value, unfolded. */
export function fieldValue(f: Field): string {
  return f.raw
    .slice(f.raw.indexOf(':') + 1)
    .replace(/\r?\n/g, '')
    .trim();
}

/**
 * The addr-specs of an RFC 5322 address-list: display names, comments, quoted strings, groups
 * ("undisclosed-recipients:;") and obsolete source routes handled.
 */
export function addressList(value: string): string[] {
  const out: string[] = [];
  let bare = '';
  let angle: string | undefined;
  let inAngle = false;
  const flush = (): void => {
    const a = (angle ?? bare).trim().replace(/^(@[^:]*:)/, '');
    if (a !== '') out.push(a);
    bare = '';
    angle = undefined;
  };
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '"') {
      let j = i + 1;
      let q = '"';
      while (j < value.length && value[j] !== '"') {
        if (value[j] === '\\') q += value[j++];
        q += value[j++] ?? '';
      }
      q += '"';
      if (inAngle) angle += q;
      else bare += q;
      i = j;
    } else if (c === '(') {
      let depth = 1;
      while (++i < value.length && depth > 0) {
        if (value[i] === '\\') i++;
        else if (value[i] === '(') depth++;
        else if (value[i] === ')') depth--;
      }
      i--;
    } else if (inAngle) {
      if (c === '>') inAngle = false;
      else if (c !== ' ' && c !== '\t') angle += c;
    } else if (c === '<') {
      inAngle = true;
      angle = '';
    } else if (c === ',') {
      flush();
    } else if (c === ':') {
      bare = ''; // a group's display name
    } else if (c === ';') {
      flush();
    } else if (c !== ' ' && c !== '\t') {
      bare += c;
    } else if (angle === undefined && bare !== '' && !bare.endsWith(' ')) {
      bare += ' '; // words of a display name (dropped once an <addr> follows), or a missing comma (refused below)
    }
  }
  flush();
  return out.map((a) => {
    if (/\s/.test(a.replace(/"[^"]*"/g, ''))) throw new SmtpUsageError(`cannot read an address in the header: "${printable(value)}"`);
    return a;
  });
}

const TO_FIELDS = ['to', 'cc', 'bcc'];
const RESENT_FIELDS = ['resent-to', 'resent-cc', 'resent-bcc'];

/** Recipients for sendmail -t: To, Cc, Bcc; or, when Resent- fields exist, the first Resent- block's. */
export function headRecipients(head: Head): string[] {
  const resent = head.fields.some((f) => RESENT_FIELDS.includes(f.name));
  const out: string[] = [];
  if (resent) {
    // The first (most recent) Resent- block: contiguous resent-* fields from the first one, up
    // to a field name the block already has (an older block starts there).
    const first = head.fields.findIndex((f) => f.name.startsWith('resent-'));
    const seen = new Set<string>();
    for (let i = first; i < head.fields.length && head.fields[i]!.name.startsWith('resent-') && !seen.has(head.fields[i]!.name); i++) {
      seen.add(head.fields[i]!.name);
      if (RESENT_FIELDS.includes(head.fields[i]!.name)) out.push(...addressList(fieldValue(head.fields[i]!)));
    }
  } else {
    for (const f of head.fields) if (TO_FIELDS.includes(f.name)) out.push(...addressList(fieldValue(f)));
  }
  return out;
}

export interface HeadEdits {
  removeBcc: boolean;
  /** A From field to add when missing ('auto') or to put in place of any ('on'). */
  from?: { value: string; mode: 'auto' | 'on' };
  addDate: boolean;
  /** Message-ID domain; undefined: do not add one. */
  messageIdDomain?: string;
  eol: string;
}

/** The edited header block as octets (separator line included). */
export function editHead(head: Head, e: HeadEdits): Buffer {
  const has = (n: string): boolean => head.fields.some((f) => f.name === n);
  const added: string[] = [];
  let fields = head.fields;
  if (e.removeBcc) fields = fields.filter((f) => f.name !== 'bcc' && f.name !== 'resent-bcc');
  if (e.from && (e.from.mode === 'on' || !has('from'))) {
    fields = fields.filter((f) => f.name !== 'from');
    added.push(`From: ${e.from.value}`);
  }
  if (e.addDate && !has('date')) added.push(`Date: ${formatDate(new Date())}`);
  if (e.messageIdDomain !== undefined && !has('message-id')) {
    const random = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(12))).toString('hex');
    added.push(`Message-ID: <${Date.now().toString(36)}.${random}@${e.messageIdDomain}>`);
  }
  const text =
    added.map((l) => l + e.eol).join('') + fields.map((f) => f.raw).join('') + (head.separator || (head.fields.length ? '' : ''));
  return Buffer.from(text, 'latin1');
}

/** A From field body: `Name <addr>` with the name quoted or RFC 2047-encoded as it needs. */
export function fromField(address: string, name: string | undefined): string {
  if (name === undefined || name === '') return address;
  if (/[\0-\x1f\x7f]/.test(name)) throw new SmtpUsageError('-F: the full name must not hold control characters');
  let phrase: string;
  if (/^[\x20-\x7e]*$/.test(name)) {
    phrase = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/.test(name) ? name : `"${name.replace(/(["\\])/g, '\\$1')}"`;
  } else {
    phrase = `=?UTF-8?B?${Buffer.from(name, 'utf8').toString('base64')}?=`;
  }
  return `${phrase} <${address}>`;
}
