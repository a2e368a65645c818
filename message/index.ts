// smtpwire/message: build RFC 5322 + MIME messages (no I/O, no dependencies; the same on Node,
// Deno, Bun and Workers). See docs/messages.md.
export {
  buildMessage,
  isBuiltMessage,
  formatDate,
  BuiltMessage,
  type MessageOptions,
  type Attachment,
  type AttachmentContent,
  type CalendarEvent,
  type ListUnsubscribe,
  type RenderTarget,
  type RenderedMessage,
} from './build.ts';
export { contentTypeFor } from './content-type.ts';
export type { ContentSource, ReadIntoSource } from './content.ts';
export { chooseTextEncoding, encodeQuotedPrintable, type TransferEncoding } from './encoding.ts';
export { parseAddressList, toMailboxes, formatMailboxes, envelopeAddress, type Mailbox, type Group, type AddressInput } from './address.ts';
export { domainToAscii, domainToUnicode } from './idn.ts';
export * from './dkim.ts';
export { messages } from '../client/messages.ts';
