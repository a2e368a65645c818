// DKIM on the friendly API: client.send(), pool.send() and sendMail() sign when given `dkim`.
// Signing happens after rendering (the server's SMTPUTF8/8BITMIME decide the bytes), so the
// signature covers exactly what goes on the wire. The signer reads the message twice (hash,
// then send), so a body must be re-readable; one that is not is a DkimError before MAIL.
import type { RenderedMessage } from '../message/build.ts';
import { DkimError, DkimSigner, type DkimOptions, type DkimSignedStream } from '../message/dkim.ts';
import type { DkimStream } from '../message/dkim-source.ts';
import type { Message } from './message-send.ts';

/** Signature options (one, or a list for several signatures), or a prepared signer. */
export type DkimInput = DkimOptions | DkimSigner;

/** Per-send settings that are not part of the message itself. */
export interface SendOptions {
  /** Sign the message with DKIM (after it is rendered for this server). */
  dkim?: DkimInput;
}

/** A prepared signer: given, or made from the options (keys imported and checked). */
export function dkimSigner(dkim: DkimInput): Promise<DkimSigner> {
  return dkim instanceof DkimSigner ? Promise.resolve(dkim) : DkimSigner.create(dkim);
}

/** A rendered built message, signed: bytes when it is wholly in memory, else a re-rendering
 *  stream (every attachment must then be readable again: bytes, text or a function). */
export async function signRendered(
  rendered: RenderedMessage,
  rereadable: boolean,
  dkim: DkimInput,
): Promise<{ body: Uint8Array | DkimSignedStream; size: number }> {
  const signer = await dkimSigner(dkim);
  const whole = rendered.bytes();
  if (whole) {
    const signed = await signer.sign(whole);
    return { body: signed, size: signed.length };
  }
  if (!rereadable) throw oneShotAttachment();
  const signed = await signer.sign(() => rendered.body);
  return { body: signed, size: signed.size };
}

/** Why a built message with a one-shot attachment cannot be signed. */
export function oneShotAttachment(): DkimError {
  return new DkimError(
    'source',
    'a DKIM-signed message is read twice (to hash it, then to send it), but an attachment is a one-shot stream: give its content as a function that returns a fresh source, e.g. content: () => fileBody(path)',
  );
}

/** A raw Message, signed: a string/Uint8Array body directly, a function body (a fresh stream of
 *  the message on each call) as a stream read twice. */
export async function signRaw(message: Message, dkim: DkimInput): Promise<Message> {
  const signer = await dkimSigner(dkim);
  const body: unknown = message.body;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const signed = await signer.sign(body);
    return { ...message, body: signed, size: signed.length };
  }
  if (typeof body === 'function') {
    const signed = await signer.sign(body as () => DkimStream | Promise<DkimStream>);
    return { ...message, body: signed, size: signed.size };
  }
  throw new DkimError(
    'source',
    'a DKIM-signed message is read twice (to hash it, then to send it): give the body as a string, a Uint8Array, or a function that returns a fresh stream of it, e.g. body: () => fileBody(path)',
  );
}
