#!/usr/bin/env node
// A check on where scenario a-sustained's time goes, not a client: the core (dist/core/full.js)
// driven over a node:net socket by the thinnest loop that can run it (no SmtpClient: no timers,
// no abort handling, no pending table, one promise per send), with the driver contract of
// bench/floor.mjs. Run interleaved with the floor client and the smtpwire driver against
// bench/sink.mjs; when it is no faster than the full client, the client layer is not the gap.
//
//   npm run build && node bench/core-over-socket.mjs --port P --n 20000 --file F [--window W]
import * as net from 'node:net';
import { readFileSync } from 'node:fs';
import { SmtpConnection } from '../dist/core/full.js';
import { simdScanner } from '../dist/core/simd-scan.js';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const n = Number(args.n ?? 1);
const body = readFileSync(args.file);

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const socket = net.connect({ host: args.host ?? '127.0.0.1', port: Number(args.port) });
socket.setNoDelay(true);
await new Promise((resolve) => socket.once('connect', resolve));
const core = new SmtpConnection({ tls: 'none', bodyScan: simdScanner, pipelineWindow: Number(args.window ?? 64) });
const waiting = new Map(); // transaction id -> its promise's resolve
let ready;
const isReady = new Promise((resolve) => (ready = resolve));
const drain = () => {
  for (;;) {
    const out = core.poll(Date.now());
    if (out.type === 'wait') return;
    if (out.type === 'write') {
      socket.cork();
      for (const c of out.chunks) socket.write(c);
      socket.uncork();
    } else if (out.type === 'event') {
      const e = out.event;
      if (e.type === 'transaction') {
        waiting.get(e.result.id)(e.result);
        waiting.delete(e.result.id);
      } else if (e.type === 'ready') ready();
    } else if (out.type === 'close') socket.end();
  }
};
socket.on('data', (bytes) => {
  core.receive(bytes, Date.now());
  drain();
});
core.start(Date.now());
await isReady;
const sends = [];
for (let i = 0; i < n; i++) {
  const id = core.send({ from: args.from ?? 'bench@example.org', to: [args.to ?? 'sink@example.org'] }, Date.now(), body);
  sends.push(new Promise((resolve) => waiting.set(id, resolve)));
}
drain();
const results = await Promise.all(sends);
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
core.quit(Date.now());
drain();
const sent = results.filter((r) => r.outcome === 'accepted').length;
process.stdout.write(
  JSON.stringify({ client: 'core-over-socket', sent, seconds, cpuS: (cpu.user + cpu.system) / 1e6, failed: n - sent }) + '\n',
);
process.exitCode = sent === n ? 0 : 1;
