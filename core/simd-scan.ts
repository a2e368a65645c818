// The wire-readiness check of body.ts (cleanRun) as a WebAssembly SIMD loop: 16 octets per step
// instead of JavaScript's 4, which takes a 50 MiB body from ~23 ms to ~10 ms in a fresh process
// (the copy into wasm memory included). The module is built here from its instructions (no
// binary blob, no build step) and compiled on first use; where a runtime refuses to compile
// WebAssembly (Cloudflare Workers, a jitless V8) or lacks SIMD, simdCleanRun() is undefined and
// body.ts keeps its JavaScript loop. Both must give the same answer: test/body-simd.test.ts.
//
// The check, per 16-octet block (masks from i8x16.eq + i8x16.bitmask, bit k = octet k):
//   canonical    every LF follows a CR and every CR precedes an LF: lf === ((cr << 1) | carry)
//   line length  only the first LF of a block can end a long line (the lines between LFs inside
//                one block are < 16 octets, so the caller needs max >= 16); the next line starts
//                after the block's last LF
//   dot-stuffing (DATA) no "." right after an LF: dots & ((lf << 1) | carry) === 0
// plus one OR over all blocks for the 8-bit answer of scanBody, stored at EIGHT_BIT_AT.

/** What cleanRun returns: -1 (not wire-ready) or its RUN_* state word; see body.ts. */
import { SmtpUsageError } from './errors.ts';

export type CleanRun = (chunk: Uint8Array, pendingCR: boolean, atLineStart: boolean, lineLen: number, max: number, dotStuff: boolean) => number;

export interface SimdScanner {
  cleanRun: CleanRun;
  /** After the last cleanRun: whether any octet it saw was >= 0x80. */
  sawEightBit(): boolean;
}

/** Octets copied into wasm memory per call: a 64 KiB page holds a piece, its 16-octet pad and the flag. */
const PIECE = 32 * 1024;
const EIGHT_BIT_AT = 64 * 1024 - 1;

// --- the instructions used, as bytes (WebAssembly core spec §5.4, SIMD §5.4.8) ---
const I32 = 0x7f;
const V128 = 0x7b;
const EMPTY = 0x40; // a block with no result
const op = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, return: 0x0f, select: 0x1b,
  localGet: 0x20, localSet: 0x21, i32Load8U: 0x2d, i32Store8: 0x3a, i32Const: 0x41,
  i32Eqz: 0x45, i32Eq: 0x46, i32Ne: 0x47, i32LtU: 0x49, i32GtS: 0x4a, i32GeS: 0x4e,
  i32Clz: 0x67, i32Ctz: 0x68, i32Add: 0x6a, i32Sub: 0x6b, i32And: 0x71, i32Or: 0x72, i32Xor: 0x73, i32Shl: 0x74, i32ShrU: 0x76,
} as const;
const SIMD_PREFIX = 0xfd;
const simd = { load: 0x00, store: 0x0b, const: 0x0c, splat8: 0x0f, eq8: 0x23, or: 0x50, bitmask8: 0x64 } as const;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

// Parameters, then locals (i32s, then v128s), by index.
const LEN = 0; // octets in memory at 0
const FLAGS = 1; // 1: the previous piece ended with a CR; 2: at a line start; 4: DATA (dot-stuffing)
const LINE_LEN = 2; // octets of the line under way before this piece
const MAX = 3; // longest line allowed (the caller maps "no limit" to 2^31-1)
const P = 4; // block offset
const SCAN_LEN = 5; // LEN without a final CR
const PENDING_OUT = 6; // 1 when the piece ends with a CR
const CARRY_CR = 7; // 1 when the octet before this block is a CR
const CARRY_LF = 8; // 1 when the octet before this block ends a line (dot check)
const LINE_START = 9; // offset where the current line starts (negative: in an earlier piece)
const CR_MASK = 10;
const LF_MASK = 11;
const BAD = 12; // nonzero once anything fails; checked after the loop
const Q = 13;
const DOT_STUFF = 14;
const BLOCK = 15; // v128
const CR_LANES = 16; // v128 splats of CR, LF, "."
const LF_LANES = 17;
const DOT_LANES = 18;
const HIGH_BITS = 19; // v128: OR of every block, for the 8-bit answer
const I32_LOCALS = 11;
const V128_LOCALS = 5;

const get = (i: number): number[] => [op.localGet, i];
const set = (i: number): number[] => [op.localSet, i];
const i32 = (n: number): number[] => [op.i32Const, ...sleb(n)];
const v = (code: number, ...immediates: number[]): number[] => [SIMD_PREFIX, ...uleb(code), ...immediates];
const MEMARG = [0, 0]; // alignment hint 1, offset 0
const fail = [...i32(-1), op.return];
/** mask of the octets of BLOCK equal to the splat in `lanes` */
const maskOf = (lanes: number): number[] => [...get(BLOCK), ...get(lanes), ...v(simd.eq8), ...v(simd.bitmask8)];
/** BAD |= (the i32 on the stack) */
const orIntoBad = [...get(BAD), op.i32Or, ...set(BAD)];

const BODY: number[] = [
  // A final CR waits for the next piece; the pad after the scanned octets is zeros.
  ...get(LEN), op.if, EMPTY,
  ...get(LEN), ...i32(1), op.i32Sub, op.i32Load8U, ...MEMARG, ...i32(13), op.i32Eq, ...set(PENDING_OUT),
  op.end,
  ...get(LEN), ...get(PENDING_OUT), op.i32Sub, ...set(SCAN_LEN),
  ...get(SCAN_LEN), ...v(simd.const, ...new Array<number>(16).fill(0)), ...v(simd.store, ...MEMARG),
  ...get(FLAGS), ...i32(1), op.i32And, ...set(CARRY_CR),
  ...get(FLAGS), ...i32(4), op.i32And, ...set(DOT_STUFF),
  ...get(FLAGS), ...i32(3), op.i32And, ...i32(2), op.i32Eq, ...set(CARRY_LF),
  // The line began LINE_LEN octets (and a pending CR) before this piece.
  ...i32(0), ...get(LINE_LEN), op.i32Sub, ...get(CARRY_CR), op.i32Sub, ...set(LINE_START),
  ...i32(13), ...v(simd.splat8), ...set(CR_LANES),
  ...i32(10), ...v(simd.splat8), ...set(LF_LANES),
  ...i32(0x2e), ...v(simd.splat8), ...set(DOT_LANES),
  op.block, EMPTY, op.loop, EMPTY,
  ...get(P), ...get(SCAN_LEN), op.i32GeS, op.brIf, 1,
  ...get(P), ...v(simd.load, ...MEMARG), ...set(BLOCK),
  ...get(HIGH_BITS), ...get(BLOCK), ...v(simd.or), ...set(HIGH_BITS),
  ...maskOf(CR_LANES), ...set(CR_MASK),
  ...maskOf(LF_LANES), ...set(LF_MASK),
  ...get(LF_MASK), op.if, EMPTY,
  // lf must be exactly the CRs shifted one octet on
  ...get(LF_MASK), ...get(CR_MASK), ...i32(1), op.i32Shl, ...get(CARRY_CR), op.i32Or, ...i32(0xffff), op.i32And, op.i32Xor, ...orIntoBad,
  // the line ended by the first LF, up to its CR, must fit
  ...get(P), ...get(LF_MASK), op.i32Ctz, op.i32Add, ...i32(1), op.i32Sub, ...get(LINE_START), op.i32Sub, ...get(MAX), op.i32GtS, ...orIntoBad,
  ...get(P), ...i32(32), op.i32Add, ...get(LF_MASK), op.i32Clz, op.i32Sub, ...set(LINE_START),
  op.else,
  // no LF: any CR here (or a CR before the block) is bare
  ...get(CR_MASK), ...i32(1), op.i32Shl, ...get(CARRY_CR), op.i32Or, ...i32(0xffff), op.i32And, ...orIntoBad,
  op.end,
  ...get(CR_MASK), ...i32(15), op.i32ShrU, ...set(CARRY_CR),
  ...get(DOT_STUFF), op.if, EMPTY,
  ...maskOf(DOT_LANES), ...get(LF_MASK), ...i32(1), op.i32Shl, ...get(CARRY_LF), op.i32Or, op.i32And, ...i32(0xffff), op.i32And, ...orIntoBad,
  ...get(LF_MASK), ...i32(15), op.i32ShrU, ...set(CARRY_LF),
  op.end,
  ...get(P), ...i32(16), op.i32Add, ...set(P),
  op.br, 0,
  op.end, op.end,
  ...i32(EIGHT_BIT_AT), ...get(HIGH_BITS), ...v(simd.bitmask8), ...i32(0), op.i32Ne, op.i32Store8, ...MEMARG,
  // A CR left over at the end of the scan is followed by the final CR: bare.
  ...get(BAD), ...get(CARRY_CR), op.i32Or, op.if, EMPTY, ...fail, op.end,
  op.block, EMPTY,
  ...get(PENDING_OUT), op.i32Eqz, op.brIf, 0,
  // ends with a CR: the line up to it must fit; its LF comes with the next piece
  ...get(SCAN_LEN), ...get(LINE_START), op.i32Sub, ...set(Q),
  ...get(Q), ...get(MAX), op.i32GtS, op.if, EMPTY, ...fail, op.end,
  ...get(Q), ...i32(2), op.i32Shl, ...i32(1), op.i32Or, op.return,
  op.end,
  ...get(LEN), ...get(LINE_START), op.i32Sub, ...set(Q),
  ...get(Q), ...get(MAX), op.i32GtS, op.if, EMPTY, ...fail, op.end,
  // (min(open, 2^29 - 1) << 2) | (at a line start ? 2 : 0)
  ...get(Q), ...i32(0x1fffffff), ...get(Q), ...i32(0x1fffffff), op.i32LtU, op.select, ...i32(2), op.i32Shl,
  ...i32(2), ...i32(0), ...get(LINE_START), ...get(LEN), op.i32Eq, op.select, op.i32Or,
  op.end,
];

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function name(text: string): number[] {
  return [...uleb(text.length), ...Array.from(text, (c) => c.charCodeAt(0))];
}

function moduleBytes(): Uint8Array {
  const code = [...uleb(2), ...uleb(I32_LOCALS), I32, ...uleb(V128_LOCALS), V128, ...BODY];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [1, 0x60, 4, I32, I32, I32, I32, 1, I32]), // type: (i32 x4) -> i32
    ...section(3, [1, 0]), // one function of that type
    ...section(5, [1, 0x00, 1]), // one memory, one page, no maximum
    ...section(7, [2, ...name('scan'), 0x00, 0, ...name('memory'), 0x02, 0]),
    ...section(10, [1, ...uleb(code.length), ...code]),
  ]);
}

/**
 * A scanner of its own (own memory), or undefined where WebAssembly SIMD is unavailable.
 * `pieceSize` (tests: small pieces put piece boundaries everywhere) is at most 32 KiB.
 */
export function createSimdScanner(pieceSize = PIECE): SimdScanner | undefined {
  if (!Number.isInteger(pieceSize) || pieceSize < 1 || pieceSize > PIECE) throw new SmtpUsageError('pieceSize must be 1 to 32768');
  let scan: (len: number, flags: number, lineLen: number, max: number) => number;
  let memory: Uint8Array;
  try {
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    if (wasm === undefined) return undefined;
    const instance = new wasm.Instance(new wasm.Module(moduleBytes()), {});
    scan = instance.exports.scan as typeof scan;
    memory = new Uint8Array((instance.exports.memory as { buffer: ArrayBuffer }).buffer);
  } catch {
    return undefined; // code generation refused, or no SIMD
  }
  const cleanRun: CleanRun = (chunk, pendingCR, atLineStart, lineLen, max, dotStuff) => {
    const n = chunk.length;
    const limit = max === 0 ? 0x7fffffff : max;
    const stuffing = dotStuff ? 4 : 0;
    let flags = (pendingCR ? 1 : 0) | (atLineStart ? 2 : 0);
    let state = -1;
    let eightBit = 0;
    let at = 0;
    do {
      // (an empty chunk is scanned too: a pending CR then has no LF)
      const end = Math.min(at + pieceSize, n);
      // (no subarray for a chunk that fits: a Node Buffer's subarray is a constructor call)
      memory.set(at === 0 && end === n ? chunk : chunk.subarray(at, end), 0);
      state = scan(end - at, flags | stuffing, lineLen, limit);
      eightBit |= memory[EIGHT_BIT_AT]!;
      if (state < 0) break;
      flags = state & 3;
      lineLen = state >>> 2;
      at = end;
    } while (at < n);
    memory[EIGHT_BIT_AT] = eightBit;
    return state;
  };
  return { cleanRun, sawEightBit: () => memory[EIGHT_BIT_AT] !== 0 };
}

// The core is typed without the DOM or Node libraries: just the part of WebAssembly used here.
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

let shared: SimdScanner | undefined | null = null;

/** The process-wide scanner, created on first use; undefined where it cannot exist. */
export function simdScanner(): SimdScanner | undefined {
  if (shared === null) shared = createSimdScanner();
  return shared;
}
