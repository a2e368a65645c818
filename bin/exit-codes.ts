// The CLI's exit status, from sysexits.h, as a pure function of what a send produced: a
// transaction result or a thrown error. Kept apart from the CLI so tests can import it and
// scripts can rely on one documented table (docs/cli.md).
import type { Reply } from '../core/reply.ts';

export const EXIT = Object.freeze({
  OK: 0,
  USAGE: 64, // EX_USAGE: bad flags, bad URL, bad address, no recipient
  DATAERR: 65, // EX_DATAERR: the message itself is unusable (a body line over 998 octets; sendmail -t: a bad address in its header)
  NOINPUT: 66, // EX_NOINPUT: a file named on the command line (or stdin) cannot be read
  NOUSER: 67, // EX_NOUSER: a recipient was refused permanently
  UNAVAILABLE: 69, // EX_UNAVAILABLE: the message (or the session) was refused permanently
  SOFTWARE: 70, // EX_SOFTWARE: an internal error (a bug)
  TEMPFAIL: 75, // EX_TEMPFAIL: try again later
  PROTOCOL: 76, // EX_PROTOCOL: outcome unknown, the server may have the message
  NOPERM: 77, // EX_NOPERM: authentication failed
  CONFIG: 78, // EX_CONFIG: the msmtp configuration file is wrong (or holds a password others can read)
});

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The parts of a TransactionResult (or the client's SendResult) the exit status depends on. */
export interface ResultLike {
  readonly outcome: 'accepted' | 'rejected' | 'unknown';
  readonly accepted: readonly { readonly address: string; readonly reply: Reply }[];
  readonly rejected: readonly { readonly address: string; readonly reply: Reply }[];
  readonly unknown?: readonly string[];
  readonly reply?: Reply | undefined;
  readonly error?: unknown;
}

// A transaction that failed only because every recipient was refused: at RCPT (the core's
// SmtpReplyError.command), or under LMTP one by one at the end of data.
function everyRecipientRefused(err: unknown): boolean {
  const command = (err as { command?: unknown }).command;
  return command === 'RCPT' || (command === 'end-of-data' && /^every recipient was rejected/.test(message(err)));
}

// Node socket errors, should a transport ever let one through unwrapped.
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

// A local resource that may come back (a full disk or quota, too many open files): the spool
// could not take the message now.
const LOCAL_TEMPORARY = new Set(['ENOSPC', 'EDQUOT', 'EMFILE', 'ENFILE', 'EIO']);

export function isResult(value: unknown): value is ResultLike {
  if (value === null || typeof value !== 'object' || value instanceof Error) return false;
  const v = value as Record<string, unknown>;
  return (
    (v.outcome === 'accepted' || v.outcome === 'rejected' || v.outcome === 'unknown') &&
    Array.isArray(v.accepted) &&
    Array.isArray(v.rejected)
  );
}

/** The exit status for a send's result, or for the error that stopped it. */
export function exitCodeFor(outcome: ResultLike | unknown): ExitCode {
  return isResult(outcome) ? forResult(outcome) : forError(outcome);
}

function forResult(r: ResultLike): ExitCode {
  // The final dot went out and no verdict came back: a retry may deliver twice.
  if (r.outcome === 'unknown' || (r.unknown?.length ?? 0) > 0) return EXIT.PROTOCOL;
  if (r.outcome === 'accepted') {
    if (r.rejected.length === 0) return EXIT.OK;
    return r.rejected.some((x) => x.reply.code >= 500) ? EXIT.NOUSER : EXIT.TEMPFAIL;
  }
  const err = r.error;
  if (err === undefined || err === null) {
    // No error given (should not happen): judge by the deciding reply.
    return r.reply && r.reply.code >= 500 ? EXIT.UNAVAILABLE : EXIT.TEMPFAIL;
  }
  // A usage error once the transaction has started is the message's: the body encoder refusing
  // it (a line over 998 octets, a bare CR at its end). Nothing was delivered; resending the same
  // octets cannot help, so not 64 (the command line is fine) but 65, as sendmail's data errors.
  if (code(err) === 'EUSAGE') return EXIT.DATAERR;
  if (code(err) === 'EREPLY' && everyRecipientRefused(err) && r.rejected.length > 0) {
    return r.rejected.some((x) => x.reply.code >= 500) ? EXIT.NOUSER : EXIT.TEMPFAIL;
  }
  return forError(err);
}

function forError(err: unknown): ExitCode {
  const c = code(err);
  const transient = isObject(err) && err.transient === true;
  switch (c) {
    case 'EUSAGE':
      return EXIT.USAGE;
    case 'EAUTH':
      // 454 "temporary authentication failure" is worth retrying; anything else is not.
      return transient ? EXIT.TEMPFAIL : EXIT.NOPERM;
    case 'ETIMEOUT':
    case 'ECONNECTION':
    case 'EPROTOCOL':
    case 'EABORT':
      // Reported as an error (not an unknown result): the message never reached the dot.
      return EXIT.TEMPFAIL;
    case 'EPROXY':
      // The proxy refused our credentials: like a failed AUTH. Else by its transient flag.
      if (isObject(err) && err.reason === 'auth') return EXIT.NOPERM;
      return transient ? EXIT.TEMPFAIL : EXIT.UNAVAILABLE;
    case 'EREPLY':
    case 'ETLS':
    case 'ECAPABILITY':
      return transient ? EXIT.TEMPFAIL : EXIT.UNAVAILABLE;
    default:
      if (typeof c === 'string' && (NETWORK.has(c) || LOCAL_TEMPORARY.has(c))) return EXIT.TEMPFAIL;
      if (c === 'ENOENT' || c === 'EACCES' || c === 'EISDIR') return EXIT.NOINPUT;
      return EXIT.SOFTWARE;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object';
}

function code(err: unknown): unknown {
  return isObject(err) ? err.code : undefined;
}

function message(err: unknown): string {
  return isObject(err) && typeof err.message === 'string' ? err.message : '';
}
