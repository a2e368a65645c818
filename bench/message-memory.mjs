#!/usr/bin/env node
// Peak memory of a built message with a large attachment (issue 14: a 100 MB attachment streams
// with peak RSS at most base + 32 MB). Not a timed test: it prints one JSON line.
//
//   npm run -s build && node bench/message-memory.mjs [--mb 100]
//
// It writes a file of random octets to a temp dir, starts bench/sink.mjs (in its own process,
// so the sink's memory is not counted), connects, and sends a text + HTML message with the file
// attached through fileBody() (read into the builder's buffer, base64-encoded line by line,
// pulled by the client as the socket drains). Base: this process's RSS once connected, with the
// message built. Peak: the kernel's high-water mark (VmHWM in /proc/self/status) after the send,
// reset just before it (writing 5 to /proc/self/clear_refs), so the file writing does not count.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const mbArg = process.argv.indexOf('--mb');
const MB = mbArg > 0 ? Number(process.argv[mbArg + 1]) : 100;
const root = new URL('..', import.meta.url).pathname;
const { connect, fileBody } = await import(join(root, 'dist/transports/node.js'));
const { buildMessage } = await import(join(root, 'dist/message/index.js'));

const dir = mkdtempSync(join(tmpdir(), 'smtpwire-msgmem-'));
const path = join(dir, 'big.bin');
{
  const out = createWriteStream(path);
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < MB; i++) {
    randomFillSync(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

const sink = spawn(process.execPath, [join(root, 'bench/sink.mjs'), '--port', '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: sink.stdout });
const port = await new Promise((resolve) => lines.once('line', (l) => resolve(JSON.parse(l).port)));

const hwm = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const rss = () => process.memoryUsage().rss / (1 << 20);

try {
  const client = await connect({ host: '127.0.0.1', port, tls: 'none' });
  const message = buildMessage({
    from: { name: 'Bench', address: 'bench@example.com' },
    to: 'sink@example.com',
    subject: `${MB} MB attachment`,
    text: 'See the attachment.',
    html: '<p>See the attachment.</p>',
    attachments: [{ filename: 'big.bin', content: () => fileBody(path) }],
  });
  globalThis.gc?.();
  const base = rss();
  writeFileSync('/proc/self/clear_refs', '5'); // reset VmHWM to the current RSS
  const t0 = performance.now();
  const result = await client.send(message);
  const seconds = (performance.now() - t0) / 1000;
  const peak = hwm();
  await client.close();
  if (result.outcome !== 'accepted') throw new Error(`not accepted: ${result.error?.message}`);
  const over = peak - base;
  console.log(
    JSON.stringify({
      attachmentMB: MB,
      seconds: +seconds.toFixed(2),
      rssBaseMB: +base.toFixed(1),
      rssPeakMB: +peak.toFixed(1),
      overBaseMB: +over.toFixed(1),
      limitMB: 32,
      ok: over <= 32,
    }),
  );
  process.exitCode = over <= 32 ? 0 : 1;
} finally {
  sink.stdin.write('{"op":"exit"}\n');
  sink.kill();
  rmSync(dir, { recursive: true, force: true });
}
