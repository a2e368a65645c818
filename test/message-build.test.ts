// smtpwire/message, runtime-neutral (runs in Node, Deno, Bun and workerd: test/runtimes):
// property tests against postal-mime (an independent MIME parser in plain ECMAScript), header
// injection, the transfer encodings and the multipart structure. The mailparser round trip is
// in message-mailparser.test.ts (Node only).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import PostalMime from 'postal-mime';
import { BodyEncoder } from '../core/body.ts';
import { SmtpUsageError } from '../core/errors.ts';
import { buildMessage, type MessageOptions } from '../message/build.ts';
import { Base64LineEncoder, chooseTextEncoding, encodeBase64Lines, encodeQuotedPrintable, textToCrlfBytes } from '../message/encoding.ts';
import { expectedData, lines, messageSpec, optionsOf, wellFormed } from './message-arb.ts';
import { assertWireSafe, collect, headBlock } from './message-checks.ts';

const RUNS = 100;
const dec = new TextDecoder('utf-8', { ignoreBOM: true });
const enc = new TextEncoder();
const usage = (e: unknown): boolean => e instanceof SmtpUsageError;
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const fromBase64 = (s: string): Uint8Array => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const latin1 = (b: Uint8Array): string => Array.from(b, (x) => String.fromCharCode(x)).join('');

test('property: postal-mime reads the same text, html and attachments', async () => {
  await fc.assert(
    fc.asyncProperty(messageSpec, async (s) => {
      const r = buildMessage(optionsOf(s)).render({ smtpUtf8: s.smtpUtf8, eightBitMime: s.eightBitMime });
      const raw = await collect(r);
      const email = await PostalMime.parse(raw);
      assert.is(email.from?.address, s.from.address);
      assert.equal(
        (email.to ?? []).map((m) => m.address),
        s.to.map((m) => m.address),
      );
      // postal-mime adds a line break to the end of a part's text (always inside a multipart,
      // when there is none in a single part), so trailing line breaks are not compared here
      // (mailparser above compares them).
      const end = (t: string): string => lines(t).replace(/\n+$/, '');
      if (s.text !== undefined) assert.is(end(email.text ?? ''), end(wellFormed(s.text)));
      if (s.html !== undefined) assert.is(end(email.html ?? ''), end(wellFormed(s.html)));
      const atts = email.attachments.filter((a) => a.mimeType !== 'text/calendar');
      assert.is(atts.length, s.attachments.length);
      for (const a of s.attachments) {
        // postal-mime decodes encoded-words even in an RFC 2231 value; mailparser above checks those names.
        if (a.filename?.includes('=?')) continue;
        const want = expectedData(a);
        assert.ok(
          atts.some((p) => sameBytes(new Uint8Array(p.content as ArrayBuffer), want) && (p.filename ?? undefined) === a.filename),
          `attachment ${a.filename} (${a.kind})`,
        );
      }
    }),
    { numRuns: Math.ceil(RUNS / 2), includeErrorInReport: true },
  );
});

test('property: no CR, LF or NUL from any string option reaches a header (typed error, or folding white space read as such)', () => {
  const bad = fc
    .tuple(
      fc.string({ maxLength: 10 }),
      fc.constantFrom('\r', '\n', '\r\n', '\u0000', '\r\nBcc: x@evil.example'),
      fc.string({ maxLength: 10 }),
    )
    .map(([a, b, c]) => a + b + c);
  const field = fc.constantFrom(
    'from-name',
    'from',
    'to',
    'subject',
    'header',
    'filename',
    'cid',
    'messageId',
    'inReplyTo',
    'references',
    'replyTo',
    'unsubscribe',
    'ical-method',
    'contentType',
  );
  fc.assert(
    fc.property(field, bad, (f, v) => {
      const o: MessageOptions = { from: 'a@example.com', to: 'b@example.com', text: 'x' };
      switch (f) {
        case 'from-name':
          o.from = { name: v, address: 'a@example.com' };
          break;
        case 'from':
          o.from = `${v}@example.com`;
          break;
        case 'to':
          o.to = `B ${v} <b@example.com>`;
          break;
        case 'subject':
          o.subject = v;
          break;
        case 'header':
          o.headers = { 'X-Test': v };
          break;
        case 'filename':
          o.attachments = [{ content: 'x', filename: v }];
          break;
        case 'cid':
          o.attachments = [{ content: 'x', cid: v }];
          o.html = '<p>';
          break;
        case 'messageId':
          o.messageId = `<${v}@x.example>`;
          break;
        case 'inReplyTo':
          o.inReplyTo = `<${v}@x.example>`;
          break;
        case 'references':
          o.references = [`<${v}@x.example>`];
          break;
        case 'replyTo':
          o.replyTo = `${v} <r@example.com>`;
          break;
        case 'unsubscribe':
          o.listUnsubscribe = `https://x.example/${v}`;
          break;
        case 'ical-method':
          o.icalEvent = { content: 'BEGIN:VCALENDAR', method: v };
          break;
        case 'contentType':
          o.attachments = [{ content: 'x', contentType: `text/${v}` }];
          break;
      }
      let built;
      try {
        built = buildMessage(o);
      } catch (e) {
        assert.ok(usage(e), `${f}: ${JSON.stringify(v)}: ${String(e)}`);
        return;
      }
      // Only an address string (From, To, Reply-To are parsed as RFC 5322 address lists) may take
      // CRLF + WSP, as folding white space: then it is unfolded, and the message still has exactly
      // its own fields.
      assert.ok((f === 'from' || f === 'to' || f === 'replyTo') && /\r\n[ \t]/.test(`${v} `), `${f}: ${JSON.stringify(v)} was accepted`);
      const raw = built.render({ smtpUtf8: false, eightBitMime: false }).bytes()!;
      assertWireSafe(raw);
      const names = headBlock(raw)
        .trim()
        .split('\r\n')
        .map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
      assert.equal(names, [
        'from',
        'to',
        ...(f === 'replyTo' ? ['reply-to'] : []),
        'date',
        'message-id',
        'mime-version',
        'content-type',
        'content-transfer-encoding',
      ]);
    }),
    { numRuns: 400 },
  );
});

test('property: a long value either fits its header line or is refused by buildMessage (never at render)', () => {
  // Values that cannot be folded (a msg-id, a Content-ID, a URI, a media type) around the
  // 998-octet line limit, and foldable ones for contrast.
  const field = fc.constantFrom(
    'contentType',
    'cid',
    'messageId',
    'inReplyTo',
    'references',
    'unsubscribe',
    'subject',
    'filename',
    'name',
    'address',
    'quoted',
  );
  const size = fc.oneof(fc.integer({ min: 1, max: 130 }), fc.integer({ min: 960, max: 1010 }), fc.constant(3000));
  fc.assert(
    fc.property(field, size, (f, n) => {
      const x = 'x'.repeat(n);
      const o: MessageOptions = { from: 'a@example.com', to: 'b@example.com', text: 'x' };
      if (f === 'contentType') o.attachments = [{ content: 'x', contentType: `application/${x}` }];
      else if (f === 'cid') Object.assign(o, { html: '<p>', attachments: [{ content: 'x', cid: x }] });
      else if (f === 'messageId') o.messageId = `<${x}@x.example>`;
      else if (f === 'inReplyTo') o.inReplyTo = `<${x}@x.example>`;
      else if (f === 'references') o.references = [`<${x}@x.example>`];
      else if (f === 'unsubscribe') o.listUnsubscribe = [`https://x.example/${x}`, 'mailto:u@example.com'];
      else if (f === 'subject') o.subject = x;
      else if (f === 'filename') o.attachments = [{ content: 'x', filename: x }];
      else if (f === 'address') o.to = `${x}@example.com`;
      else if (f === 'quoted')
        o.replyTo = `"${x.replace(/x{10}/g, 'x x ')}"@example.com`; // folds at its spaces
      else o.from = { name: x, address: 'a@example.com' };
      let built;
      try {
        built = buildMessage(o);
      } catch (e) {
        assert.ok(usage(e), String(e));
        assert.ok(n > 120 && /line|127 characters/.test((e as Error).message), `${f} ${n}: ${String(e)}`);
        return;
      }
      for (const target of [
        { smtpUtf8: false, eightBitMime: false },
        { smtpUtf8: true, eightBitMime: true },
      ]) {
        assertWireSafe(built.render(target).bytes()!); // render throws nothing; every line <= 998
      }
    }),
    { numRuns: 300 },
  );
});

test('envelope addresses are checked by buildMessage, not first when rendered after EHLO', () => {
  for (const envelope of [
    { from: 'a@example.com', to: 'not an address' },
    { from: 'bad', to: 'b@example.com' },
    { from: 'a@example.com', to: ['b@example.com', 'c@'] },
  ]) {
    assert.throws(() => buildMessage({ from: 'a@example.com', envelope }), usage, JSON.stringify(envelope));
  }
  // The null sender and a UTF-8 local part (the server's SMTPUTF8 decides, at render) are fine.
  buildMessage({ from: 'a@example.com', envelope: { from: '', to: ['b@example.com', 'jörg@bücher.example'] } });
});

test('property: a custom header name or value cannot add a field', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 }), (n, v) => {
      let built;
      try {
        built = buildMessage({ from: 'a@example.com', to: 'b@example.com', headers: { [n]: v } });
      } catch (e) {
        assert.ok(usage(e), String(e));
        return;
      }
      const raw = built.render({ smtpUtf8: false, eightBitMime: false }).bytes()!;
      assertWireSafe(raw);
      const head = headBlock(raw);
      // Exactly the builder's fields plus the one given.
      const names = head
        .trim()
        .split('\r\n')
        .map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
      assert.equal(
        names.filter((x) => !['from', 'to', 'date', 'message-id', 'mime-version', 'content-type', 'content-transfer-encoding'].includes(x)),
        [n.toLowerCase()],
      );
    }),
    { numRuns: 500 },
  );
});

// ---- encodings ------------------------------------------------------------------------------

test('property: text with lines near 998 octets, some starting with ".", goes through DATA (dot-stuffed, 998 at most)', () => {
  const line = fc.tuple(fc.constantFrom('', '.', '..'), fc.integer({ min: 990, max: 1000 }), fc.constantFrom('a', '\u00e9'));
  fc.assert(
    fc.property(fc.array(line, { minLength: 1, maxLength: 3 }), fc.boolean(), (ls, eightBitMime) => {
      const text = ls.map(([dots, n, c]) => dots + c.repeat(c === 'a' ? n - dots.length : (n - dots.length) >> 1)).join('\n');
      const raw = buildMessage({ from: 'a@example.com', to: 'b@example.com', text }).render({ smtpUtf8: false, eightBitMime }).bytes()!;
      // The client's DATA encoder refuses a line over 998 octets on the wire, counting the stuffed dot.
      const data = new BodyEncoder({ dotStuff: true, normalizeLineEndings: true });
      data.encode(raw);
      data.end();
    }),
    { numRuns: 200 },
  );
});

test('property: quoted-printable and base64 decode (atob, a hand-written QP reader) to the input; lines within limits', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (input) => {
      const crlf = textToCrlfBytes(latin1(input));
      const qp = dec.decode(encodeQuotedPrintable(crlf));
      for (const line of qp.split('\r\n')) assert.ok(line.length <= 76, `QP line of ${line.length}`);
      assert.not.match(qp, /[ \t]$/m);
      const decoded = qp.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
      assert.is(decoded, latin1(crlf));
      const b64 = dec.decode(encodeBase64Lines(input, true));
      for (const line of b64.split('\r\n')) assert.ok(line.length <= 76);
      assert.ok(sameBytes(fromBase64(b64.replace(/\r\n/g, '')), input));
    }),
    { numRuns: 300 },
  );
});

test('property: the streaming base64 encoder gives the same octets whatever the chunking', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1000 }), fc.array(fc.integer({ min: 0, max: 130 }), { maxLength: 20 }), (input, cuts) => {
      const e = new Base64LineEncoder();
      const out: number[] = [];
      let at = 0;
      for (const c of cuts) {
        out.push(...e.push(input.subarray(at, at + c)));
        at = Math.min(input.length, at + c);
      }
      out.push(...e.push(input.subarray(at)), ...e.end());
      assert.ok(sameBytes(Uint8Array.from(out), encodeBase64Lines(input, true)));
    }),
    { numRuns: 300 },
  );
});

test('encoding choice: 7bit, 8bit only with 8BITMIME, QP for a long line, base64 for mostly non-ASCII', () => {
  assert.is(chooseTextEncoding(enc.encode('plain\r\ntext'), false), '7bit');
  const german = 'Viele Grüße aus Köln und einen schönen Tag noch';
  assert.is(chooseTextEncoding(enc.encode(german), false), 'quoted-printable');
  assert.is(chooseTextEncoding(enc.encode(german), true), '8bit');
  assert.is(chooseTextEncoding(enc.encode(`<p>${'x'.repeat(998)}</p>`), true), 'quoted-printable');
  assert.is(chooseTextEncoding(enc.encode('x'.repeat(998)), false), '7bit');
  assert.is(chooseTextEncoding(enc.encode('x'.repeat(999)), false), 'quoted-printable');
  assert.is(chooseTextEncoding(enc.encode('日本語のテキスト'), false), 'base64');
  assert.is(chooseTextEncoding(enc.encode('nul\u0000'), true), 'quoted-printable');
});

// ---- structure --------------------------------------------------------------------------------

test('structure: text + html + inline image + attachment + calendar', async () => {
  const built = buildMessage({
    from: { name: 'Ann Example', address: 'ann@example.com' },
    to: 'bob@example.org',
    subject: 'Plan',
    text: 'hi',
    html: '<img src="cid:logo@x">',
    attachments: [{ content: 'x', filename: 'x.txt' }],
  });
  // A random source that repeats itself cannot give the two different boundaries needed.
  assert.throws(() => built.render({ smtpUtf8: false, eightBitMime: false, random: (n) => new Uint8Array(n).fill(7) }), /boundary/);
  let k = 0;
  const r2 = buildMessage({
    from: 'ann@example.com',
    to: 'bob@example.org',
    text: 'hi',
    html: '<img src="cid:logo@x">',
    icalEvent: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR',
    attachments: [
      { content: new Uint8Array([1, 2, 3]), filename: 'logo.png', cid: 'logo@x' },
      { content: 'a,b\n', filename: 'data.csv' },
    ],
  }).render({ smtpUtf8: false, eightBitMime: false, random: (n) => new Uint8Array(n).fill(++k) });
  const text = dec.decode(r2.bytes());
  const types = [...text.matchAll(/^Content-Type: ([^;\r\n]+)/gm)].map((m) => m[1]);
  assert.equal(types, [
    'multipart/mixed',
    'multipart/alternative',
    'text/plain',
    'multipart/related',
    'text/html',
    'image/png',
    'text/calendar',
    'text/csv',
  ]);
  assert.match(text, /Content-Type: text\/calendar; charset=utf-8; method=REQUEST/);
  assert.match(text, /Content-Disposition: inline; filename=logo.png\r\nContent-ID: <logo@x>/);
  assert.match(text, /Content-Type: text\/csv; charset=utf-8; name=data.csv/);
});

test('a boundary found in the content is drawn again', () => {
  const first = `=_sw_${'07'.repeat(12)}`;
  let draws = 0;
  const random = (n: number): Uint8Array => new Uint8Array(n).fill(draws++ === 0 ? 7 : 9);
  const r = buildMessage({ from: 'a@example.com', to: 'b@example.org', text: `before\n--${first}\nafter`, html: '<p>x</p>' }).render({
    smtpUtf8: false,
    eightBitMime: false,
    random,
  });
  const text = dec.decode(r.bytes());
  assert.ok(text.includes(`boundary="=_sw_${'09'.repeat(12)}"`), 'the second draw is used');
  assert.not.ok(text.includes(`boundary="${first}"`));
  assert.is(draws, 2);
});

test('standard fields: Date, Message-ID, threading, priority, List-Unsubscribe one-click', () => {
  const head = (o: Partial<MessageOptions>): string =>
    headBlock(
      buildMessage({ from: 'Ann <ann@bücher.example>', to: 'b@example.org', text: 'x', ...o })
        .render({ smtpUtf8: false, eightBitMime: false, random: (n) => new Uint8Array(n).fill(0xab) })
        .bytes()!,
    );
  const h = head({
    date: new Date(Date.UTC(2026, 11, 3, 10, 5, 9)),
    inReplyTo: 'parent@example.org',
    references: '<a@x.example> <b@x.example>',
    priority: 'high',
    listUnsubscribe: ['https://example.com/u/1', 'mailto:u@example.com'],
  });
  assert.match(h, /^Date: Thu, 03 Dec 2026 10:05:09 \+0000\r$/m);
  assert.match(h, /^Message-ID: <(ab){16}@xn--bcher-kva\.example>\r$/m); // A-labels: an id is ASCII
  assert.match(h, /^In-Reply-To: <parent@example\.org>\r$/m);
  assert.match(h, /^References: <a@x\.example> <b@x\.example>\r$/m);
  assert.match(h, /^X-Priority: 1 \(Highest\)\r\nImportance: High\r$/m);
  assert.match(
    h,
    /^List-Unsubscribe: <https:\/\/example\.com\/u\/1>, <mailto:u@example\.com>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m,
  );
  assert.not.match(head({ listUnsubscribe: 'mailto:u@example.com' }), /List-Unsubscribe-Post/);
  assert.not.match(head({ listUnsubscribe: { url: 'https://example.com/u', oneClick: false } }), /List-Unsubscribe-Post/);
  assert.throws(() => head({ listUnsubscribe: { url: 'mailto:u@example.com', oneClick: true } }), usage);
  assert.throws(() => head({ listUnsubscribe: 'javascript:alert(1)' }), usage);
  assert.match(head({ messageId: 'given@example.com' }), /^Message-ID: <given@example\.com>\r$/m);
  assert.throws(() => head({ messageId: 'no at sign' }), usage);
  assert.throws(() => head({ priority: 'urgent' as 'high' }), usage);
  // Several authors need a Sender (RFC 5322 §3.6.2); the envelope sender is then the Sender.
  assert.throws(() => buildMessage({ from: ['a@example.com', 'b@example.com'], to: 'c@example.org' }), usage);
  assert.is(
    buildMessage({ from: ['a@example.com', 'b@example.com'], sender: 's@example.com', to: 'c@example.org' }).sender,
    's@example.com',
  );
});

test('a one-shot stream can be read once; a function gives a fresh one for every rendering', async () => {
  const once = buildMessage({
    from: 'a@example.com',
    to: 'b@example.org',
    attachments: [
      {
        filename: 'x.bin',
        content: (async function* () {
          yield new Uint8Array([1]);
        })(),
      },
    ],
  }).render({ smtpUtf8: false, eightBitMime: false });
  await collect(once);
  let err: unknown;
  try {
    await collect(once);
  } catch (e) {
    err = e;
  }
  assert.ok(usage(err), String(err));
  const again = buildMessage({
    from: 'a@example.com',
    to: 'b@example.org',
    attachments: [
      {
        filename: 'x.bin',
        content: () =>
          (async function* () {
            yield new Uint8Array([1]);
          })(),
      },
    ],
  }).render({ smtpUtf8: false, eightBitMime: false });
  assert.ok(sameBytes(await collect(again), await collect(again)));
});

test('an async content function (e.g. a fetch body on Workers) is awaited for each rendering', async () => {
  const data = enc.encode('fetched '.repeat(100));
  let opened = 0;
  const r = buildMessage({
    from: 'a@example.com',
    to: 'b@example.org',
    attachments: [
      {
        filename: 'f.txt',
        content: async () => {
          opened++;
          await Promise.resolve();
          return new ReadableStream<Uint8Array>({
            start(c) {
              c.enqueue(data);
              c.close();
            },
          });
        },
      },
    ],
  }).render({ smtpUtf8: false, eightBitMime: false });
  const first = await collect(r);
  assert.ok(sameBytes(first, await collect(r)));
  assert.is(opened, 2);
  const email = await PostalMime.parse(first);
  assert.ok(sameBytes(new Uint8Array(email.attachments[0]!.content as ArrayBuffer), data));
});

test('a declared attachment size makes the message size known; a content that differs fails', async () => {
  const content = () =>
    (async function* () {
      yield new Uint8Array(100).fill(1);
    })();
  const ok = buildMessage({ from: 'a@example.com', to: 'b@example.org', attachments: [{ filename: 'x.bin', content, size: 100 }] }).render({
    smtpUtf8: false,
    eightBitMime: false,
  });
  assert.is(ok.size, (await collect(ok)).length);
  const bad = buildMessage({ from: 'a@example.com', to: 'b@example.org', attachments: [{ filename: 'x.bin', content, size: 99 }] }).render({
    smtpUtf8: false,
    eightBitMime: false,
  });
  let err: unknown;
  try {
    await collect(bad);
  } catch (e) {
    err = e;
  }
  assert.ok(usage(err), String(err));
  assert.throws(() => buildMessage({ from: 'a@example.com', to: 'b@example.org', attachments: [{ content, size: -1 }] }), usage);
});

test('a { readInto } source that gives other than its declared size fails the message', async () => {
  const r = buildMessage({
    from: 'a@example.com',
    to: 'b@example.org',
    attachments: [{ filename: 'x.bin', content: { size: 10, readInto: async (b: Uint8Array) => ((b[0] = 1), 0) } }],
  }).render({ smtpUtf8: false, eightBitMime: false });
  let err: unknown;
  try {
    await collect(r);
  } catch (e) {
    err = e;
  }
  assert.match(String(err), /gave 0 octets, not the 10/);
});

test.run();
