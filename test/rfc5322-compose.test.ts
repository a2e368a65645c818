import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { composeMessage, encodeQuotedPrintable, type ComposeInput } from '../core/compose.ts';
import { SmtpUsageError } from '../core/errors.ts';

const usage = (e: unknown): boolean => e instanceof SmtpUsageError;
// ignoreBOM: a U+FEFF the message carries (e.g. a subject that starts with one) is content.
const text = (b: Uint8Array): string => new TextDecoder('utf-8', { ignoreBOM: true }).decode(b);
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const base = (over: Partial<ComposeInput> = {}): ComposeInput => ({
  from: 'sender@example.com',
  to: ['rcpt@example.org'],
  subject: 'Hello',
  text: 'Hi there.\r\n',
  date: new Date(Date.UTC(2024, 1, 29, 13, 5, 9)),
  messageIdRandom: Uint8Array.from({ length: 16 }, (_, i) => i * 17),
  eightBit: false,
  ...over,
});

interface Parsed {
  names: string[];
  fields: Map<string, string>; // lower-case name -> unfolded value (one leading space dropped)
  rawHead: string;
  body: string;
}

function parse(message: Uint8Array): Parsed {
  const s = text(message);
  const sep = s.indexOf('\r\n\r\n');
  assert.ok(sep > 0, 'header block ends with an empty line');
  const rawHead = s.slice(0, sep);
  const names: string[] = [];
  const fields = new Map<string, string>();
  for (const line of rawHead.replace(/\r\n(?=[ \t])/g, '').split('\r\n')) {
    const colon = line.indexOf(':');
    assert.ok(colon > 0, `header line ${JSON.stringify(line)}`);
    const name = line.slice(0, colon);
    names.push(name);
    const v = line.slice(colon + 1);
    fields.set(name.toLowerCase(), v.startsWith(' ') ? v.slice(1) : v);
  }
  return { names, fields, rawHead, body: s.slice(sep + 4) };
}

function hasBareCrOrLf(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x0d && b[i + 1] !== 0x0a) return true;
    if (b[i] === 0x0a && b[i - 1] !== 0x0d) return true;
  }
  return false;
}

function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** RFC 2047 decoding of a value that is either all encoded-words or plain text. */
function decodeWords(value: string): string {
  const words = /^(?:\s*=\?UTF-8\?B\?[A-Za-z0-9+/=]*\?=)+$/.test(value) ? value.trim().split(/\s+/) : undefined;
  if (!words) return value;
  return words
    .map((w) => {
      assert.ok(w.length <= 75, `encoded-word longer than 75: ${w}`);
      // Each word must hold whole UTF-8 sequences (RFC 2047 §5 rule 3): fatal decode per word.
      return strictUtf8.decode(fromBase64(w.slice('=?UTF-8?B?'.length, -2)));
    })
    .join('');
}

function decodeQuotedPrintable(s: string): Uint8Array {
  const joined = s.replace(/=\r\n/g, '');
  const out: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    if (joined[i] === '=') {
      out.push(parseInt(joined.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(joined.charCodeAt(i));
  }
  return Uint8Array.from(out);
}

const EXPECTED_BASE = ['Date', 'Message-ID', 'From', 'To', 'Subject', 'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding'];

test('standard headers', () => {
  const p = parse(composeMessage(base({ cc: ['cc1@example.net', 'cc2@example.net'] })));
  assert.equal(p.names, ['Date', 'Message-ID', 'From', 'To', 'Cc', 'Subject', 'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding']);
  assert.is(p.fields.get('date'), 'Thu, 29 Feb 2024 13:05:09 +0000');
  assert.is(p.fields.get('message-id'), '<00112233445566778899aabbccddeeff@example.com>');
  assert.is(p.fields.get('from'), 'sender@example.com');
  assert.is(p.fields.get('to'), 'rcpt@example.org');
  assert.is(p.fields.get('cc'), 'cc1@example.net, cc2@example.net');
  assert.is(p.fields.get('subject'), 'Hello');
  assert.is(p.fields.get('mime-version'), '1.0');
  assert.is(p.fields.get('content-type'), 'text/plain; charset=utf-8');
  assert.is(p.fields.get('content-transfer-encoding'), '7bit');
  assert.is(p.body, 'Hi there.\r\n');
  assert.is(
    parse(composeMessage(base({ date: new Date(Date.UTC(2001, 0, 7, 0, 0, 0)) }))).fields.get('date'),
    'Sun, 07 Jan 2001 00:00:00 +0000',
  );
});

test('addresses are written as in the envelope, long lists folded', () => {
  const to = Array.from({ length: 12 }, (_, i) => `recipient.number.${i}@a-rather-long-domain.example.com`);
  const msg = composeMessage(base({ to: ['john doe@example.com', ...to] }));
  const p = parse(msg);
  assert.is(p.fields.get('to'), ['"john doe"@example.com', ...to].join(', '));
  for (const line of p.rawHead.split('\r\n')) assert.ok(line.length <= 78, line);
});

test('priority high/low: X-Priority and Importance; normal adds neither; anything else is a usage error', () => {
  const high = parse(composeMessage(base({ priority: 'high' })));
  assert.is(high.fields.get('x-priority'), '1 (Highest)');
  assert.is(high.fields.get('importance'), 'High');
  const low = parse(composeMessage(base({ priority: 'low' })));
  assert.is(low.fields.get('x-priority'), '5 (Lowest)');
  assert.is(low.fields.get('importance'), 'Low');
  for (const p of [parse(composeMessage(base({ priority: 'normal' }))), parse(composeMessage(base()))]) {
    assert.not.ok(p.fields.has('x-priority'));
    assert.not.ok(p.fields.has('importance'));
  }
  assert.throws(() => composeMessage(base({ priority: 'urgent' as 'high' })), usage);
});

test('subject: RFC 2047 encoded-words when not ASCII', () => {
  const p = parse(composeMessage(base({ subject: 'Grüße' })));
  assert.is(
    p.rawHead.split('\r\n').find((l) => l.startsWith('Subject:')),
    'Subject: =?UTF-8?B?R3LDvMOfZQ==?=',
  );
  assert.is(decodeWords(p.fields.get('subject')!), 'Grüße');
  // Text that merely looks like an encoded-word is encoded, so readers show it literally.
  assert.is(decodeWords(parse(composeMessage(base({ subject: '=?UTF-8?B?YQ==?=' }))).fields.get('subject')!), '=?UTF-8?B?YQ==?=');
  // A long ASCII subject is folded at spaces, not encoded.
  const long = 'word '.repeat(40).trim();
  const q = parse(composeMessage(base({ subject: long })));
  assert.is(q.fields.get('subject'), long);
  assert.ok(q.rawHead.split('\r\n').every((l) => l.length <= 78));
  assert.is(parse(composeMessage(base({ subject: '' }))).fields.get('subject'), '');
});

test('subject: a leading U+FEFF (byte order mark) survives the round trip', () => {
  for (const s of ['\uFEFF', '\uFEFFhello', 'a\uFEFF'])
    assert.is(decodeWords(parse(composeMessage(base({ subject: s }))).fields.get('subject')!), s);
});

test('subject property: round trip, lines <= 78, words <= 75, no split UTF-8', () => {
  const subject = fc
    .oneof(
      fc.string({ unit: 'grapheme', maxLength: 120 }),
      fc.string({ unit: 'binary', maxLength: 120 }),
      fc.string({ unit: fc.constantFrom('a', ' ', 'é', '😀', '中', '=', '?', 'x'), maxLength: 200 }),
    )
    .filter((s) => !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]|\p{Cs}/u.test(s));
  fc.assert(
    fc.property(subject, (s) => {
      const msg = composeMessage(base({ subject: s }));
      assert.not.ok(hasBareCrOrLf(msg));
      const p = parse(msg);
      assert.equal(p.names, EXPECTED_BASE);
      assert.is(decodeWords(p.fields.get('subject')!), s);
      const lines = p.rawHead.split('\r\n');
      const start = lines.findIndex((l) => l.startsWith('Subject:'));
      for (let i = start; i < lines.length && (i === start || /^[ \t]/.test(lines[i]!)); i++) {
        assert.ok(lines[i]!.length <= 78, `line too long: ${lines[i]}`);
        if (i > start) assert.ok(/\S/.test(lines[i]!), 'a folded line is not white space only');
      }
    }),
    { numRuns: 2000 },
  );
});

test('Content-Transfer-Encoding: 7bit, 8bit only when allowed, quoted-printable past 998 octets or with NUL; bare CR/LF become CRLF', () => {
  const cte = (m: Uint8Array): string | undefined => parse(m).fields.get('content-transfer-encoding');
  assert.is(cte(composeMessage(base({ text: 'plain\nascii' }))), '7bit');
  assert.is(cte(composeMessage(base({ text: 'grüße', eightBit: true }))), '8bit');
  assert.is(cte(composeMessage(base({ text: 'grüße', eightBit: false }))), 'quoted-printable');
  assert.is(cte(composeMessage(base({ text: 'x'.repeat(998) }))), '7bit');
  assert.is(cte(composeMessage(base({ text: 'x'.repeat(999) }))), 'quoted-printable');
  // A leading '.' is doubled by DATA, and the client's body encoder counts it against 998.
  assert.is(cte(composeMessage(base({ text: `.${'x'.repeat(996)}` }))), '7bit');
  assert.is(cte(composeMessage(base({ text: `ok\n.${'x'.repeat(997)}` }))), 'quoted-printable');
  assert.is(cte(composeMessage(base({ text: 'é'.repeat(500), eightBit: true }))), 'quoted-printable'); // 1000 octets
  assert.is(cte(composeMessage(base({ text: 'nul\0here', eightBit: true }))), 'quoted-printable');
  const p = parse(composeMessage(base({ text: 'a\rb\nc\r\nd' })));
  assert.is(p.body, 'a\r\nb\r\nc\r\nd');
  assert.is(parse(composeMessage(base({ text: 'grüße', eightBit: true }))).body, 'grüße');
});

test('quoted-printable (RFC 2045 §6.7): =XX escapes, soft breaks at 76, trailing white space encoded', () => {
  const enc = (s: string): string => encodeQuotedPrintable(new TextEncoder().encode(s));
  assert.is(enc('a=b'), 'a=3Db');
  assert.is(enc('café'), 'caf=C3=A9');
  assert.is(enc('trailing  \r\nspace\t'), 'trailing =20\r\nspace=09');
  assert.is(enc('x'.repeat(76)), 'x'.repeat(76));
  assert.is(enc('x'.repeat(77)), 'x'.repeat(75) + '=\r\nxx');
  assert.is(enc('x'.repeat(74) + 'é'), 'x'.repeat(74) + '=\r\n=C3=A9');
});

test('quoted-printable property: round trip, lines <= 76, no trailing white space', () => {
  const body = fc.oneof(
    fc.string({ unit: fc.constantFrom('a', ' ', '\t', '=', 'é', '😀', '\r', '\n', '\r\n', '.', '\0'), maxLength: 400 }),
    fc.string({ unit: 'binary', maxLength: 300 }),
  );
  fc.assert(
    fc.property(body, (t) => {
      const msg = composeMessage(base({ text: t + 'ü' })); // force quoted-printable
      assert.not.ok(hasBareCrOrLf(msg));
      const p = parse(msg);
      assert.is(p.fields.get('content-transfer-encoding'), 'quoted-printable');
      for (const line of p.body.split('\r\n')) {
        assert.ok(line.length <= 76, `line of ${line.length}`);
        assert.ok(/^[\x20-\x7e\t]*$/.test(line), 'only printable ASCII');
        assert.not.ok(/[ \t]$/.test(line), 'trailing white space');
      }
      assert.equal(decodeQuotedPrintable(p.body), new TextEncoder().encode((t + 'ü').replace(/\r\n|\r|\n/g, '\r\n')));
    }),
    { numRuns: 1500 },
  );
});

test('extra headers: appended in order, non-ASCII values encoded; reserved, malformed or over-long ones are usage errors', () => {
  const p = parse(composeMessage(base({ headers: { 'X-Mailer': 'smtpwire', 'X-Tag': 'Grüße', 'List-Id': '<list.example.com>' } })));
  assert.equal(p.names, [...EXPECTED_BASE, 'X-Mailer', 'X-Tag', 'List-Id']);
  assert.is(p.fields.get('x-mailer'), 'smtpwire');
  assert.is(decodeWords(p.fields.get('x-tag')!), 'Grüße');
  for (const name of ['From', 'subject', 'CONTENT-TYPE', 'Message-ID']) {
    assert.throws(() => composeMessage(base({ headers: { [name]: 'x' } })), usage, name);
  }
  for (const name of ['X Foo', 'X:Foo', 'X-Fö', '', 'X\r\nBcc']) {
    assert.throws(() => composeMessage(base({ headers: { [name]: 'x' } })), usage, JSON.stringify(name));
  }
  assert.throws(() => composeMessage(base({ headers: { 'X-A': 'x\r\nBcc: evil@x.com' } })), usage);
  assert.throws(() => composeMessage(base({ headers: { 'X-A': 'x'.repeat(1000) } })), usage);
});

test('bad addresses, header injection, NaN dates, short Message-ID randomness and non-string text are usage errors', () => {
  const bad: Partial<ComposeInput>[] = [
    { from: '' },
    { from: 'no-at' },
    { from: 'Name <a@b.com>' },
    { to: [] },
    { to: ['a@b.com\r\nBcc: x@y.com'] },
    { cc: ['bad address@'] },
    { subject: 'a\r\nBcc: x@y.com' },
    { subject: 'a\nb' },
    { subject: 'a\0' },
    { subject: 'tab\there' },
    { date: new Date(NaN) },
    { messageIdRandom: new Uint8Array(11) },
    { text: 42 as unknown as string },
  ];
  for (const b of bad) assert.throws(() => composeMessage(base(b)), usage, JSON.stringify(b));
});

test('injection property: throws SmtpUsageError or yields exactly the expected headers', () => {
  const hostile = fc.oneof(
    fc.string({
      unit: fc.constantFrom('a', '@', '.', ' ', ':', '\r', '\n', '\r\n', '\0', 'é', '<', '>', 'Bcc: x@y.z', '=?', '\t'),
      maxLength: 20,
    }),
    fc.string({ unit: 'binary', maxLength: 20 }),
  );
  // Each field is usually plausible and sometimes hostile, so both outcomes are exercised.
  const field = (plausible: fc.Arbitrary<string>): fc.Arbitrary<string> =>
    fc.oneof({ weight: 4, arbitrary: plausible }, { weight: 1, arbitrary: hostile });
  const words = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', 'é', '😀', ':', '=?', '-', '"'), maxLength: 90 });
  const local = fc.string({ unit: fc.constantFrom('a', '.', '+', ' ', '"', 'é'), minLength: 1, maxLength: 10 });
  const input = fc.record({
    from: field(local),
    to: field(local),
    subject: field(words),
    hname: field(fc.string({ unit: fc.constantFrom('a', 'B', '-', '_', '1'), minLength: 1, maxLength: 10 })),
    hvalue: field(words),
    body: field(words),
  });
  let built = 0;
  fc.assert(
    fc.property(input, ({ from, to, subject, hname, hvalue, body }) => {
      let msg: Uint8Array;
      try {
        msg = composeMessage(
          base({ from: `${from}@example.com`, to: [`${to}@example.org`], subject, text: body, headers: { [`X-${hname}`]: hvalue } }),
        );
      } catch (e) {
        if (e instanceof SmtpUsageError) {
          assert.not.ok(/[\r\n\0]/.test(e.message), 'error message leaks a control character');
          return;
        }
        throw e;
      }
      built++;
      assert.not.ok(hasBareCrOrLf(msg));
      assert.equal(parse(msg).names, [...EXPECTED_BASE, `X-${hname}`]);
    }),
    { numRuns: 5000 },
  );
  assert.ok(built > 1000, `only ${built} messages were built`);
});

test.run();
