// The pluggable SASL mechanism contract (RFC 4422 client side, as used by SMTP AUTH, RFC 4954).
// The core handles base64, the 334/235/535 dance, `*` cancellation and the 512-octet rule;
// a mechanism only turns credentials and challenges into response bytes.
import { SmtpError } from '../errors.ts';

export interface SaslCredentials {
  user: string;
  /** Password, for PLAIN, LOGIN, CRAM-MD5, SCRAM-*. */
  pass?: string;
  /** Bearer token, for XOAUTH2 and OAUTHBEARER. */
  token?: string;
  /** Authorisation identity (act as), where the mechanism has one. */
  authzid?: string;
}

export interface SaslContext {
  /** Cryptographically random bytes (client nonces). Injected so tests can pin RFC vectors. */
  random(length: number): Uint8Array;
  /** Server host name, for OAUTHBEARER's gs2 header fields. */
  host?: string;
  port?: number;
  /** The caller accepts a SaslDeferred from step() (the core does): a mechanism may then hand
   *  a costly computation (SCRAM's PBKDF2) to the driver instead of running it in place. */
  canDefer?: boolean;
}

/** A computation a mechanism asks its driver for. The only kind so far: PBKDF2-HMAC-SHA-256
 *  (RFC 8018), SCRAM-SHA-256's Hi(). The driver may run it anywhere (WebCrypto, another
 *  thread); the answer must be exactly `length` octets. */
export interface Pbkdf2Request {
  readonly algorithm: 'PBKDF2-SHA-256';
  readonly password: Uint8Array;
  readonly salt: Uint8Array;
  readonly iterations: number;
  readonly length: number;
}

/** A step() answer that needs `compute` first: `resume(result)` gives the response (or throws
 *  a SaslError to cancel, as step() does). Only returned when the context has `canDefer`. */
export interface SaslDeferred {
  readonly compute: Pbkdf2Request;
  resume(result: Uint8Array): Uint8Array;
}

export interface SaslExchange {
  /** The initial response: bytes to send with AUTH, or undefined when the mechanism starts
   *  by waiting for a challenge. An empty array means an empty initial response ("="). */
  start(): Uint8Array | undefined;
  /** Answer one server challenge (already base64-decoded). Throw a SaslError to cancel;
   *  the core then sends `*`. A SaslDeferred only when the context has `canDefer`. */
  step(challenge: Uint8Array): Uint8Array | SaslDeferred;
  /** After 235: did the mechanism verify the server (SCRAM's server signature)? Mechanisms
   *  that cannot verify return true. A false here fails the session closed. */
  complete(): boolean;
}

export interface SaslMechanism {
  /** The IANA name as advertised after AUTH, upper case. */
  readonly name: string;
  /** Higher is preferred when the client chooses. */
  readonly strength: number;
  /** Which credential fields it needs; the chooser skips mechanisms the user cannot satisfy. */
  readonly needs: 'password' | 'token';
  /** Most server challenges (334 replies) the exchange answers; the core cancels the exchange
   *  at the next one. Built-ins set theirs (PLAIN 1, LOGIN 2, CRAM-MD5 1, XOAUTH2 and
   *  OAUTHBEARER 1, SCRAM-SHA-256 2); a mechanism without one gets DEFAULT_MAX_CHALLENGES.
   *  A 334 the core answers itself (the empty one that asks for a withheld initial response)
   *  does not count. */
  readonly maxChallenges?: number;
  create(credentials: SaslCredentials, context: SaslContext): SaslExchange;
}

/** The challenge bound of a mechanism that declares none (AuthOptions.maxChallenges overrides). */
export const DEFAULT_MAX_CHALLENGES = 10;

/** A mechanism cannot go on (bad credentials for it, a server message it cannot accept). An
 *  SmtpError (EAUTH) so that one escaping to the caller is typed like every other failure. */
export class SaslError extends SmtpError {
  constructor(message: string) {
    super('EAUTH', message);
  }
}

/**
 * The exchange of both OAuth 2.0 bearer mechanisms: the token goes in the initial response; a
 * first empty challenge asks for that response (the core may have held it back); any other
 * challenge is the server's error report, answered once with `errorAnswer` so the server can
 * finish with its failure reply.
 */
export function bearerExchange(name: string, response: Uint8Array, errorAnswer: Uint8Array): SaslExchange {
  let steps = 0;
  let errorAnswered = false;
  return {
    start: () => response,
    step(challenge) {
      steps++;
      if (steps === 1 && challenge.length === 0) return response;
      if (errorAnswered) throw new SaslError(`${name}: unexpected server challenge`);
      errorAnswered = true;
      return errorAnswer;
    },
    complete: () => true,
  };
}
