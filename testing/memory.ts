// The testing server behind the client's Transport contract: no sockets, so it runs the same in
// Node, Deno, Bun and Workers. `connect({ host: 'any', transport: server.transport })` (or
// sendMail / createPool) talks to an SmtpServerSession per link, and every message it takes is
// in `server.messages`. Reply delays run on `clock` (default: the global setTimeout, read at
// call time, so the fake timers of node:test, vitest, jest or a manualClock() drive them).
import type { ConnectParams, Link, LinkHandlers, Transport } from '../client/transport.ts';
import { SharedState, SmtpServerSession, type RecordedMessage } from './session.ts';
import { ActionPump, type TestClock } from './pump.ts';
export type { TestClock } from './pump.ts';
import type { ServerRules } from './rules.ts';

export interface TestServerOptions {
  readonly rules?: ServerRules;
  /** Name in the greeting and EHLO reply. */
  readonly hostname?: string;
  /** Offer STARTTLS (a virtual handshake: the link reports secure). Default true, so the
   *  client's default TLS mode and AUTH work as against a real submission server. */
  readonly starttls?: boolean;
  readonly maxSize?: number;
  readonly clock?: TestClock;
}

export interface TestServer {
  /** Pass as `transport` to connect(), sendMail() or createPool(). */
  readonly transport: Transport;
  /** Every message taken (or dropped after its end by a rule), in order. */
  readonly messages: readonly RecordedMessage[];
  /** Links opened so far. */
  readonly connections: number;
  /** Resolves once `count` messages are recorded (now, if they already are). */
  waitFor(count: number): Promise<readonly RecordedMessage[]>;
  /** Forget recorded messages and counters (rules stay). */
  clear(): void;
}

export function createTestServer(options: TestServerOptions = {}): TestServer {
  let shared = new SharedState();
  const messages: RecordedMessage[] = [];
  let waiters: { count: number; resolve(m: readonly RecordedMessage[]): void }[] = [];
  const onMessage = (m: RecordedMessage): void => {
    messages.push(m);
    waiters = waiters.filter((w) => (messages.length >= w.count ? (w.resolve(messages), false) : true));
  };
  const clock: TestClock = options.clock ?? { setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms) };
  const transport: Transport = {
    name: 'smtpwire-testing',
    connect: async (params: ConnectParams, handlers: LinkHandlers): Promise<Link> => {
      if (params.signal?.aborted) throw params.signal.reason;
      const session = new SmtpServerSession(
        {
          hostname: options.hostname,
          rules: options.rules,
          starttls: options.starttls ?? true,
          maxSize: options.maxSize,
          onMessage,
          shared,
        },
        params.implicitTls,
      );
      return new MemoryLink(session, handlers, clock);
    },
  };
  return {
    transport,
    messages,
    get connections() {
      return shared.connections;
    },
    waitFor: (count) => (messages.length >= count ? Promise.resolve(messages) : new Promise((resolve) => waiters.push({ count, resolve }))),
    clear: () => {
      messages.length = 0;
      shared = new SharedState();
    },
  };
}

/** One in-memory link: client writes go to the session on a later task; its replies come back
 *  in order, each after its rule's delay (testing/pump.ts). */
class MemoryLink implements Link {
  readonly signalsWritten = true;
  readonly #session: SmtpServerSession;
  readonly #handlers: LinkHandlers;
  readonly #pump: ActionPump;
  #dead = false;

  constructor(session: SmtpServerSession, handlers: LinkHandlers, clock: TestClock) {
    this.#session = session;
    this.#handlers = handlers;
    this.#pump = new ActionPump(
      {
        send: (bytes) => handlers.data(bytes),
        close: () => this.#die(undefined),
        drop: () => this.#die(new Error('connection reset by peer (testing rule dropAfterEnd)')),
      },
      clock,
    );
    // The greeting goes out after connect() resolved (the contract: not before).
    queueMicrotask(() => this.#pump.run(session.start()));
  }

  get secure(): boolean {
    return this.#session.secure;
  }

  write(chunks: Uint8Array[], onWritten?: (taken?: boolean) => void): boolean {
    // Copy now: the views are the client's, and it may reuse them once onWritten ran.
    const bytes = chunks.filter((c) => c.byteLength > 0).map((c) => c.slice());
    queueMicrotask(() => {
      const taken = !this.#dead;
      onWritten?.(taken);
      if (!taken) return;
      for (const b of bytes) this.#pump.run(this.#session.receive(b));
    });
    return true;
  }

  startTls(): Promise<void> {
    if (this.#dead) return Promise.reject(new Error('the link is closed'));
    this.#session.tlsEstablished();
    return new Promise((resolve) => queueMicrotask(resolve)); // a virtual handshake
  }

  close(): void {
    if (this.#dead) return;
    queueMicrotask(() => this.#die(undefined));
  }

  destroy(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#pump.stop();
    queueMicrotask(() => this.#handlers.end());
  }

  #die(err: unknown): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#pump.stop();
    if (err === undefined) this.#handlers.end();
    else this.#handlers.error(err);
  }
}

/** A clock a test moves by hand: `advance(ms)` runs what falls due, in time order. */
export function manualClock(): TestClock & { now: number; advance(ms: number): void; readonly pending: number } {
  let timers: { at: number; fn(): void; seq: number }[] = [];
  let seq = 0;
  const clock = {
    now: 0,
    setTimeout(fn: () => void, ms: number): unknown {
      timers.push({ at: clock.now + Math.max(0, ms), fn, seq: seq++ });
      return seq;
    },
    advance(ms: number): void {
      const until = clock.now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
        const next = timers[0];
        if (!next || next.at > until) break;
        timers = timers.slice(1);
        clock.now = next.at;
        next.fn();
      }
      clock.now = until;
    },
    get pending() {
      return timers.length;
    },
  };
  return clock;
}
