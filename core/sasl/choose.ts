// Choosing the SASL mechanism, and the credential check that keeps user input from breaking
// SASL or SMTP framing. Only PLAIN and LOGIN are imported here: every other mechanism (and
// core/sasl/hash.ts under SCRAM and CRAM-MD5) reaches a bundle only when the caller passes it in
// `auth.mechanisms` (smtpwire/sasl), so a Worker that sends with a password stays small.
import { SmtpUsageError } from '../errors.ts';
import { printable } from '../text.ts';
import { SASL_LOGIN } from './login.ts';
import type { SaslCredentials, SaslMechanism } from './mechanism.ts';
import { SASL_PLAIN } from './plain.ts';

/** What a connection may use when it is not told: the two password mechanisms every server has. */
export const BASIC_MECHANISMS: readonly SaslMechanism[] = Object.freeze([SASL_PLAIN, SASL_LOGIN]);

/** The built-in mechanisms outside BASIC_MECHANISMS, by name: their export in smtpwire/sasl. */
const OPT_IN: Readonly<Record<string, string>> = {
  'SCRAM-SHA-256': 'SASL_SCRAM_SHA_256',
  'CRAM-MD5': 'SASL_CRAM_MD5',
  XOAUTH2: 'SASL_XOAUTH2',
  OAUTHBEARER: 'SASL_OAUTHBEARER',
};

/** How to add the mechanisms `names` (upper case, built-in ones only): the sentence an error ends with. */
export function howToAdd(names: readonly string[]): string {
  const symbols = names.map((n) => OPT_IN[n]).filter((e) => e !== undefined);
  return `import { ${symbols.join(', ')} } from 'smtpwire/sasl' and pass auth.mechanisms: [${symbols.join(', ')}, ...] (or BUILTIN_MECHANISMS for all of them)`;
}

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
export function chooseFrom(
  mechanisms: readonly SaslMechanism[],
  serverMechanisms: readonly string[],
  credentials: SaslCredentials,
  preferred?: string,
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
 * Throws SmtpUsageError when the options ask for a built-in mechanism that is not among
 * `mechanisms` (a name in auth.mechanism, or a token with no token mechanism): the message says
 * what to import. A name that is no built-in one is left to the AUTH exchange, as before.
 */
export function checkMechanisms(mechanisms: readonly SaslMechanism[], credentials: SaslCredentials, preferred?: string): void {
  const has = (name: string) => mechanisms.some((m) => m.name.toUpperCase() === name);
  if (preferred !== undefined) {
    const name = preferred.toUpperCase();
    if (OPT_IN[name] !== undefined && !has(name)) {
      throw new SmtpUsageError(
        `auth.mechanism ${name} is not among the mechanisms this connection may use (${mechanisms.map((m) => m.name).join(', ') || 'none'}): ${howToAdd([name])}`,
      );
    }
    return;
  }
  if (credentials.token && !credentials.pass && !mechanisms.some((m) => m.needs === 'token')) {
    throw new SmtpUsageError(
      `auth.token needs XOAUTH2 or OAUTHBEARER, which this connection does not have: ${howToAdd(['XOAUTH2', 'OAUTHBEARER'])}`,
    );
  }
}

/**
 * Throws SmtpUsageError unless `name` is a SASL mechanism name (RFC 4422 §3.1: 1 to 20 upper-case
 * letters, digits, "-" or "_"; any case is taken, as the chooser compares without case). The
 * name goes on the wire after "AUTH ": a CR or LF in a custom mechanism would inject a command.
 */
export function checkMechanismName(what: string, name: unknown): void {
  if (typeof name === 'string' && /^[A-Za-z0-9_-]{1,20}$/.test(name)) return;
  const shown = typeof name === 'string' ? `"${printable(name.slice(0, 40))}"` : String(typeof name);
  throw new SmtpUsageError(`${what}: a SASL mechanism name is 1 to 20 letters, digits, "-" or "_" (RFC 4422 §3.1), not ${shown}`);
}

/** The built-in mechanisms `offered` by the server that `mechanisms` lacks (for an AUTH error). */
export function missingBuiltins(mechanisms: readonly SaslMechanism[], offered: readonly string[]): string[] {
  const names = new Set(mechanisms.map((m) => m.name.toUpperCase()));
  return offered.map((n) => n.toUpperCase()).filter((n) => OPT_IN[n] !== undefined && !names.has(n));
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
