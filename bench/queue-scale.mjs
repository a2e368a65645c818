#!/usr/bin/env node
// Queue throughput: 1, 2 and 4 example workers (examples/queue/worker.mjs, pool of 3 each) on a
// BullMQ queue in a private redis-server, sending to the scale test's logging smtp-server sink.
// A measurement, not a test: prints one table for docs/performance.md.
//
//   npm run -s build && node bench/queue-scale.mjs [--messages 5000] [--workers 1,2,4]
//
// Each round queues all its messages first, then starts the workers; the rate is the server's:
// acknowledgements per second between its first and last acknowledgement of the round. CPU is
// what each process used in the round (utime + stime from /proc), per 1,000 messages.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { Queue } from 'bullmq';
import { tempDir, startRedis, startSink, startWorker, produce, settle, readSinkLog, stop } from '../test/scale/harness.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const N = Number(arg('messages', 5000));
const rounds = arg('workers', '1,2,4').split(',').map(Number);
const ticks = 100; // USER_HZ on Linux
const cpuOf = (pid) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / ticks; // utime, stime (fields 14, 15)
  } catch {
    return NaN;
  }
};

const dir = tempDir();
const redis = await startRedis(dir);
const sink = await startSink(join(dir, 'acknowledged.log'));
console.log(
  `${cpus().length} cores, load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}; ${N} messages a round`,
);
console.log('| workers | messages/s (server side) | CPU s per 1,000 msgs: workers | redis | sink |');
console.log('|---:|---:|---:|---:|---:|');
for (const w of rounds) {
  const queueName = `throughput-${w}`;
  const env = {
    REDIS_URL: redis.url,
    MAIL_QUEUE: queueName,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(sink.port),
    SMTP_TLS: 'none',
    POOL_SIZE: '3',
    CONCURRENCY: '24',
  };
  const inputs = Array.from({ length: N }, (_, i) => ({
    from: 'news@example.test',
    to: [`user${i}@example.test`],
    subject: `throughput ${w} ${i}`,
    text: `message ${i}\n`,
    headers: { 'X-Round': String(w) },
  }));
  await produce({ REDIS_URL: redis.url, MAIL_QUEUE: queueName }, inputs);
  const before = new Set(readSinkLog(sink.logFile).map((a) => a.id));
  const cpu0 = { redis: cpuOf(redis.process.pid), sink: cpuOf(sink.process.pid) };
  const workers = Array.from({ length: w }, (_, i) => startWorker(`t${w}-${i}`, env));
  const q = new Queue(queueName, { connection: { url: redis.url } });
  await settle(q, N, 600_000);
  const workerCpu = workers.reduce((s, p) => s + cpuOf(p.pid), 0);
  const cpu = { redis: cpuOf(redis.process.pid) - cpu0.redis, sink: cpuOf(sink.process.pid) - cpu0.sink };
  for (const p of workers) await stop(p);
  await q.close();
  const acks = readSinkLog(sink.logFile)
    .filter((a) => !before.has(a.id))
    .map((a) => a.at)
    .sort((a, b) => a - b);
  const rate = (acks.length - 1) / ((acks[acks.length - 1] - acks[0]) / 1000);
  const per = (s) => ((s * 1000) / N).toFixed(2);
  console.log(`| ${w} | ${rate.toFixed(0)} | ${per(workerCpu)} | ${per(cpu.redis)} | ${per(cpu.sink)} |`);
}
await stop(sink.process);
await stop(redis.process);
console.log(
  `load average after: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
