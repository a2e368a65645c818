// smtpwire as a nodemailer transport: `nodemailer.createTransport(smtpwireTransport(options))`.
// nodemailer still builds the message (and DKIM-signs it when configured, in its own stream
// step); smtpwire sends it through a pool (pipelining, tells rejected from unknown). nodemailer
// is the caller, not a dependency: the types below are the structural part of its transport API
// that this file uses (mail.message.getEnvelope(), .messageId(), .createReadStream(), mail.data).
import { SmtpError, SmtpUsageError } from '../core/errors.ts';
import type { NotifyOn, RecipientSpec } from '../core/envelope.ts';
import { describeReply, type Reply } from '../core/reply.ts';
import { joinBytes } from '../core/bytes.ts';
import type { SendResult } from '../client/client.ts';
import type { Pool, PoolOptions } from '../client/pool.ts';
import { connect, createPool } from '../transports/node.ts';

/** What nodemailer hands a transport's send(). */
export interface NodemailerMail {
  readonly message: {
    getEnvelope(): { from: string | false; to: string[] };
    messageId(): string;
    createReadStream(): AsyncIterable<Uint8Array | string>;
  };
  readonly data: {
    readonly dsn?: { ret?: string; envid?: string; notify?: string | string[]; orcpt?: string };
  };
}

/** nodemailer's `info` (as its SMTP transport gives it) plus smtpwire's outcome and result. */
export interface SmtpwireInfo {
  readonly envelope: { from: string | false; to: string[] };
  readonly messageId: string;
  readonly accepted: string[];
  readonly rejected: string[];
  /** One error per refused recipient, as nodemailer's SMTP transport reports them. */
  readonly rejectedErrors: Error[];
  readonly pending: string[];
  /** The server's final reply, e.g. "250 2.0.0 Ok: queued as 4F...". */
  readonly response: string;
  readonly messageSize: number;
  readonly outcome: SendResult['outcome'];
  /** smtpwire's full result (replies per recipient, typed error). */
  readonly result: SendResult;
}

/** The error a failed send calls back with: nodemailer's fields plus smtpwire's outcome.
 *  outcome 'unknown' means the message may have been queued: do not resend blindly. */
export interface SmtpwireSendError extends Error {
  code: string;
  response?: string;
  responseCode?: number;
  outcome: SendResult['outcome'] | undefined;
  info?: SmtpwireInfo;
}

export type SmtpwireTransportOptions = Omit<PoolOptions, 'transport'> & {
  /** A byte transport other than Node's (tests: smtpwire/testing's server.transport). */
  transport?: PoolOptions['transport'];
};

export interface SmtpwireNodemailerTransport {
  readonly name: 'smtpwire';
  readonly version: string;
  send(mail: NodemailerMail, callback: (err: Error | null, info?: SmtpwireInfo) => void): void;
  verify(callback?: (err: Error | null, ok?: true) => void): Promise<true> | undefined;
  close(): void;
  isIdle(): boolean;
  /** The pool underneath (created on the first send). */
  readonly pool: Pool | undefined;
}

export const VERSION = '0.1.0';

export function smtpwireTransport(options: SmtpwireTransportOptions): SmtpwireNodemailerTransport {
  if (options === null || typeof options !== 'object')
    throw new SmtpUsageError('smtpwireTransport(options): options must be an object with at least `host`');
  let pool: Pool | undefined;
  let inFlight = 0;
  const getPool = (): Pool => (pool ??= createPool(options));

  return {
    name: 'smtpwire',
    version: VERSION,
    get pool() {
      return pool;
    },
    send(mail, callback) {
      inFlight++;
      sendOne(getPool(), mail).then(
        ({ info, error }) => {
          inFlight--;
          if (error) callback(error);
          else callback(null, info);
        },
        (err: unknown) => {
          inFlight--;
          callback(asSendError(err, undefined));
        },
      );
    },
    verify(callback) {
      // A pool send would queue; verifying is opening one session and closing it cleanly.
      const run = async (): Promise<true> => {
        const client = await connect(options);
        await client.close();
        return true;
      };
      const checked = run().catch((err: unknown) => Promise.reject(asSendError(err, undefined)));
      if (!callback) return checked;
      checked.then(
        (ok) => callback(null, ok),
        (err: Error) => callback(err),
      );
      return undefined;
    },
    close() {
      const p = pool;
      pool = undefined;
      void p?.close();
    },
    isIdle() {
      return inFlight === 0;
    },
  };
}

async function sendOne(pool: Pool, mail: NodemailerMail): Promise<{ info: SmtpwireInfo; error: SmtpwireSendError | undefined }> {
  const envelope = mail.message.getEnvelope();
  const messageId = mail.message.messageId();
  // The whole message in memory: nodemailer's DKIM step buffers it anyway, and a byte body lets
  // the client declare SIZE and 8BITMIME itself and replay it on a transient failure.
  const body = await collect(mail.message.createReadStream());
  const dsn = mail.data.dsn;
  const to: (string | RecipientSpec)[] =
    dsn?.notify !== undefined || dsn?.orcpt !== undefined
      ? envelope.to.map((address) => ({ address, ...notify(dsn.notify), ...(dsn.orcpt ? { orcpt: dsn.orcpt } : {}) }))
      : envelope.to;
  const result = await pool.send({
    from: envelope.from === false ? '' : envelope.from,
    to,
    body,
    ...(dsn?.ret !== undefined || dsn?.envid !== undefined
      ? { dsn: { ...(dsn.ret ? { ret: dsn.ret.toUpperCase() as 'FULL' | 'HDRS' } : {}), ...(dsn.envid ? { envid: dsn.envid } : {}) } }
      : {}),
  });
  const info: SmtpwireInfo = {
    envelope: { from: envelope.from, to: envelope.to },
    messageId,
    accepted: result.accepted.map((r) => r.address),
    rejected: result.rejected.map((r) => r.address),
    rejectedErrors: result.rejected.map((r) =>
      Object.assign(new Error(`Recipient command failed: ${replyText(r.reply)}`), {
        code: 'EENVELOPE',
        recipient: r.address,
        responseCode: r.reply.code,
        response: replyText(r.reply),
      }),
    ),
    pending: [...result.unknown],
    response: result.reply ? replyText(result.reply) : '',
    messageSize: body.length,
    outcome: result.outcome,
    result,
  };
  return { info, error: result.outcome === 'accepted' ? undefined : asSendError(result.error, info) };
}

function notify(n: string | string[] | undefined): { notify?: 'NEVER' | NotifyOn[] } {
  if (n === undefined) return {};
  const list = (Array.isArray(n) ? n : n.split(',')).map((s) => s.trim().toUpperCase());
  if (list.includes('NEVER')) return { notify: 'NEVER' };
  return { notify: list as NotifyOn[] };
}

function replyText(reply: Reply | undefined): string {
  return reply ? describeReply(reply) : '';
}

function asSendError(err: unknown, info: SmtpwireInfo | undefined): SmtpwireSendError {
  const smtp = err instanceof SmtpError ? err : undefined;
  const message =
    info?.outcome === 'unknown'
      ? `outcome unknown: the link was lost after the message was handed over; it may have been queued, do not resend blindly (${smtp?.message ?? 'no reply'})`
      : err instanceof Error
        ? err.message
        : String(err);
  const out = new Error(message, { cause: err }) as SmtpwireSendError;
  out.code = info?.outcome === 'unknown' ? 'EUNKNOWN' : info?.rejected.length ? 'EENVELOPE' : (smtp?.code ?? 'EMESSAGE');
  out.outcome = info?.outcome;
  if (smtp?.reply) {
    out.responseCode = smtp.reply.code;
    out.response = replyText(smtp.reply);
  }
  if (info) out.info = info;
  return out;
}

async function collect(stream: AsyncIterable<Uint8Array | string>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  for await (const c of stream) parts.push(typeof c === 'string' ? enc.encode(c) : c);
  return joinBytes(parts);
}
