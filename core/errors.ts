// Typed errors, split as h11 splits them: the caller's mistakes (EUSAGE) throw at the call; the
// server's (EPROTOCOL, EREPLY, ...) and the link's reach the user as values (an event or a
// settled promise); a bug inside the core (any exception that is not an SmtpError) becomes
// EINTERNAL, which is never transient, so no pool retries (and so resends) because of one.
import type { Reply } from './reply.ts';

export type SmtpErrorCode =
  | 'EUSAGE' // the caller passed something that cannot go on the wire
  | 'EPROTOCOL' // the server broke the protocol (bad reply, injection, oversized data)
  | 'EREPLY' // the server refused a session step (greeting, EHLO, ...) with a reply
  | 'EAUTH' // authentication failed or could not be attempted safely
  | 'ETLS' // TLS was required but could not be established
  | 'ECAPABILITY' // the message needs an extension the server lacks (SMTPUTF8, 8BITMIME, SIZE)
  | 'ETIMEOUT' // a phase deadline passed
  | 'ECONNECTION' // the link closed or failed
  | 'EPROXY' // the proxy refused, failed or broke its protocol (core/proxy/)
  | 'EABORT' // the caller cancelled
  | 'EFULL' // a pool's queue is full and the caller asked not to wait (client/pool.ts)
  | 'EINTERNAL'; // a bug in smtpwire: an exception inside the core that is not an SmtpError

export class SmtpError extends Error {
  readonly code: SmtpErrorCode;
  /** The server reply behind this error, when there is one. */
  readonly reply: Reply | undefined;
  /** True when retrying later (or elsewhere) may succeed. */
  readonly transient: boolean;
  constructor(code: SmtpErrorCode, message: string, opts: { reply?: Reply; transient?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.reply = opts.reply;
    this.transient = opts.transient ?? (opts.reply ? opts.reply.code >= 400 && opts.reply.code < 500 : false);
  }
}

export class SmtpUsageError extends SmtpError {
  constructor(message: string) {
    super('EUSAGE', message);
  }
}

/** An address, domain name or header the caller gave that cannot be parsed or used (a kind of
 *  usage error: code EUSAGE). */
export class SmtpAddressError extends SmtpUsageError {}

export class SmtpProtocolError extends SmtpError {
  constructor(message: string) {
    super('EPROTOCOL', message, { transient: true });
  }
}

/** Which step the server refused: lets callers tell "every recipient refused" (RCPT) from
 *  "the message refused" (end of data) without reading message text. */
export type RefusedCommand = 'greeting' | 'hello' | 'MAIL' | 'RCPT' | 'DATA' | 'BDAT' | 'end-of-data';

export class SmtpReplyError extends SmtpError {
  readonly command: RefusedCommand | undefined;
  constructor(message: string, reply: Reply, command?: RefusedCommand) {
    super('EREPLY', message, { reply });
    this.command = command;
  }
}

export class SmtpAuthError extends SmtpError {
  constructor(message: string, reply?: Reply) {
    super('EAUTH', message, reply ? { reply } : {});
  }
}

export class SmtpTlsError extends SmtpError {
  constructor(message: string, reply?: Reply) {
    super('ETLS', message, reply ? { reply } : {});
  }
}

export class SmtpCapabilityError extends SmtpError {
  constructor(message: string) {
    super('ECAPABILITY', message);
  }
}

export class SmtpTimeoutError extends SmtpError {
  /** Which phase timed out (a key of the timer table). */
  readonly phase: string;
  constructor(phase: string, ms: number, message = `timed out after ${ms} ms waiting for the ${phase} reply`) {
    super('ETIMEOUT', message, { transient: true });
    this.phase = phase;
  }
}

export class SmtpConnectionError extends SmtpError {
  constructor(message: string, cause?: unknown) {
    super('ECONNECTION', message, { transient: true, cause });
  }
}

/** Why a proxy tunnel could not be opened (SmtpProxyError.reason). */
export type ProxyFailure =
  | 'auth' // the proxy refused our credentials, or wants some we did not give
  | 'refused' // the proxy would not, or could not, reach the mail server
  | 'protocol' // the proxy's answer broke its protocol (or it is not that kind of proxy)
  | 'closed' // the proxy closed the connection during the handshake
  | 'timeout'; // the handshake passed the connect deadline

export class SmtpProxyError extends SmtpError {
  readonly reason: ProxyFailure;
  constructor(reason: ProxyFailure, message: string, transient = reason !== 'auth') {
    super('EPROXY', message, { transient });
    this.reason = reason;
  }
}

/** A bug inside the core: an exception that is not an SmtpError, caught where an input enters
 *  the connection. Not transient: what the core did before it is unknown, so retrying could
 *  send a message twice. The original exception is the cause. */
export class SmtpInternalError extends SmtpError {
  constructor(message: string, cause?: unknown) {
    super('EINTERNAL', message, { transient: false, cause });
  }
}

export class SmtpAbortError extends SmtpError {
  constructor(message = 'aborted by the caller') {
    super('EABORT', message);
  }
}
