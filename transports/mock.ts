// A scripted SMTP server on a virtual clock, for driving the core with no sockets. The script
// is a list of steps (expect a client line, send bytes, wait, EOF, reset, TLS); bodies after
// 354 and BDAT chunks are consumed automatically and kept as `messages`.
// `drive()` pairs it with an SmtpConnection (like quinn's test Pair) and runs both to rest.
// `mockTransport()` puts the same scripted server behind the client's Transport contract (real
// timers, no sockets), to test the friendly client and its body streaming without a network.
import type { Output, SmtpEvent } from '../core/events.ts';
import type { SmtpConnection } from '../core/connection.ts';
import { pbkdf2Sha256 } from '../core/sasl/hash.ts';
import type { ConnectParams, Link, LinkHandlers, Transport } from '../client/transport.ts';

export type Step =
  | { readonly type: 'send'; readonly bytes: Uint8Array }
  | { readonly type: 'expect'; readonly line: string | RegExp }
  | { readonly type: 'delay'; readonly ms: number }
  | { readonly type: 'split'; readonly size: number }
  | { readonly type: 'eof' }
  | { readonly type: 'reset' }
  | { readonly type: 'tls' }
  /** Answer every remaining client line with `respond` (undefined: close the link). */
  | { readonly type: 'respond'; readonly respond: (line: string, server: ScriptedServer) => string | undefined };

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Script builder: `script().send('220 hi').expect('EHLO x').send('250 ok')...steps`. */
export function script(): ScriptBuilder {
  return new ScriptBuilder();
}

export class ScriptBuilder {
  readonly steps: Step[] = [];
  /** Server bytes; lines given without CRLF get one (use sendRaw for exact bytes). */
  send(...lines: string[]): this {
    return this.sendRaw(lines.map((l) => l + '\r\n').join(''));
  }
  sendRaw(text: string | Uint8Array): this {
    this.steps.push({ type: 'send', bytes: typeof text === 'string' ? enc.encode(text) : text });
    return this;
  }
  expect(...lines: (string | RegExp)[]): this {
    for (const line of lines) this.steps.push({ type: 'expect', line });
    return this;
  }
  delay(ms: number): this {
    this.steps.push({ type: 'delay', ms });
    return this;
  }
  /** Deliver later server bytes in chunks of this size (1 = byte by byte). */
  split(size: number): this {
    this.steps.push({ type: 'split', size });
    return this;
  }
  eof(): this {
    this.steps.push({ type: 'eof' });
    return this;
  }
  reset(): this {
    this.steps.push({ type: 'reset' });
    return this;
  }
  /** Expect the client to start TLS now, and complete the (virtual) handshake. */
  tls(): this {
    this.steps.push({ type: 'tls' });
    return this;
  }
  respond(respond: (line: string, server: ScriptedServer) => string | undefined): this {
    this.steps.push({ type: 'respond', respond });
    return this;
  }
}

export class MockScriptError extends Error {
  override name = 'MockScriptError';
}

export type ServerAction =
  | { type: 'send'; bytes: Uint8Array; chunkSize: number }
  | { type: 'eof' }
  | { type: 'reset' }
  | { type: 'tls' }
  | { type: 'delay'; ms: number };

export class ScriptedServer {
  /** Every byte the client wrote, in order. */
  readonly received: Uint8Array[] = [];
  /** Client command lines as the server read them (bodies excluded). */
  readonly lines: string[] = [];
  /** Complete messages: DATA bodies un-stuffed (without the final dot line), BDAT bodies as sent. */
  readonly messages: Uint8Array[] = [];
  private readonly steps: Step[];
  private index = 0;
  private input: Uint8Array = new Uint8Array(0);
  private chunkSize = Infinity;
  private mode: 'command' | 'data' = 'command';
  private bdatLeft = 0;
  private bdatLast = false;
  private body: Uint8Array[] = [];
  private tlsRequested = false;

  constructor(steps: Step[] | ScriptBuilder) {
    this.steps = Array.isArray(steps) ? steps : steps.steps;
  }

  get done(): boolean {
    return this.index >= this.steps.length;
  }

  /** The client wrote these bytes. */
  clientWrite(bytes: Uint8Array): void {
    this.received.push(bytes.slice());
    this.input = concat(this.input, bytes);
  }

  clientStartTls(): void {
    this.tlsRequested = true;
  }

  /** The next thing the server does, or undefined when it waits for the client. */
  next(): ServerAction | undefined {
    for (;;) {
      const step = this.steps[this.index];
      if (!step) return undefined;
      switch (step.type) {
        case 'send': {
          this.index++;
          // The server replied 354: what follows from the client is a DATA body.
          if (/^354[ -]/m.test(dec.decode(step.bytes))) this.mode = 'data';
          return { type: 'send', bytes: step.bytes, chunkSize: this.chunkSize };
        }
        case 'split':
          this.chunkSize = step.size;
          this.index++;
          continue;
        case 'delay':
          this.index++;
          return { type: 'delay', ms: step.ms };
        case 'eof':
        case 'reset':
          this.index++;
          return { type: step.type };
        case 'tls':
          if (!this.tlsRequested) return undefined;
          this.tlsRequested = false;
          this.index++;
          return { type: 'tls' };
        case 'expect': {
          const line = this.readLine();
          if (line === undefined) return undefined;
          const ok = typeof step.line === 'string' ? line === step.line : step.line.test(line);
          if (!ok) throw new MockScriptError(`step ${this.index}: expected ${String(step.line)}, client sent ${JSON.stringify(line)}`);
          this.index++;
          continue;
        }
        case 'respond': {
          const line = this.readLine();
          if (line === undefined) return undefined;
          const answer = step.respond(line, this);
          if (answer === undefined) {
            this.index++;
            return { type: 'eof' };
          }
          if (/^354[ -]/m.test(answer)) this.mode = 'data';
          return { type: 'send', bytes: enc.encode(answer), chunkSize: this.chunkSize };
        }
      }
    }
  }

  /** Next client line (command, or "." ending a DATA body); consumes bodies on the way. */
  private readLine(): string | undefined {
    for (;;) {
      if (this.bdatLeft > 0) {
        const n = Math.min(this.bdatLeft, this.input.length);
        if (n === 0) return undefined;
        this.body.push(this.input.slice(0, n));
        this.input = this.input.subarray(n);
        this.bdatLeft -= n;
        if (this.bdatLeft === 0 && this.bdatLast) this.finishMessage();
        continue;
      }
      const lf = this.input.indexOf(0x0a);
      if (lf < 0) return undefined;
      const raw = this.input.subarray(0, lf + 1);
      this.input = this.input.subarray(lf + 1);
      const line = dec.decode(raw).replace(/\r?\n$/, '');
      if (this.mode === 'data') {
        if (line === '.') {
          this.mode = 'command';
          this.finishMessage();
          this.lines.push('.');
          return '.';
        }
        this.body.push(line.startsWith('.') ? raw.subarray(1) : raw.slice());
        continue;
      }
      this.lines.push(line);
      const bdat = /^BDAT (\d+)( LAST)?$/i.exec(line);
      if (bdat) {
        this.bdatLeft = Number(bdat[1]);
        this.bdatLast = bdat[2] !== undefined;
        if (this.bdatLeft === 0 && this.bdatLast) this.finishMessage();
      }
      return line;
    }
  }

  private finishMessage(): void {
    let total = 0;
    for (const b of this.body) total += b.length;
    const out = new Uint8Array(total);
    let at = 0;
    for (const b of this.body) { out.set(b, at); at += b.length; }
    this.messages.push(out);
    this.body = [];
  }
}

export class VirtualClock {
  constructor(public now = 0) {}
  advance(ms: number): void {
    this.now += ms;
  }
}

export interface DriveResult {
  readonly events: SmtpEvent[];
  /** Every output poll() gave, in order (writes included), for precise assertions. */
  readonly outputs: Output[];
  /** Did the core ask to close the link? */
  readonly closed: boolean;
  /** The transport-level transcript: C: client lines / S: server bytes, as text. */
  readonly wire: string;
}

export interface DriveOptions {
  readonly clock?: VirtualClock;
  /** Called for every event, so a test can act like a user (send more, stream a body). */
  readonly onEvent?: (event: SmtpEvent, core: SmtpConnection, clock: VirtualClock) => void;
  /** Safety net against a bug that loops: how many server actions at most. */
  readonly maxActions?: number;
  /** Called when the server waits for the client and the core has nothing to write: a test
   *  acts like a user here (stream the next body chunk). Return true if it did something. */
  readonly onIdle?: (core: SmtpConnection, clock: VirtualClock) => boolean;
  /** Don't call core.start(): the caller already did. */
  readonly started?: boolean;
}

/** Run a core against a scripted server until both are at rest. Time moves only when everyone
 *  waits: to the server's next delay, or to the core's deadline (then handleTimeout). */
export function drive(core: SmtpConnection, server: ScriptedServer, options: DriveOptions = {}): DriveResult {
  const clock = options.clock ?? new VirtualClock();
  const events: SmtpEvent[] = [];
  const outputs: Output[] = [];
  let closed = false;
  let wire = '';
  let deadline: number | undefined;
  let delayUntil: number | undefined;

  const drain = (): void => {
    for (;;) {
      const o = core.poll(clock.now);
      if (o.type === 'wait') {
        deadline = o.deadline;
        return;
      }
      outputs.push(o);
      if (o.type === 'write') {
        if (closed) continue; // a closed link writes nothing
        for (const c of o.chunks) {
          server.clientWrite(c);
          wire += 'C: ' + dec.decode(c);
        }
      } else if (o.type === 'event') {
        events.push(o.event);
        options.onEvent?.(o.event, core, clock);
      } else if (o.type === 'start-tls') server.clientStartTls();
      else if (o.type === 'compute') {
        // asyncCompute: answer at once, on the virtual clock (the pure code, in place).
        const { password, salt, iterations, length } = o.request;
        core.computed(o.id, pbkdf2Sha256(password, salt, iterations, length), clock.now);
      }
      else if (o.type === 'close') closed = true;
    }
  };

  if (!options.started) core.start(clock.now);
  drain();
  const max = options.maxActions ?? 1_000_000;
  for (let n = 0; n < max; n++) {
    if (delayUntil !== undefined) {
      if (deadline !== undefined && deadline < delayUntil) {
        clock.now = deadline;
        core.handleTimeout(clock.now);
        drain();
        continue;
      }
      clock.now = delayUntil;
      delayUntil = undefined;
    }
    const action = closed ? undefined : server.next();
    if (!action) {
      if (!closed && options.onIdle?.(core, clock)) {
        drain();
        continue;
      }
      if (closed || deadline === undefined) break; // at rest
      clock.now = Math.max(clock.now, deadline);
      core.handleTimeout(clock.now);
      drain();
      continue;
    }
    switch (action.type) {
      case 'send': {
        wire += 'S: ' + dec.decode(action.bytes);
        const size = Math.max(1, Math.min(action.chunkSize, action.bytes.length));
        for (let at = 0; at < action.bytes.length && !closed; at += size) {
          core.receive(action.bytes.subarray(at, at + size), clock.now);
          drain();
        }
        break;
      }
      case 'eof':
        wire += 'S: <eof>\n';
        core.receiveEof(clock.now);
        drain();
        break;
      case 'reset':
        wire += 'S: <reset>\n';
        core.transportError(new Error('connection reset by peer'), clock.now);
        drain();
        break;
      case 'tls':
        wire += 'S: <tls established>\n';
        core.tlsEstablished(clock.now);
        drain();
        break;
      case 'delay':
        delayUntil = clock.now + action.ms;
        break;
    }
  }
  return { events, outputs, closed, wire };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

// ---- the scripted server behind the client's Transport contract ---------------------------------

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
