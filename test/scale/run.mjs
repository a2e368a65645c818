// npm run test:scale: smtpwire workers on a real BullMQ queue on a real redis-server, checked
// against the log of an independent SMTP server (smtp-server) of the messages it acknowledged.
//
// Phase 1, accounting: the example producer queues SCALE_MESSAGES (default 20,000) messages with
// unique Message-IDs; three example workers (a pool each) send them; one is SIGKILLed mid-run,
// another is drained with SIGTERM and started again. Some recipients get 550 (permanent), some
// 451 once (transient), a few messages have their link cut after the server took them (unknown).
// Then every job's final state is compared with the server's log.
// Phase 2, rate: two destinations (queues) with different limits that bind, three workers each,
// at the same time; each destination's server-side acceptance rate must be within 10 % of its limit.
// Closing line: "N passed, N failed"; exit status 1 on any failure.
import { Queue } from 'bullmq';
import { join } from 'node:path';
import { tempDir, startRedis, startSink, startWorker, produce, allJobs, settle, readSinkLog, stop } from './harness.mjs';

const N = Number(process.env.SCALE_MESSAGES ?? 20_000);
let passed = 0,
  failed = 0;
const check = (ok, what, detail = '') => {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ` (${detail})` : ''}`);
};

// A phase that throws (a process that does not start, a queue that does not settle) is a failure
// too, with the closing line CI reads.
const crash = (err) => {
  console.log(`FAIL ${err?.stack ?? err}`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

if (!(Number.isInteger(N) && N >= 1000)) throw new Error('SCALE_MESSAGES must be an integer >= 1000');

const dir = tempDir();
const redis = await startRedis(dir);
const sink = await startSink(join(dir, 'acknowledged.log'));
const connection = { url: redis.url };
const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(1);
console.log(`redis ${redis.url}, sink 127.0.0.1:${sink.port}, ${N} messages`);

// ---- Phase 1: accounting -------------------------------------------------------------------
// Message i: kind by index. 'mixed' has one good and one 550 recipient (accepted, with a refusal).
const kindOf = (i) => (i % 4000 === 199 ? 'drop' : i % 200 === 7 ? 'perm' : i % 150 === 11 ? 'temp' : i % 333 === 5 ? 'mixed' : 'ok');
const inputs = [];
for (let i = 0; i < N; i++) {
  const kind = kindOf(i);
  const to =
    kind === 'ok'
      ? [`user${i}@example.test`]
      : kind === 'mixed'
        ? [`user${i}@example.test`, `perm-${i}@example.test`]
        : [`${kind}-${i}@example.test`];
  inputs.push({
    from: 'news@example.test',
    to,
    subject: `scale ${i}`,
    text: `message ${i} of ${N}\n`,
    headers: { 'X-Scale-Index': String(i) },
  });
}
const queueName = 'mail-accounting';
const workerEnv = {
  REDIS_URL: redis.url,
  MAIL_QUEUE: queueName,
  SMTP_HOST: '127.0.0.1',
  SMTP_PORT: String(sink.port),
  SMTP_TLS: 'none',
  POOL_SIZE: '3',
  CONCURRENCY: '24',
  LOCK_MS: '6000',
  STALLED_CHECK_MS: '2000',
};
const producerEnv = { REDIS_URL: redis.url, MAIL_QUEUE: queueName, MAIL_ATTEMPTS: '5', MAIL_BACKOFF_MS: '300' };
const workers = [1, 2, 3].map((n) => startWorker(`w${n}`, workerEnv));
await Promise.all(workers.map((w) => w.waitFor((e) => e.event === 'ready', 20_000, 'ready line')));

const queue = new Queue(queueName, { connection });
const parked = new Queue(`${queueName}-unknown`, { connection });
const produced = produce(producerEnv, inputs);
let killed = false,
  restarted = false,
  killedAt = 0,
  drainedExit,
  restartPromise;
const progress = async (c) => {
  const done = c.completed + c.failed;
  if (!killed && done >= N * 0.25) {
    killed = true;
    killedAt = done;
    workers[0].kill('SIGKILL');
    console.log(`${secs()} s: ${done} jobs done, SIGKILL w1`);
  }
  if (killed && !restarted && done >= N * 0.5) {
    restarted = true;
    console.log(`${secs()} s: ${done} jobs done, SIGTERM w2 (drain), then start it again`);
    restartPromise = (async () => {
      const t = Date.now();
      drainedExit = await stop(workers[1], 'SIGTERM');
      drainedExit.ms = Date.now() - t;
      drainedExit.closed = workers[1].lines.some((e) => e.event === 'closed');
      drainedExit.heldAtSigterm = workers[1].lines.find((e) => e.event === 'draining')?.inFlight;
      drainedExit.heldAfterDrain = workers[1].lines.find((e) => e.event === 'drained')?.inFlight;
      workers[1] = startWorker('w2b', workerEnv);
      await workers[1].waitFor((e) => e.event === 'ready', 20_000, 'ready line');
    })();
  }
};
const tStart = Date.now();
const queuedEv = await produced;
const counts = await settle(queue, N, 240_000, progress);
const elapsed = (Date.now() - tStart) / 1000;
await restartPromise;
console.log(`${secs()} s: settled ${JSON.stringify(counts)}; ${(N / elapsed).toFixed(0)} jobs/s overall`);
check(queuedEv.jobs === N, 'producer queued every message', `${queuedEv.jobs}`);
check(killed && restarted, 'a worker was SIGKILLed and another drained and restarted mid-run', `kill at ${killedAt} done`);
check(
  drainedExit?.code === 0 && drainedExit.closed && drainedExit.heldAtSigterm > 0 && drainedExit.heldAfterDrain === 0,
  'the SIGTERMed worker held jobs, finished them all, closed its pool and exited 0',
  `${JSON.stringify(drainedExit)}`,
);

const completed = await allJobs(queue, ['completed']);
const failedJobs = await allJobs(queue, ['failed']);
const parkedJobs = await allJobs(parked, ['wait', 'waiting', 'delayed', 'prioritized']);
const acks = readSinkLog(sink.logFile);
const refusedCount = new Map(); // "code address" -> times the server refused it
for (const r of acks.refusals) refusedCount.set(`${r.code} ${r.address}`, (refusedCount.get(`${r.code} ${r.address}`) ?? 0) + 1);
const ackCount = new Map();
for (const a of acks) ackCount.set(a.id, (ackCount.get(a.id) ?? 0) + 1);

const byId = new Map(); // Message-ID -> { state, job }
for (const j of completed)
  byId.set(j.data.messageId, {
    state: j.returnvalue?.outcome === 'accepted' ? 'accepted' : j.returnvalue?.outcome === 'unknown' ? 'unknown' : 'bad',
    job: j,
  });
for (const j of failedJobs) byId.set(j.data.messageId, { state: byId.has(j.data.messageId) ? 'twice' : 'failed', job: j });
const parkedIds = new Set(parkedJobs.map((j) => j.data.messageId));
const indexOf = (job) => Number(/^X-Scale-Index: (\d+)/m.exec(job.data.raw)[1]);

let acceptedNotAcked = 0,
  failedButAcked = 0,
  dupNotUnknown = 0,
  lost = 0,
  bad = 0,
  unknownNotParked = 0;
const tally = {
  accepted: 0,
  failed: 0,
  unknown: 0,
  unknownAcked: 0,
  unknownNotAcked: 0,
  unknownStalled: 0,
  unknownNoReply: 0,
  dupUnknown: 0,
};
const kinds = { perm: { n: 0, right: 0 }, temp: { n: 0, right: 0 }, drop: { n: 0, right: 0 }, mixed: { n: 0, right: 0 } };
const enqueuedIds = new Set();
for (const [id, { state, job }] of byId) {
  enqueuedIds.add(id);
  const n = ackCount.get(id) ?? 0;
  const kind = kindOf(indexOf(job));
  if (state === 'accepted') {
    tally.accepted++;
    if (n === 0) acceptedNotAcked++;
  } else if (state === 'failed') {
    tally.failed++;
    if (n > 0) failedButAcked++;
  } else if (state === 'unknown') {
    tally.unknown++;
    if (n > 0) tally.unknownAcked++;
    else tally.unknownNotAcked++;
    if (n > 1) tally.dupUnknown++;
    if (/stopped answering/.test(job.returnvalue.why ?? '')) tally.unknownStalled++;
    else tally.unknownNoReply++;
    if (!parkedIds.has(id)) unknownNotParked++;
  } else bad++;
  if (n > 1 && state !== 'unknown') dupNotUnknown++;
  if (kind !== 'ok' && state !== 'unknown') {
    const k = kinds[kind];
    k.n++;
    const rv = job.returnvalue;
    const i = indexOf(job);
    // The server's own log: the 550 was given once (no attempt after it), the 451 once (then 250).
    if (kind === 'perm')
      k.right += state === 'failed' && /550/.test(job.failedReason ?? '') && refusedCount.get(`550 perm-${i}@example.test`) === 1 ? 1 : 0;
    if (kind === 'temp')
      k.right += state === 'accepted' && job.attemptsMade >= 1 && refusedCount.get(`451 temp-${i}@example.test`) === 1 ? 1 : 0;
    if (kind === 'mixed')
      k.right +=
        state === 'accepted' &&
        rv.accepted.length === 1 &&
        rv.rejected.length === 1 &&
        rv.rejected[0].code === 550 &&
        !rv.rejected[0].transient &&
        refusedCount.get(`550 perm-${i}@example.test`) === 1
          ? 1
          : 0;
  }
  if (kind === 'drop') {
    kinds.drop.n++;
    kinds.drop.right += state === 'unknown' && n === 1 ? 1 : 0;
  }
}
const unexplainedAcks = [...ackCount.keys()].filter((id) => !enqueuedIds.has(id)).length;
lost = N - byId.size;

console.log('');
console.log("accounting (job state vs. the server's log of acknowledged messages)");
console.log(`  enqueued                          ${N}`);
console.log(`  completed, accepted               ${tally.accepted}   (server acknowledged: ${tally.accepted - acceptedNotAcked})`);
console.log(`  failed (permanent / retries out)  ${tally.failed}   (server acknowledged: ${failedButAcked})`);
console.log(
  `  unknown, parked                   ${tally.unknown}   (server has ${tally.unknownAcked}, has not ${tally.unknownNotAcked}; worker died: ${tally.unknownStalled}, link cut: ${tally.unknownNoReply}; delivered twice: ${tally.dupUnknown})`,
);
console.log(`  no final state (lost)             ${lost}`);
console.log(`  server acknowledgements           ${acks.length} for ${ackCount.size} Message-IDs`);
console.log(`  perm 550: failed, server refused once ${kinds.perm.right}/${kinds.perm.n}`);
console.log(`  temp 451 once, retried, accepted   ${kinds.temp.right}/${kinds.temp.n}`);
console.log(`  mixed accepted with 550 recipient ${kinds.mixed.right}/${kinds.mixed.n}`);
console.log(`  link cut after data: unknown, server has it once  ${kinds.drop.right}/${kinds.drop.n}`);
console.log('');

check(byId.size === N && lost === 0, 'every message has a final job state', `${byId.size} of ${N}`);
check(bad === 0, 'every job state is accepted, failed or unknown', `${bad} other`);
check(acceptedNotAcked === 0, 'nothing reported accepted that the server did not acknowledge', `${acceptedNotAcked}`);
check(failedButAcked === 0, 'nothing acknowledged and reported failed', `${failedButAcked}`);
check(
  dupNotUnknown === 0,
  'no message delivered twice unless its job ended unknown',
  `${dupNotUnknown}; unknown delivered twice: ${tally.dupUnknown}`,
);
check(unexplainedAcks === 0, 'every acknowledged Message-ID is one we queued', `${unexplainedAcks}`);
check(
  ackCount.size === tally.accepted + tally.unknownAcked,
  'nothing lost: acknowledged = accepted + unknown-but-delivered',
  `${ackCount.size} vs ${tally.accepted} + ${tally.unknownAcked}`,
);
check(
  unknownNotParked === 0 && parkedJobs.length === tally.unknown,
  'every unknown job is parked on the -unknown queue, none retried',
  `${parkedJobs.length} parked, ${tally.unknown} unknown`,
);
check(tally.unknownStalled > 0, "the killed worker's in-flight jobs came back as unknown (not re-sent)", `${tally.unknownStalled}`);
check(
  tally.unknownStalled <= Number(workerEnv.CONCURRENCY),
  'only the killed worker left jobs behind (the drained one finished its own)',
  `${tally.unknownStalled} stalled, at most ${workerEnv.CONCURRENCY} held by the killed worker`,
);
check(
  kinds.perm.n > 0 && kinds.perm.right === kinds.perm.n,
  '550: failed, not retried (the server refused each address once)',
  `${kinds.perm.right}/${kinds.perm.n}`,
);
check(
  kinds.temp.n > 0 && kinds.temp.right === kinds.temp.n,
  '451: retried with backoff, then accepted',
  `${kinds.temp.right}/${kinds.temp.n}`,
);
check(
  kinds.mixed.n > 0 && kinds.mixed.right === kinds.mixed.n,
  'accepted with per-recipient results (one 550 recipient)',
  `${kinds.mixed.right}/${kinds.mixed.n}`,
);
check(
  kinds.drop.n > 0 && kinds.drop.right === kinds.drop.n,
  'link cut after the server took it: unknown, delivered once',
  `${kinds.drop.right}/${kinds.drop.n}`,
);
check(tally.failed === kinds.perm.n, 'the only failed jobs are the 550 ones', `${tally.failed} failed, ${kinds.perm.n} perm`);
for (const w of workers) await stop(w);
await queue.close();
await parked.close();

// ---- Phase 2: the shared rate limit, per destination ---------------------------------------
// Two destinations (two queues, as docs/scale-out.md sets it up), each with its own limit and
// its own three workers, at the same time: A 50 jobs per second, B 20. Each queues `max` x W
// messages (W windows of the limiter); measured at the server: the first acknowledgement falls at
// the start of the first window and the last in the last, so the sustained rate is
// (n - max) / (last - first). (BullMQ's windows are fixed: a count inside an arbitrary interval
// would be off by up to a window's worth.)
const RATE_SECONDS = Number(process.env.SCALE_RATE_SECONDS ?? 10);
if (!(Number.isInteger(RATE_SECONDS) && RATE_SECONDS >= 2)) throw new Error('SCALE_RATE_SECONDS must be an integer >= 2');
async function rateRound(label, max, ms) {
  const limit = (max * 1000) / ms;
  const name = `mail-rated-${label}`;
  const env = { ...workerEnv, MAIL_QUEUE: name, RATE_MAX: String(max), RATE_MS: String(ms), CONCURRENCY: '8' };
  const ws = [1, 2, 3].map((n) => startWorker(`${label}${n}`, env));
  await Promise.all(ws.map((w) => w.waitFor((e) => e.event === 'ready', 20_000, 'ready line')));
  const n = max * (RATE_SECONDS + 1);
  const inputs = Array.from({ length: n }, (_, i) => ({
    from: 'news@example.test',
    to: [`rate-${label}${i}@example.test`],
    subject: `rate ${label} ${i}`,
    text: 'x\n',
  }));
  const q = new Queue(name, { connection });
  await produce({ ...producerEnv, MAIL_QUEUE: name }, inputs);
  await settle(q, n, 120_000);
  const jobs = await allJobs(q, ['completed']);
  const ids = new Set(jobs.map((j) => j.data.messageId));
  const share = {};
  for (const j of jobs) share[j.processedBy] = (share[j.processedBy] ?? 0) + 1;
  for (const w of ws) await stop(w);
  await q.close();
  return { label, max, limit, n, ids, share };
}
const rounds = await Promise.all([rateRound('a', 50, 1000), rateRound('b', 20, 1000)]);
const allAcks = readSinkLog(sink.logFile);
for (const { label, max, limit, n, ids, share } of rounds) {
  const acks = allAcks.filter((a) => ids.has(a.id)).sort((x, y) => x.at - y.at);
  const first = acks[0].at,
    last = acks[acks.length - 1].at;
  const measured = (acks.length - max) / ((last - first) / 1000);
  console.log(
    `rate ${label}: ${acks.length} acknowledged over ${((last - first) / 1000).toFixed(2)} s = ${measured.toFixed(1)}/s sustained; limit ${limit}/s; per worker ${JSON.stringify(share)}`,
  );
  check(acks.length === n && ids.size === n, `rate ${label}: every message acknowledged once`, `${acks.length}/${n}`);
  check(
    Math.abs(measured - limit) <= 0.1 * limit,
    `rate ${label}: the destination's limit holds within 10 % across three workers (server-side rate)`,
    `${measured.toFixed(1)}/s vs ${limit}/s`,
  );
  check(
    Object.keys(share).length === 3 && Object.values(share).every((k) => k > n / 10),
    `rate ${label}: all three workers sent under the shared limit`,
    JSON.stringify(share),
  );
}
await stop(sink.process);
await stop(redis.process);
console.log(`${secs()} s in all`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
