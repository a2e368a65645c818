// The transaction record (RFC 5321 §3.3: MAIL, RCPT..., DATA or BDAT) and the result it ends
// with. tx-write.ts writes its commands and body, tx-replies.ts takes its replies and settles it,
// tx-outcome.ts decides how it ended (lmtp.ts: the final-reply policy under LMTP).
import type { BodyEncoder } from './body.ts';
import type { PreparedEnvelope } from './envelope.ts';
import { SmtpReplyError, type SmtpError } from './errors.ts';
import type { RecipientResult, TransactionResult } from './events.ts';
import { describeReply, type Reply } from './reply.ts';

import type { TxStage } from './tx-states.ts';

export interface Transaction {
  readonly kind: 'tx';
  readonly id: number;
  readonly env: PreparedEnvelope;
  /** How far its writing has got: moved only by moveTx() (tx-states.ts). */
  stage: TxStage;
  /** Ordinal of its MAIL among the MAILs written this session; 0 until written. */
  seq: number;
  bdat: boolean;
  /** Made on first need: a whole body that is already wire-ready never needs one. */
  encoder: BodyEncoder | undefined;
  /** Body octets put on the wire so far (after encoding). */
  written: number;
  /** scanBody() of a whole body given to send(); -1 when the body is streamed. */
  readonly bodyFlags: number;
  rcptSent: number;
  rcptReplies: number;
  /** Body chunks given by the user and not yet written (views, never copied). */
  chunks: Uint8Array[];
  chunkBytes: number;
  bodyEnded: boolean;
  lastBodyAt: number;
  /** Output offset just past the final dot / BDAT LAST; -1 until written. */
  endOffset: number;
  mailAccepted: boolean;
  /** MAIL got a 4xx/5xx: a RCPT accepted after it belongs to some other transaction. */
  mailRefused: boolean;
  /** NO_RECIPIENTS (shared, never written) until the first entry replaces it: a queued
   *  transaction holds no arrays of its own. Results copy it out with ownList(). */
  accepted: RecipientResult[];
  rejected: RecipientResult[];
  /** The refusal recorded while replies are still owed: it can no longer be accepted, and this
   *  is the reply/error it is rejected with (decideOutcome, tx-outcome.ts). */
  failure: { reply: Reply | undefined; error: SmtpError } | undefined;
  /** LMTP: the per-recipient final replies so far, in the order of `accepted`. */
  lmtpFinal: RecipientResult[] | undefined;
  /** How it ended; set once, by settleTx() (tx-replies.ts). */
  result: TransactionResult | undefined;
  /** Its place in the queue (SlotQueue, queue.ts); -1 when not queued. */
  slot: number;
}

/** A NOOP or RSET the user asked for: queued in order with the transactions. */
export interface UserCommand {
  readonly kind: 'command';
  readonly id: number;
  readonly verb: 'NOOP' | 'RSET';
  /** Its place in the queue (SlotQueue, queue.ts); -1 once it has left. */
  slot: number;
}

/** The empty recipient list every transaction starts with (see `accepted`). Frozen: a push
 *  instead of a replace would throw rather than leak into other transactions. */
export const NO_RECIPIENTS: RecipientResult[] = Object.freeze([]) as unknown as RecipientResult[];

/** `list` for a result: a fresh empty array instead of the shared NO_RECIPIENTS. */
export function ownList(list: RecipientResult[]): RecipientResult[] {
  return list === NO_RECIPIENTS ? [] : list;
}

/** `chunks`: the whole body's views when send() was given it, else a fresh empty list. */
export function newTransaction(id: number, env: PreparedEnvelope, bodyFlags: number, now: number, chunks: Uint8Array[]): Transaction {
  return {
    kind: 'tx',
    id,
    env,
    stage: 'queued',
    seq: 0,
    bdat: false,
    encoder: undefined,
    written: 0,
    bodyFlags,
    rcptSent: 0,
    rcptReplies: 0,
    chunks,
    chunkBytes: 0,
    bodyEnded: false,
    lastBodyAt: now,
    endOffset: -1,
    mailAccepted: false,
    mailRefused: false,
    accepted: NO_RECIPIENTS,
    rejected: NO_RECIPIENTS,
    failure: undefined,
    lmtpFinal: undefined,
    result: undefined,
    slot: -1,
  };
}

/** The refusal for a transaction whose every recipient was refused, with the most hopeful
 *  reply (a 4xx if any: greylisting at RCPT is worth a retry). */
export function recipientsRefused(tx: Transaction, fallback?: Reply): [SmtpReplyError, Reply] {
  const reply = (tx.rejected.find((r) => r.reply.code < 500) ?? tx.rejected[0])?.reply ?? fallback!;
  return [new SmtpReplyError(`every recipient was rejected: ${describeReply(reply)}`, reply, 'RCPT'), reply];
}
