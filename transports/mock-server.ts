// A scripted SMTP server on a virtual clock, for driving the core with no sockets. The script
// is a list of steps (expect a client line, send bytes, wait, EOF, reset, TLS); bodies after
// 354 and BDAT chunks are consumed automatically and kept as `messages`.
// `drive()` pairs it with an SmtpConnection (like quinn's test Pair) and runs both to rest.
// mock-link.ts puts the same server behind the client's Transport contract.
import type { Output, SmtpEvent } from '../core/events.ts';
import type { SmtpConnection } from '../core/connection.ts';
import { joinBytes } from '../core/bytes.ts';
import { pbkdf2Sha256 } from '../core/sasl/hash.ts';

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
    this.input = joinBytes([this.input, bytes]); // a copy: the caller may reuse its buffer
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
    for (const b of this.body) {
      out.set(b, at);
      at += b.length;
    }
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
      } else if (o.type === 'close') closed = true;
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
