// The pluggable SASL mechanism contract (RFC 4422 client side, as used by SMTP AUTH, RFC 4954).
// The core handles base64, the 334/235/535 dance, `*` cancellation and the 512-octet rule;
// a mechanism only turns credentials and challenges into response bytes.

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
}

export interface SaslExchange {
  /** The initial response: bytes to send with AUTH, or undefined when the mechanism starts
   *  by waiting for a challenge. An empty array means an empty initial response ("="). */
  start(): Uint8Array | undefined;
  /** Answer one server challenge (already base64-decoded). Throw a SaslError to cancel;
   *  the core then sends `*`. */
  step(challenge: Uint8Array): Uint8Array;
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
  create(credentials: SaslCredentials, context: SaslContext): SaslExchange;
}

export class SaslError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SaslError';
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
