#!/usr/bin/env node
// The blast radius of a dropped link: a pool of 3 sends N messages (default 20,000) to the
// benchmark sink (bench/sink.mjs) while the sink drops links at random, once per knob value of
// maxUnansweredEnds. With cross-message pipelining every transaction whose end (BDAT LAST) was
// written and not yet answered becomes `unknown` when its link drops; the knob bounds that
// number, and costs throughput. Prints one JSON line per run and a Markdown table at the end.
//
//   npm run build && node bench/blast-radius.mjs [--messages 20000] [--delay 5] [--drop 0.002]
//                                               [--knobs 1,2,4,8,16,32,none] [--connections 3]
//
// --delay MS   the sink answers each read MS ms late (a server that far away, roughly)
// --drop P     each message received ends, with probability P, in a dropped link
// Unknowns are never retried (the default); whole bodies caught by a link that dropped before
// their end was written are put back by the pool, so every message ends accepted or unknown.
// Per link: the pool's observer hook reports each session's unknown count when it closes.
import { spawn } from 'node:child_process';
import * as readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const N = Number(args.messages ?? 20_000);
const DELAY = Number(args.delay ?? 5);
const DROP = Number(args.drop ?? 0.002);
const CONNECTIONS = Number(args.connections ?? 3);
const KNOBS = String(args.knobs ?? '1,2,4,8,16,32,none')
  .split(',')
  .map((k) => (k === 'none' ? undefined : Number(k)));
const WINDOW = 64; // maxPendingPerConnection and pipelineWindow: the bound without the knob

const { createPool } = await import(new URL('../dist/transports/node.js', import.meta.url));

const sink = spawn(
  process.execPath,
  [fileURLToPath(new URL('./sink.mjs', import.meta.url)), '--delay', String(DELAY), '--drop', String(DROP)],
  {
    stdio: ['pipe', 'pipe', 'inherit'],
  },
);
const lines = readline.createInterface({ input: sink.stdout });
const pending = [];
lines.on('line', (line) => {
  const msg = JSON.parse(line);
  const i = pending.findIndex((p) => p.event === msg.event);
  if (i >= 0) pending.splice(i, 1)[0].resolve(msg);
});
const expect = (event) => new Promise((resolve) => pending.push({ event, resolve }));
const control = (op, event) => {
  const p = expect(event);
  sink.stdin.write(JSON.stringify(op) + '\n');
  return p;
};
const { port } = await expect('listening');

const body = (i) =>
  `From: a@example.com\r\nTo: b@example.com\r\nSubject: message ${i}\r\nMessage-ID: <${i}@blast.example>\r\n\r\n${'Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n'.repeat(16)}`;

const rows = [];
for (const knob of KNOBS) {
  await control({ op: 'reset', delay: DELAY, drop: DROP }, 'reset');
  const perLink = []; // unknowns of each session that ended with an error (a dropped link)
  const pool = createPool({
    host: '127.0.0.1',
    port,
    tls: 'none',
    maxConnections: CONNECTIONS,
    maxPendingPerConnection: WINDOW,
    pipelineWindow: WINDOW,
    maxMessagesPerConnection: Number.MAX_SAFE_INTEGER,
    maxQueued: N,
    retries: 0,
    ...(knob === undefined ? {} : { maxUnansweredEnds: knob }),
    observe: {
      connectionClosed: (e) => {
        if (e.error && e.opened) perLink.push(e.messages.unknown);
      },
    },
  });
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: N }, (_, i) => pool.send({ from: 'a@example.com', to: 'b@example.com', body: body(i) })),
  );
  const seconds = (performance.now() - t0) / 1000;
  const st = pool.stats();
  await pool.close();
  const server = await control({ op: 'stats', waitMs: 2000 }, 'stats');
  const count = (o) => results.filter((r) => r.outcome === o).length;
  const unknown = count('unknown');
  const row = {
    knob: knob ?? `none (${WINDOW})`,
    messages: N,
    seconds: +seconds.toFixed(2),
    perSecond: Math.round(N / seconds),
    accepted: count('accepted'),
    rejected: count('rejected'),
    unknown,
    drops: server.drops,
    requeued: st.requeued,
    unknownPerDrop: perLink.length ? +(perLink.reduce((a, b) => a + b, 0) / perLink.length).toFixed(1) : 0,
    maxUnknownPerDrop: perLink.length ? Math.max(...perLink) : 0,
    // Received by the sink but reported unknown: why unknown must never be read as "lost".
    unknownButReceived: server.messages - count('accepted'),
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}
sink.stdin.write(JSON.stringify({ op: 'exit' }) + '\n');
sink.kill();

console.log(`\n${N} messages, pool of ${CONNECTIONS}, sink reply delay ${DELAY} ms, drop probability ${DROP} per message\n`);
console.log(
  '| maxUnansweredEnds | msg/s | drops | unknown | unknown per drop (mean / max) | of those, received by the sink | put back (never ended) |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(
    `| ${r.knob} | ${r.perSecond} | ${r.drops} | ${r.unknown} | ${r.unknownPerDrop} / ${r.maxUnknownPerDrop} | ${r.unknownButReceived} | ${r.requeued} |`,
  );
}
process.exit(0);
