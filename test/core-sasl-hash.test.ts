// core/sasl/hash.ts against published vectors and, on random inputs, against node:crypto.
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { hmac, hmacMd5, hmacSha256, md5, pbkdf2Sha256, pbkdf2Sha256Sliced, Sha256, sha256 } from '../core/sasl/hash.ts';

const enc = new TextEncoder();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const text = (s: string) => enc.encode(s);
const bytes = (n: number, v: number) => new Uint8Array(n).fill(v);
const counting = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);
const unhex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

test('MD5: RFC 1321 test suite', () => {
  const suite: [string, string][] = [
    ['', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['a', '0cc175b9c0f1b6a831c399e269772661'],
    ['abc', '900150983cd24fb0d6963f7d28e17f72'],
    ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
    ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
    ['1234567890'.repeat(8), '57edf4a22be3c955ac49da2e2107b67a'],
  ];
  for (const [input, digest] of suite) assert.is(hex(md5(text(input))), digest, JSON.stringify(input));
});

test('SHA-256: FIPS 180 examples', () => {
  assert.is(hex(sha256(text(''))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.is(hex(sha256(text('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.is(
    hex(sha256(text('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  );
  assert.is(
    hex(sha256(text('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu'))),
    'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
  );
  assert.is(hex(sha256(bytes(1_000_000, 0x61))), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
});

test('HMAC-SHA-256: RFC 4231 test cases 1-7', () => {
  const big = bytes(131, 0xaa);
  const cases: [Uint8Array, Uint8Array, string][] = [
    [bytes(20, 0x0b), text('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
    [text('Jefe'), text('what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
    [bytes(20, 0xaa), bytes(50, 0xdd), '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe'],
    [counting(1, 25), bytes(50, 0xcd), '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b'],
    [bytes(20, 0x0c), text('Test With Truncation'), 'a3b6167473100ee06e0c796c2955552b'], // truncated to 128 bits
    [
      big,
      text('Test Using Larger Than Block-Size Key - Hash Key First'),
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    ],
    [
      big,
      text(
        'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
      ),
      '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
    ],
  ];
  cases.forEach(([key, data, mac], i) => assert.is(hex(hmacSha256(key, data)).slice(0, mac.length), mac, `case ${i + 1}`));
});

test('HMAC-MD5: RFC 2202 test cases 1-7', () => {
  const big = bytes(80, 0xaa);
  const cases: [Uint8Array, Uint8Array, string][] = [
    [bytes(16, 0x0b), text('Hi There'), '9294727a3638bb1c13f48ef8158bfc9d'],
    [text('Jefe'), text('what do ya want for nothing?'), '750c783e6ab0b503eaa86e310a5db738'],
    [bytes(16, 0xaa), bytes(50, 0xdd), '56be34521d144c88dbb8c733f0e8b3f6'],
    [counting(1, 25), bytes(50, 0xcd), '697eaf0aca3a3aea3a75164746ffaa79'],
    [bytes(16, 0x0c), text('Test With Truncation'), '56461ef2342edc00f9bab995690efd4c'],
    [big, text('Test Using Larger Than Block-Size Key - Hash Key First'), '6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd'],
    [big, text('Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data'), '6f630fad67cda0ee1fb1f562db3aa53e'],
  ];
  cases.forEach(([key, data, mac], i) => assert.is(hex(hmacMd5(key, data)), mac, `case ${i + 1}`));
});

test('hmac() is generic over the hash function', () => {
  assert.is(
    hex(hmac(sha256, text('Jefe'), text('what do ya want for nothing?'))),
    hex(hmacSha256(text('Jefe'), text('what do ya want for nothing?'))),
  );
});

test('PBKDF2-HMAC-SHA-256: RFC 7914 §11 vectors', () => {
  assert.equal(
    pbkdf2Sha256(text('passwd'), text('salt'), 1, 64),
    unhex(`55 ac 04 6e 56 e3 08 9f ec 16 91 c2 25 44 b6 05 f9 41 85 21 6d de 04 65 e6 8b 9d 57 c2 0d ac bc
           49 ca 9c cc f1 79 b6 45 99 16 64 b3 9d 77 ef 31 7c 71 b8 45 b1 e3 0b d5 09 11 20 41 d3 a1 97 83`),
  );
  assert.equal(
    pbkdf2Sha256(text('Password'), text('NaCl'), 80000, 64),
    unhex(`4d dc d8 f6 0b 98 be 21 83 0c ee 5e f2 27 01 f9 64 1a 44 18 d0 4c 04 14 ae ff 08 87 6b 34 ab 56
           a1 d4 25 a1 22 58 33 54 9a db 84 1b 51 c9 b3 17 6a 27 2b de bb a1 d0 78 47 8f 62 b3 97 f3 3c 8d`),
  );
});

test('PBKDF2: rejects a non-positive iteration count or length', () => {
  assert.throws(
    () => pbkdf2Sha256(text('p'), text('s'), 0, 32),
    (e: unknown) => e instanceof RangeError,
  );
  assert.throws(
    () => pbkdf2Sha256(text('p'), text('s'), 1.5, 32),
    (e: unknown) => e instanceof RangeError,
  );
  assert.throws(
    () => pbkdf2Sha256(text('p'), text('s'), 1, 0),
    (e: unknown) => e instanceof RangeError,
  );
});

test('every length 0..200 around the padding boundaries matches node:crypto', () => {
  const data = Uint8Array.from({ length: 200 }, (_, i) => (i * 37 + 11) & 0xff);
  for (let n = 0; n <= 200; n++) {
    const d = data.subarray(0, n);
    assert.is(hex(sha256(d)), createHash('sha256').update(d).digest('hex'), `sha256 length ${n}`);
    assert.is(hex(md5(d)), createHash('md5').update(d).digest('hex'), `md5 length ${n}`);
  }
});

const input = fc.uint8Array({ minLength: 0, maxLength: 300 });

test('property: sha256 and md5 match node:crypto (400 runs each)', () => {
  fc.assert(
    fc.property(input, (d) => hex(sha256(d)) === createHash('sha256').update(d).digest('hex')),
    { numRuns: 400 },
  );
  fc.assert(
    fc.property(input, (d) => hex(md5(d)) === createHash('md5').update(d).digest('hex')),
    { numRuns: 400 },
  );
});

test('property: incremental Sha256 over any split matches node:crypto (300 runs); 1 MB in odd pieces', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat({ max: 600 }), { maxLength: 10 }), (data, cuts) => {
      const h = new Sha256();
      let at = 0;
      for (const c of [...cuts].sort((a, b) => a - b)) {
        const to = Math.min(c, data.length);
        if (to < at) continue;
        h.update(data.subarray(at, to));
        at = to;
      }
      h.update(data.subarray(at));
      assert.is(hex(h.digest()), createHash('sha256').update(data).digest('hex'));
    }),
    { numRuns: 300 },
  );
  const big = Uint8Array.from({ length: 1_000_003 }, (_, i) => (i * 31) & 0xff);
  const h = new Sha256();
  for (let i = 0; i < big.length; i += 4099) h.update(big.subarray(i, i + 4099));
  assert.is(hex(h.digest()), createHash('sha256').update(big).digest('hex'));
  assert.throws(() => h.digest(), /twice/);
});

test('property: HMAC-SHA-256 and HMAC-MD5 match node:crypto, keys 0..300 bytes (400 runs each)', () => {
  fc.assert(
    fc.property(input, input, (k, d) => hex(hmacSha256(k, d)) === createHmac('sha256', k).update(d).digest('hex')),
    { numRuns: 400 },
  );
  fc.assert(
    fc.property(input, input, (k, d) => hex(hmacMd5(k, d)) === createHmac('md5', k).update(d).digest('hex')),
    { numRuns: 400 },
  );
});

test('property: PBKDF2-HMAC-SHA-256 matches node:crypto (200 runs)', () => {
  fc.assert(
    fc.property(
      input,
      input,
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 1, max: 100 }),
      (p, s, c, len) => hex(pbkdf2Sha256(p, s, c, len)) === pbkdf2Sync(p, s, c, len, 'sha256').toString('hex'),
    ),
    { numRuns: 200 },
  );
});

test('property: PBKDF2 in slices pauses every `slice` iterations per block and matches node:crypto (200 runs)', () => {
  fc.assert(
    fc.property(
      input,
      input,
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 1, max: 100 }),
      fc.integer({ min: 1, max: 70 }),
      (p, s, c, len, slice) => {
        const run = pbkdf2Sha256Sliced(p, s, c, len, slice);
        let pauses = 0;
        for (;;) {
          // Other hashing between slices must not disturb the derivation (shared scratch buffers).
          sha256(p);
          const r = run.next();
          if (r.done) {
            const blocks = Math.ceil(len / 32);
            assert.is(pauses, blocks * Math.floor((c - 1) / slice), 'one pause per `slice` iterations of each block');
            return hex(r.value) === pbkdf2Sync(p, s, c, len, 'sha256').toString('hex');
          }
          pauses++;
        }
      },
    ),
    { numRuns: 200 },
  );
});

test.run();
