// The timers, as deadlines the driver is told (poll's `wait`) and checks it makes when called
// back (handleTimeout): the head reply's timer, the whole of AUTH, the TLS handshake, the body
// the user is slow to give, and output the transport is slow to take.
import type { ConnectionState } from './connection-state.ts';
import type { TimerKind } from './timeouts.ts';

/** A DATA/BDAT body waits for the user, with nothing outstanding. */
function bodyDeadline(s: ConnectionState): number | undefined {
  const tx = s.queue.front();
  if (tx && tx.kind === 'tx' && tx.stage === 'body' && !tx.bodyEnded && s.replies.length === 0) {
    return tx.lastBodyAt + s.timeouts.dataBlock;
  }
  return undefined;
}

/** The data-block timer on the transport: output polled and not taken (writtenSignal) must
 *  move within timeouts.dataBlock, whatever the body kind: a server that reads nothing leaves
 *  a whole body in the runtime's buffer, and that must not pass for sent. */
function stallDeadline(s: ConnectionState): number | undefined {
  if (!s.output.stalled || s.over) return undefined;
  return s.output.takenAt + s.timeouts.dataBlock;
}

export function nextDeadline(s: ConnectionState): number | undefined {
  let d = s.replies.headDeadline;
  if (s.phase === 'auth' && (d === undefined || s.authDeadline < d)) d = s.authDeadline;
  if (s.tlsDeadline !== undefined && (d === undefined || s.tlsDeadline < d)) d = s.tlsDeadline;
  const body = bodyDeadline(s);
  if (body !== undefined && (d === undefined || body < d)) d = body;
  const stall = stallDeadline(s);
  if (stall !== undefined && (d === undefined || stall < d)) d = stall;
  return d;
}

/** The timer that has expired at `now`, if any. */
export function expiredTimer(s: ConnectionState, now: number): TimerKind | undefined {
  if (s.phase === 'auth' && now >= s.authDeadline) return 'authTotal';
  const head = s.replies.headDeadline;
  if (head !== undefined && now >= head) return s.replies.front()!.timer;
  if (s.tlsDeadline !== undefined && now >= s.tlsDeadline) return 'tlsHandshake';
  const body = bodyDeadline(s);
  if (body !== undefined && now >= body) return 'dataBlock';
  const stall = stallDeadline(s);
  if (stall !== undefined && now >= stall) return 'dataBlock';
  return undefined;
}

/** What the session waits for, for poll's `wait` output. */
export function waitReason(s: ConnectionState): string {
  const head = s.replies.front();
  if (head) return `reply (${head.timer})`;
  if (s.computeId && s.phase === 'auth') return 'key derivation (compute)';
  if (s.phase === 'tls') return 'TLS handshake';
  if (bodyDeadline(s) !== undefined) return 'message body';
  if (stallDeadline(s) !== undefined) return 'the transport to take output';
  return s.phase === 'ready' ? 'idle' : s.phase;
}
