// A pool of SMTP sessions: spreads sends over up to maxConnections clients (several in flight
// per client: they pipeline), replaces dead ones, retires busy ones after
// maxMessagesPerConnection, closes idle ones, and optionally limits the send rate.
// Retries are deliberately narrow: only a transient rejection, only with a body we can send
// again byte for byte, and never an 'unknown' outcome (the server may already have it).
import { connect, notStarted, type ClientOptions, type SendResult, SmtpClient } from './client.ts';
import { SmtpAbortError, SmtpConnectionError, SmtpError, SmtpUsageError } from '../core/errors.ts';
import type { SendInput } from './message-send.ts';
import type { Transport } from './transport.ts';

export interface PoolOptions extends ClientOptions {
  transport: Transport;
  /** Default 5. */
  maxConnections?: number;
  /** A session is closed (and replaced) after this many messages. Default 100. */
  maxMessagesPerConnection?: number;
  /** Close a session idle this long (ms). Default 30 s. */
  idleTimeout?: number;
  /** At most `messages` sends handed to sessions in any `perMs` window. */
  rateLimit?: { messages: number; perMs: number };
  /** Extra attempts after a transient rejection (replayable bodies only). Default 2. */
  retries?: number;
  /** Sends in flight on one session at a time. Default 16. */
  maxPendingPerConnection?: number;
}

export interface Pool {
  /** Resolves like SmtpClient.send (accepted / rejected / unknown); rejects only for usage errors.
   *  Takes what SmtpClient.send takes: a raw Message, a built message or the builder's options. */
  send(message: SendInput): Promise<SendResult>;
  /** Let queued sends finish, then QUIT every session. */
  close(): Promise<void>;
}

interface Job {
  readonly message: SendInput;
  /** A whole string/Uint8Array body: sending it again sends the same bytes. */
  readonly replayable: boolean;
  attempts: number;
  /** The session a transient failure happened on: retry elsewhere when we can. */
  avoid: SmtpClient | undefined;
  resolve(result: SendResult): void;
  reject(err: unknown): void;
  unlisten(): void;
}

interface Conn {
  readonly client: SmtpClient;
  assigned: number;
  idle: ReturnType<typeof setTimeout> | undefined;
}

export function createPool(options: PoolOptions): Pool {
  const count = (v: number | undefined, fallback: number, name: string, min = 1): number => {
    if (v === undefined) return fallback;
    if (!(Number.isInteger(v) && v >= min)) throw new SmtpUsageError(`${name} must be an integer >= ${min}`);
    return v;
  };
  const maxConnections = count(options.maxConnections, 5, 'maxConnections');
  const maxMessages = count(options.maxMessagesPerConnection, 100, 'maxMessagesPerConnection');
  const maxPending = count(options.maxPendingPerConnection, 16, 'maxPendingPerConnection');
  const retries = count(options.retries, 2, 'retries', 0);
  const idleTimeout = options.idleTimeout ?? 30_000;
  if (!(idleTimeout > 0)) throw new SmtpUsageError('idleTimeout must be a positive number');
  const rate = options.rateLimit;
  if (rate !== undefined) {
    count(rate.messages, 1, 'rateLimit.messages');
    if (!(rate.perMs > 0)) throw new SmtpUsageError('rateLimit.perMs must be a positive number');
  }

  const queue: Job[] = [];
  const conns = new Set<Conn>();
  let connecting = 0;
  let inFlight = 0;
  let closing = false;
  const sentAt: number[] = []; // dispatch times inside the current rate window
  let rateTimer: ReturnType<typeof setTimeout> | undefined;
  // After a failed connect, wait before the next one so a refusing server is not hammered.
  let backoff = 0;
  let openAfter = 0;
  let openTimer: ReturnType<typeof setTimeout> | undefined;
  let waiters: (() => void)[] = [];

  const changed = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };

  const settle = (job: Job, result: SendResult): void => {
    job.unlisten();
    job.resolve(result);
  };

  function rateAllows(): boolean {
    if (!rate) return true;
    const now = Date.now();
    while (sentAt.length > 0 && sentAt[0]! <= now - rate.perMs) sentAt.shift();
    if (sentAt.length < rate.messages) return true;
    rateTimer ??= setTimeout(() => {
      rateTimer = undefined;
      dispatch();
    }, sentAt[0]! + rate.perMs - now);
    return false;
  }

  /** The least busy session that may take `job`, preferring one it has not failed on. */
  function pick(job: Job): Conn | undefined {
    let best: Conn | undefined;
    let fallback: Conn | undefined;
    for (const c of conns) {
      if (c.client.isClosed || c.assigned >= maxMessages || c.client.pending >= maxPending) continue;
      if (c.client === job.avoid) fallback = c;
      else if (!best || c.client.pending < best.client.pending) best = c;
    }
    // Retry on the same session only when no other can come (at the limit, or connects failing).
    if (!best && fallback && (conns.size + connecting >= maxConnections || Date.now() < openAfter)) return fallback;
    return best;
  }

  function dispatch(): void {
    while (queue.length > 0) {
      const conn = pick(queue[0]!);
      if (!conn) {
        // Open enough sessions for what is waiting, within the limit.
        if (conns.size + connecting < maxConnections && connecting * maxPending < queue.length) maybeOpen();
        break;
      }
      if (!rateAllows()) break;
      run(queue.shift()!, conn);
    }
    for (const c of conns) if (c.client.pending === 0 && c.idle === undefined && !c.client.isClosed) armIdle(c);
    changed();
  }

  function run(job: Job, conn: Conn): void {
    job.unlisten(); // the session watches the signal from here on
    job.attempts++;
    conn.assigned++;
    inFlight++;
    if (rate) sentAt.push(Date.now());
    if (conn.idle !== undefined) clearTimeout(conn.idle);
    conn.idle = undefined;
    conn.client.send(job.message).then(
      (result) => {
        inFlight--;
        const transient = result.outcome === 'rejected' && result.error?.transient === true;
        if (transient && job.replayable && job.attempts <= retries && !(job.message as { signal?: AbortSignal }).signal?.aborted) {
          job.avoid = conn.client;
          queue.unshift(job);
        } else settle(job, result);
        afterSend(conn);
      },
      (err) => {
        inFlight--;
        job.reject(err);
        afterSend(conn);
      },
    ).catch(() => {}); // the callbacks above do not throw; belt and braces against unhandled rejections
  }

  function afterSend(conn: Conn): void {
    if (conn.assigned >= maxMessages && conn.client.pending === 0) retire(conn);
    dispatch();
  }

  function retire(conn: Conn): void {
    if (conn.idle !== undefined) clearTimeout(conn.idle);
    conn.idle = undefined;
    conns.delete(conn);
    void conn.client.close();
  }

  function armIdle(conn: Conn): void {
    if (closing) return;
    conn.idle = setTimeout(() => {
      conn.idle = undefined;
      if (conn.client.pending === 0) retire(conn);
    }, idleTimeout);
  }

  function maybeOpen(): void {
    const wait = openAfter - Date.now();
    if (wait <= 0) return open();
    openTimer ??= setTimeout(() => {
      openTimer = undefined;
      dispatch();
    }, wait);
  }

  function open(): void {
    connecting++;
    connect(options).then(
      (client) => {
        connecting--;
        backoff = 0;
        const conn: Conn = { client, assigned: 0, idle: undefined };
        conns.add(conn);
        void client.closed.then(() => {
          if (conn.idle !== undefined) clearTimeout(conn.idle);
          conns.delete(conn);
          dispatch(); // replace it if work is waiting
        });
        dispatch();
      },
      (err) => {
        connecting--;
        backoff = Math.min(10_000, backoff === 0 ? 250 : backoff * 2);
        openAfter = Date.now() + backoff;
        connectFailed(err);
        dispatch();
      },
    ).catch(() => {});
  }

  /** With no session left to carry the queue, every waiting send pays one attempt. */
  function connectFailed(err: unknown): void {
    if (connecting > 0 || conns.size > 0) return;
    const error = err instanceof SmtpError ? err : new SmtpConnectionError(String(err), err);
    for (const job of [...queue]) {
      job.attempts++;
      if (error.code === 'EUSAGE') {
        // Bad options: a usage error, so the send rejects (it would never work anywhere).
        queue.splice(queue.indexOf(job), 1);
        job.unlisten();
        job.reject(error);
      } else if (job.attempts > retries) {
        queue.splice(queue.indexOf(job), 1);
        settle(job, notStarted(error));
      }
    }
  }

  return {
    send(message: SendInput): Promise<SendResult> {
      if (closing) return Promise.reject(new SmtpUsageError('the pool is closed'));
      if (message === null || typeof message !== 'object') return Promise.reject(new SmtpUsageError('message must be an object'));
      return new Promise((resolve, reject) => {
        const signal = (message as { signal?: AbortSignal }).signal;
        const onAbort = (): void => {
          const at = queue.indexOf(job);
          if (at < 0) return;
          queue.splice(at, 1);
          settle(job, notStarted(new SmtpAbortError()));
          changed();
        };
        const job: Job = {
          // A built message is not replayed: a streamed attachment may be readable only once.
          message, replayable: 'body' in message && (typeof message.body === 'string' || message.body instanceof Uint8Array),
          attempts: 0, avoid: undefined, resolve, reject,
          unlisten: () => signal?.removeEventListener('abort', onAbort),
        };
        if (signal?.aborted) return resolve(notStarted(new SmtpAbortError()));
        signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(job);
        dispatch();
      });
    },

    async close(): Promise<void> {
      closing = true;
      while (queue.length > 0 || inFlight > 0 || connecting > 0) await new Promise<void>((r) => waiters.push(r));
      if (rateTimer !== undefined) clearTimeout(rateTimer);
      if (openTimer !== undefined) clearTimeout(openTimer);
      const all = [...conns];
      conns.clear();
      for (const c of all) if (c.idle !== undefined) clearTimeout(c.idle);
      await Promise.all(all.map((c) => c.client.close()));
    },
  };
}
