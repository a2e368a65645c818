// SASL for SMTP AUTH: every built-in mechanism, the choice among them, and the credential
// check (smtpwire/sasl and smtpwire/core). The session itself imports only choose.ts, whose
// default is PLAIN and LOGIN: the rest is bundled only by what imports this file.
import { chooseFrom } from './choose.ts';
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
export { BASIC_MECHANISMS, validateCredentials } from './choose.ts';
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

/**
 * Picks the mechanism to AUTH with from `mechanisms` (default: every built-in one), or
 * undefined when there is none both sides can use; the rules are chooseFrom's (choose.ts).
 */
export function chooseMechanism(
  serverMechanisms: readonly string[],
  credentials: SaslCredentials,
  preferred?: string,
  mechanisms: readonly SaslMechanism[] = BUILTIN_MECHANISMS,
): SaslMechanism | undefined {
  return chooseFrom(mechanisms, serverMechanisms, credentials, preferred);
}
