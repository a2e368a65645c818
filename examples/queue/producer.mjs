#!/usr/bin/env node
// Producer: composes messages and puts them on a BullMQ queue, one job per message.
//
//   REDIS_URL=redis://127.0.0.1:6379 MAIL_QUEUE=mail-smtp.example.net \
//     node examples/queue/producer.mjs < mails.jsonl
//
// stdin: one JSON object a line, {"from","to":[...],"subject","text"} (the same fields as
// smtpwire's composeMessage). Each message gets its Message-ID here, and the Message-ID is the
// job id: BullMQ ignores an add whose id it already holds, so running the producer twice over the
// same input (after a crash, say) does not queue anything twice. Prints one JSON line at the end.
//
// One queue per destination server or account (MAIL_QUEUE): the queue's limiter is then that
// destination's rate limit, shared by every worker on it (see worker.mjs, docs/scale-out.md).
import { Queue } from 'bullmq';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { composeMessage } from 'smtpwire/core';

/** Job options for a mail job: retries with backoff are for transient rejections only. */
export const mailJobOptions = {
  attempts: Number(process.env.MAIL_ATTEMPTS ?? 5),
  backoff: { type: 'exponential', delay: Number(process.env.MAIL_BACKOFF_MS ?? 60_000) },
  removeOnComplete: false, // keep results (per-recipient replies) until you archive them
  removeOnFail: false,
};

const decoder = new TextDecoder();

/** One message as a job: { name, data: { from, to, raw, messageId }, opts: { jobId, ... } }. */
export function mailJob(input, options = mailJobOptions) {
  const raw = decoder.decode(
    composeMessage({
      from: input.from,
      to: input.to,
      subject: input.subject,
      text: input.text,
      date: new Date(),
      messageIdRandom: randomBytes(16),
      eightBit: false,
      headers: input.headers,
    }),
  );
  const messageId = /^Message-ID: (<[^>]+>)/m.exec(raw)[1];
  return { name: 'mail', data: { from: input.from, to: input.to, raw, messageId }, opts: { ...options, jobId: messageId } };
}

async function main() {
  const queue = new Queue(process.env.MAIL_QUEUE ?? 'mail', { connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' } });
  let batch = [];
  let queued = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await queue.addBulk(batch);
    queued += batch.length;
    batch = [];
  };
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    batch.push(mailJob(JSON.parse(line)));
    if (batch.length >= 500) await flush();
  }
  await flush();
  await queue.close();
  console.log(JSON.stringify({ event: 'queued', queue: queue.name, jobs: queued }));
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
