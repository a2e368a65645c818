// One send: connect with the plan's client options, hand over the body, return the result. The
// body is stdin (a file read at positions, or a stream), a stream already edited (sendmail
// mode), a spooled file (bin/spool.ts) or a composed text message. --timeout is enforced here.
import { composeMessage } from '../core/compose.ts';
import { printable } from '../core/text.ts';
import { connect, fileBody, type LogEntry, type PullIntoSource, type SendResult } from '../transports/node.ts';
import { InputFileError } from './args.ts';
import { fileWithProgress, hintIfTerminal, nonEmpty, readStdinText, stdinFile, stdinKind, stdinStream, withProgress } from './input.ts';
import type { SendPlan } from './options.ts';
import { OverallTimeoutError } from './timeout-options.ts';

export type BodyInput =
  | { kind: 'stdin' }
  | { kind: 'stream'; source: AsyncIterable<Uint8Array> }
  /** A spooled message: `onEnd` runs (synchronously) before the last octets are handed over. */
  | { kind: 'file'; path: string; start: number; onEnd?: () => void }
  | { kind: 'compose' };

interface Abortable {
  abort(reason?: unknown): void;
}

/** Runs `fn` under the plan's overall deadline and the caller's signal. */
export async function withDeadline(plan: SendPlan, outer: AbortSignal | undefined, fn: (signal: AbortSignal, onClient: (c: Abortable) => void) => Promise<SendResult>): Promise<SendResult | unknown> {
  const controller = new AbortController();
  const forward = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener('abort', forward, { once: true });
  let client: Abortable | undefined;
  const deadline = plan.deadline;
  // When the deadline passes the send is cancelled (the core still tells rejected from unknown)
  // and the link dropped without waiting for QUIT.
  const timer = deadline === undefined ? undefined : setTimeout(() => {
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

  // A composed message is built once before connecting, so bad input fails without a session.
  let compose: ((eightBit: boolean) => Uint8Array) | undefined;
  if (body.kind === 'compose' && plan.compose) {
    const c = plan.compose;
    const text = c.text ?? (await readStdinText());
    const date = new Date();
    const messageIdRandom = globalThis.crypto.getRandomValues(new Uint8Array(16));
    const to = plan.to.map((r) => (typeof r === 'string' ? r : r.address));
    compose = (eightBit) => composeMessage({ from: plan.from, to, subject: c.subject, text, priority: c.priority, date, messageIdRandom, eightBit });
    compose(false);
  }
  const stdin = body.kind === 'stdin' ? stdinKind() : undefined; // a directory fails here, before connecting
  if (stdin?.kind === 'file' && stdin.size === 0) throw new InputFileError('standard input is an empty file: no message to send');
  // A module's filter (plan.filter) needs the message as a stream, even from a file.
  const asStream = stdin !== undefined && (stdin.kind === 'stream' || plan.filter !== undefined);
  const stream = asStream ? (hintIfTerminal('the message'), await nonEmpty(stdinStream())) : undefined;
  const filter = (src: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> => (plan.filter ? plan.filter(src) : src);

  const client = await connect({ ...plan.client, signal, ...(plan.verbose ? { logger: log } : {}) });
  onClient(client);
  const envelope = { from: plan.from, to: plan.to, ...(plan.dsn ? { dsn: plan.dsn } : {}), signal };
  try {
    if (compose) return await client.send({ ...envelope, body: compose(client.capabilities.eightBitMime) });
    // A raw message: streamed with bounded memory. Its 8-bit-ness cannot be known before MAIL,
    // so BODY=8BITMIME is declared whenever the server offers it (RFC 6152 allows that for
    // 7-bit content too); SIZE is declared when the size is known.
    const eightBit = client.capabilities.eightBitMime;
    if (body.kind === 'file') {
      const f = fileBody(body.path, { start: body.start });
      const source = body.onEnd ? endMarked(f, f.size, body.onEnd) : f;
      return await client.send({ ...envelope, body: source, size: f.size, eightBit });
    }
    if (body.kind === 'stream') return await client.send({ ...envelope, body: withProgress(filter(body.source), undefined), eightBit });
    if (stdin?.kind === 'file' && stream === undefined) {
      return await client.send({ ...envelope, body: fileWithProgress(stdinFile(stdin.size), stdin.size), size: stdin.size, eightBit });
    }
    return await client.send({ ...envelope, body: withProgress(filter(stream!), undefined), eightBit });
  } finally {
    await client.close();
  }
}
