// The smtpwire benchmark driver: send N copies of a file through one client, as a user would.
//
//   npm run -s bench:driver -- --host H --port P --n N --file F
//       [--window W]       pipelineWindow (default: the library's default)
//       [--hwm BYTES]      client highWaterMark for streamed bodies (default: the library's)
//       [--read-size B]    file read size when streaming (N = 1): the client's readSize (the
//                          size of each buffer of its read ring), or createReadStream's
//                          highWaterMark with --source stream; default 1 MiB
//       [--source S]       how N = 1 streams the file: 'file' (default: fileBody(), read into
//                          the client's reused buffers) or 'stream' (fs.createReadStream, a
//                          fresh buffer per read: the way before fileBody existed)
//       [--chunk B]        BDAT chunk size (default: the library's)
//       [--from A] [--to A]
//
// N > 1: the file is read once and the same bytes are sent N times; every send is issued at
// once without awaiting the others, so they share the connection and pipeline (the client
// keeps at most pipelineWindow transactions in flight). N = 1: the body is streamed from the
// file, never loaded whole. close() is called as soon as everything is queued (it lets the
// sends finish), so QUIT can travel with the last transaction.
//
// Prints one JSON line on stdout:
//   { client, version, sent, seconds, cpuS, rssBaseMB, ... }
// seconds: from before connect to the last accepted reply (QUIT is not timed); cpuS: this
// process's user+system CPU over the same span; rssBaseMB: resident memory just before connect
// (after the runtime and the library are loaded), so an outside tool's peak RSS minus this is
// what sending cost. Exits 1 when any message was not accepted.
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { connect, fileBody, type SendResult } from '../transports/node.ts';

interface Args {
  host: string;
  port: number;
  n: number;
  file: string;
  window: number | undefined;
  hwm: number | undefined;
  chunk: number | undefined;
  readSize: number;
  source: 'file' | 'stream';
  from: string;
  to: string;
}

const MB = 1e6;

function parseArgs(argv: string[]): Args {
  const raw = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument: ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) raw.set(a.slice(2, eq), a.slice(eq + 1));
    else raw.set(a.slice(2), argv[++i] ?? '');
  }
  const num = (k: string, fallback?: number): number | undefined => {
    const v = raw.get(k);
    if (v === undefined) return fallback;
    const x = Number(v);
    if (!Number.isFinite(x) || x <= 0) throw new Error(`--${k} must be a positive number`);
    return x;
  };
  const file = raw.get('file');
  if (!file) throw new Error('--file is required');
  const source = raw.get('source') ?? 'file';
  if (source !== 'file' && source !== 'stream') throw new Error("--source must be 'file' or 'stream'");
  return {
    host: raw.get('host') ?? '127.0.0.1',
    port: num('port', 25)!,
    n: num('n', 1)!,
    file,
    window: num('window'),
    hwm: num('hwm'),
    chunk: num('chunk'),
    readSize: num('read-size', 1 << 20)!,
    source,
    from: raw.get('from') ?? 'bench@example.org',
    to: raw.get('to') ?? 'sink@example.org',
  };
}

function version(): string {
  try {
    // dist/bench/driver.js -> the package root
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const streamed = args.n === 1;
  // Small files are the body of every copy, read once, before the clock; a streamed file is
  // opened inside the clock, as a user sending it would.
  const whole = streamed ? undefined : readFileSync(args.file);
  const size = streamed ? statSync(args.file).size : whole!.length;

  const rssBase = process.memoryUsage.rss();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const client = await connect({
    host: args.host,
    port: args.port,
    tls: 'none',
    pipelineWindow: args.window,
    highWaterMark: args.hwm,
    chunkSize: args.chunk,
    readSize: streamed && args.source === 'file' ? args.readSize : undefined,
  });
  const sends: Promise<SendResult>[] = [];
  if (streamed) {
    const body = args.source === 'file' ? fileBody(args.file) : createReadStream(args.file, { highWaterMark: args.readSize });
    sends.push(client.send({ from: args.from, to: args.to, body, size }));
  } else {
    for (let i = 0; i < args.n; i++) sends.push(client.send({ from: args.from, to: args.to, body: whole! }));
  }
  // Everything is queued: ask for QUIT now. close() lets every queued send finish first, and the
  // core can then pipeline QUIT behind the last transaction instead of spending a round trip on it.
  const closing = client.close();
  const results = await Promise.all(sends);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await closing;

  const sent = results.filter((r) => r.outcome === 'accepted').length;
  const failed = results.length - sent;
  const out = {
    client: 'smtpwire',
    version: version(),
    sent,
    seconds,
    cpuS: (cpu.user + cpu.system) / 1e6,
    rssBaseMB: rssBase / MB,
    rssPeakMB: (process.resourceUsage().maxRSS * 1024) / MB,
    failed,
    bytes: size * args.n,
    options: {
      window: args.window ?? null,
      hwm: args.hwm ?? null,
      readSize: streamed ? args.readSize : null,
      source: streamed ? args.source : null,
    },
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  if (failed > 0) {
    const first = results.find((r) => r.outcome !== 'accepted');
    process.stderr.write(`driver: ${failed} message(s) not accepted; first: ${first?.outcome} ${first?.error?.message ?? ''}\n`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`driver: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
