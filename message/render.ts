// Rendering a checked message for one server: its SMTPUTF8 and 8BITMIME change the octets
// (UTF-8 or A-label domains and RFC 2047 words in headers, 8bit or quoted-printable bodies), so
// this runs once they are known, after EHLO (the client calls it).
import { joinBytes } from '../core/bytes.ts';
import { SmtpUsageError } from '../core/errors.ts';
import { envelopeAddress, formatMailboxes } from './address.ts';
import { openContent, contentSize, type AttachmentContent } from './content.ts';
import { contentTypeFor, formatParam, mimeHeader } from './content-type.ts';
import { Base64LineEncoder, base64Size, chooseTextEncoding, encodeBase64Lines, encodeBody, textToCrlfBytes } from './encoding.ts';
import { encodeWords, foldHeader } from './header.ts';
import { domainToAscii } from './idn.ts';
import { assignBoundaries, bodySize, headersOf, inMemory, renderBody, type Leaf, type MimePart } from './mime.ts';
import type { Checked } from './check.ts';
import type { Attachment, RenderedMessage, RenderTarget } from './options.ts';

const PRIORITY = {
  high: ['X-Priority: 1 (Highest)', 'Importance: High'],
  low: ['X-Priority: 5 (Lowest)', 'Importance: Low'],
  normal: [],
} as const;
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const encoder = new TextEncoder();

export function render(m: Checked, target: RenderTarget): RenderedMessage {
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
export function dedupe(addresses: string[]): string[] {
  const seen = new Set<string>();
  return addresses.filter((a) => {
    const at = a.lastIndexOf('@');
    const key = `${a.slice(0, at)}@${a.slice(at + 1).toLowerCase()}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
