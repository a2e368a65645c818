// A transaction's stages as a table, like the session's (states.ts): how far its writing has
// got, and the events that move it on. tx-write.ts and tx-replies.ts move a transaction only
// through moveTx(), which refuses (SmtpInternalError) any pair the table does not hold. Whether
// and how it settled is the other dimension (Transaction.settled and its result, tx-replies.ts):
// a transaction settles from any stage.
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
  if (to === undefined) throw new SmtpInternalError(`transaction table violation: transaction ${tx.id} in stage ${tx.stage} cannot take ${event}`);
  tx.stage = to;
}
