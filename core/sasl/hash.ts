// The hashes SASL needs, in plain ECMAScript so the core runs anywhere (no node:crypto,
// no async WebCrypto in a synchronous state machine): MD5 (RFC 1321) for CRAM-MD5,
// SHA-256 (FIPS 180-4), HMAC (RFC 2104) and PBKDF2 (RFC 8018) for SCRAM-SHA-256.
// Scratch buffers are module level: every function here is synchronous and non-reentrant.

export type HashFunction = (data: Uint8Array) => Uint8Array;

const BLOCK = 64; // MD5 and SHA-256 both work on 64-byte blocks

// ---------------------------------------------------------------- SHA-256

// FIPS 180-4's table, 8 to a row.
// prettier-ignore
const K256 = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV256 = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

const W = new Uint32Array(64); // message schedule, reused by every block
const S256 = new Uint32Array(8); // working state of the digest in progress
const TAIL = new Uint8Array(2 * BLOCK); // last block(s): leftover bytes, padding, length

function compress256(s: Uint32Array, b: Uint8Array, off: number): void {
  for (let t = 0; t < 16; t++, off += 4) {
    W[t] = (b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!;
  }
  for (let t = 16; t < 64; t++) {
    const w15 = W[t - 15]!,
      w2 = W[t - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[t] = (s1 + W[t - 7]! + s0 + W[t - 16]!) | 0;
  }
  let a = s[0]!,
    bb = s[1]!,
    c = s[2]!,
    d = s[3]!,
    e = s[4]!,
    f = s[5]!,
    g = s[6]!,
    h = s[7]!;
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K256[t]! + W[t]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = bb;
    bb = a;
    a = (t1 + t2) | 0;
  }
  s[0] = s[0]! + a;
  s[1] = s[1]! + bb;
  s[2] = s[2]! + c;
  s[3] = s[3]! + d;
  s[4] = s[4]! + e;
  s[5] = s[5]! + f;
  s[6] = s[6]! + g;
  s[7] = s[7]! + h;
}

/** SHA-256 of `prefixLength` already-absorbed bytes (state `init`) followed by `data`. Lets
 *  HMAC start from a precomputed key block instead of hashing it again. Writes 32 bytes. */
function finish256(init: Uint32Array, prefixLength: number, data: Uint8Array, out: Uint8Array): void {
  S256.set(init);
  const n = data.length;
  const whole = n - (n % BLOCK);
  for (let off = 0; off < whole; off += BLOCK) compress256(S256, data, off);
  const rest = n - whole;
  const tailLength = rest < BLOCK - 8 ? BLOCK : 2 * BLOCK;
  TAIL.fill(0);
  TAIL.set(data.subarray(whole), 0);
  TAIL[rest] = 0x80;
  writeBitLength(TAIL, tailLength - 8, prefixLength + n, false);
  compress256(S256, TAIL, 0);
  if (tailLength > BLOCK) compress256(S256, TAIL, BLOCK);
  for (let i = 0; i < 8; i++) {
    const v = S256[i]!;
    out[4 * i] = v >>> 24;
    out[4 * i + 1] = v >>> 16;
    out[4 * i + 2] = v >>> 8;
    out[4 * i + 3] = v;
  }
}

export function sha256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  finish256(IV256, 0, data, out);
  return out;
}

/**
 * Incremental SHA-256, for input too large to hold at once (the DKIM body hash of a streamed
 * message): update() any number of times, then digest() once. Same compression function as
 * sha256(); each instance keeps its own state and one 64-byte block of leftovers, so memory
 * stays constant whatever the input size.
 */
export class Sha256 {
  readonly #state = new Uint32Array(IV256);
  readonly #block = new Uint8Array(BLOCK); // bytes not yet compressed (fewer than BLOCK)
  #filled = 0;
  #length = 0; // octets absorbed so far
  #done = false;

  update(data: Uint8Array): this {
    if (this.#done) throw new Error('Sha256: update() after digest()');
    const n = data.length;
    this.#length += n;
    let off = 0;
    if (this.#filled > 0) {
      const take = Math.min(BLOCK - this.#filled, n);
      this.#block.set(data.subarray(0, take), this.#filled);
      this.#filled += take;
      off = take;
      if (this.#filled < BLOCK) return this;
      compress256(this.#state, this.#block, 0);
      this.#filled = 0;
    }
    // Whole blocks straight from the caller's bytes: no copy on the long runs.
    const whole = off + (n - off) - ((n - off) % BLOCK);
    for (; off < whole; off += BLOCK) compress256(this.#state, data, off);
    if (off < n) {
      this.#block.set(data.subarray(off), 0);
      this.#filled = n - off;
    }
    return this;
  }

  digest(): Uint8Array {
    if (this.#done) throw new Error('Sha256: digest() called twice');
    this.#done = true;
    const out = new Uint8Array(32);
    finish256(this.#state, this.#length - this.#filled, this.#block.subarray(0, this.#filled), out);
    return out;
  }
}

// ---------------------------------------------------------------- MD5

// floor(abs(sin(i + 1)) * 2^32), written out: Math.sin's precision is not specified.
// RFC 1321's table, 8 to a row.
// prettier-ignore
const K5 = new Uint32Array([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
]);
// One row per round.
// prettier-ignore
const R5 = new Uint8Array([
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
]);
const X = new Uint32Array(16);

function compress5(s: Uint32Array, b: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++, off += 4) {
    X[i] = b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24);
  }
  let a = s[0]!,
    bb = s[1]!,
    c = s[2]!,
    d = s[3]!;
  for (let i = 0; i < 64; i++) {
    let f: number, g: number;
    if (i < 16) {
      f = (bb & c) | (~bb & d);
      g = i;
    } else if (i < 32) {
      f = (d & bb) | (~d & c);
      g = (5 * i + 1) & 15;
    } else if (i < 48) {
      f = bb ^ c ^ d;
      g = (3 * i + 5) & 15;
    } else {
      f = c ^ (bb | ~d);
      g = (7 * i) & 15;
    }
    const x = (a + f + K5[i]! + X[g]!) | 0;
    const r = R5[i]!;
    a = d;
    d = c;
    c = bb;
    bb = (bb + ((x << r) | (x >>> (32 - r)))) | 0;
  }
  s[0] = s[0]! + a;
  s[1] = s[1]! + bb;
  s[2] = s[2]! + c;
  s[3] = s[3]! + d;
}

export function md5(data: Uint8Array): Uint8Array {
  const s = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
  const n = data.length;
  const whole = n - (n % BLOCK);
  for (let off = 0; off < whole; off += BLOCK) compress5(s, data, off);
  const rest = n - whole;
  const tailLength = rest < BLOCK - 8 ? BLOCK : 2 * BLOCK;
  TAIL.fill(0);
  TAIL.set(data.subarray(whole), 0);
  TAIL[rest] = 0x80;
  writeBitLength(TAIL, tailLength - 8, n, true);
  compress5(s, TAIL, 0);
  if (tailLength > BLOCK) compress5(s, TAIL, BLOCK);
  const out = new Uint8Array(16);
  for (let i = 0; i < 4; i++) {
    const v = s[i]!;
    out[4 * i] = v;
    out[4 * i + 1] = v >>> 8;
    out[4 * i + 2] = v >>> 16;
    out[4 * i + 3] = v >>> 24;
  }
  return out;
}

/** The message length in bits as a 64-bit integer; byte counts stay below 2^53. */
function writeBitLength(b: Uint8Array, off: number, bytes: number, littleEndian: boolean): void {
  const hi = Math.floor(bytes / 0x20000000) >>> 0; // bytes * 8 / 2^32
  const lo = (bytes * 8) >>> 0;
  for (let i = 0; i < 4; i++) {
    if (littleEndian) {
      b[off + i] = lo >>> (8 * i);
      b[off + 4 + i] = hi >>> (8 * i);
    } else {
      b[off + 3 - i] = hi >>> (8 * i);
      b[off + 7 - i] = lo >>> (8 * i);
    }
  }
}

// ---------------------------------------------------------------- HMAC

/** RFC 2104 HMAC over any hash with a 64-byte block (MD5, SHA-1, SHA-256). */
export function hmac(hash: HashFunction, key: Uint8Array, message: Uint8Array): Uint8Array {
  const k = key.length > BLOCK ? hash(key) : key;
  const inner = new Uint8Array(BLOCK + message.length);
  for (let i = 0; i < BLOCK; i++) inner[i] = (k[i] ?? 0) ^ 0x36;
  inner.set(message, BLOCK);
  const innerHash = hash(inner);
  const outer = new Uint8Array(BLOCK + innerHash.length);
  for (let i = 0; i < BLOCK; i++) outer[i] = (k[i] ?? 0) ^ 0x5c;
  outer.set(innerHash, BLOCK);
  return hash(outer);
}

export const hmacMd5 = (key: Uint8Array, message: Uint8Array): Uint8Array => hmac(md5, key, message);
export const hmacSha256 = (key: Uint8Array, message: Uint8Array): Uint8Array => hmac(sha256, key, message);

// ---------------------------------------------------------------- PBKDF2

/**
 * PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2); with `length` 32 this is SCRAM's Hi(). The HMAC key
 * blocks are absorbed once, so each iteration costs two compressions and no allocation.
 */
export function pbkdf2Sha256(password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Uint8Array {
  const run = pbkdf2Sha256Sliced(password, salt, iterations, length, Infinity);
  for (;;) {
    const r = run.next();
    if (r.done) return r.value;
  }
}

/**
 * The same PBKDF2 in slices: the generator pauses after every `slice` iterations, so a driver
 * can give the event loop a turn between slices (the client's fallback where WebCrypto is
 * absent or refuses). Pausing holds no shared scratch state: any hash may run in between.
 */
export function* pbkdf2Sha256Sliced(
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  length: number,
  slice = 8192,
): Generator<void, Uint8Array, unknown> {
  if (!(slice >= 1)) throw new RangeError('PBKDF2 slice must be at least 1');
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new RangeError('PBKDF2 iterations must be a positive integer');
  if (!Number.isSafeInteger(length) || length < 1 || length > 0xffffffff * 32) throw new RangeError('PBKDF2 length out of range');
  const key = password.length > BLOCK ? sha256(password) : password;
  const pad = new Uint8Array(BLOCK);
  const innerInit = new Uint32Array(IV256);
  const outerInit = new Uint32Array(IV256);
  for (let i = 0; i < BLOCK; i++) pad[i] = (key[i] ?? 0) ^ 0x36;
  compress256(innerInit, pad, 0);
  for (let i = 0; i < BLOCK; i++) pad[i] = (key[i] ?? 0) ^ 0x5c;
  compress256(outerInit, pad, 0);

  const out = new Uint8Array(length);
  const first = new Uint8Array(salt.length + 4); // salt || INT(block index)
  first.set(salt);
  const u = new Uint8Array(32),
    tmp = new Uint8Array(32),
    t = new Uint8Array(32);
  for (let index = 1, off = 0; off < length; index++, off += 32) {
    first[salt.length] = index >>> 24;
    first[salt.length + 1] = index >>> 16;
    first[salt.length + 2] = index >>> 8;
    first[salt.length + 3] = index;
    finish256(innerInit, BLOCK, first, tmp); // U1 = HMAC(P, S || INT(i))
    finish256(outerInit, BLOCK, tmp, u);
    t.set(u);
    let budget = slice;
    for (let j = 1; j < iterations; j++) {
      // Uj = HMAC(P, Uj-1); T = U1 ^ ... ^ Uc
      finish256(innerInit, BLOCK, u, tmp);
      finish256(outerInit, BLOCK, tmp, u);
      for (let k = 0; k < 32; k++) t[k]! ^= u[k]!;
      if (--budget === 0) {
        yield;
        budget = slice;
      }
    }
    out.set(length - off < 32 ? t.subarray(0, length - off) : t, off);
  }
  return out;
}
