// Credentials that change: `auth.pass` and `auth.token` may be async providers. A provider is
// asked once per connection, and once more with `refresh: true` after the server refused an
// OAuth token (XOAUTH2 / OAUTHBEARER): the client then connects again with the new token. The
// core only ever sees strings; refreshing is a reconnect, so no SASL state machine changes.
//
// One provider shared by many connections (a pool) refreshes once for all of them: a refresh
// that is running is joined, and a connection whose token is older than the last refresh takes
// the refreshed token instead of asking again. N connections failing at once cost one refresh.
import { SmtpAuthError, SmtpError, SmtpUsageError } from '../core/errors.ts';

/** What a provider is told about the request. */
export interface SecretContext {
  /** Which secret is asked for. */
  readonly kind: 'pass' | 'token';
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** True when the server refused the last token: fetch a new one, do not return a cached one. */
  readonly refresh: boolean;
}

/** Returns the password or the OAuth 2.0 access token, e.g. from a token endpoint or a vault. */
export type SecretProvider = (context: SecretContext) => Promise<string> | string;

/** A provider that refreshes once for everyone who shares it. */
export interface SharedSecret {
  (context: SecretContext): Promise<string>;
  /** Ask for a refresh on behalf of a connection whose `stale` secret was refused. */
  refresh(context: SecretContext, stale: string): Promise<string>;
  /** Refreshes actually asked of the user's provider. */
  readonly refreshes: number;
}

const SHARED = Symbol('smtpwire.sharedSecret');

/** Wrap a provider so that everyone using the wrapper shares its refreshes (idempotent). */
export function shareSecret(provider: SecretProvider): SharedSecret {
  if ((provider as Partial<Record<typeof SHARED, true>>)[SHARED]) return provider as unknown as SharedSecret;
  let latest: string | undefined; // the value the last refresh gave
  let refreshing: Promise<string> | undefined;
  let refreshes = 0;
  const ask = async (context: SecretContext): Promise<string> => {
    let value: unknown;
    try {
      value = await provider(context);
    } catch (err) {
      // The provider's own message is kept (it is the user's code); the secret never is.
      const why = err instanceof Error ? err.message : String(err);
      const error = new SmtpAuthError(`the auth.${context.kind} provider failed: ${why}`);
      (error as { cause?: unknown }).cause = err;
      throw error;
    }
    if (typeof value !== 'string' || value === '') {
      throw new SmtpUsageError(`the auth.${context.kind} provider must resolve with a non-empty string`);
    }
    return value;
  };
  const shared = ((context: SecretContext) => refreshing ?? ask(context)) as SharedSecret;
  shared.refresh = (context, stale) => {
    if (refreshing) return refreshing;
    // Someone refreshed since this connection got its secret: use theirs, do not ask again.
    if (latest !== undefined && latest !== stale) return Promise.resolve(latest);
    refreshes++;
    refreshing = ask({ ...context, refresh: true }).then(
      (value) => {
        latest = value;
        refreshing = undefined;
        return value;
      },
      (err) => {
        refreshing = undefined;
        throw err;
      },
    );
    return refreshing;
  };
  Object.defineProperty(shared, 'refreshes', { get: () => refreshes });
  Object.defineProperty(shared, SHARED, { value: true });
  return shared;
}

/** Options whose `auth` may hold providers; what the core needs holds strings only. */
interface AuthLike {
  user: string;
  pass?: string | SecretProvider;
  token?: string | SecretProvider;
}

/**
 * The auth failures that mean "this token is no good any more": XOAUTH2 and OAUTHBEARER end a
 * refused token with 535 (after their 334 error challenge), some servers with 454 4.7.x.
 */
export function isTokenRefusal(err: unknown): boolean {
  if (!(err instanceof SmtpError) || err.code !== 'EAUTH' || !err.reply) return false;
  const { code, enhanced } = err.reply;
  return code === 535 || (code === 454 && (enhanced ?? '').startsWith('4.7.'));
}

/**
 * Connect with `attempt`, first turning providers into strings. After a refused token from a
 * token provider, ask it once with `refresh: true` and try once more; any other failure, or a
 * second refusal, is the caller's.
 */
export async function withCredentials<O extends { host: string; port?: number; auth?: AuthLike }, T>(
  options: O,
  port: number,
  attempt: (options: O, refreshed: boolean) => Promise<T>,
): Promise<T> {
  const auth = options.auth;
  if (!auth || (typeof auth.pass !== 'function' && typeof auth.token !== 'function')) return attempt(options, false);
  const base = { host: options.host, port, user: auth.user, refresh: false };
  const pass = typeof auth.pass === 'function' ? await shareSecret(auth.pass)({ ...base, kind: 'pass' }) : auth.pass;
  const tokenSource = typeof auth.token === 'function' ? shareSecret(auth.token) : undefined;
  const token = tokenSource ? await tokenSource({ ...base, kind: 'token' }) : (auth.token as string | undefined);
  const withSecrets = (t: string | undefined): O => ({ ...options, auth: { ...auth, pass, token: t } });
  try {
    return await attempt(withSecrets(token), false);
  } catch (err) {
    if (!tokenSource || !isTokenRefusal(err)) throw err;
    const fresh = await tokenSource.refresh({ ...base, kind: 'token', refresh: true }, token!);
    return attempt(withSecrets(fresh), true);
  }
}
