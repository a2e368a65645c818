// LMTP (RFC 2033) as a final-reply policy: after the end of data, one reply per recipient
// accepted at RCPT, in RCPT order (§4.2). The transaction is accepted for the recipients whose
// own final reply is a 2xx, whatever ends it; the rest are rejected, or unknown when their
// reply may still have been coming. Everything else about an LMTP transaction is SMTP's.
import { SmtpReplyError, type SmtpError } from './errors.ts';
import { transactionResult, type TransactionResult } from './events.ts';
import { isPositive, type Reply } from './reply.ts';
import type { Transaction } from './transaction.ts';

/** Take one final reply; true once every accepted recipient has had its own. */
export function takeLmtpFinal(tx: Transaction, reply: Reply): boolean {
  const final = (tx.lmtpFinal ??= []);
  final.push({ address: tx.accepted[final.length]!.address, reply });
  return final.length >= tx.accepted.length;
}

/** What the recipients without a final reply get: `unknown` (the end was taken and the link
 *  died), or rejected with `reply` (their RCPT reply when undefined). */
export type LmtpRest =
  | { readonly unknown: true; readonly error: SmtpError }
  | { readonly unknown: false; readonly reply: Reply | undefined; readonly error: SmtpError | undefined };

/** The result by the per-recipient final replies so far: unknown while some are owed and may
 *  have been coming; else accepted when any is a 2xx (those recipients have the message: a
 *  retry would deliver it to them twice), else rejected. */
export function lmtpOutcome(tx: Pick<Transaction, 'id' | 'accepted' | 'rejected' | 'lmtpFinal'>, rest: LmtpRest): TransactionResult {
  const final = tx.lmtpFinal ?? [];
  const accepted = final.filter((r) => isPositive(r.reply));
  const rejected = [...tx.rejected, ...final.filter((r) => !isPositive(r.reply))];
  const owed = tx.accepted.slice(final.length);
  const last = final.length > 0 ? final[final.length - 1]!.reply : undefined;
  if (rest.unknown) {
    return transactionResult(
      { id: tx.id, accepted, rejected, unknown: owed.map((r) => r.address), reply: undefined },
      'unknown',
      rest.error,
    );
  }
  for (const r of owed) rejected.push({ address: r.address, reply: rest.reply ?? r.reply });
  const reply = owed.length > 0 ? rest.reply : last;
  // Accepted carries no error, as in SMTP: the recipients it missed are in `rejected`.
  if (accepted.length > 0) return transactionResult({ id: tx.id, accepted, rejected, unknown: [], reply }, 'accepted', undefined);
  const error = rest.error ?? new SmtpReplyError('every recipient was rejected', reply!, 'end-of-data');
  return transactionResult({ id: tx.id, accepted, rejected, unknown: [], reply }, 'rejected', error);
}
