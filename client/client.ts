// The friendly async client: one SmtpConnection (the sans-IO core) driven over one Link from a
// runtime-neutral Transport. This file owns only the glue: feed inputs, drain poll(), keep one
// timer at the core's deadline, turn events into settled promises, stream bodies with bounded
// memory. Every protocol decision (pipelining, outcomes, TLS policy) stays in the core.
import type { Capabilities } from '../core/capabilities.ts';
import { SmtpConnection } from '../core/connection.ts';
import { prepareEnvelope, type Envelope, type RecipientSpec } from '../core/envelope.ts';
import { SmtpAbortError, SmtpConnectionError, SmtpError, SmtpTimeoutError, SmtpUsageError } from '../core/errors.ts';
import type { Output, SmtpEvent, TransactionResult } from '../core/events.ts';
import type { Reply } from '../core/reply.ts';
import { chooseMechanism } from '../core/sasl/index.ts';
import { derivePbkdf2 } from './pbkdf2.ts';
export { slicedPbkdf2, webCryptoPbkdf2, type Pbkdf2Provider } from './pbkdf2.ts';
import { parseProxy, type ProxySpec } from '../core/proxy/url.ts';
import { proxySteps } from '../core/proxy/tunnel.ts';
import { buildMessage, type MessageOptions } from '../message/build.ts';
import { dkimSigner, oneShotAttachment } from './dkim-send.ts';
import { toWireMessage, type MailOptions, type SendInput, type SendOptions } from './message-send.ts';
import { notStarted } from './not-started.ts';
import { ConnectDiagnostics } from './diagnostics.ts';
import { tlsParams } from './tls-options.ts';
import { withCredentials } from './credentials.ts';
import { Probe } from './observe.ts';
import type { Link, LinkHandlers, Transport } from './transport.ts';
import { coreOptions, DEFAULT_CLOSE_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, MIB, positive, readSize, type ClientOptions, type LogEntry } from './options.ts';
import { BodyStreamer, chunkSource, declaredSize, fixedBody, type BodySource, type StreamHost } from './body-stream.ts';
import { abortReason, abortSignalled, connectError, linkParams, openLink } from './connect-link.ts';
export type { ClientOptions, LogEntry, TlsMode } from './options.ts';
export type { BodySource, PullIntoSource } from './body-stream.ts';

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

const MAX_TIMER = 2 ** 31 - 1; // setTimeout's limit; a later deadline is re-armed on wake-up
/** A larger write goes to the link in pieces of this size, each with its own written signal, so
 *  the core's data-block timer sees the transport's progress through a large whole body. */
const WRITE_PIECE = MIB;

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
  #wakers: (() => void)[] = [];
  #body: BodyStreamer;
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
    const hwm = positive(options.highWaterMark, MIB, 'highWaterMark');
    this.#body = new BodyStreamer(this.#streamHost(), hwm, readSize(options.readSize, hwm), options.chunkSize);
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

  /** What the body streamer sees of this client (client/body-stream.ts). */
  #streamHost(): StreamHost {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const client = this;
    return {
      get core() { return client.#core; },
      sends: client.#sends,
      get isClosed() { return client.#isClosed; },
      get writable() { return client.#writable; },
      get linkDone() { return client.#linkDone; },
      get pumpQueued() { return client.#pumpQueued; },
      get writeSeq() { return client.#writeSeq; },
      get writtenSeq() { return client.#writtenSeq; },
      get signalsWritten() { return client.#link?.signalsWritten === true; },
      pump: () => client.#pump(),
      tick: () => client.#tick(),
      wake: () => client.#wake(),
    };
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
      this.#body.enqueue(id);
      this.#body.feed(id, source!).catch((err) => this.#crash(err));
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
    const { aborted, dispose } = abortSignalled(signal);
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
      const params = linkParams(o, this.#port, this.#tlsParams);
      const linkStart = Date.now();
      try {
        this.#link = await openLink(this.#transport, params, this.#proxy, handlers, aborted, this.#diagnostics, (text) => this.#log('info', text));
      } catch (err) {
        const error = err as SmtpError;
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
      dispose();
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
      (err: unknown) => {
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
        this.#body.unfeed(event.result.id);
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
    this.#body.clear();
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

  // ---- link writes done ---------------------------------------------------------------------

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

