// The message builder: nodemailer-like options in, an RFC 5322 + MIME message out, as a body
// source the client streams. buildMessage() checks everything the caller gave (a bad address,
// header or attachment throws SmtpUsageError before any connection); render() writes the octets
// once the server's SMTPUTF8 and 8BITMIME are known, since both change the output: UTF-8 or
// A-label domains and RFC 2047 words in headers, 8bit or quoted-printable bodies. The client
// calls render() itself when it is given a built message (client/client.ts), after EHLO.
import { joinBytes } from '../core/bytes.ts';
import { SmtpUsageError } from '../core/errors.ts';
import { printable } from '../core/text.ts';
import { envelopeAddress, formatMailboxes, toMailboxes, type AddressInput, type Mailbox } from './address.ts';
import { assertContent, openContent, contentSize, type AttachmentContent } from './content.ts';
import { assertMediaType, contentTypeFor, formatParam, mimeHeader } from './content-type.ts';
import { Base64LineEncoder, base64Size, chooseTextEncoding, encodeBase64Lines, encodeBody, textToCrlfBytes } from './encoding.ts';
import { assertHeaderName, assertNoControls, encodeWords, foldHeader } from './header.ts';
import { domainToAscii } from './idn.ts';
import { assignBoundaries, bodySize, headersOf, inMemory, renderBody, type Leaf, type MimePart } from './mime.ts';

export type { AttachmentContent } from './content.ts';

export interface Attachment {
  /** Bytes, text (sent as UTF-8), a stream, a `{ readInto }` source such as `fileBody(path)`,
   *  or a function returning one of those or a promise of one (so the message can be rendered
   *  more than once). */
  content: AttachmentContent;
  /** Shown to the recipient; non-ASCII is written per RFC 2231. */
  filename?: string;
  /** Default: from the filename's extension, else application/octet-stream. */
  contentType?: string;
  /** Content-ID for `<img src="cid:...">` in the HTML: the part goes into multipart/related. */
  cid?: string;
  /** Default 'inline' with a cid, else 'attachment'. */
  contentDisposition?: 'attachment' | 'inline';
  /** Octets the content gives, for a function or stream whose length is known (a file's): the
   *  message's size is then known and declared (SIZE=). Checked as the content is read. */
  size?: number;
}

export interface CalendarEvent {
  /** The iCalendar text (VCALENDAR). */
  content: string;
  /** The iTIP method (RFC 5546). Default REQUEST. */
  method?: string;
}

export interface ListUnsubscribe {
  /** https: and/or mailto: URIs. */
  url: string | readonly string[];
  /** RFC 8058 one-click (List-Unsubscribe-Post). Default true when an https: URI is given. */
  oneClick?: boolean;
}

export interface MessageOptions {
  from: AddressInput;
  sender?: AddressInput;
  to?: AddressInput;
  cc?: AddressInput;
  /** Envelope only: never written into the message. */
  bcc?: AddressInput;
  replyTo?: AddressInput;
  subject?: string;
  /** Default: the time buildMessage() was called. */
  date?: Date;
  /** Default: random, at the From domain. With or without the angle brackets. */
  messageId?: string;
  inReplyTo?: string;
  references?: string | readonly string[];
  priority?: 'low' | 'normal' | 'high';
  listUnsubscribe?: string | readonly string[] | ListUnsubscribe;
  /** Extra header fields (unstructured text), written after the standard ones. */
  headers?: Record<string, string | readonly string[]> | readonly (readonly [string, string])[];
  text?: string;
  html?: string;
  attachments?: readonly Attachment[];
  icalEvent?: string | CalendarEvent;
  /** SMTP envelope; default: the Sender (else From) address, and To + Cc + Bcc. */
  envelope?: { from: string; to: string | readonly string[] };
}

/** What render() needs to know about the server. */
export interface RenderTarget {
  smtpUtf8: boolean;
  eightBitMime: boolean;
  /** Random octets for boundaries and the Message-ID. Default crypto.getRandomValues. */
  random?: (n: number) => Uint8Array;
}

/** A built message, rendered for one server: what client.send() takes as a Message. */
export interface RenderedMessage {
  from: string;
  to: string[];
  /** The message octets: re-iterable when every attachment can be read again (bytes, text,
   *  or a function returning a fresh source); a one-shot stream can be read once. */
  body: AsyncIterable<Uint8Array>;
  /** Octets the body will give, when every part's size is known. */
  size: number | undefined;
  /** Declare BODY=8BITMIME: a part went 8bit, or a header holds UTF-8. */
  eightBit: boolean;
  /** Declare SMTPUTF8: an address or header holds UTF-8. */
  smtpUtf8: boolean;
  /** The whole message in one array when no part is streamed (no stream attachment). */
  bytes(): Uint8Array | undefined;
}

const BUILT = Symbol.for('smtpwire.BuiltMessage');
const PRIORITY = {
  high: ['X-Priority: 1 (Highest)', 'Importance: High'],
  low: ['X-Priority: 5 (Lowest)', 'Importance: Low'],
  normal: [],
} as const;
// Fields the builder writes; `headers` may not give them (use the option instead).
const OWN = new Map<string, string>([
  ['from', 'from'],
  ['sender', 'sender'],
  ['to', 'to'],
  ['cc', 'cc'],
  ['bcc', 'bcc'],
  ['reply-to', 'replyTo'],
  ['subject', 'subject'],
  ['date', 'date'],
  ['message-id', 'messageId'],
  ['in-reply-to', 'inReplyTo'],
  ['references', 'references'],
  ['x-priority', 'priority'],
  ['importance', 'priority'],
  ['list-unsubscribe', 'listUnsubscribe'],
  ['list-unsubscribe-post', 'listUnsubscribe'],
  ['mime-version', ''],
  ['content-type', ''],
  ['content-transfer-encoding', ''],
  ['content-disposition', ''],
  ['content-id', ''],
]);
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const encoder = new TextEncoder();
// RFC 5322 §3.6.4 msg-id: dot-atom-text "@" (dot-atom-text / no-fold-literal), without CFWS.
// ASCII only, so an id is valid with or without SMTPUTF8.
const MSG_ID = /^<?([A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+@(?:[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+|\[[\x21-\x5a\x5e-\x7e]*\]))>?$/;

interface Checked {
  from: Mailbox[];
  sender: Mailbox[];
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  replyTo: Mailbox[];
  subject: string | undefined;
  date: Date;
  messageId: string | undefined;
  inReplyTo: string | undefined;
  references: string[];
  priority: 'low' | 'normal' | 'high';
  unsubscribe: { urls: string[]; oneClick: boolean } | undefined;
  headers: [string, string][];
  text: string | undefined;
  html: string | undefined;
  ical: { content: string; method: string } | undefined;
  attachments: Attachment[];
  envelope: { from: string; to: string[] } | undefined;
}

/** A checked message, ready to render for a server. Make one with buildMessage(). */
export class BuiltMessage {
  readonly #m: Checked;
  readonly [BUILT] = true;

  /** @internal use buildMessage() */
  constructor(checked: Checked) {
    this.#m = checked;
  }

  /** Envelope recipients: To, Cc and Bcc (or the given envelope), duplicates dropped. */
  get recipients(): string[] {
    return this.#m.envelope?.to ?? dedupe([...this.#m.to, ...this.#m.cc, ...this.#m.bcc].map((m) => m.address));
  }

  /** The envelope sender: the given one, else Sender, else From. */
  get sender(): string {
    return this.#m.envelope?.from ?? (this.#m.sender[0] ?? this.#m.from[0]!).address;
  }

  /** True when every attachment can be read again (bytes, text, or a function returning a
   *  fresh source), so the message can be rendered, or read twice to sign it, more than once. */
  get rereadable(): boolean {
    return this.#m.attachments.every((a) => typeof a.content !== 'object' || a.content instanceof Uint8Array);
  }

  /** The message for a server with (or without) SMTPUTF8 and 8BITMIME. */
  render(target: RenderTarget): RenderedMessage {
    return render(this.#m, target);
  }
}

/** True for what buildMessage() returns (also across copies of the module). */
export function isBuiltMessage(value: unknown): value is BuiltMessage {
  return value !== null && typeof value === 'object' && (value as Record<symbol, unknown>)[BUILT] === true;
}

/** Check the options and return a message to render once the server is known. */
export function buildMessage(options: MessageOptions): BuiltMessage {
  if (options === null || typeof options !== 'object') throw new SmtpUsageError('message options must be an object');
  const o = options;
  const list = (v: AddressInput | undefined, field: string): Mailbox[] => (v === undefined ? [] : toMailboxes(v, field));
  const from = list(o.from, 'from');
  if (from.length === 0) throw new SmtpUsageError('from needs an address');
  const sender = list(o.sender, 'sender');
  if (sender.length > 1) throw new SmtpUsageError('sender takes one address');
  // RFC 5322 §3.6.2: several From authors need one Sender.
  if (from.length > 1 && sender.length === 0) throw new SmtpUsageError('from has several addresses: give sender (the one who sends)');
  const to = list(o.to, 'to');
  const cc = list(o.cc, 'cc');
  const bcc = list(o.bcc, 'bcc');
  const replyTo = list(o.replyTo, 'replyTo');
  if (o.subject !== undefined) assertNoControls(o.subject, 'subject');
  const date = o.date ?? new Date();
  if (!(date instanceof Date) || !(date.getUTCFullYear() >= 1900 && date.getUTCFullYear() <= 9999)) {
    throw new SmtpUsageError('date must be a valid Date between the years 1900 and 9999');
  }
  const messageId = o.messageId === undefined ? undefined : msgId(o.messageId, 'messageId');
  const inReplyTo = o.inReplyTo === undefined ? undefined : msgId(o.inReplyTo, 'inReplyTo');
  const refs =
    o.references === undefined ? [] : typeof o.references === 'string' ? o.references.split(/\s+/).filter(Boolean) : [...o.references];
  const references = refs.map((r) => msgId(r, 'references'));
  const priority = o.priority ?? 'normal';
  if (priority !== 'low' && priority !== 'normal' && priority !== 'high') throw new SmtpUsageError('priority must be low, normal or high');
  const text = optionalText(o.text, 'text');
  const html = optionalText(o.html, 'html');
  const attachments = (o.attachments ?? []).map(checkAttachment);
  if (o.attachments !== undefined && !Array.isArray(o.attachments)) throw new SmtpUsageError('attachments must be an array');
  const envelope = o.envelope === undefined ? undefined : checkEnvelope(o.envelope);
  if (envelope === undefined && to.length + cc.length + bcc.length === 0)
    throw new SmtpUsageError('no recipient: give to, cc or bcc (or an envelope)');
  return new BuiltMessage({
    from,
    sender,
    to,
    cc,
    bcc,
    replyTo,
    subject: o.subject,
    date,
    messageId,
    inReplyTo,
    references,
    priority,
    unsubscribe: o.listUnsubscribe === undefined ? undefined : checkUnsubscribe(o.listUnsubscribe),
    headers: checkHeaders(o.headers),
    text,
    html,
    ical: o.icalEvent === undefined ? undefined : checkIcal(o.icalEvent),
    attachments,
    envelope,
  });
}

// ---- checks -----------------------------------------------------------------------------------

function optionalText(v: unknown, field: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new SmtpUsageError(`${field} must be a string`);
  return v;
}

function msgId(value: string, field: string): string {
  if (typeof value !== 'string') throw new SmtpUsageError(`${field} must be a string`);
  assertNoControls(value, field);
  const m = MSG_ID.exec(value.trim());
  if (!m) throw new SmtpUsageError(`${field} must be a message id such as <id@example.com>: "${printable(value)}"`);
  return `<${m[1]}>`;
}

function checkAttachment(a: Attachment, i: number): Attachment {
  const what = `attachments[${i}]`;
  if (a === null || typeof a !== 'object') throw new SmtpUsageError(`${what} must be an object with content`);
  assertContent(a.content, what);
  if (a.filename !== undefined) {
    if (typeof a.filename !== 'string' || a.filename === '') throw new SmtpUsageError(`${what}.filename must be a non-empty string`);
    assertNoControls(a.filename, `${what}.filename`);
  }
  const contentType = a.contentType === undefined ? undefined : assertMediaType(a.contentType, `${what}.contentType`);
  if (contentType?.startsWith('multipart/')) throw new SmtpUsageError(`${what}.contentType cannot be multipart/*`);
  if (a.cid !== undefined && !(typeof a.cid === 'string' && /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.@]+$/.test(a.cid))) {
    throw new SmtpUsageError(
      `${what}.cid must be printable ASCII without spaces, brackets or quotes, e.g. "logo@example": "${printable(String(a.cid))}"`,
    );
  }
  if (a.size !== undefined && !(Number.isSafeInteger(a.size) && a.size >= 0))
    throw new SmtpUsageError(`${what}.size must be an octet count`);
  if (a.contentDisposition !== undefined && a.contentDisposition !== 'attachment' && a.contentDisposition !== 'inline') {
    throw new SmtpUsageError(`${what}.contentDisposition must be 'attachment' or 'inline'`);
  }
  return { ...a, ...(contentType !== undefined ? { contentType } : {}) };
}

function checkEnvelope(e: { from: string; to: string | readonly string[] }): { from: string; to: string[] } {
  if (e === null || typeof e !== 'object' || typeof e.from !== 'string') throw new SmtpUsageError('envelope must be { from, to }');
  const to = typeof e.to === 'string' ? [e.to] : Array.isArray(e.to as unknown) ? [...e.to] : undefined;
  if (!to || to.length === 0 || !to.every((t) => typeof t === 'string' && t !== ''))
    throw new SmtpUsageError('envelope.to needs at least one address');
  assertNoControls(e.from, 'envelope.from');
  for (const t of to) assertNoControls(t, 'envelope.to');
  return { from: e.from, to };
}

function checkUnsubscribe(u: string | readonly string[] | ListUnsubscribe): { urls: string[]; oneClick: boolean } {
  const spec: ListUnsubscribe =
    typeof u === 'string' || Array.isArray(u as unknown) ? { url: u as string | string[] } : (u as ListUnsubscribe);
  if (spec === null || typeof spec !== 'object')
    throw new SmtpUsageError('listUnsubscribe must be a URI, a list of URIs or { url, oneClick }');
  const urls = typeof spec.url === 'string' ? [spec.url] : Array.isArray(spec.url as unknown) ? [...spec.url] : [];
  if (urls.length === 0) throw new SmtpUsageError('listUnsubscribe needs an https: or mailto: URI');
  for (const url of urls) {
    // RFC 2369 §2: the URIs go in angle brackets; RFC 3986 URIs are printable ASCII.
    if (typeof url !== 'string' || !/^(https?:|mailto:)[\x21-\x3b\x3d\x3f-\x7e]+$/i.test(url)) {
      throw new SmtpUsageError(
        `listUnsubscribe: "${printable(String(url))}" is not an https:, http: or mailto: URI (percent-encode spaces and non-ASCII)`,
      );
    }
  }
  const https = urls.some((url) => /^https:/i.test(url));
  const oneClick = spec.oneClick ?? https;
  if (oneClick && !https) throw new SmtpUsageError('listUnsubscribe oneClick needs an https: URI (RFC 8058)');
  return { urls, oneClick };
}

function checkHeaders(h: MessageOptions['headers']): [string, string][] {
  if (h === undefined) return [];
  if (h === null || typeof h !== 'object') throw new SmtpUsageError('headers must be an object or a list of [name, value]');
  const pairs: [string, string][] = [];
  const entries: [string, unknown][] = Array.isArray(h) ? (h as [string, unknown][]) : Object.entries(h);
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length !== 2) throw new SmtpUsageError('headers as a list must hold [name, value] pairs');
    const [name, value] = entry;
    assertHeaderName(name);
    const own = OWN.get(name.toLowerCase());
    if (own !== undefined) {
      throw new SmtpUsageError(`header ${name} is written by the builder: ${own ? `use the ${own} option` : 'it follows from the parts'}`);
    }
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v !== 'string') throw new SmtpUsageError(`header ${name} must be a string (or a list of strings)`);
      assertNoControls(v, `header ${name}`);
      pairs.push([name, v]);
    }
  }
  return pairs;
}

function checkIcal(e: string | CalendarEvent): { content: string; method: string } {
  const spec = typeof e === 'string' ? { content: e } : e;
  if (spec === null || typeof spec !== 'object' || typeof spec.content !== 'string')
    throw new SmtpUsageError('icalEvent must be the iCalendar text or { content, method }');
  const method = spec.method ?? 'REQUEST';
  if (typeof method !== 'string' || !/^[A-Za-z-]{1,40}$/.test(method))
    throw new SmtpUsageError('icalEvent.method must be an iTIP method such as REQUEST, CANCEL or REPLY');
  return { content: spec.content, method: method.toUpperCase() };
}

// ---- rendering ------------------------------------------------------------------------------

function render(m: Checked, target: RenderTarget): RenderedMessage {
  if (target === null || typeof target !== 'object') throw new SmtpUsageError('render needs { smtpUtf8, eightBitMime }');
  const smtpUtf8 = target.smtpUtf8 === true;
  const eightBitMime = target.eightBitMime === true || smtpUtf8; // RFC 6531 §3.1: SMTPUTF8 implies 8-bit transport
  const random = target.random ?? ((n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n)));
  const opts = { smtpUtf8 };

  const envFrom = m.envelope?.from ?? (m.sender[0] ?? m.from[0]!).address;
  const envTo = m.envelope?.to ?? dedupe([...m.to, ...m.cc, ...m.bcc].map((x) => x.address));
  const from = envFrom === '' ? '' : envelopeAddress(envFrom, opts);
  // Duplicates dropped once the domains are in their wire form (bücher.example = xn--bcher-kva.example).
  const to = dedupe(envTo.map((a) => envelopeAddress(a, opts)));

  let head = '';
  head += foldHeader('From', formatMailboxes(m.from, opts));
  if (m.sender.length) head += foldHeader('Sender', formatMailboxes(m.sender, opts));
  if (m.to.length) head += foldHeader('To', formatMailboxes(m.to, opts));
  if (m.cc.length) head += foldHeader('Cc', formatMailboxes(m.cc, opts));
  if (m.replyTo.length) head += foldHeader('Reply-To', formatMailboxes(m.replyTo, opts));
  if (m.subject !== undefined) head += foldHeader('Subject', unstructured(m.subject));
  head += `Date: ${formatDate(m.date)}\r\n`;
  head += foldHeader('Message-ID', m.messageId ?? newMessageId(m.from[0]!.address, random));
  if (m.inReplyTo !== undefined) head += foldHeader('In-Reply-To', m.inReplyTo);
  if (m.references.length) head += foldHeader('References', m.references.join(' '));
  for (const line of PRIORITY[m.priority]) head += `${line}\r\n`;
  if (m.unsubscribe) {
    head += foldHeader('List-Unsubscribe', m.unsubscribe.urls.map((u) => `<${u}>`).join(', '));
    if (m.unsubscribe.oneClick) head += 'List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n';
  }
  for (const [name, value] of m.headers) head += foldHeader(name, unstructured(value));
  head += 'MIME-Version: 1.0\r\n';

  let eightBit = false;
  const textLeaf = (content: string, type: string, params: string[] = []): Leaf => {
    const bytes = textToCrlfBytes(content);
    const cte = chooseTextEncoding(bytes, eightBitMime);
    if (cte === '8bit') eightBit = true;
    return {
      kind: 'leaf',
      headers: mimeHeader('Content-Type', type, ['charset=utf-8', ...params]) + `Content-Transfer-Encoding: ${cte}\r\n`,
      body: { kind: 'bytes', bytes: encodeBody(bytes, cte) },
    };
  };

  const inline = m.html !== undefined ? m.attachments.filter((a) => a.cid !== undefined) : [];
  const attached = m.attachments.filter((a) => !inline.includes(a));
  const alternatives: MimePart[] = [];
  if (m.text !== undefined) alternatives.push(textLeaf(m.text, 'text/plain'));
  if (m.html !== undefined) {
    const html = textLeaf(m.html, 'text/html');
    alternatives.push(
      inline.length
        ? {
            kind: 'multipart',
            subtype: 'related',
            parts: [html, ...inline.map((a) => attachmentLeaf(a, true))],
            params: ['type="text/html"'],
          }
        : html,
    );
  }
  if (m.ical) alternatives.push(textLeaf(m.ical.content, 'text/calendar', [`method=${m.ical.method}`]));
  if (alternatives.length === 0) alternatives.push(textLeaf('', 'text/plain'));
  const main: MimePart = alternatives.length === 1 ? alternatives[0]! : { kind: 'multipart', subtype: 'alternative', parts: alternatives };
  const root: MimePart = attached.length
    ? { kind: 'multipart', subtype: 'mixed', parts: [main, ...attached.map((a) => attachmentLeaf(a, false))] }
    : main;

  const boundaries = assignBoundaries(root, random);
  head += headersOf(root, boundaries);
  const headBytes = encoder.encode(`${head}\r\n`);
  const hasUtf8Header = headBytes.some((b) => b >= 0x80);
  const size = bodySize(root, boundaries);
  const body: AsyncIterable<Uint8Array> = {
    async *[Symbol.asyncIterator]() {
      yield headBytes;
      yield* renderBody(root, boundaries);
    },
  };
  return {
    from,
    to,
    body,
    bytes: () => {
      const pieces = inMemory(root, boundaries);
      return pieces === undefined ? undefined : joinBytes([headBytes, ...pieces]);
    },
    size: size === undefined ? undefined : headBytes.length + size,
    eightBit: eightBit || hasUtf8Header,
    smtpUtf8: hasUtf8Header || [from, ...to].some((a) => /[^\x00-\x7f]/.test(a)),
  };
}

/** An unstructured value: RFC 2047 words where it is not plain ASCII (always valid, with or
 *  without SMTPUTF8). */
function unstructured(value: string): string {
  return encodeWords(value);
}

function attachmentLeaf(a: Attachment, related: boolean): Leaf {
  const type = a.contentType ?? contentTypeFor(a.filename);
  const params = a.filename !== undefined ? formatParam('name', a.filename) : [];
  if (typeof a.content === 'string' && type.startsWith('text/')) params.unshift('charset=utf-8');
  let headers = mimeHeader('Content-Type', type, params);
  headers += 'Content-Transfer-Encoding: base64\r\n';
  // Inline by default only inside multipart/related: elsewhere an inline part without a name
  // is taken for body text by readers.
  const disposition = a.contentDisposition ?? (related ? 'inline' : 'attachment');
  headers += mimeHeader('Content-Disposition', disposition, a.filename !== undefined ? formatParam('filename', a.filename) : []);
  if (a.cid !== undefined) headers += `Content-ID: <${a.cid}>\r\n`;
  // Bytes and text are in memory already: encode them now (the size is then known and the
  // message can be rendered in one piece); streams are encoded as they are read.
  if (typeof a.content === 'string' || a.content instanceof Uint8Array) {
    const bytes = typeof a.content === 'string' ? encoder.encode(a.content) : a.content;
    return { kind: 'leaf', headers, body: { kind: 'bytes', bytes: encodeBase64Lines(bytes, true) } };
  }
  const raw = contentSize(a.content) ?? a.size;
  return {
    kind: 'leaf',
    headers,
    body: {
      kind: 'stream',
      size: raw === undefined ? undefined : base64Size(raw),
      open: () => base64Stream(a.content, raw),
    },
  };
}

async function* base64Stream(content: AttachmentContent, declared: number | undefined): AsyncGenerator<Uint8Array> {
  const enc = new Base64LineEncoder();
  let total = 0;
  for await (const chunk of openContent(content)) {
    total += chunk.length;
    if (declared !== undefined && total > declared)
      throw new SmtpUsageError(`an attachment gave more than the ${declared} octets its size declared`);
    const out = enc.push(chunk);
    if (out.length) yield out;
  }
  if (declared !== undefined && total !== declared)
    throw new SmtpUsageError(`an attachment gave ${total} octets, not the ${declared} its size declared`);
  const last = enc.end();
  if (last.length) yield last;
}

// Random left part at the From domain, in A-labels so the id is ASCII for every server.
function newMessageId(fromAddress: string, random: (n: number) => Uint8Array): string {
  const hex = Array.from(random(16), (b) => b.toString(16).padStart(2, '0')).join('');
  const domain = fromAddress.slice(fromAddress.lastIndexOf('@') + 1);
  return `<${hex}@${/^\[/.test(domain) ? domain : domainToAscii(domain)}>`;
}

/** RFC 5322 §3.3 date-time, always in UTC. */
export function formatDate(d: Date): string {
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getUTCDay()]}, ${p2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`
  );
}

// Domains are case-insensitive, local parts are not (RFC 5321 §2.4).
function dedupe(addresses: string[]): string[] {
  const seen = new Set<string>();
  return addresses.filter((a) => {
    const at = a.lastIndexOf('@');
    const key = `${a.slice(0, at)}@${a.slice(at + 1).toLowerCase()}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
