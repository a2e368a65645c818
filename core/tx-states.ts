// A transaction's two tables, like the session's (states.ts).
//   TX_TABLE:      its stages (how far its writing has got) and the events that move it on.
//                  tx-write.ts and tx-replies.ts move a transaction only through moveTx(), which
//                  refuses (SmtpInternalError) any pair the table does not hold.
//   OUTCOME_TABLE: how it settles, from any stage, for each thing that can end it. settleTx()
//                  (tx-replies.ts) is the one way a transaction ends, and decideOutcome()
//                  (tx-outcome.ts) the one function that reads this table.
import { SmtpInternalError } from './errors.ts';

export type TxStage =
  | 'queued' // nothing written
  | 'envelope' // MAIL written; RCPTs being written
  | 'await-354' // DATA written, its 354 awaited
  | 'body' // the body is going out (after a 354, or as BDAT chunks)
  | 'ended'; // the final dot / BDAT LAST (or the lone dot after a 354 with no recipient) is written

export type TxEvent =
  | 'mail-written'
  | 'bdat-chosen' // every RCPT written, CHUNKING in use: BDAT chunks follow, no DATA
  | 'data-written'
  | 'go-ahead' // 354, with a recipient accepted
  | 'lone-dot' // 354, every recipient refused: a lone dot ends the DATA (RFC 2920 §3.1)
  | 'end-written';

export const TX_TABLE: Readonly<Record<TxStage, Partial<Record<TxEvent, TxStage>>>> = {
  queued: { 'mail-written': 'envelope' },
  envelope: { 'bdat-chosen': 'body', 'data-written': 'await-354' },
  'await-354': { 'go-ahead': 'body', 'lone-dot': 'ended' },
  body: { 'end-written': 'ended' },
  ended: {},
};

/** Move `tx` by `event`; a pair the table lacks is a bug in the core. */
export function moveTx(tx: { stage: TxStage; readonly id: number }, event: TxEvent): void {
  const to = TX_TABLE[tx.stage][event];
  if (to === undefined)
    throw new SmtpInternalError(`transaction table violation: transaction ${tx.id} in stage ${tx.stage} cannot take ${event}`);
  tx.stage = to;
}

/** What ends a transaction. */
export type SettleInput =
  | 'end-reply' // the final reply to its end of data came (under LMTP: every recipient's)
  | 'refused' // the server refused MAIL, every RCPT, DATA or a BDAT chunk; or the client cannot
  //             send it (past SIZE, an unsendable envelope or body, the session already over)
  | 'cancel' // the user cancelled it, or its body source failed
  | 'link-lost' // the session ended with its reply owed: EOF, transport error, timeout, the
  //               server broke the protocol, abort, a bug in the core
  | 'closing' // the server announced it is closing (421): nothing after that reply was taken
  | 'foreign-rcpt'; // a RCPT was accepted after its MAIL was refused: the server holds some
//                     other transaction, so its refusals of this one cannot be believed

export const SETTLE_INPUTS: readonly SettleInput[] = ['end-reply', 'refused', 'cancel', 'link-lost', 'closing', 'foreign-rcpt'];

export type Verdict =
  | 'by-reply' // what the final reply says (lmtp.ts: what each recipient's says)
  | 'rejected'
  | 'unknown' // its end is queued or gone: it cannot be taken back
  | 'unknown-if-taken'; // unknown if the transport took its end, else rejected (it never left)

/** How a transaction settles, by its stage and what ends it. A refusal the server gave first
 *  (Transaction.failure) makes it rejected whatever the verdict, except after `foreign-rcpt`. A
 *  missing pair is a bug in the core: nothing can end a transaction that way in that stage. */
export const OUTCOME_TABLE: Readonly<Record<TxStage, Partial<Record<SettleInput, Verdict>>>> = {
  queued: { refused: 'rejected', cancel: 'rejected', 'link-lost': 'rejected', closing: 'rejected' },
  envelope: { refused: 'rejected', cancel: 'rejected', 'link-lost': 'rejected', closing: 'rejected', 'foreign-rcpt': 'rejected' },
  'await-354': { refused: 'rejected', cancel: 'rejected', 'link-lost': 'rejected', closing: 'rejected', 'foreign-rcpt': 'rejected' },
  body: { refused: 'rejected', cancel: 'rejected', 'link-lost': 'rejected', closing: 'rejected', 'foreign-rcpt': 'rejected' },
  ended: {
    'end-reply': 'by-reply',
    refused: 'rejected', // a BDAT chunk before LAST refused, or the reply to the lone dot
    cancel: 'unknown',
    'link-lost': 'unknown-if-taken',
    closing: 'rejected',
    'foreign-rcpt': 'unknown-if-taken',
  },
};

/** The verdict for (stage, input); a pair the table lacks is a bug in the core. */
export function verdictOf(stage: TxStage, input: SettleInput, id: number): Verdict {
  const v = OUTCOME_TABLE[stage][input];
  if (v === undefined)
    throw new SmtpInternalError(`outcome table violation: transaction ${id} in stage ${stage} cannot settle by ${input}`);
  return v;
}
