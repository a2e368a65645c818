// The pool's options: what each means, their defaults, and the checks that refuse a bad value
// before anything connects (SmtpUsageError naming the option).
import { SmtpUsageError } from '../core/errors.ts';
import type { ClientOptions } from './client.ts';
import { shareSecret } from './credentials.ts';
import type { Transport } from './transport.ts';

export interface PoolOptions extends ClientOptions {
  transport: Transport;
  /** Default 5. */
  maxConnections?: number;
  /** A session is closed (and replaced) after this many messages. Default 100. */
  maxMessagesPerConnection?: number;
  /** A session takes no new message after this many ms, and closes once its sends settle.
   *  Default 300 000 (5 minutes). */
  maxLifetime?: number;
  /** Close a session idle this long (ms). Default 5 000: below the ~10 s after which some
   *  providers close idle links, so the pool, not the server, ends them (see getting-started). */
  idleTimeout?: number;
  /** A session idle at least this long (ms) answers a NOOP before it is given sends, so sends
   *  are never pipelined onto a link the server closed while it was idle (they would end
   *  `unknown`). Default 1 000. */
  checkAfterIdle?: number;
  /** At most `messages` sends handed to sessions in any `perMs` window. */
  rateLimit?: { messages: number; perMs: number };
  /** Extra attempts after a transient rejection (replayable bodies only). Default 2. */
  retries?: number;
  /** Also retry an `unknown` outcome (replayable bodies only, within `retries`). The server may
   *  already have the message, so a retry may deliver it twice. Default false. */
  retryUnknown?: boolean;
  /** Sends in flight on one session at a time. Default 16. */
  maxPendingPerConnection?: number;
  /** Sends waiting for a session (not yet handed to one). Default 1000. */
  maxQueued?: number;
  /** What send() does when the queue is full: 'wait' for room (default), or 'reject' at once
   *  with SmtpPoolFullError. */
  whenFull?: 'wait' | 'reject';
}

/** The pool's settings, each checked and defaulted. */
export function resolvePoolOptions(options: PoolOptions) {
  if (options === null || typeof options !== 'object') throw new SmtpUsageError('options must be an object');
  const count = (v: number | undefined, fallback: number, name: string, min = 1): number => {
    if (v === undefined) return fallback;
    if (!(Number.isInteger(v) && v >= min)) throw new SmtpUsageError(`${name} must be an integer >= ${min}`);
    return v;
  };
  const ms = (v: number | undefined, fallback: number, name: string): number => {
    if (v === undefined) return fallback;
    if (!(typeof v === 'number' && v > 0)) throw new SmtpUsageError(`${name} must be a positive number of milliseconds`);
    return v;
  };
  const settings = {
    maxConnections: count(options.maxConnections, 5, 'maxConnections'),
    maxMessages: count(options.maxMessagesPerConnection, 100, 'maxMessagesPerConnection'),
    maxPending: count(options.maxPendingPerConnection, 16, 'maxPendingPerConnection'),
    maxQueued: options.maxQueued === Infinity ? Infinity : count(options.maxQueued, 1000, 'maxQueued'),
    retries: count(options.retries, 2, 'retries', 0),
    idleTimeout: ms(options.idleTimeout, 5_000, 'idleTimeout'),
    checkAfterIdle: ms(options.checkAfterIdle, 1_000, 'checkAfterIdle'),
    maxLifetime: ms(options.maxLifetime, 300_000, 'maxLifetime'),
    closeTimeout: options.timeouts?.close ?? 10_000,
  };
  const whenFull = options.whenFull ?? 'wait';
  if (whenFull !== 'wait' && whenFull !== 'reject') throw new SmtpUsageError("whenFull must be 'wait' or 'reject'");
  const rate = options.rateLimit;
  if (rate !== undefined) {
    count(rate.messages, 1, 'rateLimit.messages');
    if (!(rate.perMs > 0)) throw new SmtpUsageError('rateLimit.perMs must be a positive number');
  }
  if (options.maxUnansweredEnds !== undefined) count(options.maxUnansweredEnds, 1, 'maxUnansweredEnds');
  return { ...settings, whenFull, rate };
}

/** The options each session gets. A token or password provider is shared by every session: a
 *  refused token is refreshed once for all of them (client/credentials.ts), not once per
 *  connection. */
export function sharedSecrets(options: PoolOptions): PoolOptions {
  const auth = options.auth;
  if (!auth || (typeof auth.token !== 'function' && typeof auth.pass !== 'function')) return options;
  return {
    ...options,
    auth: {
      ...auth,
      ...(typeof auth.token === 'function' ? { token: shareSecret(auth.token) } : {}),
      ...(typeof auth.pass === 'function' ? { pass: shareSecret(auth.pass) } : {}),
    },
  };
}
