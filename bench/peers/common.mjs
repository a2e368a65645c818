// Shared by the Node peer drivers: the driver contract's arguments and its one JSON line.
import { readFileSync } from 'node:fs';

export function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument: ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 >= argv.length || argv[i + 1].startsWith('--'))
      out[a.slice(2)] = 'true'; // a bare flag
    else out[a.slice(2)] = argv[++i];
  }
  if (!out.file) throw new Error('--file is required');
  return {
    ...out,
    host: out.host ?? '127.0.0.1',
    port: Number(out.port ?? 25),
    n: Number(out.n ?? 1),
    file: out.file,
    from: out.from ?? 'bench@example.org',
    to: out.to ?? 'sink@example.org',
  };
}

/** The installed version of an npm package (bench/peers -> the repository's node_modules). */
export function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/** Start the clock: call just before connecting. Returns stop(), which gives the timed fields. */
export function startClock() {
  const rssBase = process.memoryUsage.rss();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { seconds, cpuS: (cpu.user + cpu.system) / 1e6, rssBaseMB: rssBase / 1e6 };
  };
}

export function report(fields) {
  const peak = (process.resourceUsage().maxRSS * 1024) / 1e6;
  process.stdout.write(JSON.stringify({ ...fields, rssPeakMB: peak }) + '\n');
}

/** Split an RFC 5322 message into its header block and body (for APIs that compose their own). */
export function splitMessage(buf) {
  const i = buf.indexOf('\r\n\r\n');
  return i < 0 ? { headers: '', body: buf } : { headers: buf.subarray(0, i + 2).toString('latin1'), body: buf.subarray(i + 4) };
}
