// The client's answer to the core's `compute` output: SCRAM's PBKDF2-HMAC-SHA-256, off the
// event loop. WebCrypto (`crypto.subtle.deriveBits`) is in Node, Deno, Bun and Workers and runs
// the derivation natively: on a thread pool in Node, Deno and Bun; inside the isolate in workerd
// (which holds it, but deployed Workers refuse more than 100,000 iterations). Where WebCrypto is
// missing or refuses, the core's pure code runs instead, in slices with a macrotask between
// them, so the event loop still gets its turns.
import { pbkdf2Sha256Sliced } from '../core/sasl/hash.ts';
import type { Pbkdf2Request } from '../core/sasl/mechanism.ts';

/** Computes PBKDF2 for the core; resolves with exactly `request.length` octets. */
export type Pbkdf2Provider = (request: Pbkdf2Request) => Promise<Uint8Array>;

/** How a derivation was done, for the log. */
export interface Derived {
  readonly key: Uint8Array;
  readonly by: string;
}

/** WebCrypto PBKDF2, or undefined when the runtime has no `crypto.subtle`. */
export function webCryptoPbkdf2(): Pbkdf2Provider | undefined {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle || typeof subtle.deriveBits !== 'function') return undefined;
  return async ({ password, salt, iterations, length }) => {
    // Copies: WebCrypto wants ArrayBuffer-backed views it may read on another thread.
    const key = await subtle.importKey('raw', password.slice(), 'PBKDF2', false, ['deriveBits']);
    const bits = await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: salt.slice(), iterations }, key, length * 8);
    return new Uint8Array(bits);
  };
}

/** Iterations of the pure fallback between two turns of the event loop (~10 ms each). */
const SLICE = 8192;

/** The pure-TypeScript PBKDF2, yielding a macrotask every SLICE iterations. */
export async function slicedPbkdf2({ password, salt, iterations, length }: Pbkdf2Request): Promise<Uint8Array> {
  const run = pbkdf2Sha256Sliced(password, salt, iterations, length, SLICE);
  for (;;) {
    const r = run.next();
    if (r.done) return r.value;
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
  }
}

/**
 * The default: WebCrypto, else (absent, or it refused this request) `fallback`, the sliced pure
 * code (the Node/Deno/Bun entries pass slicedPbkdf2; the Worker entry does not, so that a Worker
 * without SCRAM does not bundle SHA-256: there a refusal says to pass `pbkdf2: slicedPbkdf2`).
 * A user-supplied provider is used as it is, with no fallback: its failure cancels AUTH.
 */
export async function derivePbkdf2(
  request: Pbkdf2Request,
  custom?: Pbkdf2Provider,
  web: Pbkdf2Provider | null = webCryptoPbkdf2() ?? null, // null: none (tests)
  fallback?: Pbkdf2Provider,
): Promise<Derived> {
  if (custom) return { key: await custom(request), by: 'the pbkdf2 option' };
  const pure = (why: string): Promise<Uint8Array> => {
    if (fallback) return fallback(request);
    throw new Error(
      `${why}, and this entry point has no pure PBKDF2: import { slicedPbkdf2 } from 'smtpwire' and pass connect({ ..., pbkdf2: slicedPbkdf2 })`,
    );
  };
  if (!web) return { key: await pure('this runtime has no WebCrypto'), by: 'pure TypeScript (no WebCrypto in this runtime)' };
  try {
    return { key: await web(request), by: 'WebCrypto' };
  } catch (err) {
    const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { key: await pure(`WebCrypto refused: ${why.slice(0, 200)}`), by: `pure TypeScript (WebCrypto refused: ${why.slice(0, 200)})` };
  }
}
