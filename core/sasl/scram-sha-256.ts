// SCRAM-SHA-256 (RFC 5802, RFC 7677), without channel binding ("n,," gs2 header).
// The client proves it knows the password without sending it, and the server proves it
// knows the salted password: complete() is true only after the server signature matched.
import { printable, utf8 } from '../text.ts';
import { decodeUtf8Strict } from '../utf8.ts';
import { decodeBase64, encodeBase64 } from './base64.ts';
import { hmacSha256, pbkdf2Sha256, sha256 } from './hash.ts';
import { SaslError, type SaslDeferred, type SaslMechanism } from './mechanism.ts';

/** Iteration counts accepted from the server. A low count would let an impostor server
 *  brute-force the password from the proof cheaply; a huge one would stall the event loop. */
export const SCRAM_MIN_ITERATIONS = 4096;
export const SCRAM_MAX_ITERATIONS = 1_000_000;

/** Random bytes in the client nonce; base64 of 15 bytes is 20 printable characters. */
const NONCE_BYTES = 15;

export const SASL_SCRAM_SHA_256: SaslMechanism = {
  name: 'SCRAM-SHA-256',
  strength: 40,
  needs: 'password',
  maxChallenges: 2,
  create(credentials, context) {
    if (!credentials.pass) throw new SaslError('SCRAM-SHA-256 needs a password');
    const user = saslName(saslPrep(credentials.user, 'user name'));
    if (user === '') throw new SaslError('SCRAM-SHA-256: empty user name');
    const password = utf8(saslPrep(credentials.pass, 'password'));
    const gs2Header = credentials.authzid ? `n,a=${saslName(saslPrep(credentials.authzid, 'authzid'))},` : 'n,,';

    let state: 'initial' | 'server-first' | 'server-final' | 'done' = 'initial';
    let clientFirst: Uint8Array | undefined;
    let clientFirstBare = '';
    let nonce = '';
    let serverSignature: Uint8Array | undefined;
    let verified = false;

    function start(): Uint8Array {
      if (!clientFirst) {
        const random = context.random(NONCE_BYTES);
        if (random.length !== NONCE_BYTES) throw new SaslError('SCRAM-SHA-256: random source returned the wrong length');
        nonce = encodeBase64(random);
        clientFirstBare = `n=${user},r=${nonce}`;
        clientFirst = utf8(gs2Header + clientFirstBare);
      }
      state = 'server-first';
      return clientFirst;
    }

    /** Checks the server-first message; the salted password is then computed (in place, or
     *  by the driver when the context can defer) and finish() builds the client-final. */
    function clientFinal(serverFirst: string): Uint8Array | SaslDeferred {
      serverError(serverFirst);
      const attrs = serverFirst.split(',');
      if (attrs[0]!.startsWith('m=')) throw new SaslError('SCRAM-SHA-256: server requires an unsupported extension');
      const combined = attribute(attrs[0], 'r');
      const salt = decodeBase64(attribute(attrs[1], 's'));
      const count = attribute(attrs[2], 'i');
      // The server must extend our nonce, not replace it (that would allow replay).
      if (!combined.startsWith(nonce) || combined.length === nonce.length || !/^[\x21-\x2b\x2d-\x7e]+$/.test(combined)) {
        throw new SaslError('SCRAM-SHA-256: server nonce does not extend the client nonce');
      }
      if (!salt || salt.length === 0) throw new SaslError('SCRAM-SHA-256: invalid salt');
      const iterations = /^[1-9][0-9]{0,9}$/.test(count) ? Number(count) : 0;
      if (iterations < SCRAM_MIN_ITERATIONS || iterations > SCRAM_MAX_ITERATIONS) {
        throw new SaslError(
          `SCRAM-SHA-256: iteration count ${printable(count.slice(0, 20))} outside ${SCRAM_MIN_ITERATIONS}..${SCRAM_MAX_ITERATIONS}`,
        );
      }
      const finish = (salted: Uint8Array): Uint8Array => {
        if (salted.length !== 32) throw new SaslError('SCRAM-SHA-256: the PBKDF2 provider returned the wrong length');
        const clientKey = hmacSha256(salted, utf8('Client Key'));
        const withoutProof = `c=${encodeBase64(utf8(gs2Header))},r=${combined}`;
        const authMessage = utf8(`${clientFirstBare},${serverFirst},${withoutProof}`);
        const clientSignature = hmacSha256(sha256(clientKey), authMessage);
        const proof = clientKey.map((b, i) => b ^ clientSignature[i]!);
        serverSignature = hmacSha256(hmacSha256(salted, utf8('Server Key')), authMessage);
        return utf8(`${withoutProof},p=${encodeBase64(proof)}`);
      };
      if (!context.canDefer) return finish(pbkdf2Sha256(password, salt, iterations, 32));
      return { compute: { algorithm: 'PBKDF2-SHA-256', password, salt, iterations, length: 32 }, resume: finish };
    }

    function verify(serverFinal: string): Uint8Array {
      serverError(serverFinal);
      const v = decodeBase64(attribute(serverFinal.split(',')[0], 'v'));
      if (!v || !serverSignature || !equal(v, serverSignature)) {
        throw new SaslError('SCRAM-SHA-256: server signature does not match; the server may be an impostor');
      }
      verified = true;
      return new Uint8Array(0); // RFC 4954 §4: the final server data gets an empty response
    }

    return {
      start,
      step(challenge) {
        if (state === 'initial' && challenge.length === 0) return start();
        if (state === 'server-first') {
          // An empty challenge asks for the client-first message the core held back.
          if (challenge.length === 0) return start();
          state = 'server-final';
          return clientFinal(decode(challenge));
        }
        if (state === 'server-final') {
          state = 'done';
          return verify(decode(challenge));
        }
        throw new SaslError('SCRAM-SHA-256: unexpected server challenge');
      },
      complete: () => verified,
    };
  },
};

function decode(challenge: Uint8Array): string {
  const text = decodeUtf8Strict(challenge);
  if (text === undefined) throw new SaslError('SCRAM-SHA-256: server message is not UTF-8');
  return text;
}

/** The value of `name=value`, or a SaslError when the attribute is missing or misplaced. */
function attribute(part: string | undefined, name: string): string {
  if (part === undefined || !part.startsWith(name + '=')) throw new SaslError(`SCRAM-SHA-256: server message lacks ${name}=`);
  return part.slice(name.length + 1);
}

function serverError(message: string): void {
  if (message.startsWith('e=')) throw new SaslError(`SCRAM-SHA-256: server error: ${printable(message.slice(2, 200))}`);
}

/** RFC 5802 saslname: '=' and ',' would be read as attribute syntax. */
function saslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** Compares without an early exit, so timing does not reveal how many bytes matched. */
function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

// RFC 3454 B.1 "commonly mapped to nothing" (removed before the C.1.2 space mapping, so the
// zero-width space in both tables is removed).
const MAPPED_TO_NOTHING = /[\u00ad\u034f\u1806\u180b-\u180d\u200b-\u200d\u2060\ufe00-\ufe0f\ufeff]/g;
// RFC 3454 C.1.2 non-ASCII spaces, mapped to U+0020.
const NON_ASCII_SPACE = /[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]/g;
// RFC 3454 C.2-C.9 prohibited output, as [first, last] code point ranges. Private use,
// non-characters of planes 15 and 16 and everything above U+EFFFF collapse into one range.
const PROHIBITED: readonly (readonly [number, number])[] = [
  [0x0000, 0x001f],
  [0x007f, 0x009f],
  [0x0340, 0x0341],
  [0x06dd, 0x06dd],
  [0x070f, 0x070f],
  [0x180e, 0x180e],
  [0x200c, 0x200f],
  [0x2028, 0x202e],
  [0x2060, 0x2063],
  [0x206a, 0x206f],
  [0x2ff0, 0x2ffb],
  [0xd800, 0xdfff],
  [0xe000, 0xf8ff],
  [0xfdd0, 0xfdef],
  [0xfeff, 0xfeff],
  [0xfff9, 0xfffd],
  [0x1d173, 0x1d17a],
  [0xe0001, 0xe0001],
  [0xe0020, 0xe007f],
  [0xf0000, 0x10ffff],
];

/**
 * SASLprep (RFC 4013) for query strings, as RFC 5802 asks: map, NFKC, reject prohibited
 * code points. Not done: the bidirectional-text check (RFC 3454 §6), which needs the
 * Unicode bidi tables. Unassigned code points are allowed, as queries allow them.
 */
export function saslPrep(text: string, what = 'string'): string {
  if (/^[\x20-\x7e]*$/.test(text)) return text; // printable ASCII is unchanged by SASLprep
  const mapped = text.replace(MAPPED_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ').normalize('NFKC');
  for (const ch of mapped) {
    const cp = ch.codePointAt(0)!;
    // Non-characters U+xFFFE and U+xFFFF in every plane.
    if ((cp & 0xfffe) === 0xfffe || PROHIBITED.some(([lo, hi]) => cp >= lo && cp <= hi)) {
      // The character itself stays out of the message: it may be part of a password.
      throw new SaslError(`SCRAM-SHA-256: the ${what} contains a prohibited character`);
    }
  }
  return mapped;
}
