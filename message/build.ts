// The message builder: nodemailer-like options in, an RFC 5322 + MIME message out, as a body
// source the client streams. buildMessage() checks everything the caller gave (a bad address,
// header or attachment throws SmtpUsageError before any connection); render() writes the octets
// once the server's SMTPUTF8 and 8BITMIME are known, since both change the output: UTF-8 or
// A-label domains and RFC 2047 words in headers, 8bit or quoted-printable bodies. The client
// calls render() itself when it is given a built message (client/client.ts), after EHLO.
// The options are in options.ts, the checks in check.ts, the rendering in render.ts.
import { checkOptions, type Checked } from './check.ts';
import type { MessageOptions, RenderedMessage, RenderTarget } from './options.ts';
import { dedupe, render } from './render.ts';

export type {
  Attachment,
  AttachmentContent,
  CalendarEvent,
  ListUnsubscribe,
  MessageOptions,
  RenderedMessage,
  RenderTarget,
} from './options.ts';
export { formatDate } from './render.ts';

const BUILT = Symbol.for('smtpwire.BuiltMessage');

/** A checked message, ready to render for a server. Make one with buildMessage(). */
export class BuiltMessage {
  readonly #m: Checked;
  readonly [BUILT] = true;

  /** @internal use buildMessage() */
  constructor(checked: Checked) {
    this.#m = checked;
  }

  /** Envelope recipients: To, Cc and Bcc (or the given envelope), duplicates dropped. */
  get recipients(): string[] {
    return this.#m.envelope?.to ?? dedupe([...this.#m.to, ...this.#m.cc, ...this.#m.bcc].map((m) => m.address));
  }

  /** The envelope sender: the given one, else Sender, else From. */
  get sender(): string {
    return this.#m.envelope?.from ?? (this.#m.sender[0] ?? this.#m.from[0]!).address;
  }

  /** True when every attachment can be read again (bytes, text, or a function returning a
   *  fresh source), so the message can be rendered, or read twice to sign it, more than once. */
  get rereadable(): boolean {
    return this.#m.attachments.every((a) => typeof a.content !== 'object' || a.content instanceof Uint8Array);
  }

  /** The message for a server with (or without) SMTPUTF8 and 8BITMIME. */
  render(target: RenderTarget): RenderedMessage {
    return render(this.#m, target);
  }
}

/** True for what buildMessage() returns (also across copies of the module). */
export function isBuiltMessage(value: unknown): value is BuiltMessage {
  return value !== null && typeof value === 'object' && (value as Record<symbol, unknown>)[BUILT] === true;
}

/** Check the options and return a message to render once the server is known. */
export function buildMessage(options: MessageOptions): BuiltMessage {
  return new BuiltMessage(checkOptions(options));
}
