// Core-only benchmark: messages per second through the sans-IO state machine, no sockets, no
// event loop. An in-memory auto-responder plays the server: it parses what poll() writes
// (commands, DATA bodies, BDAT chunks) and answers every command at once, and its answers go
// straight back into receive(). Each round is: drain poll() until wait, answer everything
// written, feed the answers. The time the responder itself takes is measured and subtracted,
// so "core msg/s" is the core alone (and "with responder" is both).
//
//   node dist/bench/core.js [--json] [--n 2000] [--big-mib 50]
//   node dist/bench/core.js --cold [--json] [--n 2000]
//
// Every case is run once to warm the JIT, then 3 or 7 times; the median is reported. The
// "queued at once" rows show how the cost per message grows with the number of sends queued. --cold runs
// one case once in this fresh process (2,000 x 1 KiB, BDAT, the default window): what the
// core costs in a short-lived process like the drivers', before the JIT has warmed up.
import { SmtpConnection, type ConnectionOptions } from '../core/connection.ts';
import { simdScanner } from '../core/simd-scan.ts';

const enc = new TextEncoder();
const CR = 0x0d;
const LF = 0x0a;
const DATA_END = enc.encode('\r\n.\r\n');
const R = (s: string): Uint8Array => enc.encode(s + '\r\n');
const GREETING = R('220 responder ESMTP');
const EHLO_FULL = R('250-responder\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-8BITMIME\r\n250 SIZE 1073741824');
const EHLO_NO_CHUNKING = R('250-responder\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 1073741824');
const OK = R('250 2.0.0 Ok');
const GO = R('354 Go ahead');
const BYE = R('221 2.0.0 Bye');

/** The server side: a streaming parser that answers every command. */
class Responder {
  messages = 0;
  private mode: 'cmd' | 'data' | 'bdat' = 'cmd';
  private left = 0;
  private last = false;
  private match = 0;
  private partial: Uint8Array | undefined;
  private out: Uint8Array[] = [];
  private outBytes = 0;

  constructor(private readonly ehlo: Uint8Array) {}

  greet(): void {
    this.reply(GREETING);
  }

  push(chunk: Uint8Array): void {
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      if (this.mode === 'bdat') {
        const take = Math.min(this.left, n - pos);
        this.left -= take;
        pos += take;
        if (this.left === 0) this.endBdat();
      } else if (this.mode === 'data') {
        const end = this.scanData(chunk, pos);
        if (end < 0) break;
        pos = end;
        this.mode = 'cmd';
        this.messages++;
        this.reply(OK);
      } else {
        const lf = chunk.indexOf(LF, pos);
        if (lf < 0) {
          this.partial = concat(this.partial, chunk.subarray(pos));
          break;
        }
        if (this.partial) {
          const line = concat(this.partial, chunk.subarray(pos, lf + 1));
          this.partial = undefined;
          this.command(line, 0, line.length - 1);
        } else {
          this.command(chunk, pos, lf);
        }
        pos = lf + 1;
      }
    }
  }

  /** Everything answered so far, as one buffer (what a server's write would be). */
  take(): Uint8Array | undefined {
    if (this.out.length === 0) return undefined;
    const all = this.out.length === 1 ? this.out[0]! : concatAll(this.out, this.outBytes);
    this.out = [];
    this.outBytes = 0;
    return all;
  }

  private reply(bytes: Uint8Array): void {
    this.out.push(bytes);
    this.outBytes += bytes.length;
  }

  private command(b: Uint8Array, s: number, lf: number): void {
    const verb = String.fromCharCode(b[s]! | 0x20, b[s + 1]! | 0x20, b[s + 2]! | 0x20, b[s + 3]! | 0x20);
    switch (verb) {
      case 'ehlo':
        return this.reply(this.ehlo);
      case 'data':
        this.mode = 'data';
        this.match = 2;
        return this.reply(GO);
      case 'bdat': {
        let i = s + 5,
          size = 0;
        while (i < lf && b[i]! >= 0x30 && b[i]! <= 0x39) size = size * 10 + (b[i++]! - 0x30);
        this.last = i + 5 <= lf && (b[i + 1]! | 0x20) === 0x6c; // " LAST"
        this.left = size;
        this.mode = 'bdat';
        if (size === 0) this.endBdat();
        return;
      }
      case 'quit':
        return this.reply(BYE);
      default:
        return this.reply(OK); // MAIL, RCPT, RSET, NOOP
    }
  }

  private endBdat(): void {
    this.mode = 'cmd';
    if (this.last) this.messages++;
    this.reply(OK);
  }

  private scanData(b: Uint8Array, pos: number): number {
    const n = b.length;
    let m = this.match;
    while (m > 0 && pos < n) {
      const x = b[pos++]!;
      if (x === DATA_END[m]) {
        if (++m === 5) {
          this.match = 0;
          return pos;
        }
      } else m = x === CR ? 1 : 0;
    }
    if (pos >= n) {
      this.match = m;
      return -1;
    }
    // Find "\r\n.\r\n" from pos.
    for (let i = b.indexOf(CR, pos); i >= 0 && i < n; i = b.indexOf(CR, i + 1)) {
      if (i + 4 < n) {
        if (b[i + 1] === LF && b[i + 2] === 0x2e && b[i + 3] === CR && b[i + 4] === LF) {
          this.match = 0;
          return i + 5;
        }
      } else {
        let k = 0;
        while (i + k < n && b[i + k] === DATA_END[k]) k++;
        if (i + k === n) {
          this.match = k;
          return -1;
        }
      }
    }
    this.match = 0;
    return -1;
  }
}

function concat(a: Uint8Array | undefined, b: Uint8Array): Uint8Array {
  if (!a) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function concatAll(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

interface Result {
  name: string;
  messages: number;
  bytes: number;
  seconds: number;
  responderSeconds: number;
  rounds: number;
  msgsPerS: number;
  msgsPerSWithResponder: number;
  MBps: number;
}

/**
 * Send `n` messages of `body` (given whole, as client.send does with a Uint8Array), or one
 * message streamed in `chunk`-sized pieces when `stream` is set; run to QUIT.
 */
function run(name: string, opts: { n: number; body: Uint8Array; stream?: number; chunking: boolean; core?: ConnectionOptions }): Result {
  const server = new Responder(opts.chunking ? EHLO_FULL : EHLO_NO_CHUNKING);
  // The body scan the Node entry passes in (the core imports none of its own).
  const core = new SmtpConnection({ tls: 'none', bodyScan: simdScanner, ...opts.core });
  let accepted = 0;
  let failed = 0;
  let closed = false;
  let responder = 0;
  let rounds = 0;
  const t0 = performance.now();
  let now = Date.now();
  const drain = (): void => {
    for (;;) {
      const out = core.poll(now);
      if (out.type === 'wait') return;
      if (out.type === 'write') {
        const r0 = performance.now();
        for (const c of out.chunks) server.push(c);
        responder += performance.now() - r0;
      } else if (out.type === 'event') {
        const e = out.event;
        if (e.type === 'transaction') {
          if (e.result.outcome === 'accepted') accepted++;
          else failed++;
        } else if (e.type === 'closed') closed = true;
      } else if (out.type === 'close') closed = true;
    }
  };
  core.start(now);
  server.greet();
  let streamed = 0;
  let streamId = 0;
  if (opts.stream) {
    streamId = core.send({ from: 'bench@example.org', to: ['sink@example.org'], size: opts.body.length }, now);
  } else {
    for (let i = 0; i < opts.n; i++) {
      core.send({ from: 'bench@example.org', to: ['sink@example.org'], size: opts.body.length }, now, opts.body);
    }
  }
  core.quit(now);
  for (;;) {
    drain();
    // A streamed body is fed like the client does: up to a high-water mark of buffered bytes.
    if (opts.stream && streamed < opts.body.length) {
      while (streamed < opts.body.length && core.bufferedAmount < 1 << 20) {
        const piece = opts.body.subarray(streamed, Math.min(opts.body.length, streamed + opts.stream));
        streamed += piece.length;
        core.writeBody(streamId, piece, now);
        if (streamed === opts.body.length) core.endBody(streamId, now);
      }
      drain();
    }
    const r0 = performance.now();
    const answer = server.take();
    responder += performance.now() - r0;
    if (closed) break;
    if (!answer) {
      if (opts.stream && streamed < opts.body.length) continue;
      throw new Error(`${name}: stalled after ${accepted} messages (phase ${core.state})`);
    }
    rounds++;
    now = Date.now();
    core.receive(answer, now);
  }
  const seconds = (performance.now() - t0) / 1000;
  const messages = opts.stream ? 1 : opts.n;
  if (accepted !== messages || failed !== 0) throw new Error(`${name}: ${accepted} accepted, ${failed} failed of ${messages}`);
  const responderSeconds = responder / 1000;
  const coreSeconds = Math.max(1e-9, seconds - responderSeconds);
  const bytes = opts.body.length * messages;
  return {
    name,
    messages,
    bytes,
    seconds,
    responderSeconds,
    rounds,
    msgsPerS: messages / coreSeconds,
    msgsPerSWithResponder: messages / seconds,
    MBps: bytes / coreSeconds / 1e6,
  };
}

function message(size: number): Uint8Array {
  const line = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempo\r\n'; // 78 octets
  const head = 'From: <bench@example.org>\r\nTo: <sink@example.org>\r\nSubject: core bench\r\n\r\n';
  let text = head;
  while (text.length + line.length <= size - 3) text += line;
  text += 'x'.repeat(size - 2 - text.length) + '\r\n';
  return enc.encode(text);
}

function main(): void {
  const argv = process.argv.slice(2);
  const json = argv.includes('--json');
  const arg = (k: string, d: number): number => {
    const i = argv.indexOf(`--${k}`);
    return i >= 0 ? Number(argv[i + 1]) : d;
  };
  const n = arg('n', 2000);
  const bigMib = arg('big-mib', 50);
  const small = message(1024);
  if (argv.includes('--cold')) {
    const cold = arg('n', 2000);
    const r = run('bdat-1k-cold', { n: cold, body: small, chunking: true });
    const label = `${cold} x 1 KiB, BDAT, default window (64), cold (fresh process, no warm-up)`;
    if (json) process.stdout.write(JSON.stringify({ node: process.version, results: [{ label, ...r }] }) + '\n');
    else
      process.stdout.write(
        `${label}: ${Math.round(r.msgsPerS)} msg/s (core), ${Math.round(r.msgsPerSWithResponder)} msg/s with responder\n`,
      );
    return;
  }
  const big = message(bigMib * 1024 * 1024);
  const cases: [string, number, () => Result][] = [
    [`${n} x 1 KiB, BDAT, default window (64) (scenario a's shape)`, 7, () => run('bdat-1k', { n, body: small, chunking: true })],
    [`${n} x 1 KiB, BDAT, window 128`, 7, () => run('bdat-1k-w128', { n, body: small, chunking: true, core: { pipelineWindow: 128 } })],
    [`${n} x 1 KiB, BDAT, window 1`, 7, () => run('bdat-1k-w1', { n, body: small, chunking: true, core: { pipelineWindow: 1 } })],
    [`${n} x 1 KiB, DATA (no CHUNKING), default window`, 7, () => run('data-1k', { n, body: small, chunking: false })],
    [`${10 * n} x 1 KiB queued at once, BDAT, default window`, 3, () => run('bdat-1k-x10', { n: 10 * n, body: small, chunking: true })],
    [`${50 * n} x 1 KiB queued at once, BDAT, default window`, 3, () => run('bdat-1k-x50', { n: 50 * n, body: small, chunking: true })],
    [`1 x ${bigMib} MiB streamed in 1 MiB pieces, BDAT`, 3, () => run('bdat-big', { n: 1, body: big, stream: 1 << 20, chunking: true })],
    [`1 x ${bigMib} MiB streamed in 1 MiB pieces, DATA`, 3, () => run('data-big', { n: 1, body: big, stream: 1 << 20, chunking: false })],
  ];
  const results: (Result & { label: string })[] = [];
  for (const [label, times, fn] of cases) {
    fn(); // warm-up (JIT), not reported
    const runs: Result[] = [];
    for (let i = 0; i < times; i++) runs.push(fn());
    runs.sort((a, b) => a.seconds - b.seconds);
    results.push({ label, ...runs[(runs.length - 1) >> 1]! });
  }
  if (json) {
    process.stdout.write(JSON.stringify({ node: process.version, results }) + '\n');
    return;
  }
  process.stdout.write('| case | core msg/s | core MB/s | with responder msg/s | rounds |\n|---|---:|---:|---:|---:|\n');
  for (const r of results) {
    process.stdout.write(
      `| ${r.label} | ${Math.round(r.msgsPerS).toLocaleString('en-US')} | ${r.MBps.toFixed(0)} | ${Math.round(r.msgsPerSWithResponder).toLocaleString('en-US')} | ${r.rounds} |\n`,
    );
  }
}

process.stdout.on('error', () => {}); // e.g. piped into head
main();
