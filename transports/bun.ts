// Bun transport: Bun's native sockets (Bun.connect, socket.upgradeTLS) behind the runtime-neutral
// Link contract, plus the ready-to-use entry points (`import { connect } from 'smtpwire/bun'`).
// Bytes and TLS only; every protocol decision is the core's.
//
// Why native and not node:net (which Bun also runs, see docs/runtime-bun.md for the numbers):
// Bun.connect is Bun's own socket layer with no Node stream machinery on top, STARTTLS is one
// call (upgradeTLS) instead of wrapping a net.Socket in a tls.TLSSocket, and the handshake
// result (with the certificate verdict) arrives as one callback.
// Native sockets have two quirks handled here: write() may take only part of the bytes (the
// rest is ours to queue and retry on drain), and after upgradeTLS the raw socket keeps calling
// the old handlers with ciphertext, so every callback checks which socket it came from.
import { SmtpUsageError } from '../core/errors.ts';
import { Queue } from '../core/queue.ts';
import { SmtpClient, type ClientOptions, type SendMailOptions, type SendResult } from '../client/client.ts';
import { bindConnect, bindCreatePool, bindSendMail, type EntryPoints } from '../client/entry.ts';
import { FULL_PARTS } from '../client/full-parts.ts';
import type { Pool, PoolOptions } from '../client/pool.ts';
import type { ConnectParams, Link, LinkHandlers, Transport } from '../client/transport.ts';
import { coalesce, connectWithin, pemList, tlsError } from './web-streams.ts';
import { refuseUnsupported } from '../client/tls-options.ts';

export const bunTransport: Transport = {
  name: 'bun',
  connect: (params, handlers) => open(params, handlers),
};

/** Bytes queued in user space above which write() asks the caller to wait for drain(). */
const HIGH_WATER = 64 * 1024;

async function open(params: ConnectParams, handlers: LinkHandlers): Promise<Link> {
  if (typeof Bun === 'undefined' || typeof Bun.connect !== 'function') {
    throw new SmtpUsageError('the Bun transport needs the Bun runtime (Bun.connect)');
  }
  refuseUnsupported('Bun', params, BUN_CANNOT);
  const link = new BunLink(params, handlers);
  const socket = await connectWithin<Bun.Socket>(
    params,
    async (track) => {
      // Expect the handshake before connecting: its callback may come before connect resolves.
      const shaken = params.implicitTls ? link.expectHandshake() : undefined;
      shaken?.catch(() => {}); // awaited below unless the connect itself fails
      const s = await Bun.connect<undefined>({
        hostname: params.host,
        port: params.port,
        socket: link.callbacks,
        tls: params.implicitTls ? tlsOptions(params) : undefined,
      });
      track(() => s.terminate());
      s.setNoDelay(true);
      if (shaken) {
        try {
          await shaken;
        } catch (err) {
          s.terminate();
          throw err;
        }
      }
      return s;
    },
    (late) => late.terminate(),
  );
  link.attach(socket);
  return link;
}

/** What Bun's native sockets (Bun.connect, upgradeTLS) cannot do, and why (docs/connectivity.md). */
const BUN_CANNOT = {
  pfx: "Bun's native TLS reads no PKCS#12; convert it to PEM (openssl pkcs12 -in FILE -nodes) and pass cert + key",
  minVersion: 'Bun.connect has no TLS version setting',
  ciphers: 'Bun.connect has no cipher list setting',
  localAddress: 'Bun.connect cannot choose the source address',
} as const;

/** The identity is always checked against the name we meant (servername or host), IPs included. */
function tlsOptions(params: ConnectParams): Bun.TLSOptions {
  const text = (v: string | Uint8Array | undefined): string | undefined =>
    v === undefined || typeof v === 'string' ? v : new TextDecoder().decode(v);
  return {
    serverName: params.servername ?? params.host,
    ca: pemList(params.ca),
    rejectUnauthorized: params.rejectUnauthorized,
    ...(params.cert !== undefined ? { cert: text(params.cert), key: text(params.key) } : {}),
    ...(params.passphrase !== undefined ? { passphrase: params.passphrase } : {}),
  };
}

class BunLink implements Link {
  readonly signalsWritten = true;
  #params: ConnectParams;
  #handlers: LinkHandlers;
  /** The socket whose callbacks count; anything else (the raw socket after upgradeTLS) is ignored. */
  #socket: Bun.Socket | undefined;
  #live = false; // callbacks are delivered (from the first tick after connect() resolved)
  #early: (() => void)[] = []; // callbacks that came before that, in order
  #secure: boolean;
  #reported = false;
  #closing = false;
  #upgrading: Bun.Socket | undefined; // the socket being upgraded, then the TLS socket until it shakes hands
  #ended = false; // end() was called on the socket
  #queue: Uint8Array[] = [];
  #queued = 0;
  #needDrain = false;
  #taken = 0; // octets the socket has taken since the link began
  #given = 0; // octets given to write() since the link began (taken + queued)
  /** onWritten callbacks of write() calls, in order, each with the `#taken` count that completes it. */
  /** onWritten callbacks in write order, each with the offset its write ends at. */
  readonly #written = new Queue<{ until: number; run: () => void }>();
  #signalQueued = false;
  /** A handshake under way (implicit TLS connect or upgradeTLS); whichever socket reports first settles it. */
  #handshake: { resolve(): void; reject(err: unknown): void } | undefined;

  constructor(params: ConnectParams, handlers: LinkHandlers) {
    this.#params = params;
    this.#handlers = handlers;
    this.#secure = params.implicitTls;
  }

  /** One handler set for the plain socket and, after upgradeTLS, the TLS one. */
  readonly callbacks: Bun.SocketHandler<undefined> = {
    data: (s, bytes) => this.#when(s, () => this.#handlers.data(bytes)),
    drain: (s) => this.#when(s, () => this.#flush()),
    end: (s) => this.#when(s, () => this.#report(undefined)),
    close: (s, err) => {
      this.#settleHandshake(err ?? new Error('connection closed during the TLS handshake'));
      this.#when(s, () => this.#report(err));
    },
    error: (s, err) => {
      this.#settleHandshake(err);
      this.#when(s, () => this.#report(err));
    },
    handshake: (_s, success, authorizationError) => {
      // With rejectUnauthorized Bun fails the handshake itself; without it, the verdict is only
      // informative and the link goes on (the caller asked for that, for tests).
      const failed = !success || (authorizationError && this.#params.rejectUnauthorized);
      this.#settleHandshake(failed ? (authorizationError ?? new Error('TLS handshake failed')) : undefined);
    },
  };

  /** Resolves once the next handshake (implicit TLS connect, or upgradeTLS) has succeeded. */
  expectHandshake(): Promise<void> {
    return new Promise((resolve, reject) => (this.#handshake = { resolve, reject }));
  }

  /** The socket is ours: writes go out from now; callbacks (a greeting that came with the
   *  handshake, say) are delivered from the next tick, after connect() has resolved. */
  attach(socket: Bun.Socket): void {
    this.#socket = socket;
    setTimeout(() => {
      this.#live = true;
      const early = this.#early;
      this.#early = [];
      for (const run of early) run();
    }, 0);
  }

  get secure(): boolean {
    return this.#secure;
  }

  write(chunks: Uint8Array[], onWritten?: () => void): boolean {
    if (!this.#socket || this.#reported || this.#closing) {
      // Nothing of these will be written; run onWritten after the writes before them.
      if (onWritten) {
        this.#written.push({ until: this.#given, run: onWritten });
        this.#signalWritten(this.#reported);
      }
      return false;
    }
    for (const c of coalesce(chunks)) {
      this.#queue.push(c);
      this.#queued += c.byteLength;
      this.#given += c.byteLength;
    }
    if (onWritten) this.#written.push({ until: this.#given, run: onWritten });
    this.#flush();
    if (this.#queued <= HIGH_WATER) return true;
    this.#needDrain = true;
    return false;
  }

  async startTls(): Promise<void> {
    const plain = this.#socket;
    if (!plain || this.#reported || this.#closing) throw tlsError(new Error('the connection is not open'));
    if (this.#queued > 0) throw tlsError(new Error('writes still queued at STARTTLS')); // the 220 came after them
    try {
      // From here on, bytes on the plain socket are ciphertext for the TLS socket, not for us.
      this.#socket = undefined;
      this.#upgrading = plain;
      const shaken = this.expectHandshake();
      const [, secure] = plain.upgradeTLS<undefined>({ tls: tlsOptions(this.#params), socket: this.callbacks });
      this.#upgrading = secure;
      await shaken;
      this.#upgrading = undefined;
      this.#socket = secure;
      this.#secure = true;
    } catch (err) {
      this.#reported = true; // the caller learns of this failure from the rejection
      this.#upgrading?.terminate();
      this.#upgrading = undefined;
      plain.terminate();
      throw tlsError(err);
    }
  }

  close(): void {
    if (this.#closing || this.#reported) return;
    if (!this.#socket) return this.destroy(); // mid-upgrade
    this.#closing = true;
    // end() after the queue is flushed (FIN, after close_notify on TLS); see #flush.
    if (this.#queued === 0) this.#end(this.#socket);
  }

  #end(s: Bun.Socket): void {
    if (this.#ended) return;
    this.#ended = true;
    s.end();
  }

  destroy(): void {
    const s = this.#socket ?? this.#upgrading;
    this.#upgrading = undefined;
    this.#settleHandshake(new Error('the connection was closed during the TLS handshake'));
    this.#queue = [];
    this.#queued = 0;
    this.#closing = true;
    s?.terminate();
    this.#signalWritten(true); // the queued bytes are dropped: the views are free
    void Promise.resolve().then(() => this.#report(undefined));
  }

  /** Run a callback of `s` if it is the current socket; queue it if connect() has not resolved. */
  #when(s: Bun.Socket, run: () => void): void {
    if (!this.#live) {
      this.#early.push(run);
      return;
    }
    if (s === this.#socket) run();
  }

  #settleHandshake(err: unknown): void {
    const pending = this.#handshake;
    if (!pending) return;
    this.#handshake = undefined;
    if (err === undefined) pending.resolve();
    else pending.reject(tlsError(err));
  }

  /** Write what the kernel takes; keep the rest for the next drain. */
  #flush(): void {
    const s = this.#socket;
    if (!s) return;
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      const n = s.write(head);
      if (n < 0) return; // closed: the close callback reports it
      this.#queued -= n;
      // Bun's write() copies what it takes (into the kernel, or its TLS buffer) before returning.
      this.#taken += n;
      if (n < head.byteLength) {
        this.#queue[0] = head.subarray(n);
        this.#signalWritten(false);
        return;
      }
      this.#queue.shift();
    }
    this.#signalWritten(false);
    if (this.#closing) this.#end(s);
    else if (this.#needDrain && !this.#reported) {
      this.#needDrain = false;
      this.#handlers.drain();
    }
  }

  /** Run the onWritten callbacks whose bytes the socket has taken (all of them when `all`: the
   *  link is gone and their bytes with it), on a later microtask, never inside write(). */
  #signalWritten(all: boolean): void {
    if (all) this.#taken = this.#given;
    const head = this.#written.front();
    if (this.#signalQueued || head === undefined || head.until > this.#taken) return;
    this.#signalQueued = true;
    queueMicrotask(() => {
      this.#signalQueued = false;
      for (let w = this.#written.front(); w !== undefined && w.until <= this.#taken; w = this.#written.front()) {
        this.#written.shift();
        w.run();
      }
    });
  }

  #report(err: unknown): void {
    this.#signalWritten(true); // whatever is still queued will never be written
    if (this.#reported) return;
    this.#reported = true;
    if (err === undefined || err === null) this.#handlers.end();
    else this.#handlers.error(err);
  }
}

// ---- ready-to-use entry points with this transport as default ----------------------------------

// One export each, typed and pure: JSR's fast type check needs the types spelled out, and a
// bundler drops an entry point the application does not use (and what only it imports).
export const connect: EntryPoints['connect'] = /* @__PURE__ */ bindConnect(bunTransport, undefined, FULL_PARTS);
export const sendMail: EntryPoints['sendMail'] = /* @__PURE__ */ bindSendMail(bunTransport, undefined, FULL_PARTS);
export const createPool: EntryPoints['createPool'] = /* @__PURE__ */ bindCreatePool(bunTransport, undefined, FULL_PARTS);

export { SmtpClient, type ClientOptions, type SendMailOptions, type SendResult, type Pool, type PoolOptions };
export type { Message, BodySource, PullIntoSource, TlsMode, LogEntry } from '../client/client.ts';
export * from '../client/exports.ts';
export { fileBody, type FileBody, type FileBodyOptions } from '../files/node-file.ts';
export * from '../core/errors.ts';
