// The WebAssembly SIMD scan must give exactly the answer of the JavaScript loop it stands in for
// (cleanRunScalar), for every input, encoder state and piece boundary, and the encoder built on
// it must still write the right wire bytes. Runs in Node, Deno, Bun and workerd (CORE_TESTS);
// workerd refuses to compile WebAssembly at run time, where the scanner must be absent and
// everything must still work through the JavaScript loop.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { BODY_EIGHT_BIT, BODY_NOT_CANONICAL, BodyEncoder, cleanRunScalar, needsEightBit, scanBody } from '../core/body.ts';
import { bodyBuffers, createSimdScanner, simdScanner, type SimdScanner } from '../core/simd-scan.ts';

const inWorkers = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent === 'Cloudflare-Workers';

test(`the SIMD scanner is ${inWorkers ? 'absent in workerd (no run-time WebAssembly)' : 'available'}`, () => {
  assert.is(simdScanner() === undefined, inWorkers);
  assert.is(createSimdScanner() === undefined, inWorkers);
  // bodyBuffers: `count` buffers in one WebAssembly memory (whole 64 KiB pages) where the scanner
  // exists, plain ones after them and elsewhere.
  const next = bodyBuffers(40000, 2);
  const [a, b, c] = [next(), next(), next()];
  for (const x of [a, b, c]) {
    assert.is(x.length, 40000);
    assert.ok(x.every((o) => o === 0));
  }
  assert.is(a.buffer === b.buffer, !inWorkers, 'the first two share a memory');
  assert.is(a.buffer.byteLength, inWorkers ? 40000 : 2 * 65536);
  assert.is(b.byteOffset, inWorkers ? 0 : 40000);
  assert.is(c.buffer.byteLength, 40000, 'past count: a plain buffer');
});

const scanner = createSimdScanner();
const scannerOf = (piece: number): SimdScanner | undefined => createSimdScanner(piece);
const CR = 0x0d;
const LF = 0x0a;

const octet = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0x61) },
  { weight: 3, arbitrary: fc.constantFrom(CR, LF, 0x2e) },
  { weight: 1, arbitrary: fc.constantFrom(0x00, 0x0e, 0x80, 0xff, 0x8a, 0x8d) },
);
// Mostly CRLF text with lines of random length (so long-line limits matter), with noise.
const text = fc
  .array(fc.tuple(fc.array(octet, { maxLength: 2 }), fc.nat({ max: 40 }), fc.array(octet, { maxLength: 3 }), fc.boolean()), {
    maxLength: 40,
  })
  .map((lines) => {
    const out: number[] = [];
    for (const [lead, len, noise, crlf] of lines) {
      out.push(...lead);
      for (let i = 0; i < len; i++) out.push(0x61);
      out.push(...noise);
      if (crlf) out.push(CR, LF);
    }
    return Uint8Array.from(out);
  });
const anyBytes = fc.array(octet, { maxLength: 300 }).map((a) => Uint8Array.from(a));
// Encoder states cleanRun can be called in: a line under way never exceeds max already.
const state = fc
  .record({
    pendingCR: fc.boolean(),
    atLineStart: fc.boolean(),
    lineLen: fc.nat({ max: 50 }),
    max: fc.constantFrom(0, 16, 17, 23, 40, 998),
    dotStuff: fc.boolean(),
  })
  .map((s) => {
    const atLineStart = s.atLineStart && !s.pendingCR;
    const lineLen = atLineStart ? 0 : s.max === 0 ? s.lineLen : Math.min(s.lineLen, s.max);
    return { ...s, atLineStart, lineLen };
  });

if (scanner !== undefined) {
  test('SIMD cleanRun = the JavaScript loop, any input, state, offset and piece size (12,000 runs)', () => {
    const pieces = [1, 2, 15, 16, 17, 31, 48, 64, 4096, 32768];
    const scanners = pieces.map(scannerOf);
    fc.assert(
      fc.property(fc.oneof(text, anyBytes), state, fc.nat({ max: 15 }), fc.nat({ max: pieces.length - 1 }), (input, s, offset, which) => {
        const padded = new Uint8Array(offset + input.length + 16).fill(CR); // garbage after the view must not count
        padded.set(input, offset);
        const view = padded.subarray(offset, offset + input.length);
        const simd = scanners[which]!;
        const expected = cleanRunScalar(view, s.pendingCR, s.atLineStart, s.lineLen, s.max, s.dotStuff);
        const got = simd.cleanRun(view, s.pendingCR, s.atLineStart, s.lineLen, s.max, s.dotStuff);
        assert.is(got, expected, JSON.stringify({ bytes: Array.from(view), ...s, piece: pieces[which] }));
        if (got >= 0) assert.is(simd.sawEightBit(), needsEightBit(view));
      }),
      { numRuns: 12000 },
    );
  });

  test('SIMD cleanRun in place (bodyBuffers memory), any offset up to its last octet (6,000 runs)', () => {
    fc.assert(
      fc.property(
        fc.oneof(text, anyBytes),
        state,
        fc.nat({ max: 40 }),
        fc.nat({ max: 20 }),
        fc.boolean(),
        (input, s, offset, after, wholeMemory) => {
          const buffer = bodyBuffers(offset + input.length + after, 1)();
          buffer.fill(CR); // whatever lies around the chunk must not count
          buffer.set(input, offset);
          // A view of the whole memory can end at its very last octet: then the chunk is copied.
          const base = wholeMemory ? new Uint8Array(buffer.buffer) : buffer;
          const at = wholeMemory ? base.length - input.length : offset;
          if (wholeMemory) base.set(input, at);
          const view = base.subarray(at, at + input.length);
          const expected = cleanRunScalar(view, s.pendingCR, s.atLineStart, s.lineLen, s.max, s.dotStuff);
          const got = scanner.cleanRun(view, s.pendingCR, s.atLineStart, s.lineLen, s.max, s.dotStuff);
          assert.is(got, expected, JSON.stringify({ bytes: Array.from(view), ...s, offset, after, wholeMemory }));
          if (got >= 0) assert.is(scanner.sawEightBit(), needsEightBit(view));
        },
      ),
      { numRuns: 6000 },
    );
  });

  test('SIMD cleanRun: one bad octet anywhere in 100 KiB of clean text, across the 32 KiB pieces', () => {
    const line = 'the quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmnopqrstuvwxy\r\n'; // 80 + CRLF
    const copied = new TextEncoder().encode(line.repeat(Math.ceil((100 * 1024) / line.length)));
    for (const clean of [copied, placed(copied)]) badOctets(clean);
  });

  function placed(bytes: Uint8Array): Uint8Array {
    const b = bodyBuffers(bytes.length, 1)();
    b.set(bytes);
    return b;
  }

  function badOctets(clean: Uint8Array): void {
    const simd = scanner!;
    assert.is(simd.cleanRun(clean, false, true, 0, 998, true), 2, 'clean text ends at a line start');
    assert.not.ok(simd.sawEightBit());
    const spots = [0, 1, 15, 16, 17, 32767, 32768, 32769, 65535, 65536, clean.length - 3, clean.length - 1];
    for (let i = 0; i < clean.length; i += 997) spots.push(i);
    for (const at of spots) {
      const original = clean[at]!;
      if (original === CR || original === LF) continue;
      for (const bad of [CR, LF, 0x2e, 0xe9]) {
        clean[at] = bad; // in place, so a chunk in bodyBuffers memory stays there
        for (const dotStuff of [false, true]) {
          const expected = cleanRunScalar(clean, false, true, 0, 998, dotStuff);
          assert.is(simd.cleanRun(clean, false, true, 0, 998, dotStuff), expected, `${bad} at ${at}, dotStuff ${dotStuff}`);
          if (expected >= 0) assert.is(simd.sawEightBit(), bad === 0xe9);
        }
      }
      clean[at] = original;
    }
  }

  test('SIMD cleanRun: the line limit across 32 KiB pieces, copied and in place', () => {
    // A line of 999 octets in the middle (limit 998), and one of exactly 998.
    for (const [len, ok] of [
      [999, false],
      [998, true],
    ] as const) {
      const long = new Uint8Array(70 * 1024).fill(0x61);
      for (let i = 80; i < long.length; i += 82) long.set([CR, LF], i);
      long.set([CR, LF], 39998);
      long.fill(0x62, 40000, 40000 + len);
      long.set([CR, LF], 40000 + len);
      long.fill(0x61, 40000 + len + 2, 40000 + len + 2 + 10);
      long.set([CR, LF], long.length - 2);
      const expected = cleanRunScalar(long, false, true, 0, 998, false);
      assert.is(expected >= 0, ok, 'the reference agrees with the setup');
      assert.is(scanner.cleanRun(long, false, true, 0, 998, false), expected, `a line of ${len}`);
      assert.is(scanner.cleanRun(placed(long), false, true, 0, 998, false), expected, `a line of ${len}, in place`);
    }
  });
}

test('scanBody: 8-bit and wire-readiness for bodies on both sides of the SIMD threshold', () => {
  fc.assert(
    fc.property(fc.oneof(text, anyBytes), fc.nat({ max: 12 }), (input, repeat) => {
      const body = new Uint8Array(input.length * (repeat + 1));
      for (let i = 0; i <= repeat; i++) body.set(input, i * input.length);
      const ready = body.length > 0 && isWireReadyScalar(body);
      const expected = (needsEightBit(body) ? BODY_EIGHT_BIT : 0) | (ready ? 0 : BODY_NOT_CANONICAL);
      assert.is(scanBody(body), expected, JSON.stringify(Array.from(input)));
    }),
    { numRuns: 3000 },
  );
});

function isWireReadyScalar(body: Uint8Array): boolean {
  const run = cleanRunScalar(body, false, true, 0, 998, false);
  return run >= 0 && (run & 2) !== 0;
}

test('the encoder with large chunks (the SIMD path) writes what the reference says', () => {
  // Reference: every bare CR / LF becomes CRLF, then DATA doubles a leading dot.
  const normalise = (s: string): string => s.replace(/\r\n|\r|\n/g, '\r\n');
  const stuff = (s: string): string =>
    s
      .split('\r\n')
      .map((l) => (l.startsWith('.') ? '.' + l : l))
      .join('\r\n');
  const latin1 = (b: Uint8Array): string => Array.from(b, (c) => String.fromCharCode(c)).join('');
  fc.assert(
    fc.property(fc.array(text, { minLength: 1, maxLength: 6 }), fc.boolean(), (parts, dotStuff) => {
      // Chunks of at least 512 octets: repeat each part until it is big enough.
      const chunks = parts.map((p) => {
        if (p.length === 0) return p;
        const out = new Uint8Array(Math.ceil(600 / p.length) * p.length);
        for (let o = 0; o < out.length; o += p.length) out.set(p, o);
        return out;
      });
      const encoder = new BodyEncoder({ dotStuff, normalizeLineEndings: true, maxLineLength: 0 });
      let wire = '';
      for (const c of chunks) for (const v of encoder.encode(c)) wire += latin1(v);
      for (const v of encoder.end()) wire += latin1(v);
      let expected = normalise(chunks.map(latin1).join(''));
      if (dotStuff) {
        if (expected !== '' && !expected.endsWith('\r\n')) expected += '\r\n';
        expected = stuff(expected) + '.\r\n';
      }
      assert.is(wire, expected);
    }),
    { numRuns: 1500 },
  );
});

test.run();
