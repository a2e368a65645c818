// What client.send() takes besides a raw Message: a message built with smtpwire/message, or the
// builder's options. Either is rendered here, once the session has said EHLO, because the
// server's SMTPUTF8 and 8BITMIME decide how headers and bodies are written.
import type { Capabilities } from '../core/capabilities.ts';
import type { Envelope } from '../core/envelope.ts';
import { buildMessage, isBuiltMessage, type BuiltMessage, type MessageOptions } from '../message/build.ts';
import type { Message } from './client.ts';

/** Builder options plus the per-send settings a raw Message has. */
export interface MailOptions extends MessageOptions {
  dsn?: Envelope['dsn'];
  requireTls?: boolean;
  signal?: AbortSignal;
}

/** Anything client.send() and pool.send() accept. */
export type SendInput = Message | BuiltMessage | MailOptions;

/** A raw Message passes through; a built message or builder options are rendered for `caps`. */
export function toWireMessage(input: SendInput, caps: Capabilities): Message {
  if (input === null || typeof input !== 'object' || 'body' in input) return input as Message;
  const built = isBuiltMessage(input) ? input : buildMessage(input);
  const extras: Partial<MailOptions> = isBuiltMessage(input) ? {} : input;
  const r = built.render({ smtpUtf8: caps.smtpUtf8, eightBitMime: caps.eightBitMime });
  // A message wholly in memory goes as one array (one pump, like any raw body); one with a
  // streamed attachment is pulled chunk by chunk.
  const whole = r.bytes();
  return {
    from: r.from,
    to: r.to,
    body: whole ?? r.body,
    ...(r.size !== undefined ? { size: r.size } : {}),
    ...(r.eightBit ? { eightBit: true } : {}),
    ...(r.smtpUtf8 ? { smtpUtf8: true } : {}),
    ...(extras.dsn !== undefined ? { dsn: extras.dsn } : {}),
    ...(extras.requireTls !== undefined ? { requireTls: extras.requireTls } : {}),
    ...(extras.signal !== undefined ? { signal: extras.signal } : {}),
  };
}
