// Job-queue glue: what a queue must do with a mail job after a send. The three outcomes map to
// four job fates (docs/scale-out.md):
//   accepted            -> complete, with the per-recipient replies as the job's result
//   rejected, permanent -> fail, never retried (the queue's "unrecoverable" error)
//   rejected, transient -> fail this attempt: the queue retries with its backoff
//   unknown             -> park where a person or a policy decides; never sent again by itself
// A job that comes back after its worker died (the queue saw it stall) is unknown too: that
// worker may have sent the final dot. Typed against a minimal structural view of a job, so the
// package imports no queue library; BullMQ's Job and UnrecoverableError fit it as they are.
import type { Message, SendResult } from './client.ts';
import type { RecipientResult } from '../core/events.ts';
import type { Reply } from '../core/reply.ts';

/** A job's data: a finished message (its Message-ID doubles as the job id, see the producer). */
export interface QueuedMail {
  from: string;
  to: string[];
  /** The whole message, header and body, CRLF line ends. */
  raw: string;
  messageId: string;
}

/** What the processor reads from a job (BullMQ's Job has all of it). */
export interface MailJobLike<D = QueuedMail> {
  readonly id?: string | undefined;
  readonly data: D;
  /** Attempts that ended in a failure so far (BullMQ: attemptsMade). */
  readonly attemptsMade: number;
  /** Times the queue found this job's lock expired and took it back (BullMQ: stalledCounter). */
  readonly stalledCounter?: number;
}

export interface ReplyRecord {
  code: number;
  enhanced?: string;
  text: string;
}

export interface RecipientRecord extends ReplyRecord {
  address: string;
  transient: boolean;
}

/** A job's result: JSON only, so any queue can store it. */
export interface MailJobRecord {
  outcome: 'accepted' | 'unknown';
  messageId: string;
  accepted: RecipientRecord[];
  /** Accepted messages may still have refused recipients (transient ones could be re-queued). */
  rejected: RecipientRecord[];
  /** The reply that decided the outcome, when one came. */
  reply?: ReplyRecord;
  /** unknown: why nobody can tell whether the server has the message. */
  why?: string;
}

export type MailVerdict =
  | { readonly action: 'complete'; readonly record: MailJobRecord }
  | { readonly action: 'fail'; readonly reason: string }
  | { readonly action: 'retry'; readonly reason: string }
  | { readonly action: 'park'; readonly record: MailJobRecord };

const replyRecord = (reply: Reply): ReplyRecord => {
  const r: ReplyRecord = { code: reply.code, text: reply.lines.join(' ') };
  if (reply.enhanced !== undefined) r.enhanced = reply.enhanced;
  return r;
};
const recipientRecord = (r: RecipientResult): RecipientRecord => ({
  address: r.address,
  ...replyRecord(r.reply),
  transient: r.reply.code >= 400 && r.reply.code < 500,
});

/** The queue's fate for one send result. Pure: no queue, no clock. */
export function mailVerdict(result: SendResult, messageId: string): MailVerdict {
  const record: MailJobRecord = {
    outcome: result.outcome === 'accepted' ? 'accepted' : 'unknown',
    messageId,
    accepted: result.accepted.map(recipientRecord),
    rejected: result.rejected.map(recipientRecord),
  };
  if (result.reply !== undefined) record.reply = replyRecord(result.reply);
  switch (result.outcome) {
    case 'accepted':
      return { action: 'complete', record };
    case 'unknown':
      record.why = result.error?.message ?? 'no final reply to the message';
      return { action: 'park', record };
    case 'rejected': {
      const reason = result.error?.message ?? (result.reply ? `${result.reply.code} ${result.reply.lines.join(' ')}` : 'rejected');
      return result.error?.transient === true ? { action: 'retry', reason } : { action: 'fail', reason };
    }
  }
}

export interface MailProcessorOptions<D> {
  /** Sends one message: usually a pool's send, with the pool's own retries off (retries: 0). */
  send(message: Message): Promise<SendResult>;
  /** Thrown for a permanent rejection: the queue must not retry it (BullMQ: UnrecoverableError). */
  permanentError: new (message: string) => Error;
  /** Keeps an unknown job where a person or a policy will look (BullMQ: add it to another queue). */
  park(job: MailJobLike<D>, record: MailJobRecord): Promise<void>;
  /** Job data to message. Default: QueuedMail's from / to / raw. */
  toMessage?: (data: D) => Message;
  /** Job data to its Message-ID. Default: QueuedMail's messageId. */
  messageIdOf?: (data: D) => string;
}

/** A queue processor: resolves with the job's result, throws to fail or retry. */
export function mailProcessor<D = QueuedMail>(options: MailProcessorOptions<D>): (job: MailJobLike<D>) => Promise<MailJobRecord> {
  const toMessage =
    options.toMessage ??
    ((d: D) => {
      const m = d as unknown as QueuedMail;
      return { from: m.from, to: m.to, body: m.raw };
    });
  const messageIdOf = options.messageIdOf ?? ((d: D) => (d as unknown as QueuedMail).messageId);
  return async (job) => {
    const messageId = messageIdOf(job.data);
    if ((job.stalledCounter ?? 0) > 0) {
      // Its last worker vanished mid-job (killed, or its lock expired): it may have sent the
      // final dot, so sending again could deliver twice.
      const record: MailJobRecord = {
        outcome: 'unknown',
        messageId,
        accepted: [],
        rejected: [],
        why: 'a worker took this job and stopped answering before reporting an outcome; it may have been delivered',
      };
      await options.park(job, record);
      return record;
    }
    let result: SendResult;
    try {
      result = await options.send(toMessage(job.data));
    } catch (err) {
      // A pool rejects only for usage errors (a bad address, say): sending again cannot help.
      throw new options.permanentError(err instanceof Error ? err.message : String(err));
    }
    const verdict = mailVerdict(result, messageId);
    switch (verdict.action) {
      case 'complete':
        return verdict.record;
      case 'park':
        await options.park(job, verdict.record);
        return verdict.record;
      case 'fail':
        throw new options.permanentError(verdict.reason);
      case 'retry':
        throw new Error(verdict.reason);
    }
  };
}
