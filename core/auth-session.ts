// AUTH in the session (RFC 4954): choosing the mechanism, the AUTH line and its initial
// response, carrying out what auth.ts decides for each 334, and the final reply. auth.ts owns
// the fail-closed rules of the exchange; this file owns the wire and the phase.
import { AuthExchange, type AuthAnswer } from './auth.ts';
import type { ConnectionState } from './connection-state.ts';
import { SmtpAuthError, SmtpProtocolError } from './errors.ts';
import { describeReply, type Reply } from './reply.ts';
import { encodeBase64 } from './sasl/base64.ts';
import { BASIC_MECHANISMS, chooseFrom, howToAdd, missingBuiltins } from './sasl/choose.ts';
import { enterReady, fail, failPolitely } from './session.ts';
import { printable } from './text.ts';

const SAFE_AUTH_LINE = 510; // RFC 4954 §4: 512 octets with CRLF

/** The random source for SASL nonces: the option, else WebCrypto's when the runtime has it. */
function randomSource(s: ConnectionState): (n: number) => Uint8Array {
  if (s.options.random) return s.options.random;
  const crypto = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (crypto && typeof crypto.getRandomValues === 'function') return (n) => crypto.getRandomValues!(new Uint8Array(n));
  return () => {
    throw new SmtpAuthError('no random source for the SASL nonce: this runtime has no crypto.getRandomValues; give the `random` option');
  };
}

export function beginAuth(s: ConnectionState): void {
  const auth = s.options.auth!;
  if (!s.secure && !s.options.allowInsecureAuth) {
    return failPolitely(
      s,
      new SmtpAuthError('refusing to send credentials over a connection without TLS (set allowInsecureAuth to override)'),
    );
  }
  const mechanism =
    typeof auth.mechanism === 'object'
      ? auth.mechanism
      : chooseFrom(auth.mechanisms ?? BASIC_MECHANISMS, s.capabilities.auth, auth.credentials, auth.mechanism);
  if (!mechanism) {
    const c = auth.credentials;
    if (c.pass === undefined && c.token === undefined) {
      return failPolitely(
        s,
        new SmtpAuthError(`auth.user "${printable(c.user)}" has no password: give auth.pass, or auth.token for XOAUTH2/OAUTHBEARER`),
      );
    }
    const offered = s.capabilities.auth.length ? s.capabilities.auth.join(' ') : 'none';
    // A built-in mechanism the server offers and this connection was not given: say how to add it.
    const missing = missingBuiltins(auth.mechanisms ?? BASIC_MECHANISMS, s.capabilities.auth);
    const hint = missing.length > 0 && auth.mechanism === undefined ? `; to use ${missing.join(' or ')}, ${howToAdd(missing)}` : '';
    return failPolitely(s, new SmtpAuthError(`no usable AUTH mechanism (server offers: ${printable(offered)})${hint}`));
  }
  let initial: Uint8Array | undefined;
  let authx: AuthExchange;
  try {
    authx = AuthExchange.create(
      mechanism,
      auth.credentials,
      { random: randomSource(s), host: s.options.host, port: s.options.port },
      { asyncCompute: s.options.asyncCompute === true, maxChallenges: auth.maxChallenges },
    );
    initial = authx.start();
  } catch (e) {
    return failPolitely(s, new SmtpAuthError(`cannot use ${mechanism.name}: ${e instanceof Error ? e.message : String(e)}`));
  }
  s.authx = authx;
  s.phase = 'auth';
  s.authDeadline = s.now + s.timeouts.authTotal; // not re-armed by any 334
  let line = `AUTH ${mechanism.name}`;
  if (initial !== undefined) {
    const encoded = initial.length === 0 ? '=' : encodeBase64(initial);
    if (line.length + 1 + encoded.length <= SAFE_AUTH_LINE) line += ` ${encoded}`;
    else authx.withhold(initial); // sent as the answer to the first 334 instead
  }
  s.command(line, AUTH_STEP, `AUTH ${mechanism.name}${line.length > 5 + mechanism.name.length ? ' <redacted>' : ''}`);
}

const AUTH_STEP = { for: 'session', step: 'auth', timer: 'auth', barrier: true } as const;

/** A 334 challenge. */
export function authStep(s: ConnectionState, reply: Reply): void {
  authAnswer(s, s.authx!.challenge(reply.lines[0] ?? ''));
}

/** The driver's answer to a `compute` output (or its failure). */
export function authComputed(s: ConnectionState, answer: (authx: AuthExchange) => AuthAnswer, id: number): void {
  if (id === 0 || id !== s.computeId || s.phase !== 'auth' || !s.authx) return;
  s.computeId = 0;
  authAnswer(s, answer(s.authx));
}

/** Carry out what the exchange decided for a 334 (or for a computation's result). */
function authAnswer(s: ConnectionState, answer: AuthAnswer): void {
  switch (answer.type) {
    case 'respond':
      s.command(answer.line, AUTH_STEP, answer.shown);
      return;
    case 'compute':
      // The AUTH deadline keeps running; no reply is expected until the answer is sent.
      s.computeId = s.nextId++;
      s.output.push({ type: 'compute', id: s.computeId, request: answer.request });
      return;
    case 'violation':
      // No QUIT: the server is mid-AUTH and would read it as a SASL response.
      return fail(s, new SmtpProtocolError(answer.message));
  }
}

/** 235: believed only when the exchange says the server proved itself (auth.ts). */
export function authDone(s: ConnectionState, reply: Reply): void {
  const refused = s.authx!.verdict();
  if (refused) return failPolitely(s, new SmtpAuthError(refused, reply));
  s.authx = undefined;
  s.authenticated = true;
  enterReady(s);
}

export function authFailed(s: ConnectionState, reply: Reply): void {
  const name = s.authx!.mechanism.name;
  const why = s.authx!.cancelReason;
  s.authx = undefined;
  // The client's own reason comes first: the server's reply to `*` only says "cancelled".
  const message =
    why === undefined
      ? `authentication failed: ${describeReply(reply)}`
      : `AUTH ${name} cancelled by the client: ${why} (server: ${describeReply(reply)})`;
  failPolitely(s, new SmtpAuthError(message, reply));
}
