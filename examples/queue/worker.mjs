#!/usr/bin/env node
// Worker: takes mail jobs from a BullMQ queue and sends them through one smtpwire pool.
//
//   REDIS_URL=redis://127.0.0.1:6379 MAIL_QUEUE=mail-smtp.example.net SMTP_HOST=smtp.example.net \
//   SMTP_PORT=587 RATE_MAX=100 RATE_MS=1000 node examples/queue/worker.mjs
//
// Run as many as you like, on as many machines: they share the queue and its rate limit
// (RATE_MAX jobs per RATE_MS for the whole queue, all workers together: BullMQ's limiter lives in
// Redis). Outcomes become job states (client/job-queue.ts):
//   accepted -> completed (result: per-recipient replies)   rejected 5xx -> failed, not retried
//   rejected 4xx -> retried with backoff                     unknown -> parked on MAIL_QUEUE-unknown
// SIGTERM / SIGINT: stop taking jobs, let the ones in flight end, close the pool, exit 0.
import { Queue, Worker, UnrecoverableError } from 'bullmq';
import { createPool } from 'smtpwire/node';
import { mailProcessor } from 'smtpwire/queue';

const env = process.env;
const num = (name, fallback) => (env[name] === undefined ? fallback : Number(env[name]));
const connection = { url: env.REDIS_URL ?? 'redis://127.0.0.1:6379' };
const queueName = env.MAIL_QUEUE ?? 'mail';
const name = env.WORKER_NAME ?? `worker-${process.pid}`;
const say = (event, extra = {}) => console.log(JSON.stringify({ event, worker: name, ...extra }));

const pool = createPool({
  host: env.SMTP_HOST ?? '127.0.0.1',
  port: num('SMTP_PORT', 25),
  tls: env.SMTP_TLS ?? 'starttls',
  ...(env.SMTP_USER ? { auth: { user: env.SMTP_USER, pass: env.SMTP_PASS } } : {}),
  maxConnections: num('POOL_SIZE', 4),
  retries: 0, // the queue retries, with its backoff and its record of attempts
});

// Unknown jobs go to a queue nobody consumes: they wait there for a person or a policy.
const parked = new Queue(`${queueName}-unknown`, { connection });
const park = (job, record) => parked.add('unknown', { ...job.data, record }, { jobId: job.id, removeOnComplete: false });

const rateMax = num('RATE_MAX', 0);
const processMail = mailProcessor({ send: (m) => pool.send(m), permanentError: UnrecoverableError, park });
let inFlight = 0; // jobs between fetch and outcome, for the drain's log lines
const processor = async (job) => {
  inFlight++;
  try {
    return await processMail(job);
  } finally {
    inFlight--;
  }
};
const worker = new Worker(queueName, processor, {
  connection,
  name, // shows as job.processedBy
  concurrency: num('CONCURRENCY', 4 * num('POOL_SIZE', 4)),
  ...(rateMax > 0 ? { limiter: { max: rateMax, duration: num('RATE_MS', 1000) } } : {}),
  // A dead worker's jobs come back after lockDuration; they are then parked as unknown, never
  // re-sent, and maxStalledCount must leave room for that one parking run.
  lockDuration: num('LOCK_MS', 30_000),
  stalledInterval: num('STALLED_CHECK_MS', 30_000),
  maxStalledCount: 5,
});
worker.on('error', (err) => say('error', { message: err.message }));
worker.on('ready', () => say('ready'));

let draining = false;
async function drain(signal) {
  if (draining) return;
  draining = true;
  say('draining', { signal, inFlight });
  await worker.close(); // stops fetching; resolves when the jobs in flight have ended
  say('drained', { inFlight });
  await pool.close(); // QUIT every session
  await parked.close();
  say('closed');
  process.exit(0);
}
process.on('SIGTERM', () => void drain('SIGTERM'));
process.on('SIGINT', () => void drain('SIGINT'));
