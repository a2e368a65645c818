// The friendly async client: one SmtpConnection (the sans-IO core) driven over one Link from a
// runtime-neutral Transport. This file owns only the glue: feed inputs, drain poll(), keep one
// timer at the core's deadline, turn events into settled promises, stream bodies with bounded
// memory. Every protocol decision (pipelining, outcomes, TLS policy) stays in the core.
import type { Capabilities } from '../core/capabilities.ts';
import { DEFAULT_CHUNK_SIZE, SmtpConnection, type ConnectionOptions } from '../core/connection.ts';
import { prepareEnvelope, type Envelope, type RecipientSpec } from '../core/envelope.ts';
import { SmtpAbortError, SmtpConnectionError, SmtpError, SmtpTimeoutError, SmtpUsageError } from '../core/errors.ts';
import type { Output, SmtpEvent, TransactionResult } from '../core/events.ts';
import type { Reply } from '../core/reply.ts';
import type { SaslMechanism } from '../core/sasl/mechanism.ts';
import { chooseMechanism } from '../core/sasl/index.ts';
import type { Timeouts } from '../core/timeouts.ts';
import { derivePbkdf2, type Pbkdf2Provider } from './pbkdf2.ts';
export { slicedPbkdf2, webCryptoPbkdf2, type Pbkdf2Provider } from './pbkdf2.ts';
import { parseProxy, type ProxySpec } from '../core/proxy/url.ts';
import { proxySteps } from '../core/proxy/tunnel.ts';
import { buildMessage, type MessageOptions } from '../message/build.ts';
import { dkimSigner, oneShotAttachment } from './dkim-send.ts';
import { toWireMessage, type MailOptions, type SendInput, type SendOptions } from './message-send.ts';
import { BufferRing } from './ring.ts';
import { notStarted } from './not-started.ts';
import { ConnectDiagnostics } from './diagnostics.ts';
import { connectThroughProxy } from './proxy-link.ts';
import { tlsParams, type TlsClientOptions } from './tls-options.ts';
import { withCredentials, type SecretProvider } from './credentials.ts';
import { Probe, type SmtpObserver } from './observe.ts';
import type { ConnectParams, Link, LinkHandlers, Transport } from './transport.ts';

export type TlsMode = 'starttls' | 'required-starttls' | 'implicit' | 'none';

export interface LogEntry {
  readonly from: 'client' | 'server' | 'info';
  /** Already printable; secrets already redacted by the core. */
  readonly text: string;
}

export interface ClientOptions extends TlsClientOptions {
  host: string;
  /** Default: 465 for 'implicit', 587 for 'required-starttls', else 25. */
  port?: number;
  /** Default 'starttls' (opportunistic: upgrade when offered, go on in clear when not). */
  tls?: TlsMode;
  /** `pass` and `token` may be async providers, asked per connection; a token provider is asked
   *  again once with `refresh: true` after the server refuses its token (client/credentials.ts).
   *  `maxChallenges`: the most 334s the exchange answers (default: the mechanism's bound, see
   *  AuthOptions in core/connection.ts). */
  auth?: { user: string; pass?: string | SecretProvider; token?: string | SecretProvider; mechanism?: string | SaslMechanism; authzid?: string; maxChallenges?: number };
  /** SCRAM's key derivation. Default: WebCrypto (off the event loop), falling back to the pure
   *  code in slices where WebCrypto is missing or refuses. */
  pbkdf2?: Pbkdf2Provider;
  allowInsecureAuth?: boolean;
  /** EHLO name. */
  name?: string;
  lmtp?: boolean;
  /** Core phase timeouts plus `connect` (link + implicit TLS, default 30 s) and `close` (QUIT, default 10 s). */
  timeouts?: Partial<Timeouts> & { connect?: number; close?: number };
  servername?: string;
  ca?: ConnectParams['ca'];
  /** Verify the server certificate. Default true. */
  rejectUnauthorized?: boolean;
  /** Aborts the connection attempt (connect() rejects with SmtpAbortError). */
  signal?: AbortSignal;
  /** Transcript hook: every command and reply (redacted, printable) plus a few notes. */
  logger?: (entry: LogEntry) => void;
  pipelineWindow?: number;
  /** Most transactions whose end (final dot / BDAT LAST) is written and not yet answered: the
   *  most that can turn `unknown` when the link drops. Default: no bound beyond pipelineWindow.
   *  See docs/performance.md (blast radius). */
  maxUnansweredEnds?: number;
  /** Hooks for connection, TLS, AUTH and message events (client/observe.ts). */
  observe?: SmtpObserver;
  /** BDAT chunk size for streamed bodies (default 64 KiB). */
  chunkSize?: number;
  pipelining?: boolean;
  chunking?: boolean;
  /** Body octets a streaming send may leave buffered in the core before waiting. Default 1 MiB. */
  highWaterMark?: number;
  /**
   * Octets asked of a pull-into body (`{ readInto }`, e.g. `fileBody()`) per read: the size of
   * each buffer of the client's read ring. Default: highWaterMark, at most 1 MiB. The ring
   * holds up to 2 + ceil(max(highWaterMark, chunkSize) / readSize) buffers: the high-water mark
   * the core may hold, one buffer being read and one on its way through the transport.
   */
  readSize?: number;
  /** Reach the server through a proxy: 'socks5://user:pass@host:1080', 'socks4a://host:1080',
   *  'http://user:pass@host:3128' (HTTP CONNECT). The proxy resolves the server's name; TLS runs
   *  inside the tunnel and checks the server's certificate, not the proxy's. */
  proxy?: string | URL | ProxySpec;
  transport?: Transport;
}

/**
 * A body the client reads into buffers of its own (see `readSize`): the fast way to stream a
 * large body, such as a file (`fileBody()` in smtpwire/node, /deno, /bun). The client asks for
 * one read at a time, in order, and never calls close() while a read is pending.
 */
export interface PullIntoSource {
  /** Copy the next body octets into the start of `buffer` and resolve with how many (at most
   *  `buffer.length`); 0 means the body has ended. The buffer is lent for this call only: do
   *  not keep it. A rejection cancels the send, as a failing stream does. */
  readInto(buffer: Uint8Array): Promise<number>;
  /** Called once when the send is done with the source: after the end, or early (cancelled,
   *  rejected, the link lost). May return a promise; its failure is ignored. */
  close?(): unknown;
  /** Octets it will give, when known (`fileBody()` knows): declared as SIZE= unless the
   *  message gives `size`. */
  readonly size?: number;
}

/** A message body. Chunks are used as views: do not modify them after handing them over. */
export type BodySource =
  | string
  | Uint8Array
  | PullIntoSource
  | Iterable<Uint8Array | string>
  | AsyncIterable<Uint8Array | string>
  | ReadableStream<Uint8Array>;

export interface Message {
  from: string;
  to: string | (string | RecipientSpec)[];
  body: BodySource;
  /** Declared size (SIZE=). Default: the length of a string/Uint8Array body. */
  size?: number;
  smtpUtf8?: boolean;
  dsn?: Envelope['dsn'];
  requireTls?: boolean;
  /** Declare BODY=8BITMIME. Detected for string/Uint8Array bodies; say so for streams. */
  eightBit?: boolean;
  /** Declare BODY=BINARYMIME (needs BINARYMIME + CHUNKING on the server). */
  binary?: boolean;
  /** Cancels this send: rejected with EABORT before its end is written, unknown after. */
  signal?: AbortSignal;
}

export type SendResult = TransactionResult;

const MIB = 1 << 20;
const DEFAULT_CONNECT_TIMEOUT = 30_000;
const DEFAULT_CLOSE_TIMEOUT = 10_000;
const MAX_TIMER = 2 ** 31 - 1; // setTimeout's limit; a later deadline is re-armed on wake-up
/** A larger write goes to the link in pieces of this size, each with its own written signal, so
 *  the core's data-block timer sees the transport's progress through a large whole body. */
const WRITE_PIECE = MIB;
const encoder = new TextEncoder();

interface PendingSend {
  resolve(result: SendResult): void;
  reject(err: unknown): void;
  /** Octets of a string/Uint8Array body (held by the core until written); 0 for streams. */
  readonly fixed: number;
  /** Body octets given so far (for the observer) and when send() was called. */
  bytes: number;
  readonly startedAt: number;
  /** Removes the abort listener, when there is one. */
  readonly cleanup: (() => void) | undefined;
}

interface PendingCommand {
  resolve(reply: Reply): void;
  reject(err: unknown): void;
}

/** Pull-based view of a streaming BodySource that hands out its own chunks. */
interface ChunkSource {
  next(): Promise<IteratorResult<unknown>>;
  /** Release the source early (its return()/cancel()); may return a promise. */
  stop(): unknown;
}

/** A streaming body once opened: chunks it allocates, or reads into the client's ring. */
type OpenedBody = { readonly kind: 'chunks'; readonly source: ChunkSource } | { readonly kind: 'pull'; readonly source: PullIntoSource };


export class SmtpClient {
  /** Resolves once the session is over: undefined after a clean QUIT, else why it ended. Never rejects. */
  readonly closed: Promise<SmtpError | undefined>;
  /** Resolves once the network link itself is gone (the transport reported its end, or the
   *  client dropped it), which can be later than `closed`: a pool counts a connection until
   *  then. Never rejects. */
  readonly linkClosed: Promise<void>;

  #core: SmtpConnection;
  #options: ClientOptions;
  #transport: Transport;
  #port: number;
  #hwm: number;
  #closeTimeout: number;
  #link: Link | undefined;
  #linkDone = false; // the link reported end/error, or we destroyed it
  #early: (() => void)[] | undefined = []; // link callbacks that came before core.start()
  #writable = true; // the last link.write() did not ask us to wait for drain()
  #pumping = false;
  #pumpQueued = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt: number | undefined;
  #ready: { resolve(): void; reject(err: unknown): void } | undefined;
  #isClosed = false;
  #resolveClosed!: (error: SmtpError | undefined) => void;
  #resolveLinkClosed!: () => void;
  #sends = new Map<number, PendingSend>();
  #commands = new Map<number, PendingCommand>();
  #feeders: number[] = []; // streaming sends whose body has not ended, in send (= wire) order
  #wakers: (() => void)[] = [];
  #readSize: number;
  #ring: BufferRing | undefined; // read buffers of pull-into bodies, while one is being sent
  #writeSeq = 0; // link writes issued (each has an onWritten)
  #writtenSeq = 0; // the latest write whose onWritten has run
  #proxy: ProxySpec | undefined;
  #tlsParams: ReturnType<typeof tlsParams>;
  #diagnostics: ConnectDiagnostics;
  #probe: Probe;
  #refreshed: boolean; // this session authenticates with a refreshed token
  #handed = 0; // octets given to the link so far (the core's output offset)

  /** Use connect(). */
  private constructor(options: ClientOptions, refreshed = false) {
    if (options === null || typeof options !== 'object') throw new SmtpUsageError('options must be an object');
    if (typeof options.host !== 'string' || options.host === '') throw new SmtpUsageError('host must be a non-empty string');
    if (!options.transport) throw new SmtpUsageError('a transport is required (e.g. import { connect } from "smtpwire/node")');
    const mode = options.tls ?? 'starttls';
    if (!['starttls', 'required-starttls', 'implicit', 'none'].includes(mode)) throw new SmtpUsageError(`unknown tls mode: ${String(mode)}`);
    this.#options = options;
    this.#transport = options.transport;
    this.#port = options.port ?? (mode === 'implicit' ? 465 : mode === 'required-starttls' ? 587 : 25);
    if (!(Number.isInteger(this.#port) && this.#port > 0 && this.#port < 65536)) throw new SmtpUsageError('port must be an integer from 1 to 65535');
    this.#hwm = positive(options.highWaterMark, MIB, 'highWaterMark');
    this.#readSize = readSize(options.readSize, this.#hwm);
    this.#closeTimeout = positive(options.timeouts?.close, DEFAULT_CLOSE_TIMEOUT, 'timeouts.close');
    positive(options.timeouts?.connect, DEFAULT_CONNECT_TIMEOUT, 'timeouts.connect');
    this.#tlsParams = tlsParams(options);
    if (options.proxy !== undefined) {
      this.#proxy = parseProxy(options.proxy);
      proxySteps(this.#proxy, { host: options.host, port: this.#port }); // checks what goes to the proxy, now
    }
    this.#core = new SmtpConnection(coreOptions(options, mode, this.#port));
    this.#diagnostics = new ConnectDiagnostics({ host: options.host, port: this.#port, implicitTls: mode === 'implicit' }, (err) => this.abort(err));
    this.#refreshed = refreshed;
    this.#probe = new Probe(options.observe, options.host, this.#port, this.#transport.name);
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.linkClosed = new Promise((resolve) => (this.#resolveLinkClosed = resolve));
  }

  /** Connect, greet, upgrade and authenticate; resolves when the session is ready. */
  static async connect(options: ClientOptions): Promise<SmtpClient> {
    if (options === null || typeof options !== 'object') throw new SmtpUsageError('options must be an object');
    const port = options.port ?? (options.tls === 'implicit' ? 465 : options.tls === 'required-starttls' ? 587 : 25);
    // Providers become strings here; a refused token is refreshed once and the connect retried.
    return withCredentials(options, port, async (resolved, refreshed) => {
      const client = new SmtpClient(resolved, refreshed);
      await client.#open();
      return client;
    });
  }

  /** What the server advertised in its last EHLO. */
  get capabilities(): Capabilities {
    return this.#core.serverCapabilities;
  }

  get secure(): boolean {
    return this.#core.isSecure;
  }

  /** True once the session has ended (the `closed` promise has resolved or is about to). */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Sends not yet settled. */
  get pending(): number {
    return this.#sends.size;
  }

  /**
   * Send one message. Resolves with the core's result: accepted (per-recipient lists), rejected
   * (with a typed error) or unknown (the end was written and no final reply came: do not retry
   * blindly). Rejects only for usage errors (bad addresses, bad body type). Sends issued
   * without awaiting each other share the connection and pipeline. Takes a raw Message, a
   * buildMessage() result or the builder's options (rendered now, for this server). With
   * `dkim` (in `options`, or in the message or builder options) it is signed once rendered.
   */
  send(message: SendInput, options?: SendOptions): Promise<SendResult> {
    try {
      const wire = toWireMessage(message, this.capabilities, options);
      return wire instanceof Promise ? wire.then((m) => this.#send(m)) : this.#send(wire);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #send(message: Message): Promise<SendResult> {
    if (message === null || typeof message !== 'object') throw new SmtpUsageError('message must be an object');
    const fixed = fixedBody(message.body);
    const source = fixed ? undefined : chunkSource(message.body); // checks the type; opens nothing yet
    const envelope: Envelope = {
      from: message.from,
      to: typeof message.to === 'string' ? [message.to] : message.to,
      size: message.size ?? fixed?.length ?? declaredSize(message.body),
      smtpUtf8: message.smtpUtf8,
      dsn: message.dsn,
      requireTls: message.requireTls,
      // A whole body is scanned by the core, which declares 8BITMIME when it finds 8-bit octets.
      body: message.binary ? 'BINARYMIME' : message.eightBit ? '8BITMIME' : undefined,
    };
    const signal = message.signal;
    if (signal?.aborted) {
      // Never start what is already cancelled: once queued, MAIL..DATA may be on their way.
      prepareEnvelope(envelope); // usage errors still reject
      return Promise.resolve(notStarted(abortReason(signal)));
    }
    const now = Date.now();
    // A whole body goes in with the envelope (one pump); a stream is fed as it comes.
    const id = this.#core.send(envelope, now, fixed); // throws SmtpUsageError for bad input
    let cleanup: (() => void) | undefined;
    if (signal) {
      const onAbort = (): void => {
        this.#core.cancel(id, Date.now(), abortReason(signal));
        this.#pump();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      cleanup = () => signal.removeEventListener('abort', onAbort);
    }
    const result = new Promise<SendResult>((resolve, reject) => {
      this.#sends.set(id, { resolve, reject, fixed: fixed?.length ?? 0, cleanup, bytes: fixed?.length ?? 0, startedAt: now });
    });
    if (!fixed) {
      this.#feeders.push(id);
      this.#feed(id, source!).catch((err) => this.#crash(err));
    }
    this.#pumpSoon();
    return result;
  }

  /** NOOP: resolves with the server's reply; rejects when the session ends first. */
  noop(): Promise<Reply> {
    try {
      const id = this.#core.noop(Date.now());
      const reply = new Promise<Reply>((resolve, reject) => this.#commands.set(id, { resolve, reject }));
      this.#pump();
      return reply;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** QUIT after every queued send has settled, wait up to `timeouts.close` for the server, then
   *  drop the link. Never rejects; `closed` tells how the session ended. */
  async close(): Promise<void> {
    if (!this.#isClosed) {
      this.#core.quit(Date.now());
      this.#pump();
      // Sends in flight are bounded by the core's own timers; the close bound is for QUIT.
      while (this.#sends.size > 0 && !this.#isClosed) await this.#tick();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.#closeTimeout)));
      const timedOut = await Promise.race([this.closed.then(() => false), expired]);
      clearTimeout(timer);
      if (timedOut) this.abort(new SmtpTimeoutError('quit', this.#closeTimeout));
    }
    this.#destroyLink();
  }

  /** Drop the session now, without QUIT. Pending sends settle: unknown where their end was
   *  written, rejected otherwise. */
  abort(reason?: unknown): void {
    const error = reason instanceof SmtpError ? reason : new SmtpAbortError(reason === undefined ? undefined : `aborted: ${String(reason)}`);
    this.#core.abort(Date.now(), error);
    this.#pump();
    this.#destroyLink();
  }

  // ---- session setup ------------------------------------------------------------------------

  async #open(): Promise<void> {
    const o = this.#options;
    const signal = o.signal;
    if (signal?.aborted) throw abortReason(signal);
    const ready = new Promise<void>((resolve, reject) => (this.#ready = { resolve, reject }));
    ready.catch(() => {}); // awaited below; a late rejection must not count as unhandled
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(abortReason(signal));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => {});
    try {
      this.#log('info', `connecting to ${o.host}:${this.#port} via ${this.#transport.name}${o.tls === 'implicit' ? ' (implicit TLS)' : ''}`);
      const handlers: LinkHandlers = {
        data: (bytes) => {
          if (this.#diagnostics.listening) this.#diagnostics.heard(bytes);
          this.#input(() => this.#core.receive(bytes, Date.now()));
        },
        end: () => this.#input(() => this.#linkEnded(undefined)),
        error: (err) => this.#input(() => this.#linkEnded(err)),
        drain: () => {
          this.#writable = true;
          this.#wake();
        },
      };
      const params: ConnectParams = {
        host: o.host, port: this.#port, implicitTls: o.tls === 'implicit', servername: o.servername, ca: o.ca,
        rejectUnauthorized: o.rejectUnauthorized !== false, connectTimeout: o.timeouts?.connect ?? DEFAULT_CONNECT_TIMEOUT, signal,
        ...this.#tlsParams,
      };
      const proxy = this.#proxy;
      const linking = Promise.resolve().then(() => proxy
        ? connectThroughProxy(this.#transport, params, proxy, handlers, (text) => this.#log('info', text))
        : this.#transport.connect(params, handlers));
      const linkStart = Date.now();
      try {
        this.#link = await Promise.race([linking, aborted]);
      } catch (err) {
        linking.then((link) => link.destroy(), () => {}); // it may still connect after an abort
        const error = this.#diagnostics.explain(connectError(err, o.host, this.#port));
        if (params.implicitTls && error.code === 'ETLS') this.#probe.tls('implicit', linkStart, error);
        this.#finishEarly(error);
        throw error;
      }
      if (params.implicitTls) this.#probe.tls('implicit', linkStart);
      this.#core.start(Date.now());
      this.#diagnostics.linkUp();
      const early = this.#early!;
      this.#early = undefined;
      for (const run of early) run();
      this.#pump();
      try {
        await Promise.race([ready, aborted]);
      } catch (err) {
        if (!this.#isClosed) this.abort(err);
        throw err;
      }
      if (o.auth) this.#probe.auth(this.#mechanismName(), this.#refreshed);
      this.#probe.opened(this.secure, o.auth !== undefined, this.capabilities);
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The SASL mechanism this session uses: the one the core picks by the same rule. */
  #mechanismName(): string | undefined {
    const auth = this.#options.auth;
    if (!auth) return undefined;
    if (typeof auth.mechanism === 'object') return auth.mechanism.name;
    const credentials = { user: auth.user, pass: auth.pass as string | undefined, token: auth.token as string | undefined, authzid: auth.authzid };
    return chooseMechanism(this.capabilities.auth, credentials, auth.mechanism)?.name ?? auth.mechanism;
  }

  /** The connect attempt failed before a session existed: settle `closed` all the same. */
  #finishEarly(err: unknown): void {
    this.#isClosed = true;
    const error = err instanceof SmtpError ? err : connectError(err, this.#options.host, this.#port);
    this.#resolveClosed(error);
    this.#resolveLinkClosed();
    this.#probe.closed(error);
  }

  // ---- the drive loop -----------------------------------------------------------------------

  /** A link callback: queue it until the core has started, else run it and drain. */
  #input(run: () => void): void {
    if (this.#early) {
      this.#early.push(run);
      return;
    }
    run();
    this.#pump();
  }

  #linkEnded(err: unknown): void {
    this.#linkDone = true;
    this.#resolveLinkClosed();
    if (err === undefined) this.#core.receiveEof(Date.now());
    else this.#core.transportError(err, Date.now());
    this.#wake();
  }

  /** Pump once at the end of this tick: sends issued together leave as one write. */
  #pumpSoon(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  /** Drain poll() until it says wait; re-entrant calls (from a logger) fold into this loop. */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (;;) {
        const out = this.#core.poll(Date.now());
        if (out.type === 'wait') {
          this.#arm(out.deadline);
          break;
        }
        this.#output(out);
      }
    } finally {
      this.#pumping = false;
    }
    this.#wake();
  }

  #output(out: Exclude<Output, { type: 'wait' }>): void {
    switch (out.type) {
      case 'write': {
        if (!this.#link || this.#linkDone) return; // the link is gone; the core learns that separately
        const chunks = out.chunks;
        let bytes = 0;
        for (let i = 0; i < chunks.length; i++) bytes += chunks[i]!.length;
        if (bytes <= WRITE_PIECE) this.#linkWrite(chunks, bytes);
        else for (const piece of pieces(chunks, WRITE_PIECE)) this.#linkWrite(piece.chunks, piece.bytes);
        return;
      }
      case 'event':
        return this.#event(out.event);
      case 'start-tls':
        return this.#startTls();
      case 'compute':
        return this.#compute(out.id, out.request);
      case 'close':
        return this.#closeLink();
    }
  }

  /** One numbered link write (the read ring counts them). The core learns how far the link has
   *  taken its output from the written signal, or at once from a link that gives none. */
  #linkWrite(chunks: Uint8Array[], bytes: number): void {
    const link = this.#link!;
    if (this.#linkDone) return;
    const seq = ++this.#writeSeq;
    const end = (this.#handed += bytes);
    const signals = link.signalsWritten === true;
    try {
      this.#writable = link.write(chunks, (taken) => this.#written(seq, signals && taken !== false ? end : -1));
    } catch (err) {
      this.#linkEnded(err);
      return;
    }
    if (!signals) this.#core.written(end, Date.now());
  }

  #startTls(): void {
    const link = this.#link!;
    this.#log('info', 'upgrading the connection to TLS');
    const started = Date.now();
    link.startTls().then(
      () => {
        this.#probe.tls('starttls', started);
        this.#log('info', 'TLS established');
        this.#core.tlsEstablished(Date.now());
        this.#pump();
      },
      (err) => {
        this.#probe.tls('starttls', started, err);
        this.#linkDone = true;
        link.destroy();
        const error = this.#diagnostics.explain(err);
        this.#resolveLinkClosed();
        this.#core.transportError(error, Date.now());
        this.#pump();
      },
    ).catch((err) => this.#crash(err));
  }

  /** A computation the core asked for (SCRAM's PBKDF2); the AUTH deadline runs meanwhile and
   *  a late answer is ignored by the core. */
  #compute(id: number, request: Extract<Output, { type: 'compute' }>['request']): void {
    derivePbkdf2(request, this.#options.pbkdf2).then(
      ({ key, by }) => {
        this.#log('info', `SCRAM key derived by ${by} (${request.iterations} iterations)`);
        this.#core.computed(id, key, Date.now());
        this.#pump();
      },
      (err) => {
        this.#core.computeFailed(id, err, Date.now());
        this.#pump();
      },
    ).catch((err) => this.#crash(err));
  }

  /** The core is done with the link: end it gracefully; the transport releases it. */
  #closeLink(): void {
    if (this.#link && !this.#linkDone) this.#link.close();
    this.#arm(undefined);
  }

  #destroyLink(): void {
    if (this.#link && !this.#linkDone) {
      this.#linkDone = true;
      this.#link.destroy();
    }
    if (this.#link || this.#isClosed) this.#resolveLinkClosed();
  }

  /** One timer, always at the core's next deadline. */
  #arm(deadline: number | undefined): void {
    if (deadline === this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = deadline;
    if (deadline === undefined) return;
    const delay = Math.min(MAX_TIMER, Math.max(0, deadline - Date.now()));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = undefined;
      this.#core.handleTimeout(Date.now());
      this.#pump();
    }, delay);
  }

  #event(event: SmtpEvent): void {
    switch (event.type) {
      case 'ready':
        this.#ready?.resolve();
        return;
      case 'transaction': {
        const pending = this.#sends.get(event.result.id);
        if (!pending) return;
        this.#sends.delete(event.result.id);
        this.#unfeed(event.result.id);
        pending.cleanup?.();
        if (this.#probe.active) this.#probe.message(event.result, pending.bytes, pending.startedAt);
        pending.resolve(event.result);
        return;
      }
      case 'command': {
        const pending = this.#commands.get(event.id);
        this.#commands.delete(event.id);
        pending?.resolve(event.reply);
        return;
      }
      case 'transcript':
        return this.#log(event.from, event.text);
      case 'closed':
        return this.#sessionClosed(event.error);
      case 'greeting':
        return;
    }
  }

  #sessionClosed(error: SmtpError | undefined): void {
    this.#isClosed = true;
    error = this.#diagnostics.closed(error);
    this.#arm(undefined);
    if (error) this.#log('info', `session ended: ${error.message}`);
    const why = error ?? new SmtpConnectionError('the session ended');
    this.#ready?.reject(why);
    for (const c of this.#commands.values()) c.reject(why);
    this.#commands.clear();
    // The core settles every transaction before 'closed'; anything left is a core bug, made loud.
    for (const [id, s] of this.#sends) {
      s.cleanup?.();
      s.reject(new Error(`internal error: transaction ${id} was not settled before the session closed`));
    }
    this.#sends.clear();
    this.#feeders = [];
    this.#resolveClosed(error);
    // AUTH failed: the core ends the session itself, before connect() hears of it.
    if (error?.code === 'EAUTH' && this.#options.auth && this.#early === undefined && !this.#probe.isOpen) {
      this.#probe.auth(this.#mechanismName(), this.#refreshed, error);
    }
    this.#probe.closed(error);
    this.#wake();
  }

  /** Something that must not throw did: end the session loudly rather than hang or leak. */
  #crash(err: unknown): void {
    if (this.#isClosed) return;
    const message = err instanceof Error ? err.message : String(err);
    this.abort(new SmtpConnectionError(`internal error: ${message}`, err));
  }

  #log(from: LogEntry['from'], text: string): void {
    const logger = this.#options.logger;
    if (!logger) return;
    try {
      logger({ from, text });
    } catch {
      // a failing logger must not break the session
    }
  }

  // ---- streaming bodies ---------------------------------------------------------------------

  /** Stream a body into the core, only while it is worth holding it; release the source after. */
  async #feed(id: number, open: () => OpenedBody): Promise<void> {
    let ended = false;
    let body: OpenedBody | undefined;
    try {
      body = open();
      ended = body.kind === 'pull' ? await this.#pullInto(id, body.source) : await this.#pullChunks(id, body.source);
    } catch (err) {
      // The source failed: the message is incomplete and must not be delivered.
      if (this.#sends.has(id)) {
        const reason = new SmtpAbortError(`the message body source failed: ${err instanceof Error ? err.message : String(err)}`);
        (reason as { cause?: unknown }).cause = err;
        this.#core.cancel(id, Date.now(), reason);
        this.#pump();
      }
    } finally {
      this.#unfeed(id);
      try {
        // A pull-into source is always closed (it holds a file, say); an iterator or a stream is
        // only stopped early, since one that ended has released itself.
        if (body?.kind === 'pull') await body.source.close?.();
        else if (body && !ended) await body.source.stop();
      } catch {
        // releasing a source we no longer read from; its errors are not ours to report
      }
    }
  }

  /** Chunks the source allocates go to the core as they are. True when the body ended. */
  async #pullChunks(id: number, source: ChunkSource): Promise<boolean> {
    for (;;) {
      if (!(await this.#mayFeed(id))) return false;
      const next = await source.next();
      if (!this.#sends.has(id)) return false;
      if (next.done) {
        this.#endBody(id);
        return true;
      }
      const bytes = toBytes(next.value);
      if (!bytes) {
        this.#core.cancel(id, Date.now(), new SmtpUsageError('body chunks must be Uint8Array or string'));
        this.#pump();
        return false;
      }
      if (!this.#core.writeBody(id, bytes, Date.now())) return false;
      const pending = this.#sends.get(id);
      if (pending) pending.bytes += bytes.length;
      this.#pump();
    }
  }

  /**
   * Read a pull-into source into the ring and hand each read to the core as a view of a ring
   * buffer. The next read is started before the last one is handed over, so the source's read
   * (a file read runs on another thread) overlaps the core's scan and the socket write. The
   * ring is shared by the pull-into sends of this client (one reads at a time) and dropped when
   * none is left; buffers still in the core or the transport are then simply not reused. True
   * when the body ended.
   */
  async #pullInto(id: number, source: PullIntoSource): Promise<boolean> {
    let ring = this.#ring;
    if (!ring) {
      const count = 2 + Math.ceil(this.#feedLimit() / this.#readSize);
      // Reuse needs the link to say when a write is done; without that every read is fresh.
      ring = this.#ring = new BufferRing(this.#readSize, count, this.#link?.signalsWritten === true);
    }
    ring.users++;
    let ready: Uint8Array | undefined; // read, not yet handed to the core
    const handOver = (): boolean => {
      const view = ready!;
      ready = undefined;
      ring.handed();
      if (!this.#core.writeBody(id, view, Date.now())) return false;
      const pending = this.#sends.get(id);
      if (pending) pending.bytes += view.length;
      this.#pump();
      return true;
    };
    try {
      for (;;) {
        let space: Uint8Array | undefined;
        for (;;) {
          const state = this.#readState(id, ring);
          if (state === 'gone') return false;
          if (state instanceof Uint8Array) {
            space = state;
            break;
          }
          // Every buffer is in use: the one read last must go first, or the core may wait for
          // it (a BDAT chunk not yet full) while we wait for a buffer.
          if (state === 'full' && ready) {
            if (!handOver()) return false;
            continue;
          }
          await this.#tick();
        }
        const reading = Promise.resolve(source.readInto(space));
        if (ready && !handOver()) {
          await reading.catch(() => {}); // close() only once no read is pending
          return false;
        }
        const n = await reading;
        if (!this.#sends.has(id)) return false;
        if (!(typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= space.length)) {
          this.#core.cancel(id, Date.now(), new SmtpUsageError(`readInto must resolve with an octet count from 0 to ${space.length}, not ${String(n)}`));
          this.#pump();
          return false;
        }
        if (n === 0) {
          this.#endBody(id);
          return true;
        }
        ready = ring.fill(n);
      }
    } finally {
      ring.unlend();
      if (--ring.users === 0 && this.#ring === ring) this.#ring = undefined;
    }
  }

  #endBody(id: number): void {
    this.#unfeed(id); // the next streaming send may pull now
    this.#core.endBody(id, Date.now());
    this.#pump();
  }

  /**
   * Wait until this send may pull its next chunk. Only the oldest streaming send pulls (the
   * core writes transactions in order, so a later one would only pile up in memory), and only
   * while the link is not pushing back and the core holds less than the high-water mark of
   * bytes that will go before (or are) its own. False once the send has settled.
   */
  async #mayFeed(id: number): Promise<boolean> {
    for (;;) {
      if (!this.#sends.has(id) || this.#isClosed) return false;
      if (this.#feeders[0] === id && this.#writable && this.#core.bufferedAmount - this.#heldBehind(id) < this.#feedLimit()) return true;
      await this.#tick();
    }
  }

  /**
   * #mayFeed for a pull-into send, without waiting: 'gone' once the send has settled, 'wait'
   * while it may not pull, 'full' when it may but every ring buffer is in use, else where to
   * read next. The link's own backpressure (drain) does not apply when the ring reuses buffers:
   * a buffer is reused only after its write is done, so the ring already bounds what the
   * transport holds, and reading the next buffer while the last one is written is the point.
   *
   * When buffers are free again. A view handed to the core stays there until poll() hands it
   * out, and #output gives each polled write to the link at once, numbered, with an onWritten.
   * So whenever the core holds no body octets of this send or an earlier one (bufferedAmount
   * minus the whole bodies queued behind it, which cannot be written before it ends), once the
   * client has pumped since the core last changed, every view handed over so far is in a write
   * numbered at most #writeSeq, or was dropped by a cancel: the ring settles them against
   * #writeSeq. Links finish writes in order, so once
   * #writtenSeq reaches that number those buffers are free. After the link has ended nothing is
   * written any more and every buffer counts as free (the session is over; none is read into).
   */
  #readState(id: number, ring: BufferRing): Uint8Array | 'gone' | 'wait' | 'full' {
    if (!this.#sends.has(id) || this.#isClosed) return 'gone';
    if (this.#feeders[0] !== id) return 'wait';
    const held = this.#core.bufferedAmount - this.#heldBehind(id);
    // After a pump only: a send() whose pump is still queued may have been refused by the
    // core at once (a closing session), its body never held, and #heldBehind still counts it.
    if (held <= 0 && !this.#pumpQueued) ring.settle(this.#writeSeq);
    if (held >= this.#feedLimit() || !(ring.reuses || this.#writable)) return 'wait';
    return ring.space(this.#linkDone ? this.#writeSeq : this.#writtenSeq) ?? 'full';
  }

  /** A link write numbered `seq`, ending at output offset `end` (-1: already reported), is done
   *  with its views (Link.write's onWritten). */
  #written(seq: number, end: number): void {
    if (seq > this.#writtenSeq) this.#writtenSeq = seq;
    if (end >= 0 && !this.#isClosed) {
      // The transport took these octets: the core's data-block timer moves on. (This runs in the
      // transport's callback: a throw would escape as an uncaught exception.)
      try {
        this.#core.written(end, Date.now());
        this.#arm(this.#core.nextDeadline);
      } catch (err) {
        this.#crash(err);
      }
    }
    this.#wake();
  }

  /**
   * Octets of body a streaming send may leave in the core: the high-water mark, but never less
   * than the BDAT chunk size, since the core holds a streamed BDAT body until it has a whole
   * chunk and a lower mark would wait for it forever.
   */
  #feedLimit(): number {
    return Math.max(this.#hwm, this.#options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  }

  /** Octets of whole bodies queued after `id`: the core holds them until `id` is written. */
  #heldBehind(id: number): number {
    let n = 0;
    for (const [other, s] of this.#sends) if (other > id) n += s.fixed;
    return n;
  }

  #unfeed(id: number): void {
    const at = this.#feeders.indexOf(id);
    if (at >= 0) {
      this.#feeders.splice(at, 1);
      this.#wake();
    }
  }

  /** Resolves after the next pump, drain or link end. */
  #tick(): Promise<void> {
    return new Promise((resolve) => this.#wakers.push(resolve));
  }

  #wake(): void {
    if (this.#wakers.length === 0) return;
    const wakers = this.#wakers;
    this.#wakers = [];
    for (const w of wakers) w();
  }
}

/** Connect and get a ready session (greeting, EHLO, STARTTLS, AUTH done). Rejects with the
 *  typed SmtpError that ended the attempt. */
export function connect(options: ClientOptions & { transport: Transport }): Promise<SmtpClient> {
  return SmtpClient.connect(options);
}

/** Client options plus the message (smtpwire/message options: from, to, subject, text, html,
 *  attachments, ...). */
export interface SendMailOptions extends ClientOptions, MessageOptions {
  transport: Transport;
  /** Sign with DKIM (see client.send). */
  dkim?: MailOptions['dkim'];
}

/** One call: build the message (bad input fails before connecting), connect, send it to
 *  To + Cc + Bcc (or the given envelope), close. */
export async function sendMail(options: SendMailOptions): Promise<SendResult> {
  const message = buildMessage(options);
  // Keys are imported (and bad DKIM options refused) before connecting.
  const dkim = options.dkim === undefined ? undefined : await dkimSigner(options.dkim);
  if (dkim && !message.rereadable) throw oneShotAttachment();
  const client = await connect(options);
  try {
    return await client.send(message, dkim ? { dkim } : undefined);
  } finally {
    await client.close();
  }
}

// ---- helpers ----------------------------------------------------------------------------------

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(typeof value === 'number' && value > 0)) throw new SmtpUsageError(`${name} must be a positive number`);
  return value;
}

function coreOptions(o: ClientOptions, mode: TlsMode, port: number): ConnectionOptions {
  const timeouts: Partial<Timeouts> = {};
  for (const [k, v] of Object.entries(o.timeouts ?? {})) {
    if (k !== 'connect' && k !== 'close' && v !== undefined) (timeouts as Record<string, number>)[k] = v;
  }
  return {
    name: o.name,
    lmtp: o.lmtp,
    tls: mode === 'none' ? 'none' : mode === 'required-starttls' ? 'required' : 'opportunistic',
    secure: mode === 'implicit',
    auth: o.auth && {
      // Providers were turned into strings by connect() (withCredentials) before we get here.
      credentials: { user: o.auth.user, pass: o.auth.pass as string | undefined, token: o.auth.token as string | undefined, authzid: o.auth.authzid },
      mechanism: o.auth.mechanism,
      maxChallenges: o.auth.maxChallenges,
    },
    asyncCompute: true,
    allowInsecureAuth: o.allowInsecureAuth,
    timeouts,
    pipelineWindow: o.pipelineWindow,
    maxUnansweredEnds: o.maxUnansweredEnds,
    chunkSize: o.chunkSize,
    pipelining: o.pipelining,
    chunking: o.chunking,
    transcript: o.logger !== undefined,
    host: o.host,
    port,
    writtenSignal: true, // #linkWrite reports every write, from the link's signal when it has one
  };
}

/** `chunks` as consecutive groups of at most `size` octets (views, never copies). */
function pieces(chunks: readonly Uint8Array[], size: number): { chunks: Uint8Array[]; bytes: number }[] {
  const out: { chunks: Uint8Array[]; bytes: number }[] = [];
  let group: Uint8Array[] = [];
  let bytes = 0;
  for (const chunk of chunks) {
    for (let at = 0; at < chunk.length;) {
      const n = Math.min(chunk.length - at, size - bytes);
      group.push(at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n));
      bytes += n;
      at += n;
      if (bytes === size) {
        out.push({ chunks: group, bytes });
        group = [];
        bytes = 0;
      }
    }
  }
  if (bytes > 0) out.push({ chunks: group, bytes });
  return out;
}

function fixedBody(body: unknown): Uint8Array | undefined {
  if (typeof body === 'string') return encoder.encode(body);
  if (body instanceof Uint8Array) return body;
  return undefined;
}

/** Checks a streaming body's type now; the returned function opens it (locks a web stream)
 *  only once the transaction exists. */
function chunkSource(body: unknown): () => OpenedBody {
  if (body !== null && typeof body === 'object') {
    const b = body as Partial<ReadableStream<Uint8Array> & AsyncIterable<unknown> & Iterable<unknown> & PullIntoSource>;
    // Pull-into first: such an object may be iterable as well, and reading into the client's
    // buffers is the cheaper way.
    if (typeof b.readInto === 'function') {
      if (b.close !== undefined && typeof b.close !== 'function') throw new SmtpUsageError('a readInto body\'s close must be a function');
      return () => ({ kind: 'pull', source: body as PullIntoSource });
    }
    // A web stream: use its reader, which every runtime has (async iteration is not universal).
    if (typeof b.getReader === 'function') {
      return () => {
        const reader = b.getReader!();
        return { kind: 'chunks', source: { next: () => reader.read() as Promise<IteratorResult<unknown>>, stop: () => reader.cancel() } };
      };
    }
    const open = typeof b[Symbol.asyncIterator] === 'function'
      ? () => b[Symbol.asyncIterator]!()
      : typeof b[Symbol.iterator] === 'function' ? () => b[Symbol.iterator]!() : undefined;
    if (open) {
      return () => {
        const iterator: Iterator<unknown> | AsyncIterator<unknown> = open();
        return { kind: 'chunks', source: { next: async () => iterator.next(), stop: () => iterator.return?.() } };
      };
    }
  }
  throw new SmtpUsageError('body must be a string, Uint8Array, { readInto } source, (async) iterable of chunks or ReadableStream');
}

/** The size a pull-into source says it has, if it is a usable octet count. */
function declaredSize(body: unknown): number | undefined {
  const size = body !== null && typeof body === 'object' && typeof (body as PullIntoSource).readInto === 'function' ? (body as PullIntoSource).size : undefined;
  return typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? size : undefined;
}

/** ClientOptions.readSize: a positive integer; by default the high-water mark, at most 1 MiB. */
function readSize(value: number | undefined, hwm: number): number {
  if (value === undefined) return Math.max(1, Math.min(Math.floor(hwm), MIB));
  if (!(Number.isInteger(value) && value > 0)) throw new SmtpUsageError('readSize must be a positive integer');
  return value;
}

function toBytes(chunk: unknown): Uint8Array | undefined {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return encoder.encode(chunk);
  return undefined;
}

function abortReason(signal: AbortSignal | undefined): SmtpError {
  const reason: unknown = signal?.reason;
  if (reason instanceof SmtpError) return reason;
  return new SmtpAbortError();
}

function connectError(err: unknown, host: string, port: number): SmtpError {
  if (err instanceof SmtpError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SmtpConnectionError(`cannot connect to ${host}:${port}: ${message}`, err);
}
