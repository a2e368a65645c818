// Arbitrary message options for the property tests (test/message-mailparser.test.ts) and the interop
// suite (test/interop/message-suite.ts): display names, subjects, custom headers, text, HTML,
// calendar parts and attachments of every content kind, with the content each should read back.
import fc from './fc.ts';
import type { Attachment, MessageOptions } from '../message/build.ts';

const enc = new TextEncoder();
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|\p{Cs}/u;

export const clean = (s: string): boolean => !CONTROL.test(s);

// Display names for the address round trips (test/message-address.test.ts against our parser,
// test/message-python.test.ts against Python's email package): any text without controls, with
// the characters that need quoting or encoding. A tab is allowed unless `tab` is false (Python
// turns it into a space).
const CONTROLS_BUT_TAB = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]|\p{Cs}/u;
export function displayName({ tab }: { tab: boolean }): fc.Arbitrary<string> {
  const units = ['a', 'Z', ' ', ',', '"', '\\', '(', ')', '<', '>', '@', ':', ';', '.', '=?', '?=', 'Jr.'];
  units.push('\u00e9', '\u{1f600}', '\u{1f468}\u200d\u{1f469}', '\u4e2d', '\u05d0');
  if (tab) units.push('\t');
  return fc
    .oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ unit: fc.constantFrom(...units), maxLength: 30 }),
      fc.string({ unit: 'grapheme', maxLength: 30 }),
    )
    .filter((s) => !CONTROLS_BUT_TAB.test(s) && (tab || !s.includes('\t')));
}

const ulabel = fc
  .array(fc.constantFrom(...'abcxyz019\u00e4\u00f6\u00fc\u00df\u00e9\u4f8b\u5b50\u03b1\u0436'), { minLength: 1, maxLength: 10 })
  .map((a) => a.join(''));
/** Domains of one to three U-labels (and ASCII), under .example. */
export const domainName = fc.array(ulabel, { minLength: 1, maxLength: 3 }).map((ls) => `${ls.join('.')}.example`);
// Printable Unicode with the characters that need quoting or encoding in headers.
export const phrase = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }) },
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          '"',
          '\\',
          ',',
          ';',
          ':',
          '<',
          '>',
          '@',
          '(',
          ')',
          '[',
          ']',
          '.',
          ' ',
          '=?',
          '?=',
          '=?utf-8?q?x?=',
          'Ünïcödé',
          '日本語',
          '🙂',
          'Jr.',
        ),
      },
      { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z]{1,10}$/) },
    ),
    { maxLength: 8 },
  )
  .map((a) => a.join(''))
  .filter(clean);
export const name = phrase.map((s) => s.replace(/\s+/g, ' ').trim()).filter((s) => s.length > 0);
export const local = fc.stringMatching(/^[a-z0-9]{1,6}(?:[._+-][a-z0-9]{1,6}){0,2}$/);
export const domain = fc.constantFrom('example.com', 'example.org', 'mail.example.net', 'a.b.example');
export const address = fc.tuple(local, domain).map(([l, d]) => `${l}@${d}`);
export const mailbox = fc.record({ name: fc.option(name, { nil: undefined }), address });
export const mailboxes = fc.array(mailbox, { minLength: 1, maxLength: 3 });
const lineEnd = fc.constantFrom('\n', '\r\n', '\r');
export const bodyText = fc
  .array(
    fc.oneof(
      { weight: 5, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !/[\r\n]/.test(s)) },
      { weight: 3, arbitrary: lineEnd },
      { weight: 1, arbitrary: fc.constantFrom('.', '..', 'From me', '--', '--=_sw_', '=', '=3D', ' \t', 'ä', '\u0000') },
      { weight: 1, arbitrary: fc.integer({ min: 900, max: 2100 }).map((n) => 'x'.repeat(n)) },
      { weight: 1, arbitrary: fc.integer({ min: 300, max: 700 }).map((n) => 'é'.repeat(n)) },
    ),
    { maxLength: 30 },
  )
  .map((a) => a.join(''));
export const headerName = fc.stringMatching(/^X-[A-Za-z0-9]{1,12}(?:-[A-Za-z0-9]{1,8})?$/);
export const headerValue = fc
  .array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 10 }), fc.constantFrom(' ', 'Ü', 'x'.repeat(90))), {
    minLength: 1,
    maxLength: 8,
  })
  .map((a) => a.join('').replace(/\s+/g, ' ').trim())
  .filter((s) => s.length > 0 && clean(s));
export const filename = fc
  .tuple(
    phrase.filter((s) => s.trim().length > 0 && !/[/\\"]/.test(s)),
    fc.constantFrom('.pdf', '.png', '.txt', '.bin', '', '.tar.gz'),
  )
  .map(([b, e]) => `${b.trim()}${e}`);
export const bytes = fc.uint8Array({ maxLength: 3000 });

export type AttachmentKind = 'bytes' | 'text' | 'chunks' | 'readInto' | 'web';
export interface AttachmentSpec {
  kind: AttachmentKind;
  data: Uint8Array;
  text: string;
  filename: string | undefined;
  contentType: string | undefined;
  cid: boolean;
  chunk: number;
}
export const attachment: fc.Arbitrary<AttachmentSpec> = fc.record({
  kind: fc.constantFrom<AttachmentKind>('bytes', 'text', 'chunks', 'readInto', 'web'),
  data: bytes,
  text: fc.string({ unit: 'grapheme', maxLength: 200 }),
  filename: fc.option(filename, { nil: undefined }),
  contentType: fc.option(fc.constantFrom('application/pdf', 'image/png', 'application/x-thing', 'text/plain'), { nil: undefined }),
  cid: fc.boolean(),
  chunk: fc.integer({ min: 1, max: 400 }),
});

export function contentOf(a: AttachmentSpec): Attachment['content'] {
  const data = a.kind === 'text' ? enc.encode(a.text) : a.data;
  switch (a.kind) {
    case 'bytes':
      return a.data;
    case 'text':
      return a.text;
    case 'chunks':
      return () =>
        (async function* () {
          for (let i = 0; i < data.length; i += a.chunk) yield data.subarray(i, i + a.chunk);
        })();
    case 'readInto':
      return () => {
        let at = 0;
        return {
          size: data.length,
          readInto: async (buf: Uint8Array) => {
            const n = Math.min(buf.length, a.chunk, data.length - at);
            buf.set(data.subarray(at, at + n));
            at += n;
            return n;
          },
        };
      };
    case 'web':
      return () =>
        new ReadableStream<Uint8Array>({
          start(c) {
            for (let i = 0; i < data.length; i += a.chunk) c.enqueue(data.slice(i, i + a.chunk));
            c.close();
          },
        });
  }
}

export const messageSpec = fc.record({
  from: mailbox,
  to: mailboxes,
  cc: fc.option(mailboxes, { nil: undefined }),
  bcc: fc.option(
    fc.array(
      fc.tuple(local, domain).map(([l, d]) => `bcc-${l}@${d}`),
      { minLength: 1, maxLength: 2 },
    ),
    { nil: undefined },
  ),
  replyTo: fc.option(mailbox, { nil: undefined }),
  subject: fc.option(phrase, { nil: undefined }),
  text: fc.option(bodyText, { nil: undefined }),
  html: fc.option(
    bodyText.map((t) => `<p>${t}</p>`),
    { nil: undefined },
  ),
  ical: fc.option(fc.constant('BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n'), { nil: undefined }),
  headers: fc.uniqueArray(fc.tuple(headerName, headerValue), { maxLength: 3, selector: ([n]) => n.toLowerCase() }),
  attachments: fc.array(attachment, { maxLength: 4 }),
  priority: fc.constantFrom<'low' | 'normal' | 'high' | undefined>(undefined, 'low', 'normal', 'high'),
  smtpUtf8: fc.boolean(),
  eightBitMime: fc.boolean(),
});
export type Spec = typeof messageSpec extends fc.Arbitrary<infer T> ? T : never;

export function optionsOf(s: Spec): MessageOptions {
  return {
    from: s.from,
    to: s.to,
    ...(s.cc ? { cc: s.cc } : {}),
    ...(s.bcc ? { bcc: s.bcc } : {}),
    ...(s.replyTo ? { replyTo: s.replyTo } : {}),
    ...(s.subject !== undefined ? { subject: s.subject } : {}),
    ...(s.text !== undefined ? { text: s.text } : {}),
    ...(s.html !== undefined ? { html: s.html } : {}),
    ...(s.ical !== undefined ? { icalEvent: s.ical } : {}),
    ...(s.priority ? { priority: s.priority } : {}),
    headers: s.headers,
    attachments: s.attachments.map((a, i) => ({
      content: contentOf(a),
      ...(a.filename !== undefined ? { filename: a.filename } : {}),
      // Inline parts are images: readers take an inline text part without a name for body text.
      ...(a.cid
        ? { cid: `part${i}@test.example`, contentType: 'image/png' }
        : a.contentType !== undefined
          ? { contentType: a.contentType }
          : {}),
    })),
    date: new Date(Date.UTC(2026, 11, 3, 10, 0, 0)),
  };
}

// What a reader gets back: line endings are the message's business, so compare with \n.
export const lines = (s: string): string => s.replace(/\r\n|\r/g, '\n').replace(/\u0000/g, '\u0000');
export const wellFormed = (s: string): string => s.replace(/\p{Cs}/gu, '\ufffd');
export const expectedData = (a: AttachmentSpec): Uint8Array => (a.kind === 'text' ? enc.encode(a.text) : a.data);
