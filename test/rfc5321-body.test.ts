import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { BODY_EIGHT_BIT, BodyEncoder, isWireReady, needsEightBit, scanBody, type BodyEncoderOptions } from '../core/body.ts';
import { SmtpUsageError } from '../core/errors.ts';

const enc = new TextEncoder();
const bytes = (s: string): Uint8Array => enc.encode(s);
const latin1 = (b: Uint8Array): string => Array.from(b, (c) => String.fromCharCode(c)).join('');
const fromLatin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

function concat(views: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(views.reduce((n, v) => n + v.length, 0));
  let o = 0;
  for (const v of views) {
    out.set(v, o);
    o += v.length;
  }
  return out;
}

/** Runs the encoder over the chunks and returns the whole wire stream. */
function run(chunks: Uint8Array[], options: BodyEncoderOptions): { wire: Uint8Array; written: number } {
  const e = new BodyEncoder(options);
  const views: Uint8Array[] = [];
  for (const c of chunks) views.push(...e.encode(c));
  views.push(...e.end());
  return { wire: concat(views), written: e.written };
}

const DATA: BodyEncoderOptions = { dotStuff: true, normalizeLineEndings: true, maxLineLength: 0 };
const BDAT: BodyEncoderOptions = { dotStuff: false, normalizeLineEndings: true, maxLineLength: 0 };

/** Reference: every CRLF, bare CR and bare LF as CRLF. */
function normalise(input: Uint8Array): Uint8Array {
  return fromLatin1(latin1(input).replace(/\r\n|\r|\n/g, '\r\n'));
}

/** The receiver's side of DATA (RFC 5321 §4.5.2): drop the terminator and one leading dot per line. */
function unstuff(wire: Uint8Array): Uint8Array {
  const s = latin1(wire);
  if (s === '.\r\n') return new Uint8Array(0);
  if (!s.endsWith('\r\n.\r\n')) throw new Error('no terminator');
  const body = s.slice(0, -3); // keep the CRLF that ends the last line
  return fromLatin1(
    body
      .split('\r\n')
      .map((l) => (l.startsWith('.') ? l.slice(1) : l))
      .join('\r\n'),
  );
}

/** Splits at the given cut points (sorted, may repeat, so empty chunks occur). */
function split(input: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = cuts.map((c) => c % (input.length + 1)).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(input.subarray(prev, p));
    prev = p;
  }
  out.push(input.subarray(prev));
  return out;
}

function hasBareCrOrLf(wire: Uint8Array): boolean {
  for (let i = 0; i < wire.length; i++) {
    if (wire[i] === 0x0d && wire[i + 1] !== 0x0a) return true;
    if (wire[i] === 0x0a && wire[i - 1] !== 0x0d) return true;
  }
  return false;
}

function countTerminators(wire: Uint8Array): number {
  const s = latin1(wire);
  let n = s.startsWith('.\r\n') ? 1 : 0;
  for (let i = s.indexOf('\r\n.\r\n'); i >= 0; i = s.indexOf('\r\n.\r\n', i + 1)) n++;
  return n;
}

function assertDataWire(wire: Uint8Array, input: Uint8Array): void {
  assert.not.ok(hasBareCrOrLf(wire), 'bare CR or LF on the wire');
  assert.is(countTerminators(wire), 1, 'exactly one terminator');
  const s = latin1(wire);
  assert.ok(s === '.\r\n' || s.endsWith('\r\n.\r\n'), 'terminator at the very end');
  // end() completes an unfinished last line, so that CRLF is part of the body as received.
  const expected = latin1(normalise(input));
  assert.is(latin1(unstuff(wire)), expected === '' || expected.endsWith('\r\n') ? expected : expected + '\r\n');
}

// Bytes that matter to SMTP, mixed with anything.
const interesting = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0x0d, 0x0a, 0x2e, 0x00, 0x61) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
const bodyBytes = fc.array(interesting, { maxLength: 200 }).map((a) => Uint8Array.from(a));
const cuts = fc.array(fc.nat(), { maxLength: 12 });

test('DATA: output does not depend on how the input is split', () => {
  fc.assert(
    fc.property(bodyBytes, cuts, (input, c) => {
      const whole = run([input], DATA).wire;
      assert.equal(run(split(input, c), DATA).wire, whole);
      assert.equal(
        run(
          Array.from(input, (b) => Uint8Array.of(b)),
          DATA,
        ).wire,
        whole,
      );
    }),
    { numRuns: 3000 },
  );
});

test('DATA: no bare CR/LF, one terminator at the end, un-stuffing gives the normalised input', () => {
  fc.assert(
    fc.property(bodyBytes, cuts, (input, c) => {
      const { wire, written } = run(split(input, c), DATA);
      assertDataWire(wire, input);
      assert.is(written, wire.length);
    }),
    { numRuns: 3000 },
  );
});

test('DATA: same properties over long, mostly clean input (word-at-a-time scan)', () => {
  const line = fc.oneof(fc.constantFrom('hello world', '.', '..leading dots', '', 'a\tb', 'x'.repeat(70)), fc.string({ maxLength: 80 }));
  const ending = fc.constantFrom('\r\n', '\r\n', '\r\n', '\n', '\r');
  const doc = fc.array(fc.tuple(line, ending), { minLength: 1, maxLength: 60 }).map((ls) => bytes(ls.map(([l, e]) => l + e).join('')));
  fc.assert(
    fc.property(doc, fc.nat({ max: 7 }), cuts, (input, offset, c) => {
      // Misaligned views, as subarrays of a bigger buffer would be.
      const backing = new Uint8Array(input.length + offset);
      backing.set(input, offset);
      const view = backing.subarray(offset);
      const { wire } = run(split(view, c), DATA);
      assertDataWire(wire, input);
      assert.equal(wire, run([input], DATA).wire);
    }),
    { numRuns: 1000 },
  );
});

test('DATA: empty body is just the terminator', () => {
  assert.is(latin1(run([], DATA).wire), '.\r\n');
  assert.is(latin1(run([new Uint8Array(0), new Uint8Array(0)], DATA).wire), '.\r\n');
  assert.is(latin1(run([bytes('\r\n')], DATA).wire), '\r\n.\r\n');
  assert.is(latin1(run([bytes('.')], DATA).wire), '..\r\n.\r\n');
  assert.is(latin1(run([bytes('a')], DATA).wire), 'a\r\n.\r\n');
  assert.is(latin1(run([bytes('a\r')], DATA).wire), 'a\r\n.\r\n');
  assert.is(latin1(run([bytes('a\r\n')], DATA).wire), 'a\r\n.\r\n');
});

test('DATA: every SMTP smuggling sequence, split at every position', () => {
  const sequences = ['\n.\n', '\r.\r', '\n.\r\n', '\r\n.\n', '\r.\r\n', '\r\n.\r', '\r\n\0.\r\n', '\r\n.\r\n', '.\r\n', '\r\n.'];
  for (const seq of sequences) {
    for (const input of [bytes(seq), bytes(`hello${seq}MAIL FROM:<evil@x>\r\n`), bytes(`x${seq}${seq}y`)]) {
      const whole = run([input], DATA).wire;
      assertDataWire(whole, input);
      for (let i = 0; i <= input.length; i++) {
        for (let j = i; j <= input.length; j++) {
          const chunks = [input.subarray(0, i), input.subarray(i, j), input.subarray(j)];
          assert.equal(run(chunks, DATA).wire, whole, `${JSON.stringify(seq)} split at ${i},${j}`);
        }
      }
      assert.equal(
        run(
          Array.from(input, (b) => Uint8Array.of(b)),
          DATA,
        ).wire,
        whole,
      );
    }
  }
  assert.is(latin1(run([bytes('a\n.\nb')], DATA).wire), 'a\r\n..\r\nb\r\n.\r\n');
  assert.is(latin1(run([bytes('a\r.\rb')], DATA).wire), 'a\r\n..\r\nb\r\n.\r\n');
  assert.is(latin1(run([bytes('a\r\n\0.\r\n')], DATA).wire), 'a\r\n\0.\r\n.\r\n');
});

test('DATA: clean input is passed through without copying', () => {
  const input = bytes('line one\r\nline two\r\n'.repeat(20));
  const e = new BodyEncoder({ dotStuff: true, normalizeLineEndings: true });
  const views = e.encode(input);
  assert.is(views.length, 1);
  assert.is(views[0], input);
  const dotted = bytes('a\r\n.b\r\n' + 'c'.repeat(50) + '\r\n');
  const parts = new BodyEncoder(DATA).encode(dotted);
  assert.equal(
    parts.map((p) => latin1(p)),
    ['a\r\n', '.', '.b\r\n' + 'c'.repeat(50) + '\r\n'],
  );
  assert.ok(parts[0]!.buffer === dotted.buffer && parts[2]!.buffer === dotted.buffer, 'views of the input');
});

test('DATA: a big chunk full of rewrites is coalesced and still exact', () => {
  const input = bytes(
    Array.from({ length: 30000 }, (_, i) => (i % 3 === 0 ? `.line ${i}\n` : i % 3 === 1 ? `line ${i}\r` : `line ${i}\r\n`)).join(''),
  );
  const e = new BodyEncoder(DATA);
  const views = e.encode(input);
  assert.ok(views.length < 5000, `${views.length} views`); // about 50000 without coalescing
  const wire = concat([...views, ...e.end()]);
  assert.is(e.written, wire.length);
  assertDataWire(wire, input);
  assert.equal(wire, run(split(input, [1, 7, 50]), DATA).wire);
});

test('DATA: written counts every octet', () => {
  const e = new BodyEncoder(DATA);
  let n = 0;
  for (const c of [bytes('.a\n'), bytes('b\r'), bytes('\n.'), bytes('c')]) n += concat(e.encode(c)).length;
  assert.is(e.written, n);
  n += concat(e.end()).length;
  assert.is(e.written, n);
});

test('BDAT: output is the normalised input and written is its length', () => {
  fc.assert(
    fc.property(bodyBytes, cuts, (input, c) => {
      const { wire, written } = run(split(input, c), BDAT);
      assert.equal(wire, normalise(input));
      assert.is(written, wire.length);
    }),
    { numRuns: 3000 },
  );
  assert.is(latin1(run([bytes('a\r')], BDAT).wire), 'a\r\n');
  assert.is(latin1(run([], BDAT).wire), '');
  assert.is(latin1(run([bytes('.\r\n')], BDAT).wire), '.\r\n');
});

test('BDAT raw: bytes pass through untouched', () => {
  fc.assert(
    fc.property(bodyBytes, cuts, (input, c) => {
      const { wire, written } = run(split(input, c), { dotStuff: false, normalizeLineEndings: false, maxLineLength: 0 });
      assert.equal(wire, input);
      assert.is(written, input.length);
    }),
    { numRuns: 500 },
  );
});

test('line length: 998 is fine, 999 throws, across chunks too', () => {
  const opts: BodyEncoderOptions = { dotStuff: true, normalizeLineEndings: true };
  const ok = bytes('x'.repeat(998) + '\r\n' + 'y'.repeat(998));
  assert.is(run([ok], opts).wire.length, ok.length + 5);
  assert.is(run(split(ok, [1, 500, 997, 998, 999, 1000]), opts).wire.length, ok.length + 5);
  assert.throws(
    () => run([bytes('x'.repeat(999))], opts),
    (e: unknown) => e instanceof SmtpUsageError,
  );
  assert.throws(
    () => run([bytes('x'.repeat(500)), bytes('x'.repeat(499) + '\r\n')], opts),
    (e: unknown) => e instanceof SmtpUsageError,
  );
  // The stuffed dot is on the wire, so it counts.
  assert.throws(
    () => run([bytes('.' + 'x'.repeat(997))], opts),
    (e: unknown) => e instanceof SmtpUsageError,
  );
  // Bare line endings end lines after normalisation.
  assert.not.throws(() => run([bytes('x'.repeat(998) + '\n' + 'x'.repeat(998) + '\r' + 'x'.repeat(998))], opts));
  assert.not.throws(() => run([bytes('x'.repeat(5000))], { ...opts, maxLineLength: 0 }));
  assert.throws(
    () => run([bytes('x'.repeat(11))], { ...opts, maxLineLength: 10 }),
    (e: unknown) => e instanceof SmtpUsageError,
  );
  assert.throws(
    () => run([bytes('x'.repeat(999))], { dotStuff: false, normalizeLineEndings: true }),
    (e: unknown) => e instanceof SmtpUsageError,
  );
  // Raw mode: a CRLF split over chunks is not content.
  assert.not.throws(() => run([bytes('x'.repeat(998) + '\r'), bytes('\nabc')], { dotStuff: false, normalizeLineEndings: false }));
  assert.throws(
    () => run([bytes('x'.repeat(998) + '\r'), bytes('abc')], { dotStuff: false, normalizeLineEndings: false }),
    (e: unknown) => e instanceof SmtpUsageError,
  );
});

test('a failed or ended encoder refuses more input', () => {
  const e = new BodyEncoder({ dotStuff: true, normalizeLineEndings: true, maxLineLength: 3 });
  assert.throws(
    () => e.encode(bytes('abcd')),
    (x: unknown) => x instanceof SmtpUsageError,
  );
  assert.throws(
    () => e.encode(bytes('a')),
    (x: unknown) => x instanceof SmtpUsageError,
  );
  const f = new BodyEncoder(DATA);
  f.end();
  assert.throws(
    () => f.encode(bytes('a')),
    (x: unknown) => x instanceof SmtpUsageError,
  );
  assert.throws(
    () => f.end(),
    (x: unknown) => x instanceof SmtpUsageError,
  );
  assert.throws(
    () => new BodyEncoder({ dotStuff: true, normalizeLineEndings: true, maxLineLength: -1 }),
    (x: unknown) => x instanceof SmtpUsageError,
  );
});

test('DATA without normalisation refuses bare CR and LF instead of passing them', () => {
  const raw: BodyEncoderOptions = { dotStuff: true, normalizeLineEndings: false };
  assert.is(latin1(run([bytes('a\r'), bytes('\n.b\r\n')], raw).wire), 'a\r\n..b\r\n.\r\n');
  for (const bad of ['a\nb', 'a\rb', 'a\r', '\n.\n']) {
    assert.throws(
      () => run([bytes(bad)], raw),
      (e: unknown) => e instanceof SmtpUsageError,
      JSON.stringify(bad),
    );
  }
  assert.throws(
    () => run([bytes('a\r'), bytes('b')], raw),
    (e: unknown) => e instanceof SmtpUsageError,
  );
});

// isWireReady lets the core skip the encoder: it must say yes exactly when the encoder would
// leave the body as it is (plus the terminator for DATA) and the body ends in CRLF.
function encoderKeeps(input: Uint8Array, dotStuff: boolean, maxLineLength: number): boolean {
  let wire: Uint8Array;
  try {
    wire = run([input], { dotStuff, normalizeLineEndings: true, maxLineLength }).wire;
  } catch {
    return false; // a line too long: the encoder refuses it, so the fast path must too
  }
  const expected = dotStuff ? latin1(input) + '.\r\n' : latin1(input);
  return latin1(wire) === expected && latin1(input).endsWith('\r\n');
}

test('isWireReady agrees with the encoder (DATA and BDAT, any offset, short line limits; 6,000 runs)', () => {
  const lines = fc
    .array(
      fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom('a', 'bc', 'hello world', '.', '..x', 'x.y', '', 'é') },
        { weight: 1, arbitrary: fc.constantFrom('\r', '\n', '\r\r\n', 'a\nb', 'a\rb', '\x00') },
      ),
      { maxLength: 12 },
    )
    .map((parts) => parts.join('\r\n') + (parts.length % 3 === 0 ? '' : '\r\n'));
  for (const dotStuff of [true, false]) {
    fc.assert(
      fc.property(lines, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 12 }), (text, offset, max) => {
        const padded = new Uint8Array(offset + text.length * 2);
        const input = enc.encode(text);
        padded.set(input, offset);
        const view = padded.subarray(offset, offset + input.length);
        assert.is(isWireReady(view, dotStuff, max), encoderKeeps(view, dotStuff, max), JSON.stringify({ text, offset, max, dotStuff }));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(bodyBytes, (input) => {
        assert.is(isWireReady(input, dotStuff), encoderKeeps(input, dotStuff, 998));
      }),
      { numRuns: 1000 },
    );
  }
});

test('isWireReady: long clean text, then one bad octet anywhere', () => {
  const clean = bytes('the quick brown fox jumps over the lazy dog 0123456789abcdefghijklmnopqrstuvwxyz\r\n'.repeat(40));
  assert.ok(isWireReady(clean, true));
  assert.ok(isWireReady(clean, false));
  for (let i = 0; i < clean.length - 2; i += 7) {
    for (const bad of [0x0d, 0x0a]) {
      if (clean[i] === 0x0d || clean[i] === 0x0a) continue;
      const b = clean.slice();
      b[i] = bad;
      assert.not.ok(isWireReady(b, false), `bare ${bad} at ${i}`);
    }
  }
  const dotted = clean.slice();
  dotted[clean.indexOf(0x0a) + 1] = 0x2e;
  assert.not.ok(isWireReady(dotted, true), 'a line starting with a dot needs stuffing in DATA');
  assert.ok(isWireReady(dotted, false), 'BDAT does not stuff');
  assert.not.ok(isWireReady(clean.subarray(0, clean.length - 1), false), 'no final CRLF');
});

test('scanBody reports 8-bit exactly when needsEightBit does (any offset; 3,000 runs)', () => {
  const octets = fc.array(fc.oneof(interesting, fc.integer({ min: 0x80, max: 0xff })), { maxLength: 300 });
  fc.assert(
    fc.property(octets, fc.integer({ min: 0, max: 3 }), (a, offset) => {
      const padded = new Uint8Array(a.length + offset);
      padded.set(a, offset);
      const view = padded.subarray(offset);
      assert.is((scanBody(view) & BODY_EIGHT_BIT) !== 0, needsEightBit(view));
    }),
    { numRuns: 3000 },
  );
});

test('needsEightBit: true exactly when an octet >= 0x80 is present, at every position and alignment', () => {
  assert.not.ok(needsEightBit(new Uint8Array(0)));
  assert.not.ok(needsEightBit(bytes('plain ascii text\r\n'.repeat(10))));
  assert.ok(needsEightBit(bytes('café')));
  const big = new Uint8Array(103).fill(0x41);
  for (let i = 0; i < big.length; i++) {
    for (let off = 0; off < 4; off++) {
      const b = big.slice();
      b[i] = 0x80;
      assert.is(needsEightBit(b.subarray(off)), i >= off, `byte ${i} offset ${off}`);
    }
  }
});

test.run();
