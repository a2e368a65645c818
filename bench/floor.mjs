#!/usr/bin/env node
// The floor: the thinnest correct pipelining BDAT client in plain Node, with no checks at all.
// It has the shape every client library has (send() returns a promise of the message's outcome,
// settled from its replies in order) and nothing else: it waits for the greeting, sends EHLO and
// waits for its last line, then each send() writes MAIL, RCPT and BDAT <size> LAST with the body
// at once (CHUNKING and PIPELINING are assumed, not read from the EHLO reply), reply lines are
// counted off a FIFO (three per message; accepted when all three start with 2), and QUIT ends it.
// No address validation, no body scan, no per-recipient results, no timeouts, no window: what
// the runtime itself costs for this traffic. bench/run.mjs reports smtpwire's rate as a share of
// this one's, measured interleaved against the same sink. (bench/blaster.mjs, the sink's ceiling,
// is thinner still: pre-joined bytes, no per-message work at all.)
//
//   node bench/floor.mjs --host 127.0.0.1 --port P --n 2000 --file F
//
// Same contract as the other drivers: one JSON line { client, version, sent, seconds, cpuS,
// rssBaseMB, rssPeakMB, failed, bytes }; seconds from before connect to the last reply (QUIT is
// not timed). Exits 1 unless every message was accepted.
import * as net from 'node:net';
import { readFileSync } from 'node:fs';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const n = Number(args.n ?? 1);
const body = readFileSync(args.file);

function connect(host, port) {
  return new Promise((resolveReady, rejectReady) => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    const pending = []; // one entry per message: its promise's resolve
    let head = 0;
    let stage = 0; // 0 greeting, 1 EHLO, 2 transactions
    let replies = 0; // of the message at the head
    let positive = 0;
    let rest = ''; // a reply line split across reads
    const client = {
      send(from, to, data) {
        socket.write(`MAIL FROM:<${from}>\r\nRCPT TO:<${to}>\r\nBDAT ${data.length} LAST\r\n`);
        socket.write(data);
        return new Promise((resolve) => pending.push(resolve));
      },
      quit() {
        socket.end('QUIT\r\n');
      },
    };
    socket.on('data', (text) => {
      text = rest + text;
      let start = 0;
      for (let eol = text.indexOf('\n'); eol >= 0; start = eol + 1, eol = text.indexOf('\n', start)) {
        if (text.charCodeAt(start + 3) === 0x2d) continue; // "250-": not a reply's last line
        if (stage === 2) {
          if (text.charCodeAt(start) === 0x32) positive++;
          if (++replies === 3) {
            pending[head++](positive === 3);
            replies = positive = 0;
          }
        } else if (stage === 0) {
          stage = 1;
          socket.write('EHLO floor.invalid\r\n');
        } else {
          stage = 2;
          resolveReady(client);
        }
      }
      rest = text.slice(start);
    });
    socket.on('error', rejectReady);
  });
}

const rssBase = process.memoryUsage.rss();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const client = await connect(args.host ?? '127.0.0.1', Number(args.port));
const sends = [];
for (let i = 0; i < n; i++) sends.push(client.send(args.from ?? 'bench@example.org', args.to ?? 'sink@example.org', body));
const results = await Promise.all(sends);
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
client.quit();
const sent = results.filter(Boolean).length;
process.stdout.write(
  JSON.stringify({
    client: 'floor',
    version: process.version,
    sent,
    seconds,
    cpuS: (cpu.user + cpu.system) / 1e6,
    rssBaseMB: rssBase / 1e6,
    rssPeakMB: (process.resourceUsage().maxRSS * 1024) / 1e6,
    failed: n - sent,
    bytes: body.length * n,
  }) + '\n',
);
process.exitCode = sent === n ? 0 : 1;
