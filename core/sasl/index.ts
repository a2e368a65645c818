// SASL for SMTP AUTH: the built-in mechanisms, the choice among them, and the credential
// check that keeps user input from breaking SASL or SMTP framing.
import { SmtpUsageError } from '../errors.ts';
import { SASL_CRAM_MD5 } from './cram-md5.ts';
import { SASL_LOGIN } from './login.ts';
import type { SaslCredentials, SaslMechanism } from './mechanism.ts';
import { SASL_OAUTHBEARER } from './oauthbearer.ts';
import { SASL_PLAIN } from './plain.ts';
import { SASL_SCRAM_SHA_256 } from './scram-sha-256.ts';
import { SASL_XOAUTH2 } from './xoauth2.ts';

export * from './mechanism.ts';
export * from './base64.ts';
export * from './hash.ts';
export { SASL_PLAIN } from './plain.ts';
export { SASL_LOGIN } from './login.ts';
export { SASL_CRAM_MD5 } from './cram-md5.ts';
export { SASL_XOAUTH2 } from './xoauth2.ts';
export { SASL_OAUTHBEARER } from './oauthbearer.ts';
export { SASL_SCRAM_SHA_256, SCRAM_MAX_ITERATIONS, SCRAM_MIN_ITERATIONS, saslPrep } from './scram-sha-256.ts';

/** Strongest first. Token mechanisms rank above password ones: a caller who supplies a
 *  token means OAuth, and the password is at most a fallback. */
export const BUILTIN_MECHANISMS: readonly SaslMechanism[] = Object.freeze([
  SASL_OAUTHBEARER,
  SASL_XOAUTH2,
  SASL_SCRAM_SHA_256,
  SASL_CRAM_MD5,
  SASL_PLAIN,
  SASL_LOGIN,
]);

// Built-ins with no place for an authzid: choosing one would act as the wrong identity.
const NO_AUTHZID = new Set(['LOGIN', 'CRAM-MD5', 'XOAUTH2']);

function canSatisfy(m: SaslMechanism, c: SaslCredentials): boolean {
  if (c.authzid && NO_AUTHZID.has(m.name.toUpperCase())) return false;
  return m.needs === 'token' ? !!c.token : !!c.pass;
}

/**
 * Picks the mechanism to AUTH with, or undefined when there is none both sides can use.
 * - `preferred` (any case) wins if the credentials satisfy it and the server lists it, or
 *   lists no AUTH at all; otherwise undefined (never a silent switch to another mechanism).
 * - Else the strongest mechanism the server lists and the credentials satisfy.
 * - A server that lists no AUTH gets PLAIN for a password (the legacy embedded-client rule),
 *   else XOAUTH2 for a token: a server that takes XOAUTH2 advertises it, a legacy one may not.
 * An empty password or token counts as absent.
 */
export function chooseMechanism(
  serverMechanisms: readonly string[],
  credentials: SaslCredentials,
  preferred?: string,
  mechanisms: readonly SaslMechanism[] = BUILTIN_MECHANISMS,
): SaslMechanism | undefined {
  const offered = new Set(serverMechanisms.map((name) => name.toUpperCase()));
  const usable = mechanisms.filter((m) => canSatisfy(m, credentials));
  const named = (name: string) => usable.find((m) => m.name.toUpperCase() === name.toUpperCase());
  if (preferred !== undefined) {
    const m = named(preferred);
    return m && (offered.size === 0 || offered.has(m.name.toUpperCase())) ? m : undefined;
  }
  // named() only finds mechanisms the credentials satisfy, so PLAIN means a password is set.
  if (offered.size === 0) return named('PLAIN') ?? named('XOAUTH2');
  let best: SaslMechanism | undefined;
  for (const m of usable) {
    if (offered.has(m.name.toUpperCase()) && (!best || m.strength > best.strength)) best = m;
  }
  return best;
}

/**
 * Throws SmtpUsageError when a credential could corrupt the exchange: NUL, CR or LF in any
 * field (PLAIN's separators, SMTP line ends), or ^A in the user, token or authzid (the
 * XOAUTH2 and OAUTHBEARER separator). The message names the field, never its value.
 */
export function validateCredentials(credentials: SaslCredentials): void {
  if (typeof credentials.user !== 'string' || credentials.user === '') {
    throw new SmtpUsageError('auth: user must be a non-empty string');
  }
  const check = (field: keyof SaslCredentials, forbidden: RegExp, what: string) => {
    const value: unknown = credentials[field];
    if (value === undefined) return;
    if (typeof value !== 'string') throw new SmtpUsageError(`auth: ${field} must be a string`);
    if (forbidden.test(value)) throw new SmtpUsageError(`auth: ${field} must not contain ${what}`);
  };
  check('user', /[\0\r\n\x01]/, 'NUL, CR, LF or \\x01');
  check('authzid', /[\0\r\n\x01]/, 'NUL, CR, LF or \\x01');
  check('token', /[\0\r\n\x01]/, 'NUL, CR, LF or \\x01');
  check('pass', /[\0\r\n]/, 'NUL, CR or LF');
}
