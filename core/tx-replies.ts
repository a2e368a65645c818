// Replies to a transaction's commands and how a transaction settles: accepted, rejected or
// unknown (unknown: its end reached the transport and no final reply came). route() sends
// every reply here or to the session by what the expectation is for (pipeline.ts).
import type { ConnectionState } from './connection-state.ts';
import { SmtpConnectionError, SmtpProtocolError, SmtpReplyError, type SmtpError } from './errors.ts';
import type { RecipientResult, TransactionResult } from './events.ts';
import { lmtpResult, takeLmtpFinal } from './lmtp.ts';
import type { Expectation } from './pipeline.ts';
import { misfit, type Step } from './reply-fit.ts';
import { describeReply, isPositive, type Reply } from './reply.ts';
import { fail, sessionReply } from './session.ts';
import { recipientsRefused, resultOf, type Transaction } from './transaction.ts';
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
      if (fits(s, 'end-of-data', reply)) settle(s, e.tx);
      return true;
    case 'command':
      if (fits(s, e.command.verb, reply)) s.emit({ type: 'command', id: e.command.id, command: e.command.verb, reply });
      return true;
    case 'auto-rset':
      // A refused RSET may leave the old transaction in place, and the next MAIL is already on
      // its way: fail rather than let it join it. A 421 is the server closing, in order: the
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
  failTx(s, tx, new SmtpReplyError(`MAIL FROM rejected: ${describeReply(reply)}`, reply, 'MAIL'), reply);
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
      const error = new SmtpProtocolError(`RCPT accepted after MAIL FROM was refused (the server holds another transaction): ${describeReply(reply)}`);
      if (tx.stage === 'ended' && s.output.taken >= tx.endOffset) settleUnknown(s, tx, error);
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
  if (all && tx.bdat && !tx.failure && tx.accepted.length === 0) failTx(s, tx, ...recipientsRefused(tx));
  if (tx.failure && tx.stage !== 'ended' && all) settleIfQuiet(s, tx);
}

function onData(s: ConnectionState, tx: Transaction, reply: Reply): void {
  if (reply.code === 354) { // the only 3xx or 2xx fits() lets through
    if (tx.accepted.length === 0) {
      // RFC 2920 §3.1: DATA was accepted with no valid recipient; end it with a lone dot.
      if (!tx.failure) failTx(s, tx, ...recipientsRefused(tx, reply));
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
    if (tx.accepted.length === 0) failTx(s, tx, ...recipientsRefused(tx, reply));
    else failTx(s, tx, new SmtpReplyError(`DATA rejected: ${describeReply(reply)}`, reply, 'DATA'), reply);
  }
  drop(s, tx);
}

function onBdatChunk(s: ConnectionState, tx: Transaction, reply: Reply): void {
  if (isPositive(reply)) return;
  // RFC 3030 §4.1: after a failed BDAT the client should RSET before the next transaction.
  mayHold(s, tx);
  if (tx.failure) return;
  failTx(s, tx, new SmtpReplyError(`BDAT rejected: ${describeReply(reply)}`, reply, 'BDAT'), reply);
  if (tx.stage !== 'ended' && s.queue.front() === tx) s.queue.shift();
  settle(s, tx);
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
    settle(s, tx);
    return true;
  }
  if (!s.options.lmtp) {
    if (!isPositive(reply)) failTx(s, tx, new SmtpReplyError(`message rejected: ${describeReply(reply)}`, reply, 'end-of-data'), reply);
    settle(s, tx, reply);
    return true;
  }
  if (!takeLmtpFinal(tx, reply)) return false;
  settle(s, tx, reply);
  return true;
}

/** `tx` can no longer be accepted: remember why, and let go of the body the user handed in. */
export function failTx(s: ConnectionState, tx: Transaction, error: SmtpError, reply: Reply | undefined): void {
  if (!tx.failure) tx.failure = { reply, error };
  s.heldBody -= tx.chunkBytes;
  tx.chunks = [];
  tx.chunkBytes = 0;
}

/** Settle once no reply for `tx` is still coming that could change its result. */
function settleIfQuiet(s: ConnectionState, tx: Transaction): void {
  if ((!s.pipelining || tx.rcptReplies === tx.rcptSent) && tx.stage !== 'ended' && tx.stage !== 'await-354') drop(s, tx);
}

/** A failed transaction leaves the queue; the server forgets it with RSET before the next. */
export function drop(s: ConnectionState, tx: Transaction): void {
  s.queue.remove(tx);
  if (tx.mailAccepted) mayHold(s, tx);
  settle(s, tx);
}

/** Stop a transaction that has not been accepted: tell the server, report it rejected. */
export function abortTx(s: ConnectionState, tx: Transaction, error: SmtpError): void {
  if (tx.settled) return;
  if (tx.stage === 'ended') {
    // Its end is written: whatever the server does now, we cannot undo it.
    settleUnknown(s, tx, error);
    return;
  }
  failTx(s, tx, error, undefined);
  // Before the 354 we wait: a refused DATA needs nothing, a 354 closes the link (onData).
  const inData = !tx.bdat && tx.stage === 'body';
  s.queue.remove(tx);
  settle(s, tx);
  if (inData) {
    // A DATA body cannot be withdrawn (a dot would deliver it): drop the link instead.
    fail(s, new SmtpConnectionError(`connection closed to cancel message ${tx.id} during DATA`, error));
  } else if (tx.stage !== 'queued') {
    mayHold(s, tx);
  }
}

/** Its end was written and no final reply will come: unknown (the end may have been taken). */
export function settleUnknown(s: ConnectionState, tx: Transaction, error: SmtpError): void {
  if (!tx.settled) conclude(s, tx, resultOf(tx, 'unknown', undefined, error));
}

/** Accepted (with its final reply) unless it failed; under LMTP, by its per-recipient replies. */
export function settle(s: ConnectionState, tx: Transaction, reply?: Reply): void {
  if (tx.settled) return;
  conclude(s, tx, s.options.lmtp && tx.lmtpFinal && !tx.failure ? lmtpResult(tx, tx.lmtpFinal, reply)
    : tx.failure ? resultOf(tx, 'rejected', tx.failure.reply, tx.failure.error)
    : resultOf(tx, 'accepted', reply, undefined));
}

/** The one place a transaction ends: it leaves the counts and reports its result, once. */
function conclude(s: ConnectionState, tx: Transaction, result: TransactionResult): void {
  tx.settled = true;
  s.live.delete(tx.id);
  if (tx.stage !== 'queued') s.inFlight--;
  if (tx.endOffset >= 0) s.unansweredEnds--;
  s.emit({ type: 'transaction', result });
}
