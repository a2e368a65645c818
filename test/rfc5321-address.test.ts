import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { assertNoControls, encodeXtext, formatPath, needsSmtpUtf8, validateEhloName } from '../core/address.ts';
import { SmtpUsageError } from '../core/errors.ts';

const usage = (e: unknown): boolean => e instanceof SmtpUsageError;
const DANGEROUS = /[\r\n\0]/;

// Strings rich in the characters that matter here, plus arbitrary Unicode.
const hostile = fc.oneof(
  fc.string({
    unit: fc.constantFrom(
      'a',
      'b',
      '.',
      '@',
      '"',
      '\\',
      ' ',
      '<',
      '>',
      '[',
      ']',
      ':',
      '\r',
      '\n',
      '\0',
      '\t',
      '\x7f',
      '\u0085',
      '\u2028',
      'é',
      '+',
      '=',
      '-',
      '_',
      '1',
    ),
    maxLength: 30,
  }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 30 }),
);

/** Calls f; it must either throw SmtpUsageError or return a string free of CR, LF and NUL. */
function safe(f: () => string): string | undefined {
  try {
    const out = f();
    assert.not.ok(DANGEROUS.test(out), `dangerous output ${JSON.stringify(out)}`);
    return out;
  } catch (e) {
    if (!(e instanceof SmtpUsageError)) throw e;
    assert.not.ok(/[\r\n\0]/.test(e.message), 'error message leaks a control character');
    return undefined;
  }
}

test('formatPath: ordinary addresses', () => {
  assert.is(formatPath(''), '<>');
  assert.is(formatPath('a.b+tag@example.com'), '<a.b+tag@example.com>');
  assert.is(formatPath("o'brien!#$%&*/=?^_`{|}~@example.com"), "<o'brien!#$%&*/=?^_`{|}~@example.com>");
  assert.is(formatPath('user@sub.example-domain.co.uk'), '<user@sub.example-domain.co.uk>');
  assert.is(formatPath('user@localhost'), '<user@localhost>');
  assert.is(formatPath('bounce+x=y@mail_host.example.com'), '<bounce+x=y@mail_host.example.com>');
});

test('formatPath: local parts that need quoting', () => {
  assert.is(formatPath('john doe@example.com'), '<"john doe"@example.com>');
  assert.is(formatPath('"john doe"@example.com'), '<"john doe"@example.com>');
  assert.is(formatPath('"simple"@example.com'), '<simple@example.com>');
  assert.is(formatPath('.a@x.com'), '<".a"@x.com>');
  assert.is(formatPath('a..b@x.com'), '<"a..b"@x.com>');
  assert.is(formatPath('a.@x.com'), '<"a."@x.com>');
  assert.is(formatPath('a"b@x.com'), '<"a\\"b"@x.com>');
  assert.is(formatPath('a\\b@x.com'), '<"a\\\\b"@x.com>');
  assert.is(formatPath('"a\\"b"@x.com'), '<"a\\"b"@x.com>');
  assert.is(formatPath('a@b@example.com'), '<"a@b"@example.com>');
  assert.is(formatPath('a(b)@x.com'), '<"a(b)"@x.com>');
});

test('formatPath: address literals and non-ASCII', () => {
  assert.is(formatPath('user@[127.0.0.1]'), '<user@[127.0.0.1]>');
  assert.is(formatPath('user@[IPv6:::1]'), '<user@[IPv6:::1]>');
  assert.is(formatPath('user@[IPv6:2001:db8::8a2e:370:7334]'), '<user@[IPv6:2001:db8::8a2e:370:7334]>');
  assert.is(formatPath('user@[IPv6:1:2:3:4:5:6:7:8]'), '<user@[IPv6:1:2:3:4:5:6:7:8]>');
  assert.is(formatPath('user@[IPv6:::ffff:192.0.2.1]'), '<user@[IPv6:::ffff:192.0.2.1]>');
  assert.is(formatPath('用户@例子.广告'), '<用户@例子.广告>');
  assert.is(formatPath('üser@exämple.de'), '<üser@exämple.de>');
  assert.ok(needsSmtpUtf8('üser@example.de'));
  assert.ok(needsSmtpUtf8('user@例子.广告'));
  assert.not.ok(needsSmtpUtf8('user@example.com'));
});

test('formatPath: refuses what cannot go on the wire', () => {
  const bad = [
    'a\r\nRCPT TO:<x@y>@x.com',
    'a@x.com\r\n',
    'a\n@x.com',
    'a\0@x.com',
    'a\t@x.com',
    'a\x7f@x.com',
    'a\u0085@x.com',
    '<a@x.com>',
    'a>b@x.com',
    'a@x.com>',
    '@x.com',
    'a@',
    'noat',
    '""@x.com',
    'a@x..com',
    'a@.x.com',
    'a@x.com.',
    'a@-x.com',
    'a@x-.com',
    'a@x com',
    'a@x,com',
    'a@[1.2.3.256]',
    'a@[1.2.3]',
    'a@[IPv6:1::2::3]',
    'a@[IPv6:1:2:3:4:5:6:7]',
    'a@[IPv6:12345::]',
    'a@[]',
    'a@x\u00a0y.com',
    'a@\ud800.com',
    `a@${'x'.repeat(64)}.com`,
  ];
  for (const a of bad) assert.throws(() => formatPath(a), usage, JSON.stringify(a));
  assert.throws(() => formatPath(undefined as unknown as string), usage);
});

test('formatPath property: throws SmtpUsageError or returns a safe path', () => {
  fc.assert(
    fc.property(hostile, (s) => {
      const out = safe(() => formatPath(s));
      if (out !== undefined) {
        assert.ok(out.startsWith('<') && out.endsWith('>'));
        assert.not.ok(/[<>]/.test(out.slice(1, -1)));
        assert.not.ok(/[\u0000-\u001f\u007f]/.test(out));
      }
    }),
    { numRuns: 5000 },
  );
});

test('formatPath property: quoting round-trips any local part', () => {
  const local = fc.string({ unit: fc.constantFrom('a', 'z', '.', ' ', '"', '\\', '@', '(', ',', 'é', '+'), minLength: 1, maxLength: 20 });
  fc.assert(
    fc.property(local, (l) => {
      if (l === '""') {
        assert.throws(() => formatPath(`${l}@example.com`), usage); // an empty local part
        return;
      }
      const path = formatPath(`${l}@example.com`);
      const inner = path.slice(1, -'@example.com>'.length);
      const unquoted = inner.startsWith('"') ? inner.slice(1, -1).replace(/\\(.)/g, '$1') : inner;
      // A caller-written quoted-string is taken as quoted, so compare with its content.
      const m = /^"((?:[^"\\]|\\.)*)"$/.exec(l);
      assert.is(unquoted, m ? m[1]!.replace(/\\(.)/g, '$1') : l);
    }),
    { numRuns: 2000 },
  );
});

test('encodeXtext (RFC 3461 xtext): +XX for "+", "=", SP, controls and every non-ASCII octet', () => {
  assert.is(encodeXtext('simple'), 'simple');
  assert.is(encodeXtext('a+b=c d'), 'a+2Bb+3Dc+20d');
  assert.is(encodeXtext('\r\n\0'), '+0D+0A+00');
  assert.is(encodeXtext('é'), '+C3+A9');
  assert.is(encodeXtext(''), '');
});

test('encodeXtext property: output is xtext and decodes to the UTF-8 input', () => {
  fc.assert(
    fc.property(hostile, (s) => {
      const out = safe(() => encodeXtext(s))!;
      assert.ok(/^(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})*$/.test(out), out);
      const decoded = Uint8Array.from(out.match(/\+[0-9A-F]{2}|[^+]/g) ?? [], (t) =>
        t.length === 3 ? parseInt(t.slice(1), 16) : t.charCodeAt(0),
      );
      assert.equal(decoded, new TextEncoder().encode(s));
    }),
    { numRuns: 3000 },
  );
});

test('validateEhloName', () => {
  for (const ok of ['localhost', 'mail.example.com', 'my_pc', 'xn--bcher-kva.example', '[127.0.0.1]', '[IPv6:fe80::1]', 'a-b.c']) {
    assert.is(validateEhloName(ok), ok);
  }
  assert.is(validateEhloName('192.0.2.1'), '[192.0.2.1]');
  assert.is(validateEhloName('2001:db8::1'), '[IPv6:2001:db8::1]');
  assert.is(validateEhloName('::1'), '[IPv6:::1]');
  for (const bad of [
    '',
    ' ',
    'bad name',
    'x\r\nMAIL FROM:<a@b>',
    'x\0',
    'x\t',
    '-x',
    'x-',
    'a..b',
    'a.',
    'bücher.example',
    '[1.2.3.999]',
    'a@b',
    '<x>',
    'x:y',
  ]) {
    assert.throws(() => validateEhloName(bad), usage, JSON.stringify(bad));
  }
});

test('validateEhloName property', () => {
  fc.assert(
    fc.property(hostile, (s) => {
      const out = safe(() => validateEhloName(s));
      if (out !== undefined) assert.ok(/^[\x21-\x7e]+$/.test(out), out);
    }),
    { numRuns: 5000 },
  );
});

test('assertNoControls: CR, LF, NUL, C0/C1 controls, line separators and lone surrogates are usage errors naming the field', () => {
  assertNoControls('subject', 'Grüße 😀 "quoted" <ok>');
  for (const bad of ['\r', '\n', '\0', '\t', '\x1b[31m', '\x7f', '\u0085', '\u2028', '\u2029', '\udc00']) {
    assert.throws(() => assertNoControls('field', `a${bad}b`), usage, JSON.stringify(bad));
  }
  try {
    assertNoControls('my field', 'a\nb');
  } catch (e) {
    assert.ok((e as Error).message.includes('my field'));
    assert.not.ok((e as Error).message.includes('\n'));
  }
});

test.run();
