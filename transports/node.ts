// Node.js transport: net/tls sockets behind the runtime-neutral Link contract, plus the
// ready-to-use entry points (`import { connect } from 'smtpwire/node'`). Bytes and TLS only;
// every protocol decision is the core's.
import * as net from 'node:net';
import type * as tls from 'node:tls';
import { SmtpAbortError, SmtpTimeoutError, SmtpTlsError } from '../core/errors.ts';
import { SmtpClient, type ClientOptions, type SendMailOptions, type SendResult } from '../client/client.ts';
import { bindConnect, bindCreatePool, bindSendMail, type EntryPoints } from '../client/entry.ts';
import { FULL_PARTS } from '../client/full-parts.ts';
import type { Pool, PoolOptions } from '../client/pool.ts';
import type { ConnectParams, Link, LinkHandlers, Transport } from '../client/transport.ts';

export const nodeTransport: Transport = {
  name: 'node',
  connect: (params, handlers) => open(params, handlers),
};

function open(params: ConnectParams, handlers: LinkHandlers): Promise<Link> {
  return new Promise((resolve, reject) => {
    if (params.signal?.aborted) return reject(new SmtpAbortError());
    // Happy eyeballs: try IPv6 and IPv4 addresses in turn instead of hanging on a dead family.
    const base = {
      host: params.host,
      port: params.port,
      autoSelectFamily: true,
      ...(params.localAddress ? { localAddress: params.localAddress } : {}),
    };
    const socket: net.Socket = params.implicitTls ? nodeTls().connect({ ...base, ...tlsOptions(params) }) : net.connect(base);
    let tcpUp = false;
    const settle = (err?: Error): void => {
      clearTimeout(timer);
      params.signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err === undefined) return;
      socket.destroy();
      reject(err);
    };
    // Before TCP is up a failure is a connection error; after it (implicit TLS) it is TLS's.
    const onError = (err: Error): void => settle(params.implicitTls && tcpUp ? tlsError(err) : err);
    const onClose = (): void => settle(new Error('connection closed while connecting'));
    const onAbort = (): void => settle(new SmtpAbortError());
    const timer = setTimeout(() => settle(new SmtpTimeoutError('connect', params.connectTimeout)), params.connectTimeout);
    params.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => (tcpUp = true));
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.once(params.implicitTls ? 'secureConnect' : 'connect', () => {
      settle();
      socket.setNoDelay(true);
      resolve(new NodeLink(socket, params, handlers));
    });
  });
}

/** TLS options shared by implicit TLS and STARTTLS. The identity is always checked against
 *  the name we meant (servername or host), even when that is an IP address, which SNI cannot carry. */
/** node:tls, loaded when a link first needs TLS: a plain link never pays for it (~2 ms of a
 *  fresh process's start-up). process.getBuiltinModule: Node 20.16+, 22.3+ (engines allow no older). */
function nodeTls(): typeof tls {
  return process.getBuiltinModule('node:tls');
}

function tlsOptions(params: ConnectParams): tls.ConnectionOptions {
  const name = params.servername ?? params.host;
  return {
    servername: net.isIP(name) ? undefined : name,
    ca: params.ca as tls.ConnectionOptions['ca'],
    rejectUnauthorized: params.rejectUnauthorized,
    checkServerIdentity: (_host, cert) => nodeTls().checkServerIdentity(name, cert),
    // Client certificate and policy (client/tls-options.ts); undefined keeps Node's defaults.
    cert: params.cert,
    key: params.key,
    pfx: params.pfx,
    passphrase: params.passphrase,
    minVersion: params.minVersion,
    ciphers: params.ciphers,
  } as tls.ConnectionOptions;
}

function tlsError(err: unknown): SmtpTlsError {
  const message = err instanceof Error ? err.message : String(err);
  const error = new SmtpTlsError(`TLS failed: ${message}`);
  (error as { cause?: unknown }).cause = err;
  return error;
}

const EMPTY = new Uint8Array(0);

class NodeLink implements Link {
  readonly signalsWritten = true;
  #socket: net.Socket;
  #handlers: LinkHandlers;
  #params: ConnectParams;
  #secure: boolean;
  #reported = false; // end or error has been reported (exactly once)
  #upgrading: tls.TLSSocket | undefined;
  /** onWritten callbacks not yet run, in write order; `finished` once the socket is done,
   *  `taken` when it took the bytes (not dropped by an error or a destroy). */
  #unwritten: { run: (taken?: boolean) => void; finished: boolean; taken: boolean }[] = [];

  constructor(socket: net.Socket, params: ConnectParams, handlers: LinkHandlers) {
    this.#socket = socket;
    this.#params = params;
    this.#handlers = handlers;
    this.#secure = params.implicitTls;
    this.#attach(socket);
  }

  get secure(): boolean {
    return this.#secure;
  }

  write(chunks: Uint8Array[], onWritten?: (taken?: boolean) => void): boolean {
    const s = this.#socket;
    if (s.destroyed || !s.writable) {
      // Nothing of these will be written: done as soon as the writes before them are.
      if (onWritten) {
        this.#unwritten.push({ run: onWritten, finished: true, taken: false });
        this.#runWritten();
      }
      return false;
    }
    // cork/uncork turns the views into one writev; none is copied. Node runs a write's callback
    // once libuv has handed its bytes to the kernel (with an error for writes a destroy()
    // dropped): the last chunk's callback ends this write. The callbacks are still put in write
    // order here, and settled here when the socket is destroyed or closed, because runtimes
    // that emulate net.Socket differ (Bun's can run a later write's callback first, or none).
    s.cork();
    let ok = true;
    const last = chunks.length - 1;
    for (let i = 0; i < last; i++) ok = s.write(chunks[i]!);
    const tail = last >= 0 ? chunks[last]! : EMPTY;
    if (onWritten) {
      const entry = { run: onWritten, finished: false, taken: false };
      this.#unwritten.push(entry);
      ok = s.write(tail, (err) => {
        if (!entry.finished) entry.taken = !err;
        entry.finished = true;
        this.#runWritten();
      });
    } else if (last >= 0) ok = s.write(tail);
    s.uncork();
    return ok;
  }

  startTls(): Promise<void> {
    const plain = this.#socket;
    // From here no byte read in clear reaches the client: the TLS socket owns the stream.
    this.#detach(plain);
    plain.on('error', () => {}); // the TLS socket reports failures now
    return new Promise((resolve, reject) => {
      const secure = nodeTls().connect({ socket: plain, host: this.#params.host, ...tlsOptions(this.#params) });
      this.#upgrading = secure;
      const fail = (err: unknown): void => {
        this.#upgrading = undefined;
        this.#reported = true; // the caller learns of this failure from the rejection
        secure.destroy();
        plain.destroy();
        reject(tlsError(err));
      };
      const onError = (err: Error): void => fail(err);
      const onClose = (): void => fail(new Error('connection closed during the TLS handshake'));
      secure.once('error', onError);
      secure.once('close', onClose);
      secure.once('secureConnect', () => {
        secure.off('error', onError);
        secure.off('close', onClose);
        this.#upgrading = undefined;
        this.#socket = secure;
        this.#secure = true;
        secure.setNoDelay(true);
        this.#attach(secure);
        resolve();
      });
    });
  }

  close(): void {
    if (this.#upgrading) return this.destroy();
    const s = this.#socket;
    // Flush, send FIN (after close_notify on TLS), then release without waiting on the peer.
    if (!s.destroyed) s.end(() => s.destroy());
  }

  destroy(): void {
    this.#upgrading?.destroy();
    this.#socket.destroy();
    this.#settleUnwritten();
  }

  /** Run the onWritten callbacks of the finished writes at the head, in order, on a microtask
   *  (never inside write()). */
  #runWritten(): void {
    const list = this.#unwritten;
    let n = 0;
    while (n < list.length && list[n]!.finished) n++;
    if (n === 0) return;
    const ready = list.splice(0, n);
    queueMicrotask(() => {
      for (const entry of ready) entry.run(entry.taken);
    });
  }

  /** The socket is gone: every write still queued is dropped, so its views are free. */
  #settleUnwritten(): void {
    for (const entry of this.#unwritten) entry.finished = true;
    this.#runWritten();
  }

  #onData = (bytes: Buffer): void => this.#handlers.data(bytes);
  #onDrain = (): void => this.#handlers.drain();
  #onEnd = (): void => this.#report(undefined);
  #onClose = (): void => {
    this.#settleUnwritten();
    this.#report(undefined);
  };
  #onError = (err: Error): void => this.#report(err);

  #report(err: Error | undefined): void {
    if (this.#reported) return;
    this.#reported = true;
    if (err) this.#handlers.error(err);
    else this.#handlers.end();
  }

  #attach(s: net.Socket): void {
    s.on('data', this.#onData);
    s.on('drain', this.#onDrain);
    s.on('end', this.#onEnd);
    s.on('close', this.#onClose);
    s.on('error', this.#onError);
  }

  #detach(s: net.Socket): void {
    s.off('data', this.#onData);
    s.off('drain', this.#onDrain);
    s.off('end', this.#onEnd);
    s.off('close', this.#onClose);
    s.off('error', this.#onError);
  }
}

// ---- ready-to-use entry points with this transport as default ----------------------------------

// One export each, typed and pure: JSR's fast type check needs the types spelled out, and a
// bundler drops an entry point the application does not use (and what only it imports).
export const connect: EntryPoints['connect'] = /* @__PURE__ */ bindConnect(nodeTransport, undefined, FULL_PARTS);
export const sendMail: EntryPoints['sendMail'] = /* @__PURE__ */ bindSendMail(nodeTransport, undefined, FULL_PARTS);
export const createPool: EntryPoints['createPool'] = /* @__PURE__ */ bindCreatePool(nodeTransport, undefined, FULL_PARTS);

export { SmtpClient, type ClientOptions, type SendMailOptions, type SendResult, type Pool, type PoolOptions };
export type { Message, BodySource, PullIntoSource, TlsMode, LogEntry } from '../client/client.ts';
export * from '../client/exports.ts';
export { fileBody, type FileBody, type FileBodyOptions } from '../files/node-file.ts';
export * from '../core/errors.ts';
