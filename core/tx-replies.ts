// Replies to a transaction's commands, and settleTx(), the one way a transaction ends (its
// outcome is decideOutcome()'s, tx-outcome.ts). route() sends every reply here or to the
// session by what the expectation is for (pipeline.ts).
import type { ConnectionState } from './connection-state.ts';
import { SmtpConnectionError, SmtpProtocolError, SmtpReplyError, type SmtpError } from './errors.ts';
import type { RecipientResult } from './events.ts';
import { takeLmtpFinal } from './lmtp.ts';
import type { Expectation } from './pipeline.ts';
import { misfit, type Step } from './reply-fit.ts';
import { describeReply, isPositive, type Reply } from './reply.ts';
import { fail, sessionReply } from './session.ts';
import { recipientsRefused, type Transaction } from './transaction.ts';
import { decideOutcome, type Settlement } from './tx-outcome.ts';
import { moveTx } from './tx-states.ts';
import { LONE_DOT } from './tx-write.ts';

/** Hand `reply` to what `e` waits for; false while the expectation owes more replies (LMTP). */
export function route(s: ConnectionState, e: Expectation, reply: Reply): boolean {
  switch (e.for) {
    case 'session':
      sessionReply(s, e.step === 'quit', reply);
      return true;
    case 'mail':
      if (fits(s, 'MAIL', reply)) onMail(s, e.tx, reply);
      return true;
    case 'rcpt':
      if (fits(s, 'RCPT', reply)) onRcpt(s, e.tx, reply);
      return true;
    case 'data':
      if (fits(s, 'DATA', reply)) onData(s, e.tx, reply);
      return true;
    case 'bdat-chunk':
      if (fits(s, 'BDAT', reply)) onBdatChunk(s, e.tx, reply);
      return true;
    case 'end-of-data':
      return fits(s, 'end-of-data', reply) ? onFinal(s, e.tx, reply) : true;
    case 'empty-data-end':
      // The transaction is rejected already; this reply only closes the DATA.
      if (fits(s, 'end-of-data', reply)) settleTx(s, e.tx, { by: 'end-reply', reply });
      return true;
    case 'command':
      if (fits(s, e.command.verb, reply)) s.emit({ type: 'command', id: e.command.id, command: e.command.verb, reply });
      return true;
    case 'auto-rset':
      // RFC 5321 §4.1.1.5: a RSET MUST get 250. One refused may leave the old transaction in
      // place with the next MAIL already on its way: the session cannot be trusted, so it fails
      // (EPROTOCOL); what is pending settles as the session's end says (a written end taken:
      // unknown; else rejected, transient). A 421 is the server closing, in order: the
      // dispatcher ends the session as announced.
      if (fits(s, 'RSET', reply) && !isPositive(reply) && reply.code !== 421) {
        fail(s, new SmtpProtocolError(`RSET refused, so the server may still hold an earlier transaction: ${describeReply(reply)}`));
      }
      return true;
  }
}

/** False (and the session failed) when `reply` cannot be the reply to `step` (reply-fit.ts):
 *  the replies are out of step with the commands, so none after it can be believed. The
 *  usual rule then settles what is pending: unknown where the end of data was taken, else
 *  rejected (transient). */
function fits(s: ConnectionState, step: Step, reply: Reply): boolean {
  const enhanced = s.capabilities.enhancedStatusCodes && !(step === 'end-of-data' && s.options.lmtp);
  const why = misfit(step, reply, enhanced);
  if (why === undefined) return true;
  fail(s, new SmtpProtocolError(`reply out of step with the commands: ${why}: ${describeReply(reply)}`));
  return false;
}

function onMail(s: ConnectionState, tx: Transaction, reply: Reply): void {
  if (isPositive(reply)) {
    tx.mailAccepted = true;
    return;
  }
  tx.mailRefused = true;
  refuseTx(s, tx, new SmtpReplyError(`MAIL FROM rejected: ${describeReply(reply)}`, reply, 'MAIL'), reply);
  // Without PIPELINING nothing else was sent for it: it is over now.
  if (!s.pipelining || tx.stage === 'envelope') settleIfQuiet(s, tx);
}

function onRcpt(s: ConnectionState, tx: Transaction, reply: Reply): void {
  const address = tx.env.recipients[tx.rcptReplies++]!.address; // replies come in RCPT order
  const result: RecipientResult = { address, reply };
  if (isPositive(reply)) {
    if (tx.mailRefused) {
      // A recipient added after its MAIL was refused joined a transaction that is not ours
      // (one the server still held): its end, if it left, may deliver under another sender.
      const error = new SmtpProtocolError(
        `RCPT accepted after MAIL FROM was refused (the server holds another transaction): ${describeReply(reply)}`,
      );
      settleTx(s, tx, { by: 'foreign-rcpt', error });
      fail(s, error);
      return;
    }
    if (tx.accepted.length === 0) tx.accepted = [result];
    else tx.accepted.push(result);
  } else if (tx.rejected.length === 0) tx.rejected = [result];
  else tx.rejected.push(result);
  const all = tx.rcptReplies === tx.env.recipients.length;
  // Every recipient refused: the outcome is theirs (the most hopeful reply), whatever a BDAT
  // already on its way gets (RFC 3030 servers answer it 503 and may keep the transaction).
  if (all && tx.bdat && !tx.failure && tx.accepted.length === 0) refuseTx(s, tx, ...recipientsRefused(tx));
  if (tx.failure && tx.stage !== 'ended' && all) settleIfQuiet(s, tx);
}

function onData(s: ConnectionState, tx: Transaction, reply: Reply): void {
  if (reply.code === 354) {
    // the only 3xx or 2xx fits() lets through
    if (tx.accepted.length === 0) {
      // RFC 2920 §3.1: DATA was accepted with no valid recipient; end it with a lone dot.
      if (!tx.failure) refuseTx(s, tx, ...recipientsRefused(tx, reply));
      s.output.bytes(LONE_DOT);
      s.transcript('client', '.');
      moveTx(tx, 'lone-dot');
      if (s.queue.front() === tx) s.queue.shift();
      s.expect({ for: 'empty-data-end', tx, timer: 'dataEnd', barrier: false });
      return;
    }
    if (tx.failure) {
      // Cancelled while DATA was on its way: a dot now would deliver it, so drop the link.
      fail(s, new SmtpConnectionError(`connection closed to cancel message ${tx.id} during DATA`, tx.failure.error));
      return;
    }
    moveTx(tx, 'go-ahead');
    tx.lastBodyAt = s.now;
    return;
  }
  if (!tx.failure) {
    if (tx.accepted.length === 0) refuseTx(s, tx, ...recipientsRefused(tx, reply));
    else refuseTx(s, tx, new SmtpReplyError(`DATA rejected: ${describeReply(reply)}`, reply, 'DATA'), reply);
  }
  drop(s, tx);
}

function onBdatChunk(s: ConnectionState, tx: Transaction, reply: Reply): void {
  if (isPositive(reply)) return;
  // RFC 3030 §4.1: after a failed BDAT the client should RSET before the next transaction.
  mayHold(s, tx);
  if (tx.failure) return;
  refuseTx(s, tx, new SmtpReplyError(`BDAT rejected: ${describeReply(reply)}`, reply, 'BDAT'), reply);
  if (tx.stage !== 'ended' && s.queue.front() === tx) s.queue.shift();
  settleTx(s, tx, refusal(tx));
}

/** The server may still hold `tx`'s transaction (a refused BDAT: Exim keeps it): RSET before
 *  the next MAIL, unless one was already written after this transaction's MAIL. */
function mayHold(s: ConnectionState, tx: Transaction): void {
  if (tx.seq > s.rsetBefore) s.needRset = true;
}

/** Reply to the final dot or BDAT LAST (one per accepted recipient under LMTP). */
function onFinal(s: ConnectionState, tx: Transaction, reply: Reply): boolean {
  if (tx.bdat && !isPositive(reply)) mayHold(s, tx); // a refused BDAT LAST, as any refused BDAT
  if (tx.failure) {
    if (isPositive(reply) && tx.accepted.length === 0) {
      // Accepted with every recipient refused: the server delivered a transaction we did not
      // build (one it held from before). Nothing after this can be believed.
      fail(s, new SmtpProtocolError(`end of data accepted although every recipient was refused: ${describeReply(reply)}`));
      return true;
    }
    settleTx(s, tx, { by: 'end-reply', reply });
    return true;
  }
  if (s.options.lmtp && !takeLmtpFinal(tx, reply)) return false;
  settleTx(s, tx, { by: 'end-reply', reply });
  return true;
}

/** `tx` can no longer be accepted: record why (the first refusal stands), and let go of the
 *  body the user handed in. It settles once no reply still owed could change that. */
export function refuseTx(s: ConnectionState, tx: Transaction, error: SmtpError, reply: Reply | undefined): void {
  if (!tx.failure) tx.failure = { reply, error };
  releaseBody(s, tx);
}

function releaseBody(s: ConnectionState, tx: Transaction): void {
  s.heldBody -= tx.chunkBytes;
  if (tx.chunks.length > 0) tx.chunks = [];
  tx.chunkBytes = 0;
}

/** Settle a refused `tx` once no reply for it is still coming that could change its result. */
function settleIfQuiet(s: ConnectionState, tx: Transaction): void {
  if ((!s.pipelining || tx.rcptReplies === tx.rcptSent) && tx.stage !== 'ended' && tx.stage !== 'await-354') drop(s, tx);
}

/** A refused transaction leaves the queue; the server forgets it with RSET before the next. */
export function drop(s: ConnectionState, tx: Transaction): void {
  s.queue.remove(tx);
  if (tx.mailAccepted) mayHold(s, tx);
  settleTx(s, tx, refusal(tx));
}

function refusal(tx: Transaction): Settlement {
  return { by: 'refused', error: tx.failure!.error, reply: tx.failure!.reply };
}

/** Stop `tx` on the client's side (`cancel`: the user, or its body source; `refused`: its body
 *  cannot be sent): tell the server as far as needed, and settle it. */
export function abortTx(s: ConnectionState, tx: Transaction, error: SmtpError, by: 'cancel' | 'refused' = 'cancel'): void {
  if (tx.result) return;
  if (tx.stage === 'ended') {
    // Its end is written: whatever the server does now, we cannot undo it.
    settleTx(s, tx, { by, error });
    return;
  }
  refuseTx(s, tx, error, undefined);
  // Before the 354 we wait: a refused DATA needs nothing, a 354 closes the link (onData).
  const inData = !tx.bdat && tx.stage === 'body';
  s.queue.remove(tx);
  settleTx(s, tx, { by, error });
  if (inData) {
    // A DATA body cannot be withdrawn (a dot would deliver it): drop the link instead.
    fail(s, new SmtpConnectionError(`connection closed to cancel message ${tx.id} during DATA`, error));
  } else if (tx.stage !== 'queued') {
    mayHold(s, tx);
  }
}

/** The one way a transaction ends: decideOutcome() says how, then it leaves the counts and
 *  reports its result, once. */
export function settleTx(s: ConnectionState, tx: Transaction, how: Settlement): void {
  if (tx.result) return;
  const taken = tx.stage === 'ended' && tx.endOffset >= 0 && s.output.taken >= tx.endOffset;
  const result = decideOutcome(tx, how, taken, s.options.lmtp === true);
  tx.result = result;
  releaseBody(s, tx);
  s.live.delete(tx.id);
  if (tx.stage !== 'queued') s.inFlight--;
  if (tx.endOffset >= 0) s.unansweredEnds--;
  s.emit({ type: 'transaction', result });
}
