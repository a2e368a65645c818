// The friendly async client: one SmtpConnection (the sans-IO core) driven over one Link from a
// runtime-neutral Transport. This file is the drive loop: feed the core its inputs, drain poll(),
// keep one timer at its deadline, turn events into settled promises. Around it, by concern: see
// "Inside client/" in docs/architecture.md. Every protocol decision stays in the core.
import type { Capabilities } from '../core/capabilities.ts';
import { SmtpConnection } from '../core/connection.ts';
import { prepareEnvelope } from '../core/envelope.ts';
import { SmtpAbortError, SmtpConnectionError, SmtpError, SmtpTimeoutError, SmtpUsageError } from '../core/errors.ts';
import type { Output, SmtpEvent, TransactionResult } from '../core/events.ts';
import type { Reply } from '../core/reply.ts';
import { BodyStreamer, chunkSource, fixedBody, type StreamHost } from './body-stream.ts';
import { abortReason, abortSignalled, connectError, connectLink, type LinkRequest } from './connect-link.ts';
import { missingPart, NO_DIAGNOSTICS, type ClientParts, type Diagnostics } from './parts.ts';
import { withCredentials } from './credentials.ts';
import { DeadlineTimer } from './deadline-timer.ts';
import { LinkWriter, type WriterHost } from './link-writer.ts';
import { envelopeOf, toWireMessage, type Message, type SendInput, type SendOptions } from './message-send.ts';
import { notStarted } from './not-started.ts';
import { Probe } from './observe.ts';
import { coreOptions, mechanismName, resolveOptions, type ClientOptions, type LogEntry } from './options.ts';
import { derivePbkdf2 } from './pbkdf2.ts';
import { PendingCalls } from './pending.ts';
import { defaultPort, TLS_MODES, tlsParams } from './tls-options.ts';
import type { LinkHandlers } from './transport.ts';

export type { ClientOptions, LogEntry, TlsMode } from './options.ts';
export type { BodySource, PullIntoSource } from './body-stream.ts';
export type { Message } from './message-send.ts';
export { connect, sendMail, sendMailWith, withFullParts, type SendMailOptions } from './send-mail.ts';
export { slicedPbkdf2, webCryptoPbkdf2, type Pbkdf2Provider } from './pbkdf2.ts';

export type SendResult = TransactionResult;

export class SmtpClient {
  /** Resolves once the session is over: undefined after a clean QUIT, else why it ended. Never rejects. */
  readonly closed: Promise<SmtpError | undefined>;
  /** Resolves once the network link itself is gone (the transport reported its end, or the
   *  client dropped it), which can be later than `closed`: a pool counts a connection until
   *  then. Never rejects. */
  readonly linkClosed: Promise<void>;

  #core: SmtpConnection;
  #options: ClientOptions;
  #closeTimeout: number;
  #link: LinkRequest; // what connecting needs
  #writer: LinkWriter; // the link, once connected, and its writes
  #early: (() => void)[] | undefined = []; // link callbacks that came before core.start()
  #pumping = false;
  #pumpQueued = false;
  #timer = new DeadlineTimer(() => {
    this.#core.handleTimeout(Date.now());
    this.#pump();
  });
  #isClosed = false;
  #resolveClosed!: (error: SmtpError | undefined) => void;
  #resolveLinkClosed!: () => void;
  #calls = new PendingCalls(); // what callers wait for
  #wakers: (() => void)[] = [];
  #body: BodyStreamer;
  #diagnostics: Diagnostics;
  #parts: ClientParts;
  #probe: Probe;
  #refreshed: boolean; // this session authenticates with a refreshed token

  /** Use connect(). */
  private constructor(options: ClientOptions, refreshed = false) {
    const { mode, port, highWaterMark, readSize, closeTimeout } = resolveOptions(options);
    const transport = options.transport!;
    this.#options = options;
    this.#parts = options.parts ?? {};
    this.#body = new BodyStreamer(this.#host(), highWaterMark, readSize, this.#parts.bodyScan?.buffers);
    this.#closeTimeout = closeTimeout;
    const tls = tlsParams(options);
    let proxy: LinkRequest['proxy'];
    if (options.proxy !== undefined) {
      const via = options.proxies ?? this.#parts.proxies;
      if (!via) throw missingPart('a proxy', "import { proxies } from 'smtpwire/proxy' and pass connect({ ..., proxy, proxies })");
      const spec = via.parse(options.proxy);
      via.check(spec, { host: options.host, port }); // checks what goes to the proxy, now
      proxy = { spec, via };
    }
    this.#core = new SmtpConnection(coreOptions(options, mode, port));
    const diagnose = options.diagnostics ?? this.#parts.diagnostics;
    this.#diagnostics = diagnose
      ? diagnose({ host: options.host, port, implicitTls: TLS_MODES[mode].secure }, (err) => this.abort(err))
      : NO_DIAGNOSTICS;
    this.#refreshed = refreshed;
    this.#probe = new Probe(options.observe, options.host, port, transport.name);
    this.#link = {
      options,
      port,
      transport,
      proxy,
      tls,
      diagnostics: this.#diagnostics,
      probe: this.#probe,
      log: (text) => this.#log('info', text),
    };
    this.#writer = new LinkWriter(this.#host());
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.linkClosed = new Promise((resolve) => (this.#resolveLinkClosed = resolve));
  }

  /** What the body streamer and the link writer see of this client. */
  #host(): StreamHost & WriterHost {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const client = this;
    return {
      get core() {
        return client.#core;
      },
      sends: client.#calls.sends,
      get isClosed() {
        return client.#isClosed;
      },
      get writable() {
        return client.#writer.writable;
      },
      get viewsDone() {
        return client.#writer.viewsDone;
      },
      get signalsWritten() {
        return client.#writer.link?.signalsWritten === true;
      },
      pump: () => client.#pump(),
      tick: () => client.#tick(),
      wake: () => client.#wake(),
      linkFailed: (err) => client.#linkEnded(err),
      rearm: () => client.#timer.arm(client.#core.nextDeadline),
      crash: (err) => client.#crash(err),
    };
  }

  /** Connect, greet, upgrade and authenticate; resolves when the session is ready. Uses only the
   *  optional parts `options.parts` names (none: PLAIN/LOGIN, no IDN, no proxies; see
   *  client/parts.ts): applications call an entry's connect(), which passes its runtime's. */
  static async connect(options: ClientOptions): Promise<SmtpClient> {
    if (options === null || typeof options !== 'object') throw new SmtpUsageError('options must be an object');
    const port = options.port ?? defaultPort(options.tls);
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
    return this.#calls.sends.size;
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
      const wire = toWireMessage(message, this.capabilities, options, this.#options.messages ?? this.#parts.message);
      return wire instanceof Promise ? wire.then((m) => this.#send(m)) : this.#send(wire);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #send(message: Message): Promise<SendResult> {
    if (message === null || typeof message !== 'object') throw new SmtpUsageError('message must be an object');
    const fixed = fixedBody(message.body);
    const source = fixed ? undefined : chunkSource(message.body); // checks the type; opens nothing yet
    const envelope = envelopeOf(message, fixed);
    const signal = message.signal;
    if (signal?.aborted) {
      // Never start what is already cancelled: once queued, MAIL..DATA may be on their way.
      prepareEnvelope(envelope, undefined, undefined, this.#options.idn ?? this.#parts.idn); // usage errors still reject
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
    // The start time is read only by an observer; without one, 0 keeps a boxed number out of
    // every queued send's record.
    const result = this.#calls.send(id, fixed?.length ?? 0, this.#probe.active ? now : 0, cleanup);
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
      const reply = this.#calls.command(id);
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
      while (this.#calls.sends.size > 0 && !this.#isClosed) await this.#tick();
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
    const error =
      reason instanceof SmtpError ? reason : new SmtpAbortError(reason === undefined ? undefined : `aborted: ${String(reason)}`);
    this.#core.abort(Date.now(), error);
    this.#pump();
    this.#destroyLink();
  }

  // ---- session setup ------------------------------------------------------------------------

  async #open(): Promise<void> {
    const o = this.#options;
    if (o.signal?.aborted) throw abortReason(o.signal);
    const ready = this.#calls.ready();
    const { aborted, dispose } = abortSignalled(o.signal);
    try {
      try {
        this.#writer.link = await connectLink(this.#link, this.#linkHandlers(), aborted);
      } catch (err) {
        this.#finishEarly(err);
        throw err;
      }
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
      if (o.auth) this.#probe.auth(mechanismName(o.auth, this.capabilities.auth, this.#parts.mechanisms), this.#refreshed);
      this.#probe.opened(this.secure, o.auth !== undefined, this.capabilities);
    } finally {
      dispose();
    }
  }

  /** The link's callbacks: each is an input to the core (queued until it has started). */
  #linkHandlers(): LinkHandlers {
    return {
      data: (bytes) => {
        if (this.#diagnostics.listening) this.#diagnostics.heard(bytes);
        this.#input(() => this.#core.receive(bytes, Date.now()));
      },
      end: () => this.#input(() => this.#linkEnded(undefined)),
      error: (err) => this.#input(() => this.#linkEnded(err)),
      drain: () => {
        this.#writer.writable = true;
        this.#wake();
      },
    };
  }

  /** The connect attempt failed before a session existed: settle `closed` all the same. */
  #finishEarly(err: unknown): void {
    this.#isClosed = true;
    const error = err instanceof SmtpError ? err : connectError(err, this.#options.host, this.#link.port);
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
    this.#writer.done = true;
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
          this.#timer.arm(out.deadline);
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
      case 'write':
        return this.#writer.write(out.chunks);
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

  #startTls(): void {
    const link = this.#writer.link!;
    this.#log('info', 'upgrading the connection to TLS');
    const started = Date.now();
    link
      .startTls()
      .then(
        () => {
          this.#probe.tls('starttls', started);
          this.#log('info', 'TLS established');
          this.#core.tlsEstablished(Date.now());
          this.#pump();
        },
        (err: unknown) => {
          this.#probe.tls('starttls', started, err);
          this.#writer.destroy();
          const error = this.#diagnostics.explain(err);
          this.#resolveLinkClosed();
          this.#core.transportError(error, Date.now());
          this.#pump();
        },
      )
      .catch((err) => this.#crash(err));
  }

  /** A computation the core asked for (SCRAM's PBKDF2); the AUTH deadline runs meanwhile and
   *  a late answer is ignored by the core. */
  #compute(id: number, request: Extract<Output, { type: 'compute' }>['request']): void {
    derivePbkdf2(request, this.#options.pbkdf2, undefined, this.#parts.pbkdf2Fallback)
      .then(
        ({ key, by }) => {
          this.#log('info', `SCRAM key derived by ${by} (${request.iterations} iterations)`);
          this.#core.computed(id, key, Date.now());
          this.#pump();
        },
        (err) => {
          this.#core.computeFailed(id, err, Date.now());
          this.#pump();
        },
      )
      .catch((err) => this.#crash(err));
  }

  /** The core is done with the link: end it gracefully; the transport releases it. */
  #closeLink(): void {
    this.#writer.close();
    this.#timer.arm(undefined);
  }

  #destroyLink(): void {
    this.#writer.destroy();
    if (this.#writer.link || this.#isClosed) this.#resolveLinkClosed();
  }

  #event(event: SmtpEvent): void {
    switch (event.type) {
      case 'ready':
        return this.#calls.isReady();
      case 'transaction': {
        const pending = this.#calls.settled(event.result);
        if (!pending) return;
        this.#body.unfeed(event.result.id);
        if (this.#probe.active) this.#probe.message(event.result, pending.bytes, pending.startedAt);
        return;
      }
      case 'command':
        return this.#calls.replied(event.id, event.reply);
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
    this.#timer.arm(undefined);
    if (error) this.#log('info', `session ended: ${error.message}`);
    this.#calls.end(error ?? new SmtpConnectionError('the session ended'));
    this.#body.clear();
    this.#resolveClosed(error);
    // AUTH failed: the core ends the session itself, before connect() hears of it.
    if (error?.code === 'EAUTH' && this.#options.auth && this.#early === undefined && !this.#probe.isOpen) {
      this.#probe.auth(mechanismName(this.#options.auth, this.capabilities.auth, this.#parts.mechanisms), this.#refreshed, error);
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
