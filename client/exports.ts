// What every runtime entry point re-exports besides connect/sendMail/createPool: the pool's
// error and stats, credential providers, and the observability hooks' types.
export { SmtpPoolFullError, type PoolStats } from './pool.ts';
export { connectDiagnostics } from './diagnostics.ts';
export { shareSecret, type SecretContext, type SecretProvider, type SharedSecret } from './credentials.ts';
export type {
  AuthEvent,
  ConnectionClosedEvent,
  ConnectionInfo,
  ConnectionOpenedEvent,
  MessageSettledEvent,
  SmtpObserver,
  TlsEvent,
} from './observe.ts';
export type { DkimInput, MailOptions, RawMailInput, SendInput, SendOptions } from './message-send.ts';
