#!/usr/bin/env node
// The sink's ceiling: a trivial client that does no SMTP work at all. It greets, then writes
// pre-built bytes for every message at once (MAIL, RCPT and the body as BDAT LAST, or as DATA
// with the terminator) and only counts reply lines until every message has its final reply.
// Whatever rate it reaches is the most the sink (plus loopback) can take; a real client measured
// against the same sink is the bottleneck whenever it stays well below this.
//
//   node bench/blaster.mjs --host 127.0.0.1 --port P --n 2000 --file F [--mode bdat|data] [--stream]
//
// --stream (one message, BDAT): the body is piped from the file (fs.createReadStream, 1 MiB reads)
// instead of sent from memory: the most any Node client streaming that file could reach.
//
// Prints one JSON line: { client: "blaster", mode, sent, seconds, bytes, cpuS }.
import * as net from 'node:net';
import { createReadStream, readFileSync, statSync } from 'node:fs';

const args = parseArgs(process.argv.slice(2));
const host = args.host ?? '127.0.0.1';
const port = Number(args.port);
const n = Number(args.n ?? 1);
const mode = args.mode ?? 'bdat';
const stream = 'stream' in args;
if (stream && (n !== 1 || mode !== 'bdat')) throw new Error('--stream is for one message in BDAT mode');
const body = stream ? { length: statSync(args.file).size } : readFileSync(args.file);

const envelope = 'MAIL FROM:<bench@example.org>\r\nRCPT TO:<sink@example.org>\r\n';
let perMessage; // reply lines per message
const parts = [];
if (mode === 'bdat') {
  perMessage = 3;
  const head = Buffer.from(`${envelope}BDAT ${body.length} LAST\r\n`);
  for (let i = 0; i < n; i++) parts.push(head, body);
} else {
  // DATA: the fixture is CRLF text with no line starting with "." (no stuffing needed).
  perMessage = 4;
  const head = Buffer.from(`${envelope}DATA\r\n`);
  const tail = Buffer.from(body.at(-1) === 0x0a ? '.\r\n' : '\r\n.\r\n');
  for (let i = 0; i < n; i++) parts.push(head, body, tail);
}
// Small messages are pre-joined into one buffer; a big body stays one view (no copy).
const payload = stream ? parts.slice(0, 1) : body.length < 1 << 20 ? [Buffer.concat(parts)] : parts;
const total = payload.reduce((a, b) => a + b.length, 0) + (stream ? body.length : 0);

const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const socket = net.connect({ host, port });
socket.setNoDelay(true);
let stage = 'greeting';
let lines = 0;
let target = 0;
let writing = false;

socket.on('data', (buf) => {
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) {
    if (stage === 'greeting') {
      stage = 'ehlo';
      socket.write('EHLO blaster.invalid\r\n');
    } else if (stage === 'ehlo') {
      // The last line of the EHLO reply has a space after the code.
      const start = buf.lastIndexOf(0x0a, i - 1) + 1;
      if (buf[start + 3] === 0x20) {
        stage = 'blast';
        target = n * perMessage;
        blast();
      }
    } else if (stage === 'blast') {
      if (++lines === target) done();
    }
  }
});
socket.on('error', (err) => {
  console.error(`blaster: ${err.message}`);
  process.exit(1);
});

function blast() {
  if (writing) return;
  writing = true;
  socket.cork();
  for (const p of payload) socket.write(p);
  socket.uncork();
  if (stream) createReadStream(args.file, { highWaterMark: 1 << 20 }).pipe(socket, { end: false });
}

function done() {
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(cpu0);
  stage = 'quit';
  socket.end('QUIT\r\n');
  process.stdout.write(
    JSON.stringify({
      client: 'blaster',
      mode: stream ? 'bdat-stream' : mode,
      sent: n,
      seconds,
      bytes: total,
      cpuS: (c.user + c.system) / 1e6,
    }) + '\n',
  );
  setTimeout(() => process.exit(0), 50).unref();
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) out[a.slice(2)] = 'true';
    else out[a.slice(2)] = argv[++i];
  }
  return out;
}
