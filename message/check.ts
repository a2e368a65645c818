// The message builder's checks: every option buildMessage() takes, checked and normalised into
// what render() writes from (RFC 5322 fields, msg-ids, attachments, List-Unsubscribe, iCalendar).
import { SmtpAddressError, SmtpUsageError } from '../core/errors.ts';
import { printable, utf8 } from '../core/text.ts';
import { toMailboxes, type AddressInput, type Mailbox } from './address.ts';
import { assertContent } from './content.ts';
import { assertMediaType } from './content-type.ts';
import { assertHeaderName, assertNoControls, HARD_LINE } from './header.ts';
import type { Attachment, CalendarEvent, ListUnsubscribe, MessageOptions } from './options.ts';

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
// RFC 5322 §3.6.4 msg-id: dot-atom-text "@" (dot-atom-text / no-fold-literal), without CFWS.
// ASCII only, so an id is valid with or without SMTPUTF8.
const MSG_ID = /^<?([A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+@(?:[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+|\[[\x21-\x5a\x5e-\x7e]*\]))>?$/;

// These go into a header unfolded (a msg-id, a URI, a Content-ID cannot be split), so each must
// fit on one line with its field name (RFC 5322 §2.1.1: 998 octets): refused here, at build
// time, not when the message is rendered for a server.
const MAX_MSG_ID = HARD_LINE - 'In-Reply-To: '.length; // with its angle brackets
const MAX_CID = HARD_LINE - 'Content-ID: <>'.length;
const MAX_URI = HARD_LINE - 'List-Unsubscribe: <>,'.length;
const MAX_ADDRESS_RUN = HARD_LINE - 'Reply-To: <>,'.length;

export interface Checked {
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

/** Every option checked (a bad address, header or attachment throws SmtpUsageError here, before
 *  any connection) and normalised for render(). */
export function checkOptions(options: MessageOptions): Checked {
  if (options === null || typeof options !== 'object') throw new SmtpUsageError('message options must be an object');
  const o = options;
  const list = (v: AddressInput | undefined, field: string): Mailbox[] => {
    const out = v === undefined ? [] : toMailboxes(v, field);
    if (field !== 'bcc') for (const m of out) assertAddressFits(m.address, field);
    return out;
  };
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
  if (o.references !== undefined && typeof o.references !== 'string' && !Array.isArray(o.references as unknown))
    throw new SmtpUsageError('references must be a message id, a string of them or an array of them');
  const refs =
    o.references === undefined ? [] : typeof o.references === 'string' ? o.references.split(/\s+/).filter(Boolean) : [...o.references];
  const references = refs.map((r) => msgId(r, 'references'));
  const priority = o.priority ?? 'normal';
  if (priority !== 'low' && priority !== 'normal' && priority !== 'high') throw new SmtpUsageError('priority must be low, normal or high');
  const text = optionalText(o.text, 'text');
  const html = optionalText(o.html, 'html');
  if (o.attachments !== undefined && !Array.isArray(o.attachments)) throw new SmtpUsageError('attachments must be an array');
  const attachments = (o.attachments ?? []).map(checkAttachment);
  const envelope = o.envelope === undefined ? undefined : checkEnvelope(o.envelope);
  if (envelope === undefined && to.length + cc.length + bcc.length === 0)
    throw new SmtpUsageError('no recipient: give to, cc or bcc (or an envelope)');
  return {
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
  };
}

// An address cannot be folded except at the white space of a quoted local part: its longest
// run must fit a header line, in UTF-8 (SMTPUTF8) and with the domain in A-labels (up to 253).
function assertAddressFits(address: string, field: string): void {
  const at = address.lastIndexOf('@');
  const runs = address.slice(0, at).split(/[ \t]/);
  const domain = address.slice(at + 1);
  const last = utf8(runs.pop()!).length + 1 + Math.max(utf8(domain).length, /[^\x00-\x7f]/.test(domain) ? 253 : 0);
  if (Math.max(last, ...runs.map((r) => utf8(r).length)) > MAX_ADDRESS_RUN) {
    throw new SmtpAddressError(
      `${field}: address "${printable(address.slice(0, 60))}..." is too long for a header line (${MAX_ADDRESS_RUN} octets): shorten it`,
    );
  }
}

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
  if (m[1]!.length + 2 > MAX_MSG_ID)
    throw new SmtpUsageError(`${field} is longer than a header line holds (${MAX_MSG_ID} characters): shorten it`);
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
  if (a.cid !== undefined && a.cid.length > MAX_CID)
    throw new SmtpUsageError(`${what}.cid is longer than a header line holds (${MAX_CID} characters): shorten it`);
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
  // The syntax now, not after EHLO; whether a UTF-8 local part may go is the server's (render).
  const syntax = (a: string, field: string): void => void toMailboxes({ address: a }, field);
  if (e.from !== '') syntax(e.from, 'envelope.from');
  for (const t of to) syntax(t, 'envelope.to');
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
    if (url.length > MAX_URI)
      throw new SmtpUsageError(`listUnsubscribe: a URI is longer than a header line holds (${MAX_URI} characters): shorten it`);
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
