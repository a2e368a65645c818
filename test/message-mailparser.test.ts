// smtpwire/message against an independent MIME parser, mailparser (nodemailer's; Node only; the
// runtime-neutral tests with postal-mime are in message-build.test.ts). The property test builds
// messages from any mix of display names, subjects, custom headers, text, HTML, calendar parts
// and attachments (in memory and streamed), renders them for servers with and without
// SMTPUTF8/8BITMIME, and checks that mailparser reads back the same content, that no line passes
// 998 octets, that no CR or LF stands alone and that Bcc never appears.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { simpleParser, type ParsedMail, type AddressObject } from 'mailparser';
import libmime from 'libmime';
import { domainToASCII, domainToUnicode } from 'node:url';
import { buildMessage } from '../message/build.ts';
import { contentTypeFor } from '../message/content-type.ts';
import { expectedData, lines, local, messageSpec, name, optionsOf, wellFormed, type Spec } from './message-arb.ts';
import { assertWireSafe, collect, headBlock } from './message-checks.ts';

const RUNS = Number(process.env.MESSAGE_RUNS ?? 300);
const dec = new TextDecoder('utf-8', { ignoreBOM: true });

const parse = (raw: Uint8Array): Promise<ParsedMail> =>
  (simpleParser as unknown as (s: Buffer, o: object) => Promise<ParsedMail>)(Buffer.from(raw), {
    keepCidLinks: true,
    skipTextToHtml: true,
    skipHtmlToText: true,
  });

const addrList = (v: AddressObject | AddressObject[] | undefined): { name: string; address: string }[] =>
  (v === undefined ? [] : Array.isArray(v) ? v : [v]).flatMap((o) => o.value).map((m) => ({ name: m.name, address: m.address ?? '' }));

function checkAgainstSpec(s: Spec, parsed: ParsedMail, raw: Uint8Array): void {
  const want = (list: { name?: string | undefined; address: string }[]) => list.map((m) => ({ name: m.name ?? '', address: m.address }));
  assert.equal(addrList(parsed.from), want([s.from]));
  assert.equal(addrList(parsed.to), want(s.to));
  assert.equal(addrList(parsed.cc), want(s.cc ?? []));
  assert.equal(addrList(parsed.replyTo), want(s.replyTo ? [s.replyTo] : []));
  // Leading and trailing white space of an unstructured field is not content (RFC 5322 §2.2.3).
  if (s.subject !== undefined && s.subject.trim() !== '') assert.is(parsed.subject?.trim(), s.subject.trim(), 'subject');
  // mailparser leaves fields it does not know raw: its own RFC 2047 decoder (libmime) reads them.
  for (const [n, v] of s.headers) assert.is(libmime.decodeWords(String(parsed.headers.get(n.toLowerCase()))), v, `header ${n}`);
  const head = headBlock(raw);
  assert.not.match(head, /^bcc:/im);
  for (const b of s.bcc ?? []) assert.not.ok(dec.decode(raw).includes(b), 'a Bcc address is in the message');
  // mailparser reads an empty part inside a multipart as one line break (its quirk).
  const read = (got: string | false | undefined, want: string): string => (want === '' && got === '\n' ? '' : lines(got || ''));
  if (s.text !== undefined) assert.is(read(parsed.text, s.text), lines(wellFormed(s.text)), 'text');
  if (s.html !== undefined) assert.is(read(parsed.html, s.html), lines(wellFormed(s.html)), 'html');
  const inlineOk = s.html !== undefined;
  const atts = parsed.attachments.filter((a) => a.contentType !== 'text/calendar');
  assert.is(atts.length, s.attachments.length, 'attachment count');
  // mailparser lists related (inline) parts where they appear: compare by cid, then the others by
  // content and name. The parts with a cid go first: an attachment without one may have the same
  // content and name as an inline part (both empty, say) and must not take that part.
  const remaining = [...atts];
  const withCid = (i: number): boolean => s.attachments[i]!.cid && inlineOk;
  const order = s.attachments.map((_, i) => i).sort((x, y) => Number(withCid(y)) - Number(withCid(x)));
  order.forEach((i) => {
    const a = s.attachments[i]!;
    const cid = withCid(i) ? `part${i}@test.example` : undefined;
    const idx = remaining.findIndex((p) =>
      cid ? p.cid === cid : Buffer.from(p.content).equals(Buffer.from(expectedData(a))) && p.filename === a.filename,
    );
    assert.ok(idx >= 0, `attachment ${i} (${a.kind}, ${a.filename}) not found`);
    const got = remaining.splice(idx, 1)[0]!;
    assert.ok(Buffer.from(got.content).equals(Buffer.from(expectedData(a))), `attachment ${i} content`);
    assert.is(got.filename, a.filename, `attachment ${i} filename`);
    const want = a.cid ? 'image/png' : (a.contentType ?? contentTypeFor(a.filename));
    // mailparser replaces application/octet-stream with its own guess from the file name
    // (libmime.detectMimeType: a file named "S" becomes text/x-asm): compare with that guess there.
    const seen = want === 'application/octet-stream' && a.filename ? libmime.detectMimeType(a.filename) || want : want;
    assert.is(got.contentType, seen, `attachment ${i} type`);
  });
}

// ---- the properties ---------------------------------------------------------------------------

// An attachment and an inline part alike but for the cid (both empty, unnamed), the attachment first.
const emptyPart = { kind: 'bytes' as const, data: new Uint8Array(0), text: '', filename: undefined, contentType: undefined, chunk: 1 };
const twinParts: Spec = {
  from: { name: undefined, address: 'a@example.com' },
  to: [{ name: undefined, address: 'b@example.com' }],
  cc: undefined,
  bcc: undefined,
  replyTo: undefined,
  subject: undefined,
  text: undefined,
  html: '<p></p>',
  ical: undefined,
  headers: [],
  priority: undefined,
  smtpUtf8: false,
  eightBitMime: false,
  attachments: [
    { ...emptyPart, cid: false },
    { ...emptyPart, cid: true },
  ],
};

test('property: any message round-trips through mailparser, wire-safe, Bcc never written', async () => {
  await fc.assert(
    fc.asyncProperty(messageSpec, async (s) => {
      const built = buildMessage(optionsOf(s));
      const r = built.render({ smtpUtf8: s.smtpUtf8, eightBitMime: s.eightBitMime });
      const raw = await collect(r);
      assertWireSafe(raw);
      if (r.size !== undefined) assert.is(raw.length, r.size, 'declared size');
      const whole = r.bytes();
      if (whole) assert.ok(Buffer.from(whole).equals(Buffer.from(raw)), 'bytes() = the stream');
      if (!s.eightBitMime && !s.smtpUtf8)
        assert.ok(
          raw.every((b) => b < 0x80),
          'no 8-bit octet for a 7-bit server',
        );
      if (!r.eightBit)
        assert.ok(
          raw.every((b) => b < 0x80),
          'eightBit says false but the message has 8-bit octets',
        );
      const want = [...s.to, ...(s.cc ?? [])].map((m) => m.address).concat(s.bcc ?? []);
      assert.equal(
        r.to,
        [...new Set(want.map((a) => a.toLowerCase()))].map((k) => want.find((a) => a.toLowerCase() === k)!),
      );
      assert.is(r.from, s.from.address);
      const parsed = await parse(raw);
      checkAgainstSpec(s, parsed, raw);
    }),
    { numRuns: RUNS, includeErrorInReport: true, examples: [[twinParts]] },
  );
});

test("property: international domains and names: UTF-8 with SMTPUTF8, A-labels (as Node's UTS #46 makes them) without", async () => {
  const idn = fc.constantFrom(
    'bücher.example',
    'münchen.example.de',
    '例え.テスト',
    'xn--bcher-kva.example',
    'παράδειγμα.δοκιμή',
    'example.com',
  );
  const box = fc.record({ name: fc.option(name, { nil: undefined }), address: fc.tuple(local, idn).map(([l, d]) => `${l}@${d}`) });
  await fc.assert(
    fc.asyncProperty(box, fc.array(box, { minLength: 1, maxLength: 3 }), fc.boolean(), async (from, to, smtpUtf8) => {
      const r = buildMessage({ from, to, subject: 'x', text: 'x' }).render({ smtpUtf8, eightBitMime: smtpUtf8 });
      const raw = r.bytes()!;
      assertWireSafe(raw);
      const ascii = (a: string): string => `${a.slice(0, a.lastIndexOf('@'))}@${domainToASCII(a.slice(a.lastIndexOf('@') + 1))}`;
      const expect = (a: string): string => (smtpUtf8 ? a : ascii(a));
      assert.is(r.from, expect(from.address));
      assert.equal(r.to, [...new Set(to.map((m) => expect(m.address)))]);
      if (!smtpUtf8)
        assert.ok(
          raw.every((b) => b < 0x80),
          'ASCII headers for a server without SMTPUTF8',
        );
      const head = headBlock(raw);
      for (const m of [from, ...to]) assert.ok(head.includes(expect(m.address)), `${expect(m.address)} in the header`);
      // mailparser shows every domain in U-labels (it decodes A-labels): compare in that form.
      const unicode = (a: string): string =>
        `${a.slice(0, a.lastIndexOf('@'))}@${domainToUnicode(domainToASCII(a.slice(a.lastIndexOf('@') + 1)))}`;
      const parsed = await parse(raw);
      assert.equal(addrList(parsed.from), [{ name: from.name ?? '', address: unicode(from.address) }]);
      assert.equal(
        addrList(parsed.to),
        to.map((m) => ({ name: m.name ?? '', address: unicode(m.address) })),
      );
    }),
    { numRuns: Math.ceil(RUNS / 2), includeErrorInReport: true },
  );
});

test.run();
