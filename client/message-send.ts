// What client.send() takes besides a raw Message: a message built with smtpwire/message, or the
// builder's options. Either is rendered here, once the session has said EHLO, because the
// server's SMTPUTF8 and 8BITMIME decide how headers and bodies are written. A `dkim` option
// signs the rendered message (client/dkim-send.ts): the send then waits for the signature.
import type { Capabilities } from '../core/capabilities.ts';
import type { Envelope, RecipientSpec } from '../core/envelope.ts';
import type { BuiltMessage, MessageOptions } from '../message/build.ts';
import { declaredSize, type BodySource } from './body-stream.ts';
import type { DkimInput, SendOptions } from './dkim-send.ts';
import { missingPart, type MessageSupport } from './parts.ts';

// message/build.ts's brand, read here by its registered symbol so this file need not import the
// builder: a built message renders itself, so sending one needs no part.
const BUILT = Symbol.for('smtpwire.BuiltMessage');
function isBuiltMessage(value: unknown): value is BuiltMessage {
  return value !== null && typeof value === 'object' && (value as Record<symbol, unknown>)[BUILT] === true;
}
function noDkim(): Error {
  return missingPart('DKIM signing in send()', "import { messages } from 'smtpwire/message' and pass connect({ ..., messages })");
}
function fail(err: Error): never {
  throw err;
}

export type { DkimInput, SendOptions } from './dkim-send.ts';

/** A raw message: the envelope and the body as it goes on the wire. */
export interface Message {
  from: string;
  to: string | (string | RecipientSpec)[];
  body: BodySource;
  /** Declared size (SIZE=). Default: the length of a string/Uint8Array body. */
  size?: number;
  smtpUtf8?: boolean;
  dsn?: Envelope['dsn'];
  requireTls?: boolean;
  /** Declare BODY=8BITMIME. Detected for string/Uint8Array bodies; say so for streams. */
  eightBit?: boolean;
  /** Declare BODY=BINARYMIME (needs BINARYMIME + CHUNKING on the server). */
  binary?: boolean;
  /** Cancels this send: rejected with EABORT before its end is written, unknown after. */
  signal?: AbortSignal;
}

/** The core's envelope for `message`; `fixed` is its body when held whole. */
export function envelopeOf(message: Message, fixed: Uint8Array | undefined): Envelope {
  return {
    from: message.from,
    to: typeof message.to === 'string' ? [message.to] : message.to,
    size: message.size ?? fixed?.length ?? declaredSize(message.body),
    smtpUtf8: message.smtpUtf8,
    dsn: message.dsn,
    requireTls: message.requireTls,
    // A whole body is scanned by the core, which declares 8BITMIME when it finds 8-bit octets.
    body: message.binary ? 'BINARYMIME' : message.eightBit ? '8BITMIME' : undefined,
  };
}

/** Builder options plus the per-send settings a raw Message has. */
export interface MailOptions extends MessageOptions {
  dsn?: Envelope['dsn'];
  requireTls?: boolean;
  signal?: AbortSignal;
  /** Sign with DKIM: signature options, a list of them (several signatures), or a signer. */
  dkim?: DkimInput;
}

/** A raw Message, which may also be signed: with `dkim`, `body` may be a function returning a
 *  fresh stream of the message (it is read twice). */
export interface RawMailInput extends Omit<Message, 'body'> {
  body: Message['body'] | (() => unknown);
  dkim?: DkimInput;
}

/** Anything client.send() and pool.send() accept. */
export type SendInput = Message | RawMailInput | BuiltMessage | MailOptions;

/**
 * A raw Message passes through; a built message or builder options are rendered for `caps`.
 * With DKIM (`options.dkim`, or `dkim` in the input) the result is a promise of the signed
 * message; without, the message itself, so an unsigned send stays synchronous up to the core.
 */
export function toWireMessage(input: Message | BuiltMessage, caps: Capabilities): Message;
export function toWireMessage(
  input: SendInput,
  caps: Capabilities,
  options?: SendOptions,
  support?: MessageSupport,
): Message | Promise<Message>;
export function toWireMessage(
  input: SendInput,
  caps: Capabilities,
  options?: SendOptions,
  support?: MessageSupport,
): Message | Promise<Message> {
  if (input === null || typeof input !== 'object') return input;
  const dkim = options?.dkim ?? (isBuiltMessage(input) ? undefined : (input as { dkim?: DkimInput }).dkim);
  if ('body' in input) {
    if (dkim === undefined) return input as Message;
    const { dkim: _, ...raw } = input as RawMailInput;
    if (!support) throw noDkim();
    return support.signRaw(raw as Message, dkim);
  }
  let built: BuiltMessage;
  if (isBuiltMessage(input)) built = input;
  else if (support) built = support.build(input);
  else
    throw missingPart(
      'building a message from options',
      "import { messages } from 'smtpwire/message' and pass connect({ ..., messages }), or send buildMessage(options) (buildMessage from smtpwire/message), or a raw message ({ from, to, body })",
    );
  const extras: Partial<MailOptions> = isBuiltMessage(input) ? {} : input;
  const r = built.render({ smtpUtf8: caps.smtpUtf8, eightBitMime: caps.eightBitMime });
  const wire = (body: Message['body'], size: number | undefined): Message => ({
    from: r.from,
    to: r.to,
    body,
    ...(size !== undefined ? { size } : {}),
    ...(r.eightBit ? { eightBit: true } : {}),
    ...(r.smtpUtf8 ? { smtpUtf8: true } : {}),
    ...(extras.dsn !== undefined ? { dsn: extras.dsn } : {}),
    ...(extras.requireTls !== undefined ? { requireTls: extras.requireTls } : {}),
    ...(extras.signal !== undefined ? { signal: extras.signal } : {}),
  });
  if (dkim !== undefined) return (support ?? fail(noDkim())).signRendered(r, built.rereadable, dkim).then((s) => wire(s.body, s.size));
  // A message wholly in memory goes as one array (one pump, like any raw body); one with a
  // streamed attachment is pulled chunk by chunk.
  return wire(r.bytes() ?? r.body, r.size);
}
