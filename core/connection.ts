// The SMTP client session, sans-IO: server bytes, user intents and the current time go in;
// bytes to write, events and the next deadline come out of poll(). No I/O, no clock, no timers.
//
// Session phases follow the table in states.ts. Inside `ready`, every command written pushes an
// expectation onto a FIFO and every reply pops the head: that is all PIPELINING needs, and it
// lets whole BDAT transactions run back to back across messages.
import { BODY_EIGHT_BIT, BODY_NOT_CANONICAL, BodyEncoder, isWireReady, scanBody } from './body.ts';
import { NO_CAPABILITIES, parseEhloReply, type Capabilities } from './capabilities.ts';
import { mailCommand, prepareEnvelope, rcptCommand, type Envelope, type PreparedEnvelope } from './envelope.ts';
import {
  SmtpAbortError, SmtpAuthError, SmtpCapabilityError, SmtpConnectionError, SmtpError, SmtpProtocolError, SmtpReplyError,
  SmtpTimeoutError, SmtpTlsError, SmtpUsageError,
} from './errors.ts';
import { transactionResult, type Output, type RecipientResult, type SmtpEvent, type TransactionResult } from './events.ts';
import { ReplyParser, describeReply, isPositive, type Reply, type ReplyParserLimits } from './reply.ts';
import { AuthExchange, type AuthAnswer } from './auth.ts';
import { misfit, type Step } from './reply-fit.ts';
import { encodeBase64 } from './sasl/base64.ts';
import { chooseMechanism, validateCredentials } from './sasl/index.ts';
import type { SaslCredentials, SaslMechanism } from './sasl/mechanism.ts';
import { OutputBuffer } from './outbuf.ts';
import { Queue } from './queue.ts';
import { lookup, replyInput, type Action, type Input, type Phase } from './states.ts';
import { validateEhloName } from './address.ts';
import { DEFAULT_TIMEOUTS, type TimerKind, type Timeouts } from './timeouts.ts';
import { printable, utf8 } from './text.ts';

export interface AuthOptions {
  credentials: SaslCredentials;
  /** A mechanism name to insist on, or a custom mechanism object. Default: the strongest both sides have. */
  mechanism?: string | SaslMechanism;
  /** Mechanisms to choose from (default: the built-in ones). */
  mechanisms?: readonly SaslMechanism[];
  /** Most server challenges the exchange answers before cancelling it with `*`. Default: the
   *  mechanism's own bound (`maxChallenges`), else DEFAULT_MAX_CHALLENGES (10). */
  maxChallenges?: number;
}

export interface ConnectionOptions {
  /** EHLO/LHLO name: a domain or an address literal. Default `[127.0.0.1]`. */
  name?: string;
  /** LMTP (RFC 2033): LHLO, and one final reply per accepted recipient. */
  lmtp?: boolean;
  /** STARTTLS policy. `required` fails before AUTH or MAIL if TLS cannot be had. Default opportunistic. */
  tls?: 'none' | 'opportunistic' | 'required';
  /** The link is already TLS (implicit TLS, port 465): no STARTTLS. */
  secure?: boolean;
  auth?: AuthOptions;
  /** Allow AUTH on a link without TLS. Off by default: credentials never travel in clear. */
  allowInsecureAuth?: boolean;
  timeouts?: Partial<Timeouts>;
  /** Most transactions in flight at once with PIPELINING. Default 64. */
  pipelineWindow?: number;
  /** Most transactions whose end (BDAT LAST) is written and not yet answered: the most a dropped
   *  link can turn `unknown`. A body's end waits while this many are out. Default: unbounded
   *  (pipelineWindow bounds it). DATA's final dot waits for its reply anyway (at most 1). */
  maxUnansweredEnds?: number;
  /** Use PIPELINING / CHUNKING when advertised. Default true. */
  pipelining?: boolean;
  chunking?: boolean;
  /** A BDAT chunk is written once this many body octets are queued (or the body ends). Default 64 KiB. */
  chunkSize?: number;
  /** Reply parser bounds. */
  limits?: Partial<ReplyParserLimits>;
  /** Emit transcript events (secrets redacted). */
  transcript?: boolean;
  /** Random bytes for SASL nonces. Default: globalThis.crypto.getRandomValues. */
  random?: (length: number) => Uint8Array;
  /** Server host and port, for OAUTHBEARER. */
  host?: string;
  port?: number;
  /** The driver answers `compute` outputs (SCRAM's PBKDF2) with computed()/computeFailed(),
   *  e.g. by WebCrypto off the event loop. Off: the core computes in place, synchronously. */
  asyncCompute?: boolean;
  /**
   * The driver reports with written() how far the transport has taken the output (handed it to
   * the OS). Then "unknown" needs the end of data to have been taken, not only polled, and
   * output the transport does not take for `timeouts.dataBlock` fails the session. Without it,
   * output counts as taken once poll() hands it out.
   */
  writtenSignal?: boolean;
}

interface Expectation {
  readonly kind: TimerKind;
  /** Handle one reply; return false when this entry expects further replies (LMTP). Unset for
   *  the replies of a transaction's own commands, which `tx` and `kind` route without a closure. */
  readonly handle: ((reply: Reply) => boolean | void) | undefined;
  readonly tx: Transaction | undefined;
  /** A command that must end a pipelined group (RFC 2920 §3.1): nothing follows until its reply. */
  readonly barrier: boolean;
}

type TxStage = 'queued' | 'envelope' | 'await-354' | 'body' | 'ended';

interface Transaction {
  readonly kind: 'tx';
  readonly id: number;
  readonly env: PreparedEnvelope;
  stage: TxStage;
  /** Ordinal of its MAIL among the MAILs written this session; 0 until written. */
  seq: number;
  bdat: boolean;
  /** Made on first need: a whole body that is already wire-ready never needs one. */
  encoder: BodyEncoder | undefined;
  /** Body octets put on the wire so far (after encoding). */
  written: number;
  /** scanBody() of a whole body given to send(); -1 when the body is streamed. */
  readonly bodyFlags: number;
  rcptSent: number;
  rcptReplies: number;
  /** Body chunks given by the user and not yet written (views, never copied). */
  chunks: Uint8Array[];
  chunkBytes: number;
  bodyEnded: boolean;
  lastBodyAt: number;
  /** Output offset just past the final dot / BDAT LAST; -1 until written. */
  endOffset: number;
  mailAccepted: boolean;
  /** MAIL got a 4xx/5xx: a RCPT accepted after it belongs to some other transaction. */
  mailRefused: boolean;
  /** Replaced, not grown, for the first entry: a pushed-to empty array would reserve 17 slots. */
  accepted: RecipientResult[];
  rejected: RecipientResult[];
  /** Set once the transaction can no longer be accepted; the reply/error reported with it. */
  failure: { reply: Reply | undefined; error: SmtpError } | undefined;
  lmtpFinal: RecipientResult[] | undefined;
  settled: boolean;
}

interface UserCommand {
  readonly kind: 'command';
  readonly id: number;
  readonly verb: 'NOOP' | 'RSET';
}

/** A write in the output queue; while it is `openWrite`, its bytes are still collecting in `outbuf`. */
interface WriteItem {
  readonly type: 'write';
  chunks: Uint8Array[];
  bytes: number;
}

const LONE_DOT = utf8('.\r\n');
/** BDAT chunk size for streamed bodies when ConnectionOptions.chunkSize is not given. */
export const DEFAULT_CHUNK_SIZE = 65536;
/** Transactions in flight with PIPELINING: enough that 40 messages at 25 ms RTT take one flight. */
const DEFAULT_WINDOW = 64;

/** The refusal for a transaction whose every recipient was refused, with the most hopeful
 *  reply (a 4xx if any: greylisting at RCPT is worth a retry). */
function recipientsRefused(tx: Transaction, fallback?: Reply): [SmtpReplyError, Reply] {
  const reply = (tx.rejected.find((r) => r.reply.code < 500) ?? tx.rejected[0])?.reply ?? fallback!;
  return [new SmtpReplyError(`every recipient was rejected: ${describeReply(reply)}`, reply, 'RCPT'), reply];
}
const SAFE_AUTH_LINE = 510; // RFC 4954 §4: 512 octets with CRLF

export class SmtpConnection {
  private phase: Phase = 'idle';
  private readonly timeouts: Timeouts;
  private readonly parser: ReplyParser;
  private readonly name: string;
  private capabilities: Capabilities = NO_CAPABILITIES;
  private secure: boolean;
  private authenticated = false;
  private triedStartTls = false;
  private now = 0;
  private error: SmtpError | undefined;

  private out: (Output | WriteItem)[] = [];
  private outHead = 0;
  private readonly outbuf = new OutputBuffer();
  private openWrite: WriteItem | undefined; // the last item of `out` while it collects bytes
  private enqueued = 0; // bytes put in `out` so far
  private polled = 0; // bytes handed to the transport so far
  private taken = 0; // bytes the transport has taken (written()); tracks `polled` without writtenSignal
  private takenAt = 0; // when `taken` last moved, or output became outstanding
  private heldBody = 0; // body bytes given by the user, not yet encoded into `out`

  private fifo: Expectation[] = [];
  private fifoHead = 0;
  private headDeadline: number | undefined;
  private barriers = 0;
  private tlsDeadline: number | undefined;

  private readonly queue = new Queue<Transaction | UserCommand>(); // not yet fully written, in order
  private readonly live = new Map<number, Transaction>(); // not yet settled
  private inFlight = 0;
  private unansweredEnds = 0; // ends written (endOffset set), not yet settled: see maxUnansweredEnds
  private nextId = 1;
  private needRset = false;
  private mailSeq = 0; // MAIL commands written
  private rsetBefore = 0; // an RSET was written after the first `rsetBefore` MAILs
  private quitRequested = false;

  private authx: AuthExchange | undefined; // the SASL exchange while phase is `auth`
  private authDeadline = 0; // the whole AUTH phase (timeouts.authTotal); read only in `auth`
  private computeId = 0; // the computation out with the driver (0: none)

  constructor(private readonly options: ConnectionOptions = {}) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    for (const [k, v] of Object.entries(this.timeouts)) {
      if (!(typeof v === 'number' && v > 0)) throw new SmtpUsageError(`timeouts.${k} must be a positive number of milliseconds`);
    }
    this.parser = new ReplyParser(options.limits);
    this.name = validateEhloName(options.name ?? '[127.0.0.1]');
    this.secure = options.secure === true;
    if (options.auth) validateCredentials(options.auth.credentials);
    const maxChallenges = options.auth?.maxChallenges;
    if (maxChallenges !== undefined && !(Number.isInteger(maxChallenges) && maxChallenges >= 1)) {
      throw new SmtpUsageError('auth.maxChallenges must be a positive integer');
    }
    const window = options.pipelineWindow ?? DEFAULT_WINDOW;
    if (!(Number.isInteger(window) && window >= 1)) throw new SmtpUsageError('pipelineWindow must be a positive integer');
    const ends = options.maxUnansweredEnds;
    if (ends !== undefined && !(Number.isInteger(ends) && ends >= 1)) throw new SmtpUsageError('maxUnansweredEnds must be a positive integer');
    const chunk = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!(Number.isInteger(chunk) && chunk >= 1)) throw new SmtpUsageError('chunkSize must be a positive integer');
  }

  // ---- inputs -------------------------------------------------------------------------------

  /** Begin: the transport has connected; wait for the greeting. */
  start(now: number): void {
    this.now = now;
    this.fire('start');
  }

  receive(bytes: Uint8Array, now: number): void {
    this.now = now;
    if (this.phase === 'closed' || this.phase === 'failed' || bytes.length === 0) return;
    if (this.phase === 'tls' || this.phase === 'idle') {
      this.fail(new SmtpProtocolError(this.phase === 'tls' ? 'server sent data before the TLS handshake (possible STARTTLS injection)' : 'data before start()'));
      return;
    }
    let rest: Uint8Array | undefined;
    try {
      rest = this.parser.push(bytes, (reply) => {
        this.dispatch(reply);
        return this.phase !== 'tls' && this.phase !== 'failed' && this.phase !== 'closed';
      });
    } catch (e) {
      this.fail(e instanceof SmtpError ? e : new SmtpProtocolError(String(e)));
      return;
    }
    // RFC 3207 §5: anything after the 220 to STARTTLS was sent before TLS and must not be believed.
    if ((this.phase as Phase) === 'tls' && (rest !== undefined || this.parser.midReply)) {
      this.fail(new SmtpProtocolError('server sent data after its STARTTLS reply (STARTTLS injection); refusing to continue'));
      return;
    }
    if ((this.phase as Phase) === 'tls') {
      this.push({ type: 'start-tls' });
      return;
    }
    this.pump();
  }

  receiveEof(now: number): void {
    this.now = now;
    this.fire('eof', new SmtpConnectionError('the server closed the connection'));
  }

  /** The transport failed (reset, TLS error, write error). */
  transportError(error: unknown, now: number): void {
    this.now = now;
    const message = printable(error instanceof Error ? error.message : String(error));
    const typed = error instanceof SmtpError ? error
      : this.phase === 'tls' ? new SmtpTlsError(`TLS handshake failed: ${message}`)
      : new SmtpConnectionError(`connection failed: ${message}`, error);
    this.fire('eof', typed);
  }

  /** The transport has taken the output up to `offset` octets (counted from the first octet
   *  poll() ever handed out): with `writtenSignal`, call it as the transport's written signals
   *  come, at least every MiB or so of a large write. Offsets only grow; a smaller one is ignored. */
  written(offset: number, now: number): void {
    this.now = now;
    if (!(Number.isSafeInteger(offset) && offset >= 0 && offset <= this.polled)) {
      throw new SmtpUsageError(`written(): offset must be an integer from 0 to the ${this.polled} octets polled, not ${String(offset)}`);
    }
    if (offset <= this.taken) return;
    this.taken = offset;
    this.takenAt = now;
  }

  tlsEstablished(now: number): void {
    this.now = now;
    this.fire('tls-established');
  }

  /** Call at (or after) the deadline from poll(); early calls do nothing. */
  handleTimeout(now: number): void {
    this.now = now;
    const kind = this.expiredTimer(now);
    if (kind === 'authTotal') {
      const what = this.computeId ? 'the key derivation' : 'the server';
      this.fire('timeout', new SmtpTimeoutError(kind, this.timeouts[kind], `AUTH did not finish within ${this.timeouts[kind]} ms (timeouts.authTotal), waiting for ${what}`));
    } else if (kind) this.fire('timeout', new SmtpTimeoutError(kind, this.timeouts[kind]));
  }

  /** The result of the `compute` output `id`. Ignored when the session no longer waits for it
   *  (it failed or timed out meanwhile). */
  computed(id: number, result: Uint8Array, now: number): void {
    this.now = now;
    if (id === 0 || id !== this.computeId || this.phase !== 'auth' || !this.authx) return;
    this.computeId = 0;
    this.authAnswer(this.authx.resume(result));
  }

  /** The `compute` output `id` could not be computed: AUTH is cancelled with that reason. */
  computeFailed(id: number, error: unknown, now: number): void {
    this.now = now;
    if (id === 0 || id !== this.computeId || this.phase !== 'auth' || !this.authx) return;
    this.computeId = 0;
    this.authAnswer(this.authx.computeFailed(error));
  }

  // ---- intents ------------------------------------------------------------------------------

  /** Queue a transaction. Throws SmtpUsageError for bad input; returns the transaction id.
   *  `body`, when given, is the whole body (as writeBody then endBody); else feed it with those. */
  send(envelope: Envelope, now: number, body?: Uint8Array): number {
    this.now = now;
    if (body !== undefined && !(body instanceof Uint8Array)) throw new SmtpUsageError('body must be a Uint8Array');
    // A whole body is looked at once, here: whether it needs 8BITMIME, and whether it can go as is.
    const bodyFlags = body === undefined ? -1 : scanBody(body);
    const env = prepareEnvelope(envelope, bodyFlags > 0 && (bodyFlags & BODY_EIGHT_BIT) !== 0 ? '8BITMIME' : undefined);
    const tx: Transaction = {
      kind: 'tx', id: this.nextId++, env, stage: 'queued', seq: 0, bdat: false, encoder: undefined, written: 0, bodyFlags, rcptSent: 0, rcptReplies: 0,
      chunks: [], chunkBytes: 0, bodyEnded: false, lastBodyAt: now, endOffset: -1, mailAccepted: false, mailRefused: false,
      accepted: [], rejected: [], failure: undefined, lmtpFinal: undefined, settled: false,
    };
    this.live.set(tx.id, tx);
    if (this.phase === 'closed' || this.phase === 'failed' || this.quitRequested) {
      this.failTx(tx, this.error ?? new SmtpConnectionError('the session is closing'), undefined);
      this.settle(tx);
      return tx.id;
    }
    if (body !== undefined) {
      if (body.length > 0) tx.chunks = [body];
      tx.chunkBytes = body.length;
      this.heldBody += body.length;
      tx.bodyEnded = true;
    }
    this.queue.push(tx);
    this.pump();
    return tx.id;
  }

  /** Add body bytes (any split). Returns false when the transaction no longer wants them
   *  (it was settled: rejected, aborted or failed); the bytes are then dropped. */
  writeBody(id: number, chunk: Uint8Array, now: number): boolean {
    this.now = now;
    const tx = this.live.get(id);
    if (!tx || tx.failure) return false;
    if (tx.bodyEnded) throw new SmtpUsageError(`body of transaction ${id} already ended`);
    if (chunk.length > 0) {
      tx.chunks.push(chunk);
      tx.chunkBytes += chunk.length;
      this.heldBody += chunk.length;
      tx.lastBodyAt = now;
      this.pump();
    }
    return true;
  }

  endBody(id: number, now: number): void {
    this.now = now;
    const tx = this.live.get(id);
    if (!tx || tx.failure || tx.bodyEnded) return;
    tx.bodyEnded = true;
    this.pump();
  }

  /** Cancel a transaction. Before its end was written it is rejected with EABORT and the
   *  server is told (RSET, or the link is closed when a DATA body is under way); after, its
   *  outcome is unknown. */
  cancel(id: number, now: number, reason: SmtpError = new SmtpAbortError()): void {
    this.now = now;
    const tx = this.live.get(id);
    if (!tx) return;
    this.abortTx(tx, reason);
    this.pump();
  }

  noop(now: number): number {
    return this.userCommand('NOOP', now);
  }

  rset(now: number): number {
    return this.userCommand('RSET', now);
  }

  /** End the session after everything queued (once the session is ready): QUIT, then close. */
  quit(now: number): void {
    this.now = now;
    this.quitRequested = true;
    this.pump();
  }

  /** Close now, without QUIT: everything pending settles (unknown where its end was written). */
  abort(now: number, reason: SmtpError = new SmtpAbortError()): void {
    this.now = now;
    this.fire('abort', reason);
  }

  // ---- outputs ------------------------------------------------------------------------------

  poll(now: number): Output {
    this.now = now;
    if (this.outHead < this.out.length) {
      const item = this.out[this.outHead++]!;
      if (this.outHead === this.out.length) {
        this.out = [];
        this.outHead = 0;
      }
      if (item.type === 'write') {
        if (item === this.openWrite) this.sealWrite();
        if (!this.options.writtenSignal) this.taken += (item as WriteItem).bytes;
        else if (this.taken === this.polled) this.takenAt = now; // output outstanding from now
        this.polled += (item as WriteItem).bytes;
      }
      return item as Output;
    }
    return { type: 'wait', deadline: this.nextDeadline, reason: this.waitReason() };
  }

  get nextDeadline(): number | undefined {
    let d = this.headDeadline;
    if (this.phase === 'auth' && (d === undefined || this.authDeadline < d)) d = this.authDeadline;
    if (this.tlsDeadline !== undefined && (d === undefined || this.tlsDeadline < d)) d = this.tlsDeadline;
    const body = this.bodyDeadline();
    if (body !== undefined && (d === undefined || body < d)) d = body;
    const stall = this.stallDeadline();
    if (stall !== undefined && (d === undefined || stall < d)) d = stall;
    return d;
  }

  /** Body octets held in the core and not yet handed out by poll(). A streaming caller stops
   *  feeding when this passes its high-water mark and resumes after the next input. */
  get bufferedAmount(): number {
    return this.enqueued - this.polled + this.heldBody;
  }

  get state(): Phase {
    return this.phase;
  }

  get serverCapabilities(): Capabilities {
    return this.capabilities;
  }

  get isSecure(): boolean {
    return this.secure;
  }

  // ---- the state table ----------------------------------------------------------------------

  private fire(input: Input, arg?: Reply | SmtpError): void {
    const t = lookup(this.phase, input);
    if (!t) {
      if (arg && 'code' in arg && typeof arg.code === 'number') {
        this.fail(new SmtpProtocolError(`unexpected reply in phase ${this.phase}: ${describeReply(arg)}`));
      }
      return;
    }
    const from = this.phase;
    this.run(t.action, arg);
    if (this.phase !== from && !t.to.includes(this.phase) && this.phase !== 'failed') {
      throw new Error(`state table violation: ${from} --${input}/${t.action}--> ${this.phase}`);
    }
  }

  private run(action: Action, arg: Reply | SmtpError | undefined): void {
    const reply = arg && !(arg instanceof SmtpError) ? arg : undefined;
    switch (action) {
      case 'expectGreeting':
        this.phase = 'greeting';
        this.expect('greeting', (r) => this.fire(replyInput(r), r));
        return;
      case 'sendHello':
        if (reply) this.emit({ type: 'greeting', reply });
        this.tlsDeadline = undefined;
        this.hello(this.options.lmtp ? 'LHLO' : 'EHLO');
        return;
      case 'sendHelo':
        if (this.options.lmtp) return this.failPolitely(new SmtpReplyError(`LHLO refused: ${describeReply(reply!)}`, reply!, 'hello'));
        this.hello('HELO');
        return;
      case 'afterHello':
        this.capabilities = this.phase === 'helo' ? NO_CAPABILITIES : parseEhloReply(reply!);
        this.parser.enhancedCodes = this.capabilities.enhancedStatusCodes;
        return this.afterHello();
      case 'refusedGreeting':
        return this.failPolitely(new SmtpReplyError(`server refused the session: ${describeReply(reply!)}`, reply!, 'greeting'));
      case 'startTls':
        this.phase = 'tls'; // receive() asks the transport to upgrade once nothing followed the 220
        this.tlsDeadline = this.now + this.timeouts.tlsHandshake;
        // Forget everything said before TLS (RFC 3207 §4.2).
        this.capabilities = NO_CAPABILITIES;
        this.parser.reset();
        this.parser.enhancedCodes = false;
        this.secure = true;
        return;
      case 'startTlsRefused':
        if (this.options.tls === 'required') {
          return this.failPolitely(new SmtpTlsError(`TLS is required but STARTTLS was refused: ${describeReply(reply!)}`, reply));
        }
        return this.afterTlsDecision();
      case 'authStep':
        return this.authAnswer(this.authx!.challenge(reply!.lines[0] ?? ''));
      case 'authDone': {
        const refused = this.authx!.verdict();
        if (refused) return this.failPolitely(new SmtpAuthError(refused, reply));
        this.authx = undefined;
        this.authenticated = true;
        return this.enterReady();
      }
      case 'authFailed': {
        const name = this.authx!.mechanism.name;
        const why = this.authx!.cancelReason;
        this.authx = undefined;
        // The client's own reason comes first: the server's reply to `*` only says "cancelled".
        const message = why === undefined
          ? `authentication failed: ${describeReply(reply!)}`
          : `AUTH ${name} cancelled by the client: ${why} (server: ${describeReply(reply!)})`;
        return this.failPolitely(new SmtpAuthError(message, reply));
      }
      case 'outOfStep': {
        const command = { greeting: 'the greeting', hello: this.options.lmtp ? 'LHLO' : 'EHLO', helo: 'HELO', starttls: 'STARTTLS' }[this.phase as string] ?? this.phase;
        return this.fail(new SmtpProtocolError(`reply out of step: ${command} cannot get an intermediate (${reply!.code}) reply: ${describeReply(reply!)}`));
      }
      case 'sendQuit':
        this.phase = 'quitting';
        // Any answer to QUIT is a goodbye, 421 included.
        this.command('QUIT', 'quit', (r) => this.fire(r.code === 421 ? 'reply-4xx' : replyInput(r), r), true);
        return;
      case 'quitDone':
        return this.finish(undefined);
      case 'fail':
        if (arg instanceof SmtpError) return this.fail(arg);
        // 421: the server announced it is closing, in order: nothing after its reply was taken.
        return this.fail(new SmtpConnectionError(`server closed the session: ${describeReply(reply!)}`), reply?.code === 421);
    }
  }

  private hello(verb: 'EHLO' | 'LHLO' | 'HELO'): void {
    this.phase = verb === 'HELO' ? 'helo' : 'hello';
    this.command(`${verb} ${this.name}`, 'hello', (r) => this.fire(replyInput(r), r), true);
  }

  private afterHello(): void {
    const wantTls = this.options.tls ?? 'opportunistic';
    if (!this.secure && wantTls !== 'none' && !this.triedStartTls) {
      if (this.capabilities.startTls) {
        this.triedStartTls = true;
        this.phase = 'starttls';
        this.command('STARTTLS', 'starttls', (r) => this.fire(replyInput(r), r), true);
        return;
      }
      if (wantTls === 'required') return this.failPolitely(new SmtpTlsError('TLS is required but the server does not offer STARTTLS'));
    }
    this.afterTlsDecision();
  }

  private afterTlsDecision(): void {
    const auth = this.options.auth;
    if (!auth || this.authenticated) return this.enterReady();
    if (!this.secure && !this.options.allowInsecureAuth) {
      return this.failPolitely(new SmtpAuthError('refusing to send credentials over a connection without TLS (set allowInsecureAuth to override)'));
    }
    const mechanism = typeof auth.mechanism === 'object'
      ? auth.mechanism
      : chooseMechanism(this.capabilities.auth, auth.credentials, auth.mechanism, auth.mechanisms);
    if (!mechanism) {
      const c = auth.credentials;
      if (c.pass === undefined && c.token === undefined) {
        return this.failPolitely(new SmtpAuthError(`auth.user "${printable(c.user)}" has no password: give auth.pass, or auth.token for XOAUTH2/OAUTHBEARER`));
      }
      const offered = this.capabilities.auth.length ? this.capabilities.auth.join(' ') : 'none';
      return this.failPolitely(new SmtpAuthError(`no usable AUTH mechanism (server offers: ${printable(offered)})`));
    }
    const random = this.options.random ?? ((n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n)));
    let initial: Uint8Array | undefined;
    let authx: AuthExchange;
    try {
      authx = AuthExchange.create(mechanism, auth.credentials, { random, host: this.options.host, port: this.options.port },
        { asyncCompute: this.options.asyncCompute === true, maxChallenges: auth.maxChallenges });
      initial = authx.start();
    } catch (e) {
      return this.failPolitely(new SmtpAuthError(`cannot use ${mechanism.name}: ${e instanceof Error ? e.message : String(e)}`));
    }
    this.authx = authx;
    this.phase = 'auth';
    this.authDeadline = this.now + this.timeouts.authTotal; // not re-armed by any 334
    let line = `AUTH ${mechanism.name}`;
    if (initial !== undefined) {
      const encoded = initial.length === 0 ? '=' : encodeBase64(initial);
      if (line.length + 1 + encoded.length <= SAFE_AUTH_LINE) line += ` ${encoded}`;
      else authx.withhold(initial); // sent as the answer to the first 334 instead
    }
    this.command(line, 'auth', (r) => this.fire(replyInput(r), r), true, `AUTH ${mechanism.name}${line.length > 5 + mechanism.name.length ? ' <redacted>' : ''}`);
  }

  /** Carry out what the exchange decided for a 334 (or for a computation's result). */
  private authAnswer(answer: AuthAnswer): void {
    switch (answer.type) {
      case 'respond':
        this.command(answer.line, 'auth', (r) => this.fire(replyInput(r), r), true, answer.shown);
        return;
      case 'compute':
        // The AUTH deadline keeps running; no reply is expected until the answer is sent.
        this.computeId = this.nextId++;
        this.push({ type: 'compute', id: this.computeId, request: answer.request });
        return;
      case 'violation':
        // No QUIT: the server is mid-AUTH and would read it as a SASL response.
        return this.fail(new SmtpProtocolError(answer.message));
    }
  }

  private enterReady(): void {
    this.phase = 'ready';
    this.emit({ type: 'ready', capabilities: this.capabilities, secure: this.secure, authenticated: this.authenticated });
    if (this.quitRequested) this.pumpOrQuit();
    else this.pump();
  }

  // ---- transactions -------------------------------------------------------------------------

  private get pipelining(): boolean {
    return this.capabilities.pipelining && this.options.pipelining !== false;
  }

  /** May another command be written now? Without PIPELINING: only when nothing is outstanding. */
  private canWrite(): boolean {
    return this.barriers === 0 && (this.pipelining || this.fifoLength === 0);
  }

  private pump(): void {
    if (this.phase !== 'ready') return;
    this.pumpOrQuit();
  }

  private pumpOrQuit(): void {
    for (;;) {
      if (this.phase !== 'ready') return;
      const item = this.queue.front();
      if (!item) {
        if (this.quitRequested && this.canWrite()) this.fire('quit');
        return;
      }
      if (item.kind === 'command') {
        if (this.fifoLength > 0) return; // group-ending commands go alone
        this.queue.shift();
        this.command(item.verb, 'command', (r) => {
          if (this.fits(item.verb, r)) this.emit({ type: 'command', id: item.id, command: item.verb, reply: r });
        }, true);
        if (item.verb === 'RSET') {
          this.needRset = false;
          this.rsetBefore = this.mailSeq;
        }
        continue;
      }
      if (!this.advance(item)) return;
    }
  }

  /** Write what `tx` can write now. Returns true when it has written its end (or been
   *  dropped) and the next queued item may go. */
  private advance(tx: Transaction): boolean {
    if (tx.failure) {
      this.queue.shift();
      return true;
    }
    if (tx.stage === 'queued') {
      if (!this.canWrite() || this.inFlight >= (this.options.pipelineWindow ?? DEFAULT_WINDOW)) return false;
      // RSET first when an earlier transaction may still be held: one that failed, or, with
      // BDAT transactions pipelined back to back, any still in flight (if its BDAT is refused,
      // Exim keeps its MAIL, and this MAIL, RCPTs and BDAT would land in that transaction).
      if (this.needRset || this.inFlight > 0) {
        this.needRset = false;
        this.rsetBefore = this.mailSeq;
        this.command('RSET', 'command', this.onRset, false);
        if (!this.canWrite()) return false;
      }
      let mail: string;
      try {
        mail = mailCommand(tx.env, this.capabilities, this.secure);
      } catch (e) {
        this.failTx(tx, e as SmtpError, undefined);
        this.settle(tx);
        this.queue.shift();
        return true;
      }
      tx.bdat = tx.env.body === 'BINARYMIME' || (this.capabilities.chunking && this.options.chunking !== false);
      tx.stage = 'envelope';
      tx.seq = ++this.mailSeq;
      this.inFlight++;
      this.txCommand(mail, 'mail', tx, false);
    }
    if (tx.stage === 'envelope') {
      const recipients = tx.env.recipients;
      while (tx.rcptSent < recipients.length) {
        if (!this.canWrite()) return false;
        const r = recipients[tx.rcptSent++]!;
        this.txCommand(rcptCommand(r, this.capabilities), 'rcpt', tx, false);
      }
      if (!this.canWrite()) return false;
      // Without PIPELINING we know the RCPT results by now: no DATA and no BDAT (nor its body)
      // when none was accepted.
      if (!this.pipelining && tx.accepted.length === 0) {
        this.failTx(tx, ...recipientsRefused(tx));
        this.drop(tx);
        return true;
      }
      if (tx.bdat) {
        tx.stage = 'body';
      } else {
        tx.stage = 'await-354';
        this.txCommand('DATA', 'data', tx, true);
        return false;
      }
    }
    if (tx.stage === 'await-354') return false;
    if (tx.stage === 'body') return tx.bdat ? this.writeBdat(tx) : this.writeData(tx);
    return true;
  }

  private writeData(tx: Transaction): boolean {
    try {
      this.writeViews(this.takeBody(tx));
    } catch (e) {
      this.abortTx(tx, e as SmtpError);
      return true;
    }
    if (!tx.bodyEnded) return false;
    if (this.options.transcript) {
      this.transcript('client', `<message body, ${tx.written} octets>`);
      this.transcript('client', '.');
    }
    this.endWritten(tx);
    // The next transaction waits for this reply. RFC 2920 would let its MAIL follow the dot, but
    // servers that answer the dot in one write and the next group in another (Postfix) then
    // meet Nagle and delayed ACKs: a 40 ms stall per message. BDAT has no such stall.
    this.expectTx('dataEnd', tx, true);
    return true;
  }

  private writeBdat(tx: Transaction): boolean {
    for (;;) {
      if (!this.canWrite()) return false;
      if (!tx.bodyEnded && tx.chunkBytes < (this.options.chunkSize ?? DEFAULT_CHUNK_SIZE)) return false;
      // maxUnansweredEnds: the next write is this body's last; hold it until an end is answered.
      if (tx.bodyEnded && this.unansweredEnds >= (this.options.maxUnansweredEnds ?? Infinity)) return false;
      let views: Uint8Array[];
      try {
        views = this.takeBody(tx);
      } catch (e) {
        this.abortTx(tx, e as SmtpError);
        return true;
      }
      let size = 0;
      for (let i = 0; i < views.length; i++) size += views[i]!.length;
      const last = tx.bodyEnded;
      const head = `BDAT ${size}${last ? ' LAST' : ''}`;
      if (this.options.transcript) {
        this.transcript('client', head);
        this.transcript('client', `<${size} octets>`);
      }
      this.writeLine(head);
      this.writeViews(views);
      if (last) {
        this.endWritten(tx);
        this.expectTx('dataEnd', tx, false);
        return true;
      }
      this.expectTx('dataBlock', tx, false);
    }
  }

  /** The wire form of the body octets queued for `tx`, and of its end once the body has ended.
   *  Throws SmtpError (a bad body line, or past the server's SIZE). */
  private takeBody(tx: Transaction): Uint8Array[] {
    const chunks = tx.chunks;
    this.heldBody -= tx.chunkBytes;
    tx.chunks = [];
    tx.chunkBytes = 0;
    let views: Uint8Array[];
    if (tx.env.body === 'BINARYMIME') {
      views = chunks; // octets go as given
    } else if (tx.bodyFlags >= 0 && chunks.length === 1 && (tx.bdat ? (tx.bodyFlags & BODY_NOT_CANONICAL) === 0 : isWireReady(chunks[0]!, true))) {
      // BDAT trusts the scan made at send(): its length, not its content, ends the data. DATA
      // looks again now, since a body changed after send() could otherwise end the data early.
      // The common whole, clean body: no copy, no encoder; DATA ends it with "." CRLF.
      views = tx.bdat ? chunks : [chunks[0]!, LONE_DOT];
    } else {
      const encoder = (tx.encoder ??= new BodyEncoder({ dotStuff: !tx.bdat, normalizeLineEndings: true }));
      views = [];
      for (const chunk of chunks) for (const v of encoder.encode(chunk)) views.push(v);
      if (tx.bodyEnded) for (const v of encoder.end()) views.push(v);
    }
    for (let i = 0; i < views.length; i++) tx.written += views[i]!.length;
    this.checkSize(tx.written);
    return views;
  }

  /** RFC 1870: stop a streamed body as soon as it passes the advertised SIZE. */
  private checkSize(written: number): void {
    const limit = this.capabilities.size;
    if (limit && written > limit) throw new SmtpCapabilityError(`message exceeds the server's SIZE limit of ${limit} octets`);
  }

  private endWritten(tx: Transaction): void {
    tx.stage = 'ended';
    tx.endOffset = this.enqueued;
    this.unansweredEnds++;
    this.queue.shift();
  }

  private onMail(tx: Transaction, reply: Reply): void {
    if (isPositive(reply)) {
      tx.mailAccepted = true;
      return;
    }
    tx.mailRefused = true;
    this.failTx(tx, new SmtpReplyError(`MAIL FROM rejected: ${describeReply(reply)}`, reply, 'MAIL'), reply);
    // Without PIPELINING nothing else was sent for it: it is over now.
    if (!this.pipelining || tx.stage === 'envelope') this.settleIfQuiet(tx);
  }

  private onRcpt(tx: Transaction, reply: Reply): void {
    const address = tx.env.recipients[tx.rcptReplies++]!.address; // replies come in RCPT order
    const result: RecipientResult = { address, reply };
    if (isPositive(reply)) {
      if (tx.mailRefused) {
        // A recipient added after its MAIL was refused joined a transaction that is not ours
        // (one the server still held): its end, if it left, may deliver under another sender.
        const error = new SmtpProtocolError(`RCPT accepted after MAIL FROM was refused (the server holds another transaction): ${describeReply(reply)}`);
        if (tx.stage === 'ended' && this.taken >= tx.endOffset) this.settleUnknown(tx, error);
        this.fail(error);
        return;
      }
      if (tx.accepted.length === 0) tx.accepted = [result];
      else tx.accepted.push(result);
    } else if (tx.rejected.length === 0) tx.rejected = [result];
    else tx.rejected.push(result);
    const all = tx.rcptReplies === tx.env.recipients.length;
    // Every recipient refused: the outcome is theirs (the most hopeful reply), whatever a BDAT
    // already on its way gets (RFC 3030 servers answer it 503 and may keep the transaction).
    if (all && tx.bdat && !tx.failure && tx.accepted.length === 0) this.failTx(tx, ...recipientsRefused(tx));
    if (tx.failure && tx.stage !== 'ended' && all) this.settleIfQuiet(tx);
  }

  private onData(tx: Transaction, reply: Reply): void {
    if (reply.code === 354) { // the only 3xx or 2xx fits() lets through
      if (tx.accepted.length === 0) {
        // RFC 2920 §3.1: DATA was accepted with no valid recipient; end it with a lone dot.
        if (!tx.failure) this.failTx(tx, ...recipientsRefused(tx, reply));
        this.write(LONE_DOT);
        this.transcript('client', '.');
        tx.stage = 'ended';
        if (this.queue.front() === tx) this.queue.shift();
        this.expect('dataEnd', (r) => {
          if (this.fits('end-of-data', r)) this.settle(tx);
        });
        return;
      }
      if (tx.failure) {
        // Cancelled while DATA was on its way: a dot now would deliver it, so drop the link.
        this.fail(new SmtpConnectionError(`connection closed to cancel message ${tx.id} during DATA`, tx.failure.error));
        return;
      }
      tx.stage = 'body';
      tx.lastBodyAt = this.now;
      return;
    }
    if (!tx.failure) {
      if (tx.accepted.length === 0) this.failTx(tx, ...recipientsRefused(tx, reply));
      else this.failTx(tx, new SmtpReplyError(`DATA rejected: ${describeReply(reply)}`, reply, 'DATA'), reply);
    }
    this.drop(tx);
  }

  private onBdatChunk(tx: Transaction, reply: Reply): void {
    if (isPositive(reply)) return;
    // RFC 3030 §4.1: after a failed BDAT the client should RSET before the next transaction.
    this.mayHold(tx);
    if (tx.failure) return;
    this.failTx(tx, new SmtpReplyError(`BDAT rejected: ${describeReply(reply)}`, reply, 'BDAT'), reply);
    if (tx.stage !== 'ended' && this.queue.front() === tx) this.queue.shift();
    this.settle(tx);
  }

  /** The reply to an RSET written before a MAIL (one per pipelined BDAT message: made once). A
   *  refused RSET may leave the old transaction in place, and the next MAIL is already on its
   *  way: fail rather than let it join it. */
  private readonly onRset = (reply: Reply): void => {
    if (!this.fits('RSET', reply)) return;
    // A 421 is the server closing, in order: dispatch() ends the session as announced.
    if (!isPositive(reply) && reply.code !== 421) this.fail(new SmtpProtocolError(`RSET refused, so the server may still hold an earlier transaction: ${describeReply(reply)}`));
  };

  /** The server may still hold `tx`'s transaction (a refused BDAT: Exim keeps it): RSET before
   *  the next MAIL, unless one was already written after this transaction's MAIL. */
  private mayHold(tx: Transaction): void {
    if (tx.seq > this.rsetBefore) this.needRset = true;
  }

  /** Reply to the final dot or BDAT LAST (one per accepted recipient under LMTP). */
  private onFinal(tx: Transaction, reply: Reply): boolean {
    // fits() has failed the session on an intermediate reply: we cannot know what the server did
    // with the message, so its outcome is unknown.
    if (tx.bdat && !isPositive(reply)) this.mayHold(tx); // a refused BDAT LAST, as any refused BDAT
    if (tx.failure) {
      if (isPositive(reply) && tx.accepted.length === 0) {
        // Accepted with every recipient refused: the server delivered a transaction we did not
        // build (one it held from before). Nothing after this can be believed.
        this.fail(new SmtpProtocolError(`end of data accepted although every recipient was refused: ${describeReply(reply)}`));
        return true;
      }
      this.settle(tx);
      return true;
    }
    if (!this.options.lmtp) {
      if (!isPositive(reply)) this.failTx(tx, new SmtpReplyError(`message rejected: ${describeReply(reply)}`, reply, 'end-of-data'), reply);
      this.settle(tx, reply);
      return true;
    }
    const final = (tx.lmtpFinal ??= []);
    final.push({ address: tx.accepted[final.length]!.address, reply });
    if (final.length < tx.accepted.length) return false;
    this.settle(tx, reply);
    return true;
  }

  private failTx(tx: Transaction, error: SmtpError, reply: Reply | undefined): void {
    if (!tx.failure) tx.failure = { reply, error };
    // Its body will never be written: let go of what the user handed in.
    this.heldBody -= tx.chunkBytes;
    tx.chunks = [];
    tx.chunkBytes = 0;
  }

  /** Settle once no reply for `tx` is still coming that could change its result. */
  private settleIfQuiet(tx: Transaction): void {
    if ((!this.pipelining || tx.rcptReplies === tx.rcptSent) && tx.stage !== 'ended' && tx.stage !== 'await-354') this.drop(tx);
  }

  /** A failed transaction leaves the queue; the server forgets it with RSET before the next. */
  private drop(tx: Transaction): void {
    this.queue.remove(tx);
    if (tx.mailAccepted) this.mayHold(tx);
    this.settle(tx);
  }

  /** Stop a transaction that has not been accepted: tell the server, report it rejected. */
  private abortTx(tx: Transaction, error: SmtpError): void {
    if (tx.settled) return;
    if (tx.stage === 'ended') {
      // Its end is written: whatever the server does now, we cannot undo it.
      this.settleUnknown(tx, error);
      return;
    }
    this.failTx(tx, error, undefined);
    // A DATA body under way cannot be withdrawn (a dot would deliver it): the link must go.
    // Before the 354 we wait: a refused DATA needs nothing, a 354 closes the link (onData).
    const inData = !tx.bdat && tx.stage === 'body';
    this.queue.remove(tx);
    this.settle(tx);
    if (inData) {
      // A DATA body cannot be withdrawn (a dot would deliver it): drop the link instead.
      this.fail(new SmtpConnectionError(`connection closed to cancel message ${tx.id} during DATA`, error));
    } else if (tx.stage !== 'queued') {
      this.mayHold(tx);
    }
  }

  private settleUnknown(tx: Transaction, error: SmtpError): void {
    if (tx.settled) return;
    tx.settled = true;
    this.live.delete(tx.id);
    this.inFlight--;
    if (tx.endOffset >= 0) this.unansweredEnds--;
    this.emitResult(tx, 'unknown', undefined, error);
  }

  private settle(tx: Transaction, reply?: Reply): void {
    if (tx.settled) return;
    tx.settled = true;
    this.live.delete(tx.id);
    if (tx.stage !== 'queued') this.inFlight--;
    if (tx.endOffset >= 0) this.unansweredEnds--;
    if (this.options.lmtp && tx.lmtpFinal && !tx.failure) {
      const accepted = tx.lmtpFinal.filter((r) => isPositive(r.reply));
      const rejected = [...tx.rejected, ...tx.lmtpFinal.filter((r) => !isPositive(r.reply))];
      const outcome = accepted.length > 0 ? 'accepted' : 'rejected';
      const error = outcome === 'rejected' ? new SmtpReplyError('every recipient was rejected', reply!, 'end-of-data') : undefined;
      this.emit({ type: 'transaction', result: transactionResult({ id: tx.id, accepted, rejected, unknown: [], reply }, outcome, error) });
      return;
    }
    if (tx.failure) this.emitResult(tx, 'rejected', tx.failure.reply, tx.failure.error);
    else this.emitResult(tx, 'accepted', reply, undefined);
  }

  private emitResult(tx: Transaction, outcome: TransactionResult['outcome'], reply: Reply | undefined, error: SmtpError | undefined): void {
    let accepted: RecipientResult[] = outcome === 'accepted' ? tx.accepted : [];
    let rejected: RecipientResult[] = tx.rejected;
    let unknown: string[] = [];
    if (outcome === 'rejected' && tx.accepted.length > 0) {
      // Recipients the server accepted at RCPT still did not get the message.
      rejected = [...tx.rejected, ...tx.accepted.map((r) => ({ address: r.address, reply: reply ?? r.reply }))];
    }
    if (outcome === 'unknown') {
      const final = tx.lmtpFinal ?? [];
      accepted = final.filter((r) => isPositive(r.reply));
      rejected = [...tx.rejected, ...final.filter((r) => !isPositive(r.reply))];
      unknown = tx.accepted.slice(final.length).map((r) => r.address);
    }
    this.emit({ type: 'transaction', result: transactionResult({ id: tx.id, accepted, rejected, unknown, reply }, outcome, error) });
  }

  private userCommand(verb: 'NOOP' | 'RSET', now: number): number {
    this.now = now;
    if (this.phase === 'closed' || this.phase === 'failed' || this.quitRequested) {
      throw new SmtpUsageError(`cannot send ${verb}: the session is ${this.quitRequested ? 'closing' : 'over'}`);
    }
    const id = this.nextId++;
    this.queue.push({ kind: 'command', id, verb });
    this.pump();
    return id;
  }

  // ---- replies and timers -------------------------------------------------------------------

  private get fifoLength(): number {
    return this.fifo.length - this.fifoHead;
  }

  private dispatch(reply: Reply): void {
    if (this.options.transcript) this.transcriptReply(reply);
    const head = this.fifo[this.fifoHead];
    if (!head) {
      if (reply.code === 421) this.fire('reply-421', reply);
      else this.fail(new SmtpProtocolError(`unexpected reply with no command outstanding: ${describeReply(reply)}`));
      return;
    }
    const done = head.tx ? this.onTxReply(head.kind, head.tx, reply) : head.handle!(reply) !== false;
    if (done && this.fifo[this.fifoHead] === head) {
      this.fifoHead++;
      if (head.barrier) this.barriers--;
      if (this.fifoHead === this.fifo.length) {
        this.fifo = [];
        this.fifoHead = 0;
      }
    }
    this.armHead();
    // 421 ends the session whatever it answered (RFC 5321 §3.8).
    if (reply.code === 421 && this.phase !== 'failed' && this.phase !== 'closed') this.fire('reply-421', reply);
  }

  private expect(kind: TimerKind, handle: (reply: Reply) => boolean | void, barrier = false): void {
    this.pushExpectation({ kind, handle, tx: undefined, barrier });
  }

  private expectTx(kind: TimerKind, tx: Transaction, barrier: boolean): void {
    this.pushExpectation({ kind, handle: undefined, tx, barrier });
  }

  private pushExpectation(e: Expectation): void {
    this.fifo.push(e);
    if (e.barrier) this.barriers++;
    if (this.fifoLength === 1) this.armHead();
  }

  /** A reply to one of a transaction's own commands; false while LMTP owes more final replies. */
  private onTxReply(kind: TimerKind, tx: Transaction, reply: Reply): boolean {
    const step: Step = kind === 'mail' ? 'MAIL' : kind === 'rcpt' ? 'RCPT' : kind === 'data' ? 'DATA' : kind === 'dataBlock' ? 'BDAT' : 'end-of-data';
    if (!this.fits(step, reply)) return true;
    switch (kind) {
      case 'mail':
        this.onMail(tx, reply);
        return true;
      case 'rcpt':
        this.onRcpt(tx, reply);
        return true;
      case 'data':
        this.onData(tx, reply);
        return true;
      case 'dataBlock':
        this.onBdatChunk(tx, reply);
        return true;
      default:
        return this.onFinal(tx, reply);
    }
  }

  /** False (and the session failed) when `reply` cannot be the reply to `step` (reply-fit.ts):
   *  the replies are out of step with the commands, so none after it can be believed. The
   *  usual rule then settles what is pending: unknown where the end of data was taken, else
   *  rejected (transient). */
  private fits(step: Step, reply: Reply): boolean {
    const enhanced = this.capabilities.enhancedStatusCodes && !(step === 'end-of-data' && this.options.lmtp);
    const why = misfit(step, reply, enhanced);
    if (why === undefined) return true;
    this.fail(new SmtpProtocolError(`reply out of step with the commands: ${why}: ${describeReply(reply)}`));
    return false;
  }

  private armHead(): void {
    const head = this.fifo[this.fifoHead];
    this.headDeadline = head ? this.now + this.timeouts[head.kind] : undefined;
  }

  private bodyDeadline(): number | undefined {
    const tx = this.queue.front();
    if (tx && tx.kind === 'tx' && tx.stage === 'body' && !tx.bodyEnded && this.fifoLength === 0) {
      return tx.lastBodyAt + this.timeouts.dataBlock;
    }
    return undefined;
  }

  private expiredTimer(now: number): TimerKind | undefined {
    if (this.phase === 'auth' && now >= this.authDeadline) return 'authTotal';
    if (this.headDeadline !== undefined && now >= this.headDeadline) return this.fifo[this.fifoHead]!.kind;
    if (this.tlsDeadline !== undefined && now >= this.tlsDeadline) return 'tlsHandshake';
    const body = this.bodyDeadline();
    if (body !== undefined && now >= body) return 'dataBlock';
    const stall = this.stallDeadline();
    if (stall !== undefined && now >= stall) return 'dataBlock';
    return undefined;
  }

  /** The data-block timer on the transport: output polled and not taken (writtenSignal) must
   *  move within timeouts.dataBlock, whatever the body kind: a server that reads nothing leaves
   *  a whole body in the runtime's buffer, and that must not pass for sent. */
  private stallDeadline(): number | undefined {
    if (this.taken >= this.polled || this.phase === 'failed' || this.phase === 'closed') return undefined;
    return this.takenAt + this.timeouts.dataBlock;
  }

  private waitReason(): string {
    const head = this.fifo[this.fifoHead];
    if (head) return `reply (${head.kind})`;
    if (this.computeId && this.phase === 'auth') return 'key derivation (compute)';
    if (this.phase === 'tls') return 'TLS handshake';
    if (this.bodyDeadline() !== undefined) return 'message body';
    if (this.stallDeadline() !== undefined) return 'the transport to take output';
    return this.phase === 'ready' ? 'idle' : this.phase;
  }

  // ---- ending -------------------------------------------------------------------------------

  /** Say QUIT (no wait for its reply) and fail: for refusals where the server is still sane. */
  private failPolitely(error: SmtpError): void {
    if (this.phase !== 'tls') this.write(utf8('QUIT\r\n'));
    this.fail(error);
  }

  /** `announced`: the server said it is closing (421), so nothing pending was taken. */
  private fail(error: SmtpError, announced = false): void {
    if (this.phase === 'failed' || this.phase === 'closed') return;
    this.phase = 'failed';
    this.error = error;
    this.end(error, announced);
  }

  private finish(error: SmtpError | undefined): void {
    if (this.phase === 'failed' || this.phase === 'closed') return;
    this.phase = 'closed';
    this.end(error);
  }

  private end(error: SmtpError | undefined, announced = false): void {
    const lost = error ?? new SmtpConnectionError('the session ended before the reply');
    // Everything still pending settles now: unknown if its end reached the transport (and the
    // server did not announce, in order, that it took nothing more), else rejected.
    for (const tx of [...this.live.values()]) {
      if (!announced && tx.stage === 'ended' && !tx.failure && this.taken >= tx.endOffset) this.settleUnknown(tx, lost);
      else {
        this.failTx(tx, lost, undefined);
        this.settle(tx);
      }
    }
    this.queue.clear();
    this.heldBody = 0;
    this.fifo = [];
    this.fifoHead = 0;
    this.barriers = 0;
    this.headDeadline = undefined;
    this.tlsDeadline = undefined;
    this.emit({ type: 'closed', error });
    this.push({ type: 'close' });
  }

  // ---- output helpers -----------------------------------------------------------------------

  /** A command and the reply it expects. Commands go straight into the output slab, so a
   *  pipelined group leaves as one write. */
  private command(text: string, kind: TimerKind, handle: (reply: Reply) => boolean | void, barrier: boolean, shown = text): void {
    this.say(text, shown);
    this.expect(kind, handle, barrier);
  }

  private txCommand(text: string, kind: TimerKind, tx: Transaction, barrier: boolean): void {
    this.say(text, text);
    this.expectTx(kind, tx, barrier);
  }

  private say(text: string, shown: string): void {
    if (this.options.transcript) this.transcript('client', shown);
    this.writeLine(text);
  }

  private write(bytes: Uint8Array): void {
    this.writeViews([bytes]);
  }

  /** A command line: straight into the output buffer, CRLF added. */
  private writeLine(text: string): void {
    const item = this.writeItem();
    const bytes = this.outbuf.line(text);
    item.bytes += bytes;
    this.enqueued += bytes;
  }

  private writeViews(views: readonly Uint8Array[]): void {
    for (let i = 0; i < views.length; i++) {
      const v = views[i]!;
      if (v.length === 0) continue;
      const item = this.writeItem();
      this.outbuf.bytes(v);
      item.bytes += v.length;
      this.enqueued += v.length;
    }
  }

  /** The write item collecting bytes now: the last queued output if it is one, else a new one. */
  private writeItem(): WriteItem {
    if (this.openWrite) return this.openWrite;
    const item: WriteItem = { type: 'write', chunks: [], bytes: 0 };
    this.out.push(item);
    this.openWrite = item;
    return item;
  }

  /** Close the collecting write: its bytes become its views. Anything queued after it starts a new one. */
  private sealWrite(): void {
    const item = this.openWrite;
    if (!item) return;
    this.openWrite = undefined;
    item.chunks = this.outbuf.take();
  }

  private push(item: Output): void {
    this.sealWrite();
    this.out.push(item);
  }

  private emit(event: SmtpEvent): void {
    this.sealWrite();
    this.out.push({ type: 'event', event });
  }

  private transcript(from: 'client' | 'server', text: string): void {
    if (this.options.transcript) this.emit({ type: 'transcript', from, text });
  }

  private transcriptReply(reply: Reply): void {
    const n = reply.lines.length;
    reply.lines.forEach((line, i) => {
      const text = i === 0 && reply.enhanced ? `${reply.enhanced} ${line}` : line;
      this.emit({ type: 'transcript', from: 'server', text: `${reply.code}${i < n - 1 ? '-' : ' '}${text}` });
    });
  }
}

