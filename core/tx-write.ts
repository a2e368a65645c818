// Writing transactions (RFC 5321 §3.3, RFC 3030 BDAT) and user commands, in queue order, as far
// as PIPELINING (RFC 2920), the window and the body the user has given allow. tx-replies.ts
// takes their replies.
import { BodyEncoder, isWireReady, BODY_NOT_CANONICAL } from './body.ts';
import type { ConnectionState } from './connection-state.ts';
import { mailCommand, rcptCommand, type PreparedEnvelope, type PreparedRecipient } from './envelope.ts';
import { SmtpCapabilityError, SmtpError } from './errors.ts';
import { fire } from './session.ts';
import { abortTx, drop, refuseTx, settleTx } from './tx-replies.ts';
import { recipientsRefused, type Transaction } from './transaction.ts';
import { moveTx } from './tx-states.ts';
import { utf8 } from './text.ts';

export const LONE_DOT = utf8('.\r\n');
const AUTO_RSET = { for: 'auto-rset', timer: 'command', barrier: false } as const;

/** Write whatever may be written now; QUIT once the queue is empty and QUIT was asked for. */
export function pump(s: ConnectionState): void {
  for (;;) {
    if (s.phase !== 'ready') return;
    const item = s.queue.front();
    if (!item) {
      if (s.quitRequested && s.canWrite()) fire(s, 'quit');
      return;
    }
    if (item.kind === 'command') {
      if (s.replies.length > 0) return; // group-ending commands go alone
      s.queue.shift();
      s.command(item.verb, { for: 'command', command: item, timer: 'command', barrier: true });
      if (item.verb === 'RSET') {
        s.needRset = false;
        s.rsetBefore = s.mailSeq;
      }
      continue;
    }
    if (!advance(s, item)) return;
  }
}

/** Write what `tx` can write now. Returns true when it has written its end (or been
 *  dropped) and the next queued item may go. */
function advance(s: ConnectionState, tx: Transaction): boolean {
  if (tx.failure) {
    s.queue.shift();
    return true;
  }
  if (tx.stage === 'queued') {
    if (!s.canWrite() || s.inFlight >= s.window) return false;
    // RSET first when an earlier transaction may still be held: one that failed, or, with
    // BDAT transactions pipelined back to back, any still in flight (if its BDAT is refused,
    // Exim keeps its MAIL, and this MAIL, RCPTs and BDAT would land in that transaction).
    if (s.needRset || s.inFlight > 0) {
      s.needRset = false;
      s.rsetBefore = s.mailSeq;
      s.command('RSET', AUTO_RSET);
      if (!s.canWrite()) return false;
    }
    let mail: string;
    try {
      mail = mailLine(s, tx.env);
    } catch (e) {
      if (!(e instanceof SmtpError)) throw e;
      settleTx(s, tx, { by: 'refused', error: e });
      s.queue.shift();
      return true;
    }
    tx.bdat = tx.env.body === 'BINARYMIME' || (s.capabilities.chunking && s.options.chunking !== false);
    moveTx(tx, 'mail-written');
    tx.seq = ++s.mailSeq;
    s.inFlight++;
    s.command(mail, { for: 'mail', tx, timer: 'mail', barrier: false });
  }
  if (tx.stage === 'envelope') {
    const recipients = tx.env.recipients;
    while (tx.rcptSent < recipients.length) {
      if (!s.canWrite()) return false;
      const r = recipients[tx.rcptSent++]!;
      s.command(rcptLine(s, r), { for: 'rcpt', tx, timer: 'rcpt', barrier: false });
    }
    if (!s.canWrite()) return false;
    // Without PIPELINING we know the RCPT results by now: no DATA and no BDAT (nor its body)
    // when none was accepted.
    if (!s.pipelining && tx.accepted.length === 0) {
      refuseTx(s, tx, ...recipientsRefused(tx));
      drop(s, tx);
      return true;
    }
    if (tx.bdat) {
      moveTx(tx, 'bdat-chosen');
    } else {
      moveTx(tx, 'data-written');
      s.command('DATA', { for: 'data', tx, timer: 'data', barrier: true });
      return false;
    }
  }
  if (tx.stage === 'await-354') return false;
  if (tx.stage === 'body') return tx.bdat ? writeBdat(s, tx) : writeData(s, tx);
  return true;
}

function writeData(s: ConnectionState, tx: Transaction): boolean {
  try {
    s.output.views(takeBody(s, tx));
  } catch (e) {
    if (!(e instanceof SmtpError)) throw e;
    abortTx(s, tx, e, 'refused');
    return true;
  }
  if (!tx.bodyEnded) return false;
  if (s.options.transcript) {
    s.transcript('client', `<message body, ${tx.written} octets>`);
    s.transcript('client', '.');
  }
  endWritten(s, tx);
  // The next transaction waits for this reply. RFC 2920 would let its MAIL follow the dot, but
  // servers that answer the dot in one write and the next group in another (Postfix) then
  // meet Nagle and delayed ACKs: a 40 ms stall per message. BDAT has no such stall.
  s.expect({ for: 'end-of-data', tx, timer: 'dataEnd', barrier: true });
  return true;
}

/** mailCommand() for `env` on this session, built once for a run of equal envelopes. Throws
 *  as mailCommand() does (and then caches nothing). */
function mailLine(s: ConnectionState, env: PreparedEnvelope): string {
  const c = s.mailLine;
  if (c !== undefined && c.env === env && c.caps === s.capabilities && c.secure === s.secure) return c.line;
  const line = mailCommand(env, s.capabilities, s.secure);
  s.mailLine = { env, caps: s.capabilities, secure: s.secure, line };
  return line;
}

function rcptLine(s: ConnectionState, rcpt: PreparedRecipient): string {
  const c = s.rcptLine;
  if (c !== undefined && c.rcpt === rcpt && c.caps === s.capabilities) return c.line;
  const line = rcptCommand(rcpt, s.capabilities);
  s.rcptLine = { rcpt, caps: s.capabilities, line };
  return line;
}

function bdatLine(s: ConnectionState, size: number, last: boolean): string {
  const c = s.bdatLine;
  if (c !== undefined && c.size === size && c.last === last) return c.line;
  const line = `BDAT ${size}${last ? ' LAST' : ''}`;
  s.bdatLine = { size, last, line };
  return line;
}

function writeBdat(s: ConnectionState, tx: Transaction): boolean {
  for (;;) {
    if (!s.canWrite()) return false;
    if (!tx.bodyEnded && tx.chunkBytes < s.chunkSize) return false;
    // maxUnansweredEnds: the next write is this body's last; hold it until an end is answered.
    if (tx.bodyEnded && s.unansweredEnds >= s.maxUnansweredEnds) return false;
    let views: Uint8Array[];
    try {
      views = takeBody(s, tx);
    } catch (e) {
      if (!(e instanceof SmtpError)) throw e;
      abortTx(s, tx, e, 'refused');
      return true;
    }
    let size = 0;
    for (let i = 0; i < views.length; i++) size += views[i]!.length;
    const last = tx.bodyEnded;
    const head = bdatLine(s, size, last);
    if (s.options.transcript) {
      s.transcript('client', head);
      s.transcript('client', `<${size} octets>`);
    }
    s.output.line(head);
    s.output.views(views);
    if (last) {
      endWritten(s, tx);
      s.expect({ for: 'end-of-data', tx, timer: 'dataEnd', barrier: false });
      return true;
    }
    s.expect({ for: 'bdat-chunk', tx, timer: 'dataBlock', barrier: false });
  }
}

/** The wire form of the body octets queued for `tx`, and of its end once the body has ended.
 *  Throws SmtpError (a bad body line, or past the server's SIZE). */
function takeBody(s: ConnectionState, tx: Transaction): Uint8Array[] {
  const chunks = tx.chunks;
  s.heldBody -= tx.chunkBytes;
  tx.chunks = [];
  tx.chunkBytes = 0;
  let views: Uint8Array[];
  if (tx.env.body === 'BINARYMIME') {
    views = chunks; // octets go as given
  } else if (
    tx.bodyFlags >= 0 &&
    chunks.length === 1 &&
    (tx.bdat ? (tx.bodyFlags & BODY_NOT_CANONICAL) === 0 : isWireReady(chunks[0]!, true, 998, s.options.bodyScan))
  ) {
    // BDAT trusts the scan made at send(): its length, not its content, ends the data. DATA
    // looks again now, since a body changed after send() could otherwise end the data early.
    // The common whole, clean body: no copy, no encoder; DATA ends it with "." CRLF.
    views = tx.bdat ? chunks : [chunks[0]!, LONE_DOT];
  } else {
    const encoder = (tx.encoder ??= new BodyEncoder({ dotStuff: !tx.bdat, normalizeLineEndings: true, scan: s.options.bodyScan }));
    views = [];
    for (const chunk of chunks) for (const v of encoder.encode(chunk)) views.push(v);
    if (tx.bodyEnded) for (const v of encoder.end()) views.push(v);
  }
  for (let i = 0; i < views.length; i++) tx.written += views[i]!.length;
  // RFC 1870: stop a streamed body as soon as it passes the advertised SIZE.
  const limit = s.capabilities.size;
  if (limit && tx.written > limit) throw new SmtpCapabilityError(`message exceeds the server's SIZE limit of ${limit} octets`);
  return views;
}

/** The final dot / BDAT LAST is queued: from its offset on, a lost link makes it unknown. */
function endWritten(s: ConnectionState, tx: Transaction): void {
  moveTx(tx, 'end-written');
  tx.endOffset = s.output.enqueued;
  s.unansweredEnds++;
  s.queue.shift();
}
