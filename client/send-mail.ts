// The one-call ways in: connect() and sendMail() over SmtpClient, each with every optional part
// (client/full-parts.ts) unless the options name their own; sendMailWith() is sendMail with
// just the parts given (the Worker entry's, which has none).
import { buildMessage, type MessageOptions } from '../message/build.ts';
import { SmtpClient, type SendResult } from './client.ts';
import { oneShotAttachment } from './dkim-send.ts';
import { FULL_PARTS } from './full-parts.ts';
import type { MailOptions } from './message-send.ts';
import type { ClientOptions } from './options.ts';
import { missingPart } from './parts.ts';
import type { Transport } from './transport.ts';

/** `options` with every optional part (client/full-parts.ts) unless they name their own. */
export function withFullParts<T extends ClientOptions>(options: T): T {
  if (options === null || typeof options !== 'object' || options.parts !== undefined) return options;
  return { ...options, parts: FULL_PARTS };
}

/** Connect and get a ready session (greeting, EHLO, STARTTLS, AUTH done). Rejects with the
 *  typed SmtpError that ended the attempt. With every optional part unless `options.parts`
 *  says otherwise (the Worker entry connects with none: connectWith). */
export function connect(options: ClientOptions & { transport: Transport }): Promise<SmtpClient> {
  return SmtpClient.connect(withFullParts(options));
}

/** Client options plus the message (smtpwire/message options: from, to, subject, text, html,
 *  attachments, ...). */
export interface SendMailOptions extends ClientOptions, MessageOptions {
  transport: Transport;
  /** Sign with DKIM (see client.send). */
  dkim?: MailOptions['dkim'];
}

/** One call: build the message (bad input fails before connecting), connect, send it to
 *  To + Cc + Bcc (or the given envelope), close. */
export function sendMail(options: SendMailOptions): Promise<SendResult> {
  return sendMailWith(withFullParts(options));
}

/** sendMail with the parts `options` names (none: PLAIN and LOGIN only, no IDN, no proxy). */
export async function sendMailWith(options: SendMailOptions): Promise<SendResult> {
  const message = buildMessage(options);
  // Keys are imported (and bad DKIM options refused) before connecting.
  const support = options.messages ?? options.parts?.message;
  if (options.dkim !== undefined && !support)
    throw missingPart('DKIM signing in sendMail()', "import { messages } from 'smtpwire/message' and pass sendMail({ ..., messages })");
  const dkim = options.dkim === undefined ? undefined : await support!.signer(options.dkim);
  if (dkim && !message.rereadable) throw oneShotAttachment();
  const client = await SmtpClient.connect(options);
  try {
    return await client.send(message, dkim ? { dkim } : undefined);
  } finally {
    await client.close();
  }
}
