// The SMTP client session, sans-IO: server bytes, user intents and the current time go in;
// bytes to write, events and the next deadline come out of poll(). No I/O, no clock, no timers.
//
// This file is the facade: it checks each input and hands it to the module that owns it.
//   session.ts       greeting, EHLO/LHLO/HELO, QUIT, ending (runs the table in states.ts)
//   starttls.ts      RFC 3207, with the injection check
//   auth-session.ts  RFC 4954 on the wire (auth.ts: the exchange's rules)
//   pipeline.ts      RFC 2920: what each expected reply is for, in order
//   tx-write.ts      transactions and their bodies going out (DATA, RFC 3030 BDAT)
//   tx-replies.ts    their replies and how each settles; lmtp.ts: RFC 2033's final replies
//   output.ts        output accounting (outbuf + written offsets); deadlines.ts: the timers
// Inside `ready`, every command written pushes an expectation onto a FIFO and every reply pops
// the head: that is all PIPELINING needs, and it lets whole BDAT transactions run back to back.
import { BODY_EIGHT_BIT, scanBody } from './body.ts';
import type { Capabilities } from './capabilities.ts';
import { ConnectionState } from './connection-state.ts';
import { expiredTimer, nextDeadline, waitReason } from './deadlines.ts';
import { prepareEnvelope, type Envelope } from './envelope.ts';
import {
  SmtpAbortError,
  SmtpConnectionError,
  SmtpError,
  SmtpInternalError,
  SmtpProtocolError,
  SmtpTimeoutError,
  SmtpTlsError,
  SmtpUsageError,
} from './errors.ts';
import type { Output } from './events.ts';
import type { ConnectionOptions } from './options.ts';
import { describeReply, type Reply } from './reply.ts';
import { authComputed } from './auth-session.ts';
import { fail, fire } from './session.ts';
import { checkInjection } from './starttls.ts';
import type { Input, Phase } from './states.ts';
import { printable } from './text.ts';
import { newTransaction } from './transaction.ts';
import { abortTx, route, settleTx } from './tx-replies.ts';
import { pump } from './tx-write.ts';

export type { AuthOptions, ConnectionOptions } from './options.ts';
export { DEFAULT_CHUNK_SIZE } from './options.ts';

export class SmtpConnection {
  readonly #s: ConnectionState;

  constructor(options: ConnectionOptions = {}) {
    this.#s = new ConnectionState(options);
  }

  // ---- inputs -------------------------------------------------------------------------------

  /** Begin: the transport has connected; wait for the greeting. */
  start(now: number): void {
    if (this.#s.phase !== 'idle') throw new SmtpUsageError('start() called twice: call it once, when the transport has connected');
    this.#input(now, 'start');
  }

  receive(bytes: Uint8Array, now: number): void {
    const s = this.#s;
    s.now = now;
    if (s.phase === 'idle') throw new SmtpUsageError('receive() before start(): call start() once the transport has connected');
    if (!(bytes instanceof Uint8Array)) throw new SmtpUsageError("receive() takes the server's octets as a Uint8Array");
    if (s.over || bytes.length === 0) return;
    if (s.phase === 'tls') {
      fail(s, new SmtpProtocolError('server sent data before the TLS handshake (possible STARTTLS injection)'));
      return;
    }
    let rest: Uint8Array | undefined;
    try {
      rest = s.parser.push(bytes, (reply) => {
        this.#dispatch(reply);
        return s.phase !== 'tls' && !s.over;
      });
      if ((s.phase as Phase) === 'tls') {
        if (checkInjection(s, rest)) s.output.push({ type: 'start-tls' });
        return;
      }
      pump(s);
    } catch (e) {
      this.#crash(e);
    }
  }

  receiveEof(now: number): void {
    this.#input(now, 'eof', new SmtpConnectionError('the server closed the connection'));
  }

  /** The transport failed (reset, TLS error, write error). */
  transportError(error: unknown, now: number): void {
    const message = printable(error instanceof Error ? error.message : String(error));
    const typed =
      error instanceof SmtpError
        ? error
        : this.#s.phase === 'tls'
          ? new SmtpTlsError(`TLS handshake failed: ${message}`)
          : new SmtpConnectionError(`connection failed: ${message}`, error);
    this.#input(now, 'eof', typed);
  }

  /** The transport has taken the output up to `offset` octets (counted from the first octet
   *  poll() ever handed out): with `writtenSignal`, call it as the transport's written signals
   *  come, at least every MiB or so of a large write. Offsets only grow; a smaller one is ignored. */
  written(offset: number, now: number): void {
    this.#s.now = now;
    this.#s.output.written(offset, now);
  }

  tlsEstablished(now: number): void {
    this.#input(now, 'tls-established');
  }

  /** Call at (or after) the deadline from poll(); early calls do nothing. */
  handleTimeout(now: number): void {
    const s = this.#s;
    s.now = now;
    const kind = expiredTimer(s, now);
    if (kind === 'authTotal') {
      const what = s.computeId ? 'the key derivation' : 'the server';
      this.#input(
        now,
        'timeout',
        new SmtpTimeoutError(
          kind,
          s.timeouts[kind],
          `AUTH did not finish within ${s.timeouts[kind]} ms (timeouts.authTotal), waiting for ${what}`,
        ),
      );
    } else if (kind) this.#input(now, 'timeout', new SmtpTimeoutError(kind, s.timeouts[kind]));
  }

  /** The result of the `compute` output `id`. Ignored when the session no longer waits for it
   *  (it failed or timed out meanwhile). */
  computed(id: number, result: Uint8Array, now: number): void {
    this.#run(now, () => authComputed(this.#s, (authx) => authx.resume(result), id));
  }

  /** The `compute` output `id` could not be computed: AUTH is cancelled with that reason. */
  computeFailed(id: number, error: unknown, now: number): void {
    this.#run(now, () => authComputed(this.#s, (authx) => authx.computeFailed(error), id));
  }

  // ---- intents ------------------------------------------------------------------------------

  /** Queue a transaction. Throws SmtpUsageError for bad input; returns the transaction id.
   *  `body`, when given, is the whole body (as writeBody then endBody); else feed it with those. */
  send(envelope: Envelope, now: number, body?: Uint8Array): number {
    const s = this.#s;
    s.now = now;
    if (body !== undefined && !(body instanceof Uint8Array)) throw new SmtpUsageError('body must be a Uint8Array');
    // A whole body is looked at once, here: whether it needs 8BITMIME, and whether it can go as is.
    const bodyFlags = body === undefined ? -1 : scanBody(body, 998, s.options.bodyScan);
    const env = prepareEnvelope(
      envelope,
      bodyFlags > 0 && (bodyFlags & BODY_EIGHT_BIT) !== 0 ? '8BITMIME' : undefined,
      s.paths,
      s.options.idn,
    );
    const tx = newTransaction(s.nextId++, env, bodyFlags, now, body !== undefined && body.length > 0 ? [body] : []);
    s.live.set(tx.id, tx);
    if (s.over || s.quitRequested) {
      settleTx(s, tx, { by: 'refused', error: s.error ?? new SmtpConnectionError('the session is closing') });
      return tx.id;
    }
    if (body !== undefined) {
      tx.chunkBytes = body.length;
      s.heldBody += body.length;
      tx.bodyEnded = true;
    }
    s.queue.push(tx);
    this.#pump();
    return tx.id;
  }

  /** Add body bytes (any split). Returns false when the transaction no longer wants them
   *  (it was settled: rejected, aborted or failed); the bytes are then dropped. */
  writeBody(id: number, chunk: Uint8Array, now: number): boolean {
    const s = this.#s;
    s.now = now;
    if (!(chunk instanceof Uint8Array)) throw new SmtpUsageError('writeBody() takes the body as Uint8Array chunks');
    const tx = s.live.get(id);
    if (!tx || tx.failure) return false;
    if (tx.bodyEnded) throw new SmtpUsageError(`body of transaction ${id} already ended`);
    if (chunk.length > 0) {
      tx.chunks.push(chunk);
      tx.chunkBytes += chunk.length;
      s.heldBody += chunk.length;
      tx.lastBodyAt = now;
      this.#pump();
    }
    return true;
  }

  endBody(id: number, now: number): void {
    const s = this.#s;
    s.now = now;
    const tx = s.live.get(id);
    if (!tx || tx.failure || tx.bodyEnded) return;
    tx.bodyEnded = true;
    this.#pump();
  }

  /** Cancel a transaction. Before its end was written it is rejected with EABORT and the
   *  server is told (RSET, or the link is closed when a DATA body is under way); after, its
   *  outcome is unknown. */
  cancel(id: number, now: number, reason: SmtpError = new SmtpAbortError()): void {
    const s = this.#s;
    const tx = s.live.get(id);
    s.now = now;
    if (!tx) return;
    try {
      abortTx(s, tx, reason);
      pump(s);
    } catch (e) {
      this.#crash(e, true);
    }
  }

  noop(now: number): number {
    return this.#userCommand('NOOP', now);
  }

  rset(now: number): number {
    return this.#userCommand('RSET', now);
  }

  /** End the session after everything queued (once the session is ready): QUIT, then close. */
  quit(now: number): void {
    this.#s.now = now;
    this.#s.quitRequested = true;
    this.#pump();
  }

  /** Close now, without QUIT: everything pending settles (unknown where its end was written). */
  abort(now: number, reason: SmtpError = new SmtpAbortError()): void {
    this.#input(now, 'abort', reason);
  }

  // ---- outputs ------------------------------------------------------------------------------

  poll(now: number): Output {
    const s = this.#s;
    s.now = now;
    return s.output.next(now) ?? { type: 'wait', deadline: nextDeadline(s), reason: waitReason(s) };
  }

  get nextDeadline(): number | undefined {
    return nextDeadline(this.#s);
  }

  /** Body octets held in the core and not yet handed out by poll(). A streaming caller stops
   *  feeding when this passes its high-water mark and resumes after the next input. */
  get bufferedAmount(): number {
    return this.#s.output.unpolled + this.#s.heldBody;
  }

  /** Octets that go out before the next body octets of transaction `id`: output not yet
   *  polled, and the body octets held for `id` and the transactions queued before it (whole
   *  bodies queued after it wait for it, so they do not count). A streaming caller feeds `id`
   *  while this is below its high-water mark. */
  bufferedBefore(id: number): number {
    let held = this.#s.output.unpolled;
    this.#s.live.find((tx) => {
      // in id order
      if (tx.id > id) return true;
      held += tx.chunkBytes;
      return false;
    });
    return held;
  }

  /** The output offset (as in written()) up to which the transport must take the output for
   *  every view given to writeBody() so far to be released: the core keeps none of them any
   *  more, and none is in output past this offset. Undefined while the core still holds some
   *  (a body waiting for its 354, a BDAT chunk not yet full). A caller that reuses its buffers
   *  reuses those handed over so far once its transport is done with this offset. */
  get bodyViewsReleasedAt(): number | undefined {
    return this.#s.live.find((tx) => tx.bodyFlags < 0 && tx.chunkBytes > 0) ? undefined : this.#s.output.enqueued;
  }

  /** The BDAT chunk size in use (ConnectionOptions.chunkSize or its default): a streamed BDAT
   *  body is held until this many octets are queued or the body ends. */
  get chunkSize(): number {
    return this.#s.chunkSize;
  }

  get state(): Phase {
    return this.#s.phase;
  }

  get serverCapabilities(): Capabilities {
    return this.#s.capabilities;
  }

  get isSecure(): boolean {
    return this.#s.secure;
  }

  // ---- inside -------------------------------------------------------------------------------

  /** One input to the session table, at `now`. */
  #input(now: number, input: Input, arg?: SmtpError): void {
    this.#s.now = now;
    try {
      fire(this.#s, input, arg);
    } catch (e) {
      this.#crash(e);
    }
  }

  /** Write what may be written now. */
  #pump(): void {
    try {
      pump(this.#s);
    } catch (e) {
      this.#crash(e, true);
    }
  }

  #run(now: number, step: () => void): void {
    this.#s.now = now;
    try {
      step();
    } catch (e) {
      this.#crash(e);
    }
  }

  /** An exception escaped the engine. A usage error from a user intent (`intent`) is the
   *  caller's and goes back to it; any other SmtpError ends the session; anything else is a bug
   *  here (EINTERNAL, not transient). */
  #crash(e: unknown, intent = false): void {
    if (intent && e instanceof SmtpUsageError) throw e;
    const error =
      e instanceof SmtpError
        ? e
        : new SmtpInternalError(
            `internal error in the SMTP core (please report it): ${printable(e instanceof Error ? e.message : String(e))}`,
            e,
          );
    fail(this.#s, error);
  }

  #dispatch(reply: Reply): void {
    const s = this.#s;
    if (s.options.transcript) s.transcriptReply(reply);
    const head = s.replies.front();
    if (!head) {
      if (reply.code === 421) fire(s, 'reply-421', reply);
      else fail(s, new SmtpProtocolError(`unexpected reply with no command outstanding: ${describeReply(reply)}`));
      return;
    }
    if (route(s, head, reply) && s.replies.front() === head) s.replies.shift();
    s.replies.arm(s.now, s.timeouts);
    // 421 ends the session whatever it answered (RFC 5321 §3.8).
    if (reply.code === 421 && !s.over) fire(s, 'reply-421', reply);
  }

  #userCommand(verb: 'NOOP' | 'RSET', now: number): number {
    const s = this.#s;
    s.now = now;
    if (s.over || s.quitRequested) {
      throw new SmtpUsageError(`cannot send ${verb}: the session is ${s.quitRequested ? 'closing' : 'over'}`);
    }
    const id = s.nextId++;
    s.queue.push({ kind: 'command', id, verb, slot: -1 });
    this.#pump();
    return id;
  }
}
