// A pool of SMTP sessions: spreads sends over up to maxConnections clients (several in flight
// per client: they pipeline), replaces dead ones, retires busy or old ones, closes idle ones
// before the server does, optionally limits the send rate, and pushes back on its callers with
// a bounded queue.
//
// Connection accounting: a session counts against maxConnections from the moment it is being
// opened until its link has closed, not until its QUIT was sent, so a replacement never makes
// one too many (a server that allows exactly maxConnections per client would refuse it).
//
// Retries are deliberately narrow: only a transient rejection, only with a body we can send
// again byte for byte, and never an 'unknown' outcome (the server may already have it) unless
// the caller opts in with retryUnknown. A send the session ended under before the server judged
// it (a link the server closed while idle, a 421) is not a failed attempt: it goes back to the
// front of the queue (whole bodies; a stream cannot be read twice and is reported instead).
import { withFullParts, type SendResult, SmtpClient } from './client.ts';
import { notStarted } from './not-started.ts';
import { SmtpAbortError, SmtpConnectionError, SmtpError, SmtpUsageError } from '../core/errors.ts';
import { resolvePoolOptions, sharedSecrets, type PoolOptions } from './pool-options.ts';
import type { SendInput, SendOptions } from './message-send.ts';
import { JobList, type Listed } from './job-list.ts';

export type { PoolOptions } from './pool-options.ts';

export interface PoolStats {
  /** Sessions in service (ready, carrying sends). */
  readonly connections: number;
  /** Sessions being opened. */
  readonly connecting: number;
  /** Sessions out of service whose link has not closed yet (still counted against maxConnections). */
  readonly closing: number;
  /** Sends handed to a session and not yet settled. */
  readonly inFlight: number;
  /** Sends waiting for a session. */
  readonly queued: number;
  /** Sends waiting for room in a full queue (whenFull: 'wait'). */
  readonly waiting: number;
  /** Settled sends, by outcome (each send counts once, after its last attempt). */
  readonly accepted: number;
  readonly rejected: number;
  readonly unknown: number;
  /** Attempts made again: transient rejections retried, and sends put back after their session ended. */
  readonly retried: number;
  readonly requeued: number;
  /** Sends refused at once because the queue was full (whenFull: 'reject'). */
  readonly refusedFull: number;
}

export interface Pool {
  /** Resolves like SmtpClient.send (accepted / rejected / unknown); rejects for usage errors,
   *  Takes what SmtpClient.send takes: a raw Message, a built message or the builder's options;
   *  and with SmtpPoolFullError when the queue is full and whenFull is 'reject'. */
  send(message: SendInput, options?: SendOptions): Promise<SendResult>;
  /** Resolves once the queue has room for another send (at once when it has). */
  ready(): Promise<void>;
  /** True while the queue is full: a send would wait (or be refused). */
  readonly full: boolean;
  stats(): PoolStats;
  /** Let queued sends finish, then QUIT every session. */
  close(): Promise<void>;
}

/** The pool's queue is full (whenFull: 'reject'). Transient: try again once `ready()` resolves. */
export class SmtpPoolFullError extends SmtpError {
  constructor(limit: number) {
    super('EFULL', `the pool's queue is full (maxQueued ${limit}): wait for pool.ready() or raise maxQueued`, { transient: true });
    this.name = 'SmtpPoolFullError';
  }
}

/** How often one send may be put back because its session ended under it: a server that keeps
 *  dropping every link must not keep a send going around for ever. */
const MAX_REQUEUES = 3;

interface Job extends Listed<Job> {
  readonly message: SendInput;
  readonly options: SendOptions | undefined;
  /** A whole string/Uint8Array body: sending it again sends the same bytes. */
  readonly replayable: boolean;
  attempts: number;
  requeues: number;
  /** The session a transient failure happened on: retry elsewhere when we can. */
  avoid: SmtpClient | undefined;
  resolve(result: SendResult): void;
  reject(err: unknown): void;
  /** Watch the send's signal while it waits (run() hands that to the session). */
  listen(): void;
  unlisten(): void;
}

interface Conn {
  readonly client: SmtpClient;
  readonly openedAt: number;
  assigned: number;
  idle: ReturnType<typeof setTimeout> | undefined;
  /** When it last had no send pending (undefined while busy). */
  idleSince: number | undefined;
  /** A NOOP is checking that the idle link is still there. */
  checking: boolean;
  /** Taken out of service (retired, or its session ended); still counted until its link is gone. */
  leaving: boolean;
}

/** A pool whose connections have every optional part unless `options.parts` says otherwise
 *  (the Worker entry's pool has none: createPoolWith). */
export function createPool(options: PoolOptions): Pool {
  return createPoolWith(withFullParts(options));
}

export function createPoolWith(options: PoolOptions): Pool {
  const {
    maxConnections,
    maxMessages,
    maxPending,
    maxQueued,
    retries,
    idleTimeout,
    checkAfterIdle,
    maxLifetime,
    closeTimeout,
    whenFull,
    rate,
  } = resolvePoolOptions(options);
  const clientOptions = sharedSecrets(options);

  const queue = new JobList<Job>();
  const waitingRoom = new JobList<Job>(); // sends waiting for room in the queue (whenFull: 'wait')
  const conns = new Set<Conn>();
  let connecting = 0;
  // Sessions out of service whose link is not closed yet: they still count against
  // maxConnections, so a replacement never makes one connection too many.
  let leaving = 0;
  let inFlight = 0;
  let closing = false;
  const totals = { accepted: 0, rejected: 0, unknown: 0, retried: 0, requeued: 0, refusedFull: 0 };
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
    totals[result.outcome]++;
    job.resolve(result);
  };

  const hasRoom = (): boolean => queue.length < maxQueued;

  function rateAllows(): boolean {
    if (!rate) return true;
    const now = Date.now();
    while (sentAt.length > 0 && sentAt[0]! <= now - rate.perMs) sentAt.shift();
    if (sentAt.length < rate.messages) return true;
    rateTimer ??= setTimeout(
      () => {
        rateTimer = undefined;
        dispatch();
      },
      sentAt[0]! + rate.perMs - now,
    );
    return false;
  }

  /** Connections that count against maxConnections: in service, being opened, or leaving. */
  const counted = (): number => conns.size + connecting + leaving;

  const tooOld = (c: Conn, now: number): boolean => now - c.openedAt >= maxLifetime;

  /** The least busy session that may take `job`, preferring one it has not failed on. */
  function pick(job: Job): Conn | undefined {
    let best: Conn | undefined;
    let fallback: Conn | undefined;
    const now = Date.now();
    for (const c of conns) {
      if (c.client.isClosed || c.checking || c.assigned >= maxMessages || c.client.pending >= maxPending || tooOld(c, now)) continue;
      if (c.idleSince !== undefined && now - c.idleSince >= checkAfterIdle) {
        check(c);
        continue;
      }
      if (c.client === job.avoid) fallback = c;
      else if (!best || c.client.pending < best.client.pending) best = c;
    }
    // Retry on the same session only when no other can come (at the limit, or connects failing).
    if (!best && fallback && (counted() >= maxConnections || Date.now() < openAfter)) return fallback;
    return best;
  }

  function dispatch(): void {
    for (;;) {
      // Room in the queue: let waiting sends in, in order.
      while (waitingRoom.length > 0 && hasRoom()) queue.push(waitingRoom.shift()!);
      if (!drainQueue() || waitingRoom.length === 0) break;
    }
    const now = Date.now();
    for (const c of [...conns]) {
      if (c.client.pending !== 0 || c.client.isClosed || c.checking) continue;
      if (c.assigned >= maxMessages || tooOld(c, now)) retire(c);
      else {
        c.idleSince ??= now;
        if (c.idle === undefined) armIdle(c);
      }
    }
    changed();
  }

  /** Hand queued sends to sessions; true when the queue was emptied. */
  function drainQueue(): boolean {
    while (queue.length > 0) {
      const conn = pick(queue.first!);
      if (!conn) {
        // Open enough sessions for what is waiting, within the limit (a session being checked
        // after idling counts as one about to take sends).
        if (counted() < maxConnections && (connecting + checking()) * maxPending < queue.length) maybeOpen();
        return false;
      }
      if (!rateAllows()) return false;
      run(queue.shift()!, conn);
    }
    return true;
  }

  const checking = (): number => {
    let n = 0;
    for (const c of conns) if (c.checking) n++;
    return n;
  };

  /** NOOP on a session that idled a while: answered, it takes sends again; unanswered, the
   *  session ends (and is replaced) before any send was written to it. */
  function check(conn: Conn): void {
    conn.checking = true;
    if (conn.idle !== undefined) clearTimeout(conn.idle);
    conn.idle = undefined;
    conn.client.noop().then(
      () => {
        conn.checking = false;
        conn.idleSince = undefined;
        dispatch();
      },
      () => {
        conn.checking = false; // the session is over: closed.then retires it
        dispatch();
      },
    );
  }

  function run(job: Job, conn: Conn): void {
    job.unlisten(); // the session watches the signal from here on
    job.attempts++;
    conn.idleSince = undefined;
    conn.assigned++;
    inFlight++;
    if (rate) sentAt.push(Date.now());
    if (conn.idle !== undefined) clearTimeout(conn.idle);
    conn.idle = undefined;
    conn.client
      .send(job.message, job.options)
      .then(
        (result) => {
          inFlight--;
          const aborted = (job.message as { signal?: AbortSignal }).signal?.aborted === true;
          if (!aborted && job.replayable && endedUnder(result, conn) && job.requeues < MAX_REQUEUES) {
            // The session ended before the server judged this send: not an attempt that failed.
            job.requeues++;
            job.attempts--;
            totals.requeued++;
            job.listen(); // waiting again: a cancel must find it in the queue
            queue.unshift(job);
          } else if (!aborted && job.replayable && job.attempts <= retries && retryable(result)) {
            job.avoid = conn.client;
            totals.retried++;
            job.listen();
            queue.unshift(job);
          } else settle(job, result);
          dispatch();
        },
        (err) => {
          inFlight--;
          job.reject(err);
          dispatch();
        },
      )
      .catch(() => {}); // the callbacks above do not throw; belt and braces against unhandled rejections
  }

  function retryable(result: SendResult): boolean {
    if (result.outcome === 'rejected') return result.error?.transient === true;
    return result.outcome === 'unknown' && options.retryUnknown === true;
  }

  /** Take a session out of service: QUIT (when it is still up), and free its slot only once
   *  its link has closed. */
  function retire(conn: Conn): void {
    if (conn.idle !== undefined) clearTimeout(conn.idle);
    conn.idle = undefined;
    conns.delete(conn);
    if (conn.leaving) return;
    conn.leaving = true;
    leaving++;
    // close() QUITs a live session, bounded by timeouts.close, and always ends by dropping the
    // link; a session the server ended gets the same bound to finish its own close first.
    const ended = conn.client.isClosed
      ? settledWithin(conn.client.linkClosed, closeTimeout).then(() => conn.client.close())
      : conn.client.close();
    void ended
      .then(() => conn.client.linkClosed)
      .then(() => {
        leaving--;
        dispatch();
      });
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
    SmtpClient.connect(clientOptions)
      .then(
        (client) => {
          connecting--;
          backoff = 0;
          const conn: Conn = {
            client,
            openedAt: Date.now(),
            assigned: 0,
            idle: undefined,
            idleSince: undefined,
            checking: false,
            leaving: false,
          };
          conns.add(conn);
          void client.closed.then(() => retire(conn)); // replaced once its link is gone, if work is waiting
          dispatch();
        },
        (err) => {
          connecting--;
          backoff = Math.min(10_000, backoff === 0 ? 250 : backoff * 2);
          openAfter = Date.now() + backoff;
          connectFailed(err);
          dispatch();
        },
      )
      .catch(() => {});
  }

  /** With no session left to carry the queue, every waiting send pays one attempt. */
  function connectFailed(err: unknown): void {
    if (connecting > 0 || conns.size > 0) return;
    const error = err instanceof SmtpError ? err : new SmtpConnectionError(String(err), err);
    for (const job of queue) {
      job.attempts++;
      if (error.code === 'EUSAGE') {
        // Bad options: a usage error, so the send rejects (it would never work anywhere).
        queue.remove(job);
        job.unlisten();
        job.reject(error);
      } else if (job.attempts > retries) {
        queue.remove(job);
        settle(job, notStarted(error));
      }
    }
  }

  return {
    send(message: SendInput, options?: SendOptions): Promise<SendResult> {
      if (closing) return Promise.reject(new SmtpUsageError('the pool is closed'));
      if (message === null || typeof message !== 'object') return Promise.reject(new SmtpUsageError('message must be an object'));
      const full = !hasRoom() || waitingRoom.length > 0;
      if (full && whenFull === 'reject') {
        totals.refusedFull++;
        return Promise.reject(new SmtpPoolFullError(maxQueued));
      }
      return new Promise((resolve, reject) => {
        const signal = (message as { signal?: AbortSignal }).signal;
        const onAbort = (): void => {
          // Still waiting (not yet handed to a session, which watches the signal itself).
          if (!job.list?.remove(job)) return;
          settle(job, notStarted(new SmtpAbortError()));
          dispatch();
        };
        const job: Job = {
          // A built message is not replayed: a streamed attachment may be readable only once.
          message,
          options,
          replayable: 'body' in message && (typeof message.body === 'string' || message.body instanceof Uint8Array),
          attempts: 0,
          requeues: 0,
          avoid: undefined,
          resolve,
          reject,
          listen: () => signal?.addEventListener('abort', onAbort, { once: true }),
          unlisten: () => signal?.removeEventListener('abort', onAbort),
          prev: undefined,
          next: undefined,
          list: undefined,
        };
        if (signal?.aborted) return resolve(notStarted(new SmtpAbortError()));
        job.listen();
        (full ? waitingRoom : queue).push(job);
        dispatch();
      });
    },

    async ready(): Promise<void> {
      while (!hasRoom() || waitingRoom.length > 0) await new Promise<void>((r) => waiters.push(r));
    },

    get full(): boolean {
      return !hasRoom() || waitingRoom.length > 0;
    },

    stats(): PoolStats {
      return {
        connections: conns.size,
        connecting,
        closing: leaving,
        inFlight,
        queued: queue.length,
        waiting: waitingRoom.length,
        ...totals,
      };
    },

    async close(): Promise<void> {
      closing = true;
      while (queue.length > 0 || waitingRoom.length > 0 || inFlight > 0 || connecting > 0) await new Promise<void>((r) => waiters.push(r));
      if (rateTimer !== undefined) clearTimeout(rateTimer);
      if (openTimer !== undefined) clearTimeout(openTimer);
      for (const c of [...conns]) retire(c);
      while (leaving > 0) await new Promise<void>((r) => waiters.push(r));
    },
  };
}

/**
 * True when `result` says the session ended before the server judged this send: rejected with
 * no reply of its own (or a 421), on a session that is over, for a reason that is the session's (the link
 * closed, a timeout, a 421, a protocol error), not the message's (cancelled, bad input, an
 * extension the server lacks).
 */
function endedUnder(result: SendResult, conn: Conn): boolean {
  if (result.outcome !== 'rejected' || !conn.client.isClosed) return false;
  // 421 is the server closing the service (RFC 5321 §3.8), whichever command it answered.
  if (result.reply !== undefined) return result.reply.code === 421;
  const code = result.error?.code;
  return code === 'ECONNECTION' || code === 'ETIMEOUT' || code === 'EPROTOCOL' || code === 'EREPLY' || code === 'ETLS';
}

/** `p`, or nothing after `ms`; the timer does not outlive the race. */
function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([p.then(() => {}), expired]).finally(() => clearTimeout(timer));
}
