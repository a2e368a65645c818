// One send: connect with the plan's client options, hand over the body, return the result. The
// body is stdin (a file read at positions, or a stream), a stream already edited (sendmail
// mode), a spooled file (bin/spool.ts) or a message built from flags (plan.message), rendered
// once the server's SMTPUTF8/8BITMIME are known. DKIM (plan.dkim) signs a raw message before
// connecting and a built one after rendering. --timeout is enforced here.
import { toWireMessage } from '../client/message-send.ts';
import type { RecipientSpec } from '../core/envelope.ts';
import { printable } from '../core/text.ts';
import { connect, fileBody, type LogEntry, type PullIntoSource, type SendResult } from '../transports/node.ts';
import { InputFileError } from './args.ts';
import { prepareDkim, signOutgoing, signStdin } from './dkim-options.ts';
import { fileWithProgress, hintIfTerminal, nonEmpty, readStdinText, stdinFile, stdinKind, stdinStream, withProgress } from './input.ts';
import { buildFromPlan } from './message-options.ts';
import type { SendPlan } from './options.ts';
import { OverallTimeoutError } from './timeout-options.ts';

export type BodyInput =
  | { kind: 'stdin' }
  | { kind: 'stream'; source: AsyncIterable<Uint8Array> }
  /** A spooled message, sent as it is (already signed): `onEnd` runs (synchronously) before
   *  the last octets are handed over. */
  | { kind: 'file'; path: string; start: number; onEnd?: () => void }
  /** plan.message, built from the flags. */
  | { kind: 'built' };

interface Abortable {
  abort(reason?: unknown): void;
}

/** Runs `fn` under the plan's overall deadline and the caller's signal. */
export async function withDeadline(
  plan: SendPlan,
  outer: AbortSignal | undefined,
  fn: (signal: AbortSignal, onClient: (c: Abortable) => void) => Promise<SendResult>,
): Promise<SendResult | unknown> {
  const controller = new AbortController();
  const forward = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener('abort', forward, { once: true });
  let client: Abortable | undefined;
  const deadline = plan.deadline;
  // When the deadline passes the send is cancelled (the core still tells rejected from unknown)
  // and the link dropped without waiting for QUIT.
  const timer =
    deadline === undefined
      ? undefined
      : setTimeout(() => {
          const reason = new OverallTimeoutError(deadline);
          controller.abort(reason);
          client?.abort(reason);
        }, deadline);
  try {
    return await fn(controller.signal, (c) => (client = c));
  } catch (err) {
    return err;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', forward);
  }
}

/** Hands `onEnd` the moment the last octet of a sized pull source is about to be handed over. */
export function endMarked(source: PullIntoSource, size: number, onEnd: () => void): PullIntoSource {
  let total = 0;
  let marked = false;
  const mark = (): void => {
    if (!marked) {
      marked = true;
      onEnd();
    }
  };
  return {
    size,
    readInto: async (buffer) => {
      const n = await source.readInto(buffer);
      total += n;
      if (total >= size || n === 0) mark(); // before the core can write the final dot
      return n;
    },
    close: () => source.close?.(),
  };
}

export async function deliver(plan: SendPlan, body: BodyInput, signal: AbortSignal, onClient: (c: Abortable) => void): Promise<SendResult> {
  const log = (entry: LogEntry): void => {
    const tag = entry.from === 'client' ? 'C:' : entry.from === 'server' ? 'S:' : '*';
    process.stderr.write(`${tag} ${printable(entry.text)}\n`);
  };

  // A built message is built before connecting, so bad input fails without a session.
  const built =
    body.kind === 'built' && plan.message
      ? buildFromPlan(plan.message, plan.message.text?.from === 'stdin' ? await readStdinText() : undefined)
      : undefined;
  const stdin = body.kind === 'stdin' ? stdinKind() : undefined; // a directory fails here, before connecting
  if (stdin?.kind === 'file' && stdin.size === 0) throw new InputFileError('standard input is an empty file: no message to send');
  const filter = (src: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> => (plan.filter ? plan.filter(src) : src);
  // A raw message as a stream (a module's filter needs one, even from a file), or stdin's file.
  let stream: AsyncIterable<Uint8Array> | undefined;
  if (body.kind === 'stream') stream = filter(body.source);
  else if (stdin !== undefined && (stdin.kind === 'stream' || plan.filter !== undefined)) {
    hintIfTerminal('the message');
    stream = filter(await nonEmpty(stdinStream()));
  }
  const file = stdin?.kind === 'file' && stream === undefined ? stdin.size : undefined;
  // DKIM: the key is imported, and a raw message read and hashed, before connecting (a spooled
  // file was signed before it was spooled).
  const dkim = plan.dkim ? await prepareDkim(plan.dkim) : undefined;
  const signed = dkim && !built && body.kind !== 'file' ? await signStdin(dkim, stream ?? none(), file, stdinFile) : undefined;

  const client = await connect({ ...plan.client, signal, ...(plan.verbose ? { logger: log } : {}) });
  onClient(client);
  const envelope = { from: plan.from, to: plan.to, ...(plan.dsn ? { dsn: plan.dsn } : {}), signal };
  try {
    if (built) {
      const wire = toWireMessage(built, client.capabilities);
      // The builder's envelope (Cc and Bcc included), with the plan's DSN requests.
      const notify = plan.to.find((r): r is RecipientSpec => typeof r !== 'string')?.notify;
      const to = notify
        ? (Array.isArray(wire.to) ? wire.to : [wire.to]).map((r) => (typeof r === 'string' ? { address: r, notify } : r))
        : wire.to;
      const message = { ...envelope, ...wire, to, signal };
      if (!dkim) return await client.send(message);
      // Signed after rendering (the server's SMTPUTF8/8BITMIME decide the octets); a streamed
      // rendering is read twice, once to hash and once to send.
      const b = wire.body as Uint8Array | AsyncIterable<Uint8Array>;
      return await client.send({ ...message, ...(await signOutgoing(dkim, b, b instanceof Uint8Array ? undefined : () => b)) });
    }
    // A raw message: streamed with bounded memory. Its 8-bit-ness cannot be known before MAIL,
    // so BODY=8BITMIME is declared whenever the server offers it (RFC 6152 allows that for
    // 7-bit content too); SIZE is declared when the size is known.
    const eightBit = client.capabilities.eightBitMime;
    if (body.kind === 'file') {
      const f = fileBody(body.path, { start: body.start });
      const source = body.onEnd ? endMarked(f, f.size, body.onEnd) : f;
      return await client.send({ ...envelope, body: source, size: f.size, eightBit });
    }
    if (signed)
      return await client.send({ ...envelope, body: fileWithProgress(signed.body, signed.body.size), size: signed.body.size, eightBit });
    if (file !== undefined) return await client.send({ ...envelope, body: fileWithProgress(stdinFile(file), file), size: file, eightBit });
    return await client.send({ ...envelope, body: withProgress(stream!, undefined), eightBit });
  } finally {
    await client.close();
    signed?.cleanup();
  }
}

async function* none(): AsyncGenerator<Uint8Array> {}
