// Credentials that change: `auth.pass` and `auth.token` may be async providers. A provider is
// asked once per connection, and once more with `refresh: true` after the server refused an
// OAuth token (XOAUTH2 / OAUTHBEARER): the client then connects again with the new token. The
// core only ever sees strings; refreshing is a reconnect, so no SASL state machine changes.
//
// One provider shared by many connections (a pool) refreshes once for all of them: a refresh
// that is running is joined, and a connection whose token is older than the newest one the
// provider gave takes that token instead of asking again. N connections failing at once cost
// one refresh. A value that could not go on the wire is refused here, so it is never kept.
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
  // The newest value the provider gave (refresh or not), by when it was asked: a refused
  // token equal to it must be refreshed; an older one is replaced by it.
  let latest: string | undefined;
  let latestAsked = 0;
  let asked = 0;
  let refreshing: Promise<string> | undefined;
  let refreshes = 0;
  const ask = async (context: SecretContext): Promise<string> => {
    const order = ++asked;
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
    // The core refuses these too, but only here can the message name the provider; and a bad
    // refresh must not become `latest`, handed to every connection without asking again.
    if (/[\0\r\n]/.test(value) || (context.kind === 'token' && value.includes('\x01'))) {
      const what = context.kind === 'token' ? 'NUL, CR, LF or \\x01' : 'NUL, CR or LF';
      throw new SmtpUsageError(`the auth.${context.kind} provider resolved with a value holding ${what}: return the bare secret`);
    }
    if (order > latestAsked) {
      latest = value;
      latestAsked = order;
    }
    return value;
  };
  const shared = ((context: SecretContext) => refreshing ?? ask(context)) as SharedSecret;
  shared.refresh = (context, stale) => {
    if (refreshing) return refreshing;
    // The provider gave a newer value since this connection got its secret: use it, do not ask again.
    if (latest !== undefined && latest !== stale) return Promise.resolve(latest);
    refreshes++;
    refreshing = ask({ ...context, refresh: true }).then(
      (value) => {
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
    try {
      return await attempt(withSecrets(fresh), true);
    } catch (again) {
      if (!isTokenRefusal(again)) throw again;
      const { message, reply } = again as SmtpError;
      const error = new SmtpAuthError(`${message} (refused again after one token refresh: check auth.user and the token's scopes)`, reply);
      (error as { cause?: unknown }).cause = again;
      throw error;
    }
  }
}
