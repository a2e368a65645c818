// What the message builder takes and gives: the options of buildMessage() (nodemailer-like),
// what render() needs to know about the server, and the rendered message client.send() takes.
import type { AddressInput } from './address.ts';
import type { AttachmentContent } from './content.ts';

export type { AttachmentContent } from './content.ts';

export interface Attachment {
  /** Bytes, text (sent as UTF-8), a stream, a `{ readInto }` source such as `fileBody(path)`,
   *  or a function returning one of those or a promise of one (so the message can be rendered
   *  more than once). */
  content: AttachmentContent;
  /** Shown to the recipient; non-ASCII is written per RFC 2231. */
  filename?: string;
  /** Default: from the filename's extension, else application/octet-stream. */
  contentType?: string;
  /** Content-ID for `<img src="cid:...">` in the HTML: the part goes into multipart/related. */
  cid?: string;
  /** Default 'inline' with a cid, else 'attachment'. */
  contentDisposition?: 'attachment' | 'inline';
  /** Octets the content gives, for a function or stream whose length is known (a file's): the
   *  message's size is then known and declared (SIZE=). Checked as the content is read. */
  size?: number;
}

export interface CalendarEvent {
  /** The iCalendar text (VCALENDAR). */
  content: string;
  /** The iTIP method (RFC 5546). Default REQUEST. */
  method?: string;
}

export interface ListUnsubscribe {
  /** https: and/or mailto: URIs. */
  url: string | readonly string[];
  /** RFC 8058 one-click (List-Unsubscribe-Post). Default true when an https: URI is given. */
  oneClick?: boolean;
}

export interface MessageOptions {
  from: AddressInput;
  sender?: AddressInput;
  to?: AddressInput;
  cc?: AddressInput;
  /** Envelope only: never written into the message. */
  bcc?: AddressInput;
  replyTo?: AddressInput;
  subject?: string;
  /** Default: the time buildMessage() was called. */
  date?: Date;
  /** Default: random, at the From domain. With or without the angle brackets. */
  messageId?: string;
  inReplyTo?: string;
  references?: string | readonly string[];
  priority?: 'low' | 'normal' | 'high';
  listUnsubscribe?: string | readonly string[] | ListUnsubscribe;
  /** Extra header fields (unstructured text), written after the standard ones. */
  headers?: Record<string, string | readonly string[]> | readonly (readonly [string, string])[];
  text?: string;
  html?: string;
  attachments?: readonly Attachment[];
  icalEvent?: string | CalendarEvent;
  /** SMTP envelope; default: the Sender (else From) address, and To + Cc + Bcc. */
  envelope?: { from: string; to: string | readonly string[] };
}

/** What render() needs to know about the server. */
export interface RenderTarget {
  smtpUtf8: boolean;
  eightBitMime: boolean;
  /** Random octets for boundaries and the Message-ID. Default crypto.getRandomValues. */
  random?: (n: number) => Uint8Array;
}

/** A built message, rendered for one server: what client.send() takes as a Message. */
export interface RenderedMessage {
  from: string;
  to: string[];
  /** The message octets: re-iterable when every attachment can be read again (bytes, text,
   *  or a function returning a fresh source); a one-shot stream can be read once. */
  body: AsyncIterable<Uint8Array>;
  /** Octets the body will give, when every part's size is known. */
  size: number | undefined;
  /** Declare BODY=8BITMIME: a part went 8bit, or a header holds UTF-8. */
  eightBit: boolean;
  /** Declare SMTPUTF8: an address or header holds UTF-8. */
  smtpUtf8: boolean;
  /** The whole message in one array when no part is streamed (no stream attachment). */
  bytes(): Uint8Array | undefined;
}
