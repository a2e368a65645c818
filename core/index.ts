// smtpwire core: the sans-IO SMTP client. Everything here is pure ECMAScript.
export { SmtpConnection, withFullParts, type ConnectionOptions, type AuthOptions } from './full.ts';
export { SmtpConnection as LeanSmtpConnection } from './connection.ts';
export { simdScanner } from './simd-scan.ts';
export { asciiAddress, idn } from './idn.ts';
export type { IdnCodec } from './envelope.ts';
export type { BodyScan } from './body.ts';
export type { Output, SmtpEvent, TransactionResult, AcceptedResult, RejectedResult, UnknownResult, RecipientResult, Outcome } from './events.ts';
export type { Envelope, RecipientSpec, NotifyOn } from './envelope.ts';
export { type Reply, ReplyParser, describeReply, isPositive, isTransient, isPermanent, DEFAULT_REPLY_LIMITS, type ReplyParserLimits } from './reply.ts';
export { type Capabilities, parseEhloReply } from './capabilities.ts';
export { DEFAULT_TIMEOUTS, type Timeouts, type TimerKind } from './timeouts.ts';
export { TABLE as STATE_TABLE, type Phase, type Input, type Action, type Transition } from './states.ts';
export {
  SmtpError, SmtpUsageError, SmtpAddressError, SmtpProtocolError, SmtpReplyError, SmtpAuthError, SmtpTlsError,
  SmtpCapabilityError, SmtpTimeoutError, SmtpConnectionError, SmtpAbortError, SmtpProxyError, SmtpInternalError,
  type ProxyFailure, type SmtpErrorCode, type RefusedCommand,
} from './errors.ts';
export { BodyEncoder, needsEightBit, isWireReady, scanBody, BODY_EIGHT_BIT, BODY_NOT_CANONICAL, type BodyEncoderOptions } from './body.ts';
export { formatPath, needsSmtpUtf8 } from './address.ts';
export { composeMessage, type ComposeInput } from './compose.ts';
export { printable } from './text.ts';
export * from './sasl/index.ts';
export * from './proxy/index.ts';
