// core/capabilities.ts: EHLO keywords to Capabilities (RFC 5321 §4.1.1.1 and each extension's RFC).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { noCapabilities, parseEhloReply } from '../core/capabilities.ts';
import type { Reply } from '../core/reply.ts';

const ehlo = (...lines: string[]): Reply => ({ code: 250, lines, enhanced: undefined });

test('keywords are case-insensitive; SIZE with and without a limit; AUTH and the legacy AUTH= merged', () => {
  const caps = parseEhloReply(
    ehlo(
      'mx.example greets you',
      'pipelining',
      'CHUNKING',
      '8bitmime',
      'SIZE 1000',
      'AUTH PLAIN login',
      'AUTH=CRAM-MD5 LOGIN',
      'STARTTLS',
      'SMTPUTF8',
      'DSN',
      'ENHANCEDSTATUSCODES',
      'X-FOO bar baz',
    ),
  );
  assert.is(caps.esmtp, true);
  assert.is(caps.pipelining, true);
  assert.is(caps.chunking, true);
  assert.is(caps.eightBitMime, true);
  assert.is(caps.size, 1000);
  assert.is(caps.startTls, true);
  assert.is(caps.smtpUtf8, true);
  assert.is(caps.dsn, true);
  assert.is(caps.enhancedStatusCodes, true);
  assert.is(caps.binaryMime, false);
  assert.is(caps.requireTls, false);
  for (const m of ['PLAIN', 'LOGIN', 'CRAM-MD5']) assert.ok(caps.auth.includes(m), m);
  assert.is(caps.keywords.get('X-FOO'), 'bar baz');
  // SIZE with no number (or a bad one): advertised, no limit known (0), as RFC 1870 §4 allows.
  assert.is(parseEhloReply(ehlo('mx', 'SIZE')).size, 0);
  assert.is(parseEhloReply(ehlo('mx', 'SIZE 12x')).size, 0);
  assert.is(parseEhloReply(ehlo('mx', '8BITMIME')).size, undefined);
});

test('the greeting line is not a keyword', () => {
  const caps = parseEhloReply(ehlo('PIPELINING is what this server calls itself'));
  assert.is(caps.pipelining, false);
});

test('noCapabilities(): nothing, and a new record (with its own keyword map) each time', () => {
  const a = noCapabilities();
  const b = noCapabilities();
  assert.is(a.esmtp, false);
  assert.is(a.auth.length, 0);
  assert.ok(a !== b && a.keywords !== b.keywords, 'no record shared between sessions');
});

test('keyword syntax (RFC 5321 §4.1.1.1): "=" or SP before parameters; malformed lines ignored; parameters trimmed; the last repeat wins', () => {
  const caps = parseEhloReply(ehlo('mx', '  SIZE=2048  ', '-BAD', '', 'ÄUTH PLAIN', 'x_y', '8BITMIME trailing  ', 'SIZE 4096'));
  assert.is(caps.size, 4096, 'the later SIZE line wins');
  assert.equal([...caps.keywords.keys()], ['SIZE', '8BITMIME']);
  assert.is(caps.keywords.get('8BITMIME'), 'trailing');
  assert.equal(caps.auth, [], 'a keyword starting with a non-ASCII letter is not AUTH');
});

test('AUTH mechanisms: upper-cased, deduplicated in order, and only SASL-name shaped (1-20 of A-Z 0-9 - _)', () => {
  const caps = parseEhloReply(
    ehlo(
      'mx',
      'AUTH plain LOGIN Plain  XOAUTH2',
      'AUTH=login SCRAM-SHA-256',
      'AUTH ' + 'A'.repeat(21) + ' GS2-KRB5_PLUS bad/mech é ' + 'B'.repeat(20),
    ),
  );
  assert.equal(caps.auth, ['PLAIN', 'LOGIN', 'XOAUTH2', 'SCRAM-SHA-256', 'GS2-KRB5_PLUS', 'B'.repeat(20)]);
  assert.equal(parseEhloReply(ehlo('mx', 'AUTH')).auth, [], 'AUTH with no mechanism');
});

test('SIZE: 0 and up to 15 digits are the limit; 16 digits, signs, or text mean "advertised, no limit known" (0)', () => {
  const size = (p: string) => parseEhloReply(ehlo('mx', p)).size;
  assert.is(size('SIZE 0'), 0);
  assert.is(size('SIZE 999999999999999'), 999_999_999_999_999);
  assert.is(size('SIZE 1000000000000000'), 0);
  assert.is(size('SIZE -5'), 0);
  assert.is(size('SIZE 1e6'), 0);
  assert.is(size('SIZE 10 20'), 0);
});

test('a one-line EHLO reply is ESMTP with no extension; every extension flag needs its own keyword', () => {
  const none = parseEhloReply(ehlo('mx.example'));
  assert.is(none.esmtp, true);
  assert.is(none.size, undefined);
  assert.equal(none.auth, []);
  assert.is(none.keywords.size, 0);
  const flags = [
    ['BINARYMIME', 'binaryMime'],
    ['REQUIRETLS', 'requireTls'],
    ['STARTTLS', 'startTls'],
    ['CHUNKING', 'chunking'],
  ] as const;
  for (const [keyword, flag] of flags) {
    const caps = parseEhloReply(ehlo('mx', keyword));
    for (const [, other] of flags) assert.is(caps[other], other === flag, `${keyword} sets ${flag} only (${other})`);
  }
});

const FLAG_OF = {
  PIPELINING: 'pipelining',
  CHUNKING: 'chunking',
  '8BITMIME': 'eightBitMime',
  BINARYMIME: 'binaryMime',
  SMTPUTF8: 'smtpUtf8',
  DSN: 'dsn',
  ENHANCEDSTATUSCODES: 'enhancedStatusCodes',
  STARTTLS: 'startTls',
  REQUIRETLS: 'requireTls',
} as const;

test('property: any EHLO text parses without a throw; each flag is exactly "its keyword is present"; AUTH names and SIZE stay in shape', () => {
  const keyword = fc.constantFrom(...Object.keys(FLAG_OF), 'SIZE', 'AUTH', 'X-EXT', 'size', 'Pipelining', 'auth');
  const piece = fc.oneof(
    fc
      .tuple(
        keyword,
        fc.constantFrom(' ', '=', '  ', ''),
        fc.string({ unit: fc.constantFrom('A', 'z', '1', '-', '_', ' ', '=', '/', 'é', '\t', '9'), maxLength: 30 }),
      )
      .map(([k, sep, p]) => k + sep + p),
    fc.string({ maxLength: 40 }),
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 12 }), (lines) => {
      const caps = parseEhloReply(ehlo('mx', ...lines));
      for (const [kw, flag] of Object.entries(FLAG_OF)) assert.is(caps[flag], caps.keywords.has(kw), kw);
      for (const k of caps.keywords.keys()) assert.ok(/^[A-Z0-9][A-Z0-9-]*$/.test(k), k);
      for (const m of caps.auth) assert.ok(/^[A-Z0-9_-]{1,20}$/.test(m), m);
      assert.is(new Set(caps.auth).size, caps.auth.length, 'no duplicate mechanism');
      if (!caps.keywords.has('AUTH')) assert.equal(caps.auth, []);
      if (caps.keywords.has('SIZE')) assert.ok(Number.isSafeInteger(caps.size) && caps.size! >= 0, String(caps.size));
      else assert.is(caps.size, undefined);
    }),
    { numRuns: 400 },
  );
});

test.run();
