// smtpwire/core: the sans-IO SMTP client, pure ECMAScript. What a user needs to drive it: the
// connection, its options, outputs, events and results; envelopes and replies; the errors; the
// SASL contract and the built-in mechanisms; the proxy tunnel (also sans-IO); composeMessage.
// The building blocks underneath (reply parser, body encoder, hashes, base64, the state
// tables) are smtpwire/core/internal: no stability promise.
// SmtpConnection has every built-in mechanism and the IDN codec (core/full.ts); the lean one
// takes them only when given (docs/core-reference.md); the body scan is passed in by choice.
export { SmtpConnection, withFullParts, type ConnectionOptions, type AuthOptions } from './full.ts';
export { SmtpConnection as LeanSmtpConnection } from './connection.ts';
export { simdScanner } from './simd-scan.ts';
export { asciiAddress, idn } from './idn.ts';
export type { IdnCodec } from './envelope.ts';
export type { BodyScan } from './body.ts';
export type {
  Output,
  SmtpEvent,
  TransactionResult,
  AcceptedResult,
  RejectedResult,
  UnknownResult,
  RecipientResult,
  Outcome,
} from './events.ts';
export type { Phase } from './states.ts';
export type { Envelope, RecipientSpec, NotifyOn } from './envelope.ts';
export { type Reply, describeReply, isPositive, isTransient, isPermanent, DEFAULT_REPLY_LIMITS, type ReplyParserLimits } from './reply.ts';
export type { Capabilities } from './capabilities.ts';
export { DEFAULT_TIMEOUTS, type Timeouts, type TimerKind } from './timeouts.ts';
export {
  SmtpError,
  SmtpUsageError,
  SmtpAddressError,
  SmtpProtocolError,
  SmtpReplyError,
  SmtpAuthError,
  SmtpTlsError,
  SmtpCapabilityError,
  SmtpTimeoutError,
  SmtpConnectionError,
  SmtpAbortError,
  SmtpProxyError,
  SmtpInternalError,
  type ProxyFailure,
  type SmtpErrorCode,
  type RefusedCommand,
} from './errors.ts';
// The SASL contract (a custom mechanism implements SaslMechanism) and the built-in mechanisms.
export {
  SaslError,
  DEFAULT_MAX_CHALLENGES,
  type SaslMechanism,
  type SaslExchange,
  type SaslCredentials,
  type SaslContext,
  type SaslDeferred,
  type Pbkdf2Request,
} from './sasl/mechanism.ts';
export {
  BUILTIN_MECHANISMS,
  BASIC_MECHANISMS,
  SASL_PLAIN,
  SASL_LOGIN,
  SASL_CRAM_MD5,
  SASL_XOAUTH2,
  SASL_OAUTHBEARER,
  SASL_SCRAM_SHA_256,
} from './sasl/index.ts';
export { ProxyTunnel, parseProxy, type ProxySpec, type ProxyProtocol, type ProxyTarget, type TunnelOutput } from './proxy/index.ts';
export { composeMessage, type ComposeInput } from './compose.ts';
