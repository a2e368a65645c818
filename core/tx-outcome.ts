// The one function that decides how a transaction ended: accepted, rejected or unknown, and
// each recipient's result. Every way a transaction ends (its final reply, a refusal, a cancel,
// a lost link, a timeout, a protocol error, the session's end) comes here through settleTx()
// (tx-replies.ts), as a Settlement; the verdict is OUTCOME_TABLE's (tx-states.ts), and under
// LMTP the recipients' results are lmtp.ts's policy.
import { SmtpReplyError, type SmtpError } from './errors.ts';
import { transactionResult, type RecipientResult, type TransactionResult } from './events.ts';
import { lmtpOutcome } from './lmtp.ts';
import { describeReply, isPositive, type Reply } from './reply.ts';
import { ownList, type Transaction } from './transaction.ts';
import { verdictOf, type SettleInput } from './tx-states.ts';

/** What ended a transaction, with the reply or error that says so. */
export type Settlement =
  | { readonly by: 'end-reply'; readonly reply: Reply }
  | { readonly by: Exclude<SettleInput, 'end-reply'>; readonly error: SmtpError; readonly reply?: Reply };

/** The transaction facts the decision reads. */
export type SettlingTx = Pick<Transaction, 'id' | 'stage' | 'accepted' | 'rejected' | 'failure' | 'lmtpFinal'>;

/** `endTaken`: the transport took its final dot / BDAT LAST. */
export function decideOutcome(tx: SettlingTx, how: Settlement, endTaken: boolean, lmtp: boolean): TransactionResult {
  const verdict = verdictOf(tx.stage, how.by, tx.id);
  // A refusal the server gave first stands: it is why nothing more counts. Unless the server
  // then accepted a RCPT for the refused MAIL: it holds some other transaction.
  const refusal = how.by === 'foreign-rcpt' ? undefined : tx.failure;
  if (refusal) return rejected(tx, refusal.reply, refusal.error, lmtp);
  if (how.by === 'end-reply') {
    if (lmtp) return lmtpOutcome(tx, { unknown: false, reply: how.reply, error: undefined });
    if (isPositive(how.reply))
      return transactionResult(
        { id: tx.id, accepted: ownList(tx.accepted), rejected: ownList(tx.rejected), unknown: [], reply: how.reply },
        'accepted',
        undefined,
      );
    return rejected(tx, how.reply, new SmtpReplyError(`message rejected: ${describeReply(how.reply)}`, how.reply, 'end-of-data'), lmtp);
  }
  if (verdict === 'unknown' || (verdict === 'unknown-if-taken' && endTaken)) return unknown(tx, how.error, lmtp);
  return rejected(tx, how.reply, how.error, lmtp);
}

/** Rejected: the recipients the server accepted at RCPT did not get the message either (each
 *  with `reply`, else its RCPT reply). Under LMTP those whose own final reply came keep it. */
function rejected(tx: SettlingTx, reply: Reply | undefined, error: SmtpError, lmtp: boolean): TransactionResult {
  if (lmtp && tx.lmtpFinal) return lmtpOutcome(tx, { unknown: false, reply, error });
  let recipients: readonly RecipientResult[] = ownList(tx.rejected);
  if (tx.accepted.length > 0) recipients = [...tx.rejected, ...tx.accepted.map((r) => ({ address: r.address, reply: reply ?? r.reply }))];
  return transactionResult({ id: tx.id, accepted: [], rejected: recipients, unknown: [], reply }, 'rejected', error);
}

/** Unknown: no recipient is known to have it; under LMTP those whose final reply came keep it. */
function unknown(tx: SettlingTx, error: SmtpError, lmtp: boolean): TransactionResult {
  if (lmtp) return lmtpOutcome(tx, { unknown: true, error });
  return transactionResult(
    { id: tx.id, accepted: [], rejected: ownList(tx.rejected), unknown: tx.accepted.map((r) => r.address), reply: undefined },
    'unknown',
    error,
  );
}
