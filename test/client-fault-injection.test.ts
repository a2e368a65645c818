// Fault injection: a pipelined run of N=5 messages, with the connection cut at every byte
// offset of the server's stream and of the client's stream.
//
// - Exhaustive sweep at the core level: the sans-IO core against a model server on a virtual
//   clock, for three server flavours (PIPELINING+CHUNKING, PIPELINING+DATA, plain DATA) and
//   three kinds of cut (EOF, reset, a silent stall that only the timers can end). Every byte
//   offset of both streams is tried.
// - Sampled subset with real sockets: the same model server behind node:net, driving the real
//   Node transport and client, for the two pipelined flavours, with EOF and reset cuts (plus six
//   stalls per side). Server offsets: every reply boundary and the bytes either side of it, plus
//   every 16th byte; client offsets: every command boundary and the byte before it, plus every
//   64th byte (so every 64 bytes of body).
//
// Every send must settle, and its outcome must agree with what the server saw:
//   accepted  only after the server's 2xx to the end of data reached the client;
//   rejected  when a refusal reached the client, or the end of data was never handed over;
//   unknown   only when the final dot / BDAT LAST was handed to the transport and no final
//             reply came.
// No hang, no unhandled rejection, and no socket or timer left behind.
import * as net from 'node:net';
import { test } from 'uvu';
import { exitWhenDone } from './exit-when-done.ts';
import * as assert from 'uvu/assert';
import { within } from './helpers.ts';
import type { ConnectParams, Link, LinkHandlers, Transport } from '../client/transport.ts';
import { SmtpConnection, type ConnectionOptions } from '../core/full.ts';
import { SmtpError } from '../core/errors.ts';
import type { TransactionResult } from '../core/events.ts';
import { connect, nodeTransport } from '../transports/node.ts';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const CRLF = '\r\n';

// ---------------------------------------------------------------- the messages (N = 5)

interface Plan {
  readonly rcpts: readonly string[];
  readonly body: string;
}

/** Recipients starting with "no" are refused at RCPT; a body with REJECT-ME is refused at the end. */
const PLANS: readonly Plan[] = [
  { rcpts: ['ok0@example.com'], body: 'plain text' },
  { rcpts: ['ok1@example.com', 'no1@example.com', 'ok1b@example.com'], body: 'one of three refused' },
  { rcpts: ['no2@example.com'], body: 'every recipient refused' },
  { rcpts: ['ok3@example.com'], body: 'the server refuses this one: REJECT-ME' },
  { rcpts: ['ok4@example.com', 'ok4b@example.com'], body: '.leading dot\n..two\r\nbare LF\nlast' },
];

function bodyOf(i: number): string {
  // The X-End line is always the last line, so its appearance (followed by the terminator for
  // DATA) in the client's stream says the end of data was handed over.
  return `Subject: m${i}${CRLF}X-Id: m${i}${CRLF}${CRLF}${PLANS[i]!.body}${CRLF}${'filler line\r\n'.repeat(3)}X-End: m${i}${CRLF}`;
}

const END_MARK = (i: number, chunking: boolean) => `X-End: m${i}\r\n${chunking ? '' : '.\r\n'}`;

// ---------------------------------------------------------------- the model server

interface Flavor {
  readonly name: string;
  readonly pipelining: boolean;
  readonly chunking: boolean;
}

const FLAVORS: readonly Flavor[] = [
  { name: 'PIPELINING+CHUNKING', pipelining: true, chunking: true },
  { name: 'PIPELINING+DATA', pipelining: true, chunking: false },
  { name: 'DATA, no PIPELINING', pipelining: false, chunking: false },
];

interface Final {
  readonly code: number;
  /** Offset in the server's stream just past this reply. */
  readonly end: number;
}

/**
 * A deterministic SMTP server as a pure function of the client's bytes: feed() them in any
 * split; replies come out through `emit`, each as one chunk. It records, per transaction
 * (numbered by MAIL), the reply that decided it and where that reply ends in its stream.
 */
class ModelServer {
  /** Server bytes produced so far. */
  produced = 0;
  readonly finals: (Final | undefined)[] = [];
  /** Per transaction: the offset in the server's stream just past each RCPT reply. */
  readonly rcptEnds: number[][] = [];
  /** Offsets in the server's stream just past each reply (cut-point candidates). */
  readonly boundaries: number[] = [];
  /** Offsets in the client's stream just past each command line. */
  readonly commandEnds: number[] = [];
  consumed = 0;
  private input: Buffer = Buffer.alloc(0);
  private mode: 'command' | 'data' | 'bdat' = 'command';
  private bdatLeft = 0;
  private bdatLast = false;
  private tx = -1;
  private accepted = 0;
  private inTx = false;
  private body: Buffer[] = [];

  constructor(
    private readonly flavor: Flavor,
    private readonly emit: (bytes: Buffer) => void,
  ) {
    this.reply('220 mx.fault.test ESMTP');
  }

  feed(bytes: Uint8Array): void {
    this.input = this.input.length ? Buffer.concat([this.input, bytes]) : Buffer.from(bytes);
    for (;;) {
      if (this.mode === 'bdat') {
        const n = Math.min(this.bdatLeft, this.input.length);
        if (n === 0 && this.bdatLeft > 0) return;
        this.body.push(this.input.subarray(0, n));
        this.take(n);
        this.bdatLeft -= n;
        if (this.bdatLeft > 0) return;
        this.mode = 'command';
        if (this.bdatLast) this.endOfData();
        else this.reply('250 2.0.0 chunk ok');
        continue;
      }
      const lf = this.input.indexOf(0x0a);
      if (lf < 0) return;
      const line = this.input.subarray(0, lf + 1).toString('latin1');
      this.take(lf + 1);
      if (this.mode === 'data') {
        if (line === '.\r\n') {
          this.mode = 'command';
          this.endOfData();
        } else {
          this.body.push(Buffer.from(line.startsWith('.') ? line.slice(1) : line, 'latin1'));
        }
        continue;
      }
      this.commandEnds.push(this.consumed);
      this.command(line.replace(/\r?\n$/, ''));
    }
  }

  private take(n: number): void {
    this.input = this.input.subarray(n);
    this.consumed += n;
  }

  private reply(text: string): void {
    const bytes = Buffer.from(text + CRLF, 'latin1');
    this.produced += bytes.length;
    this.boundaries.push(this.produced);
    this.emit(bytes);
  }

  private decide(code: number, text: string): void {
    this.reply(`${code} ${text}`);
    this.finals[this.tx] = { code, end: this.produced };
    this.inTx = false;
  }

  private command(line: string): void {
    const verb = line.split(' ')[0]!.toUpperCase();
    switch (verb) {
      case 'EHLO': {
        const caps = ['mx.fault.test', '8BITMIME', 'ENHANCEDSTATUSCODES'];
        if (this.flavor.pipelining) caps.push('PIPELINING');
        if (this.flavor.chunking) caps.push('CHUNKING');
        return this.reply(caps.map((c, i) => `250${i < caps.length - 1 ? '-' : ' '}${c}`).join(CRLF));
      }
      case 'MAIL':
        this.tx++;
        this.inTx = true;
        this.accepted = 0;
        this.body = [];
        return this.reply('250 2.1.0 sender ok');
      case 'RCPT':
        if (!this.inTx) return this.reply('503 5.5.1 MAIL first');
        if (/^RCPT TO:<no/i.test(line)) this.reply('550 5.1.1 no such user');
        else {
          this.accepted++;
          this.reply('250 2.1.5 recipient ok');
        }
        (this.rcptEnds[this.tx] ??= []).push(this.produced);
        return;
      case 'DATA':
        if (!this.inTx) return this.reply('503 5.5.1 MAIL first');
        if (this.accepted === 0) return this.decide(554, '5.5.1 no valid recipients');
        this.mode = 'data';
        return this.reply('354 end with <CRLF>.<CRLF>');
      case 'BDAT': {
        const m = /^BDAT (\d+)( LAST)?$/i.exec(line);
        if (!m) return this.reply('501 5.5.4 syntax');
        this.bdatLeft = Number(m[1]);
        this.bdatLast = m[2] !== undefined;
        this.mode = 'bdat';
        if (this.bdatLeft === 0) {
          this.mode = 'command';
          if (this.bdatLast) this.endOfData();
          else this.reply('250 2.0.0 chunk ok');
        }
        return;
      }
      case 'RSET':
        this.inTx = false;
        return this.reply('250 2.0.0 reset');
      case 'NOOP':
        return this.reply('250 2.0.0 ok');
      case 'QUIT':
        return this.reply('221 2.0.0 bye');
      default:
        return this.reply('500 5.5.2 unknown command');
    }
  }

  private endOfData(): void {
    if (!this.inTx) return this.reply('503 5.5.1 no transaction');
    const text = Buffer.concat(this.body).toString('latin1');
    if (this.accepted === 0) return this.decide(554, '5.5.1 no valid recipients');
    if (text.includes('REJECT-ME')) return this.decide(554, '5.6.0 content refused');
    return this.decide(250, '2.0.0 queued');
  }
}

// ---------------------------------------------------------------- the oracle

type Expected = 'accepted' | 'rejected' | 'unknown';

/**
 * What each transaction's outcome must be, from what the server saw and sent (`finals`), how
 * much of the server's stream reached the client, and what the client handed to its transport.
 * `lossy`: the reply bytes counted as delivered may have been lost in transit (a TCP reset can
 * discard them), so a missing final reply is also consistent with the outcome.
 */
function expected(server: ModelServer, delivered: number, handed: string, chunking: boolean, i: number): Expected {
  const f = server.finals[i];
  if (f && f.end <= delivered) return f.code < 300 ? 'accepted' : 'rejected';
  // Every recipient refused, and their replies reached the client: that decides it, whatever
  // became of the BDAT LAST already written (issue 12). (DATA never sends the body then.)
  const plan = PLANS[i]!;
  const rcpts = server.rcptEnds[i] ?? [];
  if (
    chunking &&
    plan.rcpts.every((a) => a.startsWith('no')) &&
    rcpts.length === plan.rcpts.length &&
    rcpts[rcpts.length - 1]! <= delivered
  )
    return 'rejected';
  return handed.includes(END_MARK(i, chunking)) ? 'unknown' : 'rejected';
}

function checkOutcome(r: TransactionResult, want: Expected, lossy: { endHanded: boolean } | undefined, where: string): void {
  if (lossy && r.outcome === 'unknown' && want !== 'unknown') {
    // The final reply was sent, but a reset may have discarded it before the client read it.
    assert.ok(lossy.endHanded, `${where}: unknown although the end of data was never handed over`);
    return;
  }
  assert.is(r.outcome, want, `${where}: expected ${want}, got ${r.outcome} (${r.error?.message ?? ''})`);
  if (r.outcome === 'accepted') {
    assert.is(r.error, undefined);
  } else {
    assert.instance(r.error, SmtpError, `${where}: a typed error`);
  }
}

function checkRecipients(r: TransactionResult, i: number, where: string): void {
  if (r.outcome !== 'accepted') return;
  const plan = PLANS[i]!;
  assert.equal(
    r.accepted.map((x) => x.address),
    plan.rcpts.filter((a) => !a.startsWith('no')),
    `${where}: accepted list`,
  );
  assert.equal(
    r.rejected.map((x) => x.address),
    plan.rcpts.filter((a) => a.startsWith('no')),
    `${where}: rejected list`,
  );
}

// ---------------------------------------------------------------- core-level sweep

type CutKind = 'eof' | 'reset' | 'stall';

interface Cut {
  readonly side: 'server' | 'client' | 'none';
  readonly offset: number;
  readonly kind: CutKind;
}

interface CoreRun {
  results: TransactionResult[];
  ids: number[];
  server: ModelServer;
  handed: string;
  delivered: number;
  closedEvents: number;
  closeOutputs: number;
  core: SmtpConnection;
}

function coreOptions(flavor: Flavor): ConnectionOptions {
  return { name: 'client.fault.test', tls: 'none', pipelining: flavor.pipelining, chunking: flavor.chunking, pipelineWindow: 8 };
}

function runCore(flavor: Flavor, cut: Cut): CoreRun {
  let now = 1000;
  const core = new SmtpConnection(coreOptions(flavor));
  core.start(now);
  const ids: number[] = [];
  const enc = new TextEncoder();
  PLANS.forEach((plan, i) => {
    const id = core.send({ from: 'sender@example.com', to: [...plan.rcpts] }, now);
    // Stream each body in two pieces, so body chunks and commands interleave.
    const bytes = enc.encode(bodyOf(i));
    const half = bytes.length >> 1;
    core.writeBody(id, bytes.subarray(0, half), now);
    core.writeBody(id, bytes.subarray(half), now);
    core.endBody(id, now);
    ids.push(id);
  });
  core.quit(now);

  const toClient: Buffer[] = [];
  const server = new ModelServer(flavor, (b) => toClient.push(b));
  const results: TransactionResult[] = [];
  let handedParts: string[] = [];
  let handedBytes = 0;
  let delivered = 0;
  let closedEvents = 0;
  let closeOutputs = 0;
  let linkDead = false; // no more bytes either way
  let clientClosed = false;
  let cutPending = cut.side === 'client' && cut.offset === 0;
  let deadline: number | undefined;

  const applyCut = (): void => {
    linkDead = true;
    if (cut.kind === 'eof') core.receiveEof(now);
    else if (cut.kind === 'reset') core.transportError(new Error('read ECONNRESET'), now);
    // stall: nothing happens; only the core's timers can end the session
  };

  const drain = (): void => {
    for (;;) {
      const o = core.poll(now);
      if (o.type === 'wait') {
        deadline = o.deadline;
        return;
      }
      if (o.type === 'write') {
        for (const c of o.chunks) {
          handedParts.push(Buffer.from(c).toString('latin1'));
          const start = handedBytes;
          handedBytes += c.length;
          if (linkDead || clientClosed) continue;
          if (cut.side === 'client') {
            if (start >= cut.offset) continue;
            const keep = Math.min(c.length, cut.offset - start);
            server.feed(c.subarray(0, keep));
            if (start + keep >= cut.offset) cutPending = true;
          } else {
            server.feed(c);
          }
        }
      } else if (o.type === 'event') {
        if (o.event.type === 'transaction') results.push(o.event.result);
        if (o.event.type === 'closed') closedEvents++;
      } else if (o.type === 'close') {
        closeOutputs++;
        clientClosed = true;
      } else if (o.type === 'start-tls') {
        throw new Error('unexpected start-tls');
      }
    }
  };

  drain();
  for (let steps = 0; ; steps++) {
    if (steps > 100_000) throw new Error('the run does not come to rest');
    if (!linkDead && !clientClosed && toClient.length > 0) {
      let chunk = toClient.shift()!;
      if (cut.side === 'server' && delivered + chunk.length >= cut.offset) {
        chunk = chunk.subarray(0, cut.offset - delivered);
        toClient.length = 0;
        if (chunk.length) core.receive(chunk, now);
        delivered += chunk.length;
        drain();
        applyCut();
        drain();
        continue;
      }
      core.receive(chunk, now);
      delivered += chunk.length;
      drain();
      continue;
    }
    if (cutPending && !linkDead && !clientClosed) {
      cutPending = false;
      toClient.length = 0;
      applyCut();
      drain();
      continue;
    }
    if (deadline === undefined) break;
    now = Math.max(now, deadline);
    core.handleTimeout(now);
    drain();
  }
  handedParts = [handedParts.join('')];
  return { results, ids, server, handed: handedParts[0]!, delivered, closedEvents, closeOutputs, core };
}

function checkCoreRun(flavor: Flavor, cut: Cut, run: CoreRun): void {
  const where = `${flavor.name}, ${cut.kind} at ${cut.side} byte ${cut.offset}`;
  // Every transaction settles exactly once.
  assert.equal(
    run.results.map((r) => r.id).sort((a, b) => a - b),
    run.ids,
    `${where}: each send settles once`,
  );
  // The session ends, once, and asks for the link to close; nothing is left armed or held.
  assert.is(run.closedEvents, 1, `${where}: one closed event`);
  assert.is(run.closeOutputs, 1, `${where}: one close`);
  assert.ok(run.core.state === 'closed' || run.core.state === 'failed', `${where}: state ${run.core.state}`);
  assert.is(run.core.nextDeadline, undefined, `${where}: a timer left armed`);
  assert.is(run.core.bufferedAmount, 0, `${where}: body bytes still held`);
  const byId = new Map(run.results.map((r) => [r.id, r]));
  run.ids.forEach((id, i) => {
    const r = byId.get(id)!;
    const want = expected(run.server, run.delivered, run.handed, flavor.chunking, i);
    checkOutcome(r, want, undefined, `${where}, message ${i}`);
    checkRecipients(r, i, `${where}, message ${i}`);
  });
}

const counts = { coreCuts: 0, coreServerOffsets: 0, coreClientOffsets: 0, socketCuts: 0, socketConnectFailures: 0, lossyTolerated: 0 };

for (const flavor of FLAVORS) {
  test(`core, ${flavor.name}: a cut at every byte of both streams (EOF, reset, stall) settles every send truthfully`, () => {
    const full = runCore(flavor, { side: 'none', offset: 0, kind: 'eof' });
    checkCoreRun(flavor, { side: 'none', offset: 0, kind: 'eof' }, full);
    // The uncut run: all five end the way the server decided.
    assert.equal(
      full.results.sort((a, b) => a.id - b.id).map((r) => r.outcome),
      ['accepted', 'accepted', 'rejected', 'rejected', 'accepted'],
    );
    const serverLen = full.server.produced;
    const clientLen = full.handed.length;
    for (const kind of ['eof', 'reset', 'stall'] as const) {
      for (let offset = 0; offset <= serverLen; offset++) {
        const cut: Cut = { side: 'server', offset, kind };
        checkCoreRun(flavor, cut, runCore(flavor, cut));
        counts.coreCuts++;
        counts.coreServerOffsets++;
      }
      for (let offset = 0; offset <= clientLen; offset++) {
        const cut: Cut = { side: 'client', offset, kind };
        checkCoreRun(flavor, cut, runCore(flavor, cut));
        counts.coreCuts++;
        counts.coreClientOffsets++;
      }
    }
  });
}

// ---------------------------------------------------------------- real sockets, sampled

/** Records every byte the client hands to the (real) Node transport. */
function recordingTransport(handed: Buffer[]): Transport {
  return {
    name: 'node+recording',
    async connect(params: ConnectParams, handlers: LinkHandlers): Promise<Link> {
      const link = await nodeTransport.connect(params, handlers);
      return {
        write(chunks: Uint8Array[]): boolean {
          for (const c of chunks) handed.push(Buffer.from(c));
          return link.write(chunks);
        },
        startTls: () => link.startTls(),
        close: () => link.close(),
        destroy: (err?: unknown) => link.destroy(err),
        get secure() {
          return link.secure;
        },
      };
    },
  };
}

interface SocketCut {
  readonly side: 'server' | 'client';
  readonly offset: number;
  readonly kind: CutKind;
}

interface Conversation {
  model: ModelServer;
  /** Server bytes written to the socket before the cut. */
  sent: number;
  done: Promise<void>;
}

/** One listening server; each connection plays the model server and cuts as told. */
async function startModelServer(): Promise<{
  port: number;
  next(flavor: Flavor, cut: SocketCut): Promise<Conversation>;
  close(): Promise<void>;
}> {
  let pending: { flavor: Flavor; cut: SocketCut; resolve(c: Conversation): void } | undefined;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setNoDelay(true);
    const job = pending;
    pending = undefined;
    if (!job) {
      socket.destroy();
      return;
    }
    const { flavor, cut } = job;
    let finished!: () => void;
    const done = new Promise<void>((r) => (finished = r));
    socket.on('close', () => finished());
    let cutting = false;
    const conv: Conversation = { model: undefined as unknown as ModelServer, sent: 0, done };
    const doCut = (): void => {
      if (cutting) return;
      cutting = true;
      if (cut.kind === 'eof') socket.end();
      else if (cut.kind === 'reset') socket.write(Buffer.alloc(0), () => socket.resetAndDestroy());
      // stall: keep the socket open and say nothing; the client's timers end it
    };
    const emit = (bytes: Buffer): void => {
      if (cutting) return;
      if (cut.side === 'server' && conv.sent + bytes.length >= cut.offset) {
        const part = bytes.subarray(0, cut.offset - conv.sent);
        conv.sent += part.length;
        if (part.length) socket.write(part);
        doCut();
        return;
      }
      conv.sent += bytes.length;
      socket.write(bytes);
    };
    let received = 0;
    conv.model = new ModelServer(flavor, emit);
    if (cut.side === 'client' && cut.offset === 0) doCut();
    socket.on('data', (b: Buffer) => {
      if (cutting) return;
      if (cut.side === 'client') {
        const keep = Math.min(b.length, cut.offset - received);
        received += b.length;
        if (keep > 0) conv.model.feed(b.subarray(0, keep));
        if (received >= cut.offset) doCut();
        return;
      }
      conv.model.feed(b);
    });
    job.resolve(conv);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    next: (flavor, cut) => new Promise((resolve) => (pending = { flavor, cut, resolve })),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const SMALL = 150; // ms: every phase timer in the socket runs, so a stall ends quickly
const timeouts = {
  greeting: SMALL,
  hello: SMALL,
  starttls: SMALL,
  tlsHandshake: SMALL,
  auth: SMALL,
  mail: SMALL,
  rcpt: SMALL,
  data: SMALL,
  dataBlock: SMALL,
  dataEnd: SMALL,
  command: SMALL,
  quit: SMALL,
  connect: 2000,
  close: 500,
};

async function runSocket(srv: Awaited<ReturnType<typeof startModelServer>>, flavor: Flavor, cut: SocketCut): Promise<void> {
  const where = `socket ${flavor.name}, ${cut.kind} at ${cut.side} byte ${cut.offset}`;
  const handed: Buffer[] = [];
  const conversation = srv.next(flavor, cut);
  let client;
  try {
    client = await within(
      3000,
      connect({
        host: '127.0.0.1',
        port: srv.port,
        tls: 'none',
        name: 'client.fault.test',
        transport: recordingTransport(handed),
        pipelining: flavor.pipelining,
        chunking: flavor.chunking,
        pipelineWindow: 8,
        timeouts,
      }),
      `${where}: connect`,
    );
  } catch (err) {
    // Cut before the session was ready: connect() rejects with a typed error, nothing was sent.
    assert.instance(err, SmtpError, `${where}: ${String(err)}`);
    counts.socketConnectFailures++;
    await within(3000, (await conversation).done, `${where}: server side closes`);
    return;
  }
  const sends = PLANS.map((plan, i) => client.send({ from: 'sender@example.com', to: [...plan.rcpts], body: bodyOf(i) }));
  const results = await within(3000, Promise.all(sends), `${where}: sends`);
  await within(3000, client.close(), `${where}: close`);
  await within(3000, client.closed, `${where}: closed`);
  const conv = await conversation;
  await within(3000, conv.done, `${where}: server side closes`);
  const text = Buffer.concat(handed).toString('latin1');
  // After a reset the last bytes written may never be read; after EOF they always are.
  results.forEach((r, i) => {
    const want = expected(conv.model, conv.sent, text, flavor.chunking, i);
    const lossy = cut.kind === 'reset' ? { endHanded: text.includes(END_MARK(i, flavor.chunking)) } : undefined;
    if (lossy && want !== r.outcome) counts.lossyTolerated++;
    checkOutcome(r, want, lossy, `${where}, message ${i}`);
    checkRecipients(r, i, `${where}, message ${i}`);
  });
}

/** Cut points for the sampled socket runs, from an uncut core run of the same flavour. */
function samplePoints(flavor: Flavor): { server: number[]; client: number[] } {
  const full = runCore(flavor, { side: 'none', offset: 0, kind: 'eof' });
  const server = new Set<number>();
  for (const b of full.server.boundaries) for (const d of [-1, 0, 1]) server.add(b + d);
  for (let o = 0; o <= full.server.produced; o += 16) server.add(o);
  const client = new Set<number>(full.server.commandEnds);
  for (const b of full.server.commandEnds) client.add(b - 1);
  for (let o = 0; o <= full.handed.length; o += 64) client.add(o);
  const clamp = (xs: Set<number>, max: number) => [...xs].filter((x) => x >= 0 && x <= max).sort((a, b) => a - b);
  return { server: clamp(server, full.server.produced), client: clamp(client, full.handed.length) };
}

/** Active handles and requests, less stdio (a pipe to the test runner comes and goes with output). */
function resourceCounts(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) if (r !== 'PipeWrap' && r !== 'TTYWrap') m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

test('real sockets: sampled cut points (EOF and reset at both sides, a few stalls); nothing leaks', async () => {
  await sleep(20);
  const baseline = resourceCounts();
  const srv = await startModelServer();
  try {
    await socketSweep(srv);
  } finally {
    await srv.close();
  }
  // Sockets and timers return to the baseline.
  let now = resourceCounts();
  for (let i = 0; i < 50 && !sameResources(now, baseline); i++) {
    await sleep(20);
    now = resourceCounts();
  }
  assert.equal(Object.fromEntries(now), Object.fromEntries(baseline), 'active resources back to baseline');
});

async function socketSweep(srv: Awaited<ReturnType<typeof startModelServer>>): Promise<void> {
  for (const flavor of FLAVORS.slice(0, 2)) {
    const points = samplePoints(flavor);
    for (const kind of ['eof', 'reset'] as const) {
      for (const offset of points.server) {
        await runSocket(srv, flavor, { side: 'server', offset, kind });
        counts.socketCuts++;
      }
      for (const offset of points.client) {
        await runSocket(srv, flavor, { side: 'client', offset, kind });
        counts.socketCuts++;
      }
    }
    // Stalls end only by the client's timers: a handful, spread over the streams.
    const spread = (xs: number[], n: number) => Array.from({ length: n }, (_, k) => xs[Math.floor((k * (xs.length - 1)) / (n - 1))]!);
    for (const offset of spread(points.server, 6)) {
      await runSocket(srv, flavor, { side: 'server', offset, kind: 'stall' });
      counts.socketCuts++;
    }
    for (const offset of spread(points.client, 6)) {
      await runSocket(srv, flavor, { side: 'client', offset, kind: 'stall' });
      counts.socketCuts++;
    }
  }
}

function sameResources(a: Map<string, number>, b: Map<string, number>): boolean {
  const keys = new Set([...a.keys(), ...b.keys()]);
  for (const k of keys) if ((a.get(k) ?? 0) !== (b.get(k) ?? 0)) return false;
  return true;
}

test('no unhandled promise rejections', async () => {
  await sleep(20);
  assert.equal(unhandled, []);
});

test.after(() => {
  const total = counts.coreCuts + counts.socketCuts;
  console.log(
    `faults: ${total} cut points tried (core: ${counts.coreCuts} = ${counts.coreServerOffsets} server + ${counts.coreClientOffsets} client offsets x EOF/reset/stall over ${FLAVORS.length} flavours; ` +
      `real sockets: ${counts.socketCuts}, of which ${counts.socketConnectFailures} ended before the session was ready` +
      `${counts.lossyTolerated ? `, ${counts.lossyTolerated} outcomes unknown because a reset ate the reply` : ''})`,
  );
});

exitWhenDone(test);
test.run();
