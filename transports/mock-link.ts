// The scripted server (mock-server.ts) behind the client's Transport contract: real timers, no
// sockets, to test the friendly client and its body streaming without a network.
import type { ConnectParams, Link, LinkHandlers, Transport } from '../client/transport.ts';
import type { ScriptedServer, ServerAction } from './mock-server.ts';
export interface MockTransportOptions {
  /** Client octets the server takes per turn (a turn is one macrotask); default: all of them.
   *  A small value keeps writes queued, so their views stay in use for a while. */
  readonly consumePerTurn?: number;
  /** Queued client octets above which write() asks for drain(); default 64 KiB. */
  readonly highWater?: number;
  /** When the link dies, do not run the onWritten callbacks of writes still queued (a transport
   *  that cannot tell): for testing that the client does not depend on them. Default false. */
  readonly dropWrittenOnDeath?: boolean;
}

/** A Transport whose every connect() meets `server` (one link; connect again only with a fresh
 *  server). Client writes are consumed on later turns, views as they are at that moment (not
 *  copies taken at write time), so a caller that reuses memory too early sends the wrong bytes. */
export function mockTransport(server: ScriptedServer, options: MockTransportOptions = {}): Transport & { readonly links: MockLink[] } {
  const links: MockLink[] = [];
  return {
    name: 'mock',
    links,
    connect: async (params: ConnectParams, handlers: LinkHandlers): Promise<Link> => {
      const link = new MockLink(server, handlers, params.implicitTls, options);
      links.push(link);
      return link;
    },
  };
}

interface QueuedWrite {
  views: Uint8Array[];
  onWritten: (() => void) | undefined;
}

export class MockLink implements Link {
  readonly signalsWritten = true;
  readonly #server: ScriptedServer;
  readonly #handlers: LinkHandlers;
  readonly #options: MockTransportOptions;
  #secure: boolean;
  #queue: QueuedWrite[] = [];
  #queued = 0;
  #needDrain = false;
  #closing = false;
  #dead = false; // end() or error() was reported (or destroy() called): nothing more happens
  #turnArmed = false;
  #delayed = false; // a script delay step is running
  #tls: { resolve(): void; reject(err: unknown): void } | undefined;
  /** Octets the server has consumed, and onWritten callbacks run / dropped. */
  consumed = 0;
  writtenCalls = 0;
  droppedCalls = 0;
  /** A MockScriptError (the client sent what the script did not expect), if any. */
  scriptError: unknown;

  constructor(server: ScriptedServer, handlers: LinkHandlers, secure: boolean, options: MockTransportOptions) {
    this.#server = server;
    this.#handlers = handlers;
    this.#secure = secure;
    this.#options = options;
    this.#arm(); // the greeting goes out on the first turn after connect() resolved
  }

  get secure(): boolean {
    return this.#secure;
  }

  /** Views written and not yet consumed by the server (tests check nothing reuses them). */
  get pending(): readonly Uint8Array[] {
    return this.#queue.flatMap((w) => w.views);
  }

  write(chunks: Uint8Array[], onWritten?: () => void): boolean {
    if (this.#dead || this.#closing) {
      // Nothing of these will be written; run onWritten after the writes before them.
      if (onWritten && this.#dead) queueMicrotask(onWritten);
      else if (onWritten) this.#queue.push({ views: [], onWritten });
      return false;
    }
    const views = chunks.filter((c) => c.byteLength > 0);
    for (const v of views) this.#queued += v.byteLength;
    this.#queue.push({ views, onWritten });
    this.#arm();
    if (this.#queued <= (this.#options.highWater ?? 64 * 1024)) return true;
    this.#needDrain = true;
    return false;
  }

  startTls(): Promise<void> {
    if (this.#dead) return Promise.reject(new Error('the link is closed'));
    this.#server.clientStartTls();
    this.#arm();
    return new Promise((resolve, reject) => (this.#tls = { resolve, reject }));
  }

  close(): void {
    if (this.#dead) return;
    this.#closing = true;
    this.#arm(); // end once the queue is consumed
  }

  destroy(): void {
    if (this.#dead) return;
    this.#die(undefined, true);
  }

  #arm(): void {
    if (this.#turnArmed || this.#dead || this.#delayed) return;
    this.#turnArmed = true;
    setTimeout(() => {
      this.#turnArmed = false;
      this.#turn();
    }, 0);
  }

  /** One turn: the server takes client bytes, then acts on its script until it must wait. */
  #turn(): void {
    if (this.#dead) return;
    let budget = this.#options.consumePerTurn ?? Infinity;
    while (this.#queue.length > 0 && budget > 0) {
      const head = this.#queue[0]!;
      while (head.views.length > 0 && budget > 0) {
        const v = head.views[0]!;
        const n = Math.min(v.byteLength, budget);
        this.#server.clientWrite(v.subarray(0, n));
        this.consumed += n;
        this.#queued -= n;
        budget -= n;
        if (n === v.byteLength) head.views.shift();
        else head.views[0] = v.subarray(n);
      }
      if (head.views.length > 0) break;
      this.#queue.shift();
      if (head.onWritten) {
        this.writtenCalls++;
        head.onWritten();
      }
    }
    if (this.#needDrain && this.#queued <= (this.#options.highWater ?? 64 * 1024) / 4) {
      this.#needDrain = false;
      this.#handlers.drain();
    }
    this.#act();
    if (this.#dead) return;
    if (this.#closing && this.#queue.length === 0) return this.#die(undefined);
    if (this.#queue.length > 0) this.#arm();
  }

  #act(): void {
    for (;;) {
      if (this.#dead) return;
      let action: ServerAction | undefined;
      try {
        action = this.#server.next();
      } catch (err) {
        this.scriptError = err;
        return this.#die(err);
      }
      if (!action) return;
      switch (action.type) {
        case 'send': {
          const size = Math.max(1, Math.min(action.chunkSize, action.bytes.length));
          for (let at = 0; at < action.bytes.length && !this.#dead; at += size) this.#handlers.data(action.bytes.slice(at, at + size));
          continue;
        }
        case 'eof':
          return this.#die(undefined);
        case 'reset':
          return this.#die(new Error('connection reset by peer'));
        case 'tls': {
          const tls = this.#tls;
          this.#tls = undefined;
          this.#secure = true;
          tls?.resolve();
          continue;
        }
        case 'delay':
          this.#delayed = true;
          setTimeout(() => {
            this.#delayed = false;
            this.#turn();
          }, action.ms);
          return;
      }
    }
  }

  /** The link is over: queued writes are dropped, then end() or error() is reported (on a
   *  later microtask after destroy(), as the real transports do). */
  #die(err: unknown, later = false): void {
    this.#dead = true;
    const queue = this.#queue;
    this.#queue = [];
    this.#queued = 0;
    for (const w of queue) {
      if (!w.onWritten) continue;
      if (this.#options.dropWrittenOnDeath) this.droppedCalls++;
      else {
        this.writtenCalls++;
        queueMicrotask(w.onWritten);
      }
    }
    this.#tls?.reject(new Error('the connection closed during the TLS handshake'));
    this.#tls = undefined;
    const report = (): void => (err === undefined ? this.#handlers.end() : this.#handlers.error(err));
    if (later) queueMicrotask(report);
    else report();
  }
}
