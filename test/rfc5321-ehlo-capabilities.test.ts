// core/capabilities.ts: EHLO keywords to Capabilities (RFC 5321 §4.1.1.1 and each extension's RFC).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noCapabilities, parseEhloReply } from '../core/capabilities.ts';
import type { Reply } from '../core/reply.ts';

const ehlo = (...lines: string[]): Reply => ({ code: 250, lines, enhanced: undefined } as unknown as Reply);

test('keywords are case-insensitive; SIZE with and without a limit; AUTH and the legacy AUTH= merged', () => {
  const caps = parseEhloReply(ehlo('mx.example greets you', 'pipelining', 'CHUNKING', '8bitmime', 'SIZE 1000', 'AUTH PLAIN login', 'AUTH=CRAM-MD5 LOGIN', 'STARTTLS', 'SMTPUTF8', 'DSN', 'ENHANCEDSTATUSCODES', 'X-FOO bar baz'));
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

test.run();
