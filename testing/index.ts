// smtpwire/testing: test applications that send mail, with no network (createTestServer), and
// read what they sent (readMessage). The loopback capture server is in testing/capture.ts
// (Node only; `smtpwire capture`), kept out of this entry so it stays runtime-neutral.
export { createTestServer, manualClock, type TestServer, type TestServerOptions, type TestClock } from './memory.ts';
export {
  SmtpServerSession,
  SharedState,
  type RecordedMessage,
  type RecordedEnvelope,
  type SessionAction,
  type SessionOptions,
} from './session.ts';
export type { ServerRules, RecipientRule, ReplyKind } from './rules.ts';
export { readMessage, type ReadMessage, type MessagePart, type HeaderField } from './read-message.ts';
