// core/utf8.ts against the platform's own codec (WHATWG TextEncoder/TextDecoder, here V8's):
// equal octets for every string (lone surrogates included) and equal text for every octet
// sequence (invalid ones included), strict decoding failing exactly where the platform's does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { decodeUtf8, decodeUtf8Strict, encodeUtf8, encodeUtf8Into, utf8Length } from '../core/utf8.ts';

const runs = (n: number): number => n;
const platformEncode = new TextEncoder();
const platformDecode = new TextDecoder('utf-8');
const platformStrict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// Any UTF-16 units (lone surrogates too), and code points of every length.
const units = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((a) => String.fromCharCode(...a));
const strings = fc.oneof(units, fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 40 }));
// Octets biased to the decoder's edges: lead bytes, range limits, the BOM, invalid bytes.
const EDGES = [
  0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbb, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff,
];
const octets = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.array(fc.constantFrom(...EDGES), { maxLength: 24 }).map((a) => Uint8Array.from(a)),
  strings.map((s) => platformEncode.encode(s)),
);

test(`encodeUtf8 equals TextEncoder for any string, lone surrogates included (${runs(3000)} runs)`, () => {
  fc.assert(
    fc.property(strings, (s) => {
      const want = platformEncode.encode(s);
      assert.equal(encodeUtf8(s), want);
      assert.is(utf8Length(s), want.length);
      const out = new Uint8Array(s.length * 3 + 2);
      const n = encodeUtf8Into(s, 0, out, 2);
      assert.equal(out.subarray(2, 2 + n), want);
    }),
    { numRuns: runs(3000) },
  );
});

test(`decodeUtf8 equals TextDecoder for any octets (replacement, BOM dropped); strict fails exactly where fatal does (${runs(3000)} runs)`, () => {
  fc.assert(
    fc.property(octets, (b) => {
      assert.is(decodeUtf8(b), platformDecode.decode(b));
      let want: string | undefined;
      try {
        want = platformStrict.decode(b);
      } catch {
        want = undefined;
      }
      assert.is(decodeUtf8Strict(b), want);
    }),
    { numRuns: runs(3000) },
  );
});

test('long input: ASCII and mixed text past the chunk size round-trip', () => {
  const ascii = 'a'.repeat(10_000);
  assert.is(decodeUtf8(encodeUtf8(ascii)), ascii);
  const mixed = 'é€😀x'.repeat(3_000);
  assert.equal(encodeUtf8(mixed), platformEncode.encode(mixed));
  assert.is(decodeUtf8(encodeUtf8(mixed)), mixed);
});

test.run();
