// LMTP (RFC 2033) as a final-reply policy: after the end of data, one reply per recipient
// accepted at RCPT, in RCPT order (§4.2); the transaction is accepted for those that got a
// 2xx. Everything else about an LMTP transaction is SMTP's (tx-replies.ts).
import { SmtpReplyError } from './errors.ts';
import { transactionResult, type TransactionResult } from './events.ts';
import { isPositive, type Reply } from './reply.ts';
import type { Transaction } from './transaction.ts';

/** Take one final reply; true once every accepted recipient has had its own. */
export function takeLmtpFinal(tx: Transaction, reply: Reply): boolean {
  const final = (tx.lmtpFinal ??= []);
  final.push({ address: tx.accepted[final.length]!.address, reply });
  return final.length >= tx.accepted.length;
}

/** Every final reply came: accepted when any recipient was, else rejected with the last reply. */
export function lmtpResult(tx: Transaction, final: NonNullable<Transaction['lmtpFinal']>, reply: Reply | undefined): TransactionResult {
  const accepted = final.filter((r) => isPositive(r.reply));
  const rejected = [...tx.rejected, ...final.filter((r) => !isPositive(r.reply))];
  const outcome = accepted.length > 0 ? 'accepted' : 'rejected';
  const error = outcome === 'rejected' ? new SmtpReplyError('every recipient was rejected', reply!, 'end-of-data') : undefined;
  return transactionResult({ id: tx.id, accepted, rejected, unknown: [], reply }, outcome, error);
}
