// The timer table. Defaults follow RFC 5321 §4.5.3.2 where it names a phase; the rest are
// chosen to be as patient as the nearest RFC phase. All in milliseconds, all configurable.

export interface Timeouts {
  greeting: number; // initial 220: 5 min
  hello: number; // EHLO/LHLO/HELO reply
  starttls: number; // STARTTLS reply
  tlsHandshake: number; // the transport's handshake, after STARTTLS 220
  auth: number; // each AUTH step
  authTotal: number; // the whole AUTH exchange, from AUTH to its final reply, computations included
  mail: number; // MAIL: 5 min
  rcpt: number; // RCPT: 5 min
  data: number; // DATA initiation (354): 2 min
  dataBlock: number; // each data block / BDAT chunk: 3 min
  dataEnd: number; // after the final dot or BDAT LAST: 10 min
  command: number; // RSET, NOOP
  quit: number; // QUIT reply
}

export type TimerKind = keyof Timeouts;

const MINUTE = 60_000;

export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = Object.freeze({
  greeting: 5 * MINUTE,
  hello: 5 * MINUTE,
  starttls: 2 * MINUTE,
  tlsHandshake: 1 * MINUTE,
  auth: 5 * MINUTE,
  // Not re-armed by each 334: a server that drips challenges cannot hold AUTH open longer
  // than one slow step may take. A real exchange is a few round trips plus at most one key
  // derivation (SCRAM: about a second at the highest iteration count accepted).
  authTotal: 5 * MINUTE,
  mail: 5 * MINUTE,
  rcpt: 5 * MINUTE,
  data: 2 * MINUTE,
  dataBlock: 3 * MINUTE,
  dataEnd: 10 * MINUTE,
  command: 5 * MINUTE,
  quit: 1 * MINUTE,
});
