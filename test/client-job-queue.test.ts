// client/job-queue.ts: each send outcome maps to one job fate, and a job that comes back from a dead
// worker is parked without being sent again. (The same against BullMQ and a real server, with
// workers killed mid-run: npm run test:scale.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mailProcessor, mailVerdict, type MailJobLike, type MailJobRecord, type QueuedMail } from '../client/job-queue.ts';
import { SmtpConnectionError, SmtpReplyError, SmtpUsageError } from '../core/errors.ts';
import type { Reply } from '../core/reply.ts';
import type { Message, SendResult } from '../client/client.ts';

const reply = (code: number, text: string, enhanced?: string): Reply => ({ code, enhanced, lines: [text] });
const ok = reply(250, 'Ok: queued', '2.0.0');
const result = (over: Partial<SendResult>): SendResult =>
  ({ id: 1, outcome: 'accepted', accepted: [], rejected: [], unknown: [], reply: undefined, error: undefined, ...over }) as SendResult; // tests build every outcome
const job = (over: Partial<MailJobLike> = {}): MailJobLike => ({
  id: '<a@b>',
  attemptsMade: 0,
  stalledCounter: 0,
  data: { from: 'a@example.com', to: ['b@example.org'], raw: 'Subject: x\r\n\r\nhi\r\n', messageId: '<a@b>' },
  ...over,
});
class Unrecoverable extends Error {}

function harness(results: SendResult[]) {
  const sent: Message[] = [];
  const parked: [MailJobLike<QueuedMail>, MailJobRecord][] = [];
  const processor = mailProcessor({
    send: async (m) => {
      sent.push(m);
      return results.shift()!;
    },
    permanentError: Unrecoverable,
    park: async (j, r) => {
      parked.push([j, r]);
    },
  });
  return { processor, sent, parked };
}

test('accepted: the job completes with every recipient reply, refused ones marked', async () => {
  const h = harness([
    result({
      accepted: [{ address: 'b@example.org', reply: reply(250, 'Ok', '2.1.5') }],
      rejected: [
        { address: 'c@example.org', reply: reply(450, 'busy', '4.2.1') },
        { address: 'd@example.org', reply: reply(550, 'no such user', '5.1.1') },
      ],
      reply: ok,
    }),
  ]);
  const record = await h.processor(job());
  assert.equal(record, {
    outcome: 'accepted',
    messageId: '<a@b>',
    accepted: [{ address: 'b@example.org', code: 250, enhanced: '2.1.5', text: 'Ok', transient: false }],
    rejected: [
      { address: 'c@example.org', code: 450, enhanced: '4.2.1', text: 'busy', transient: true },
      { address: 'd@example.org', code: 550, enhanced: '5.1.1', text: 'no such user', transient: false },
    ],
    reply: { code: 250, enhanced: '2.0.0', text: 'Ok: queued' },
  });
  assert.equal(h.sent, [{ from: 'a@example.com', to: ['b@example.org'], body: 'Subject: x\r\n\r\nhi\r\n' }]);
  assert.equal(h.parked.length, 0);
});

test('permanent rejection: the unrecoverable error, so the queue does not retry', async () => {
  const r550 = reply(550, 'no such user', '5.1.1');
  const h = harness([
    result({
      outcome: 'rejected',
      rejected: [{ address: 'b@example.org', reply: r550 }],
      reply: r550,
      error: new SmtpReplyError('550 5.1.1 no such user', r550),
    }),
  ]);
  const err = await h.processor(job()).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof Unrecoverable, String(err));
  assert.match(err.message, /550/);
});

test('transient rejection: a plain error, so the queue retries with its backoff', async () => {
  const r451 = reply(451, 'try later', '4.2.1');
  for (const error of [new SmtpReplyError('451 4.2.1 try later', r451), new SmtpConnectionError('connection refused')]) {
    const h = harness([result({ outcome: 'rejected', reply: r451, error })]);
    const err = await h.processor(job()).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof Error && !(err instanceof Unrecoverable), String(err));
  }
});

test('unknown: parked with the reason, completes (never thrown: a thrown job could be retried)', async () => {
  const h = harness([result({ outcome: 'unknown', error: new SmtpConnectionError('connection closed after the final dot') })]);
  const record = await h.processor(job());
  assert.is(record.outcome, 'unknown');
  assert.match(record.why ?? '', /final dot/);
  assert.equal(
    h.parked.map(([j, r]) => [j.id, r]),
    [['<a@b>', record]],
  );
});

test('a job back from a dead worker (stalled) is parked as unknown and not sent again', async () => {
  const h = harness([]);
  const record = await h.processor(job({ stalledCounter: 1, attemptsMade: 1 }));
  assert.is(record.outcome, 'unknown');
  assert.equal(h.sent, []);
  assert.is(h.parked.length, 1);
});

test('a send that throws (a usage error) fails the job for good', async () => {
  const processor = mailProcessor({
    send: async () => {
      throw new SmtpUsageError('recipient address contains a line break');
    },
    permanentError: Unrecoverable,
    park: async () => {},
  });
  const err = await processor(job()).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof Unrecoverable, String(err));
  assert.match(err.message, /line break/);
});

test('mailVerdict is total over the three outcomes', () => {
  assert.is(mailVerdict(result({ reply: ok }), 'x').action, 'complete');
  assert.is(mailVerdict(result({ outcome: 'unknown' }), 'x').action, 'park');
  assert.is(mailVerdict(result({ outcome: 'rejected', error: new SmtpConnectionError('reset') }), 'x').action, 'retry');
  assert.is(mailVerdict(result({ outcome: 'rejected', reply: reply(554, 'no') }), 'x').action, 'fail');
});

test.run();
