// `--queue` for send and sendmail mode, and `smtpwire queue list | flush | drop ID`. The spool
// itself (states, atomic moves, crash recovery) is bin/spool.ts; this file decides what each
// outcome does to a spooled message.
import { SmtpUsageError } from '../core/errors.ts';
import { printable } from '../core/text.ts';
import type { SendResult } from '../transports/node.ts';
import type { Recipe } from './args.ts';
import { deliver, withDeadline } from './deliver.ts';
import { EXIT, exitCodeFor, isResult } from './exit-codes.ts';
import { logLine, writeLog } from './logfile.ts';
import { ConfigError } from './msmtp-config.ts';
import { str, type OptionTable, type SendPlan, type Values } from './options.ts';
import { Spool, type SpoolEntry, type SpoolEnvelope } from './spool.ts';
import { seconds } from './timeout-options.ts';

export const QUEUE_OPTIONS: OptionTable = {
  force: { type: 'boolean', group: 'queue', help: 'flush: also resend messages whose outcome is unknown (they may be delivered twice)' },
  due: { type: 'boolean', group: 'queue', help: 'flush: only messages whose backoff has passed (for cron)' },
  backoff: {
    type: 'string',
    arg: 'SECONDS',
    group: 'queue',
    help: 'flush: first retry delay, doubled per attempt up to an hour (default 30)',
  },
  'retry-for': {
    type: 'string',
    arg: 'SECONDS',
    group: 'queue',
    help: 'flush: keep retrying deferred messages this long (default 0: one pass)',
  },
  'max-age': {
    type: 'string',
    arg: 'SECONDS',
    group: 'queue',
    help: 'flush: give up on a message queued longer than this (default 432000, 5 days)',
  },
};

const HOUR = 3600_000;

/**
 * The recipients to try again after an outcome: those refused for now at RCPT when the RCPT
 * replies are the recipients' own (some accepted, or every one refused at RCPT); every
 * recipient when the whole transaction failed for now (4xx to MAIL or to the message, link
 * lost before the end); none after an unknown outcome or a permanent failure.
 */
function pendingRecipients(outcome: unknown, code: number, envelope: SpoolEnvelope): SpoolEnvelope['to'] {
  if (code === EXIT.PROTOCOL) return [];
  const r = isResult(outcome) ? (outcome as SendResult) : undefined;
  const own = r !== undefined && (r.outcome === 'accepted' || (r.error as { command?: unknown } | undefined)?.command === 'RCPT');
  if (!own) return code === EXIT.TEMPFAIL ? envelope.to : [];
  const temp = new Set(r.rejected.filter((x) => x.reply.code < 500).map((x) => x.address));
  return envelope.to.filter((x) => temp.has(typeof x === 'string' ? x : x.address));
}

/**
 * Sends a message through the spool: written to tmp/ and fsynced, sent from there, and queued
 * (renamed into new/) only when the failure is temporary. Exit 0 then, with "queued as ID".
 */
export async function sendQueued(
  plan: SendPlan,
  recipe: Recipe,
  source: AsyncIterable<Uint8Array>,
  signal: AbortSignal,
): Promise<{ outcome: SendResult | unknown; code: number; queued?: string }> {
  const spool = new Spool(plan.queue!.dir);
  const envelope: SpoolEnvelope = {
    from: plan.from,
    to: plan.to,
    ...(plan.dsn ? { dsn: plan.dsn } : {}),
    recipe,
    created: Date.now(),
    ...(plan.logfile ? { logfile: plan.logfile } : {}),
  };
  let tmp;
  try {
    tmp = await spool.writeTmp(envelope, source);
  } catch (err) {
    throw spoolWriteError(err, spool.dir);
  }
  const outcome = await withDeadline(plan, signal, (sig, onClient) =>
    deliver(plan, { kind: 'file', path: tmp.path, start: tmp.start }, sig, onClient),
  );
  const code = exitCodeFor(outcome);
  const pending = pendingRecipients(outcome, code, envelope);
  if (pending.length === 0) {
    spool.discardTmp(tmp.id);
    return { outcome, code };
  }
  if (pending.length < envelope.to.length) spool.rewriteEnvelope({ dir: 'tmp', file: tmp.id } as SpoolEntry, { ...envelope, to: pending });
  spool.commit(tmp.id, 1, Math.floor((Date.now() + 30_000) / 1000));
  spool.note(tmp.id, reason(outcome));
  // Queued recipients are as good as accepted for now; a permanent refusal of others stays 67.
  return { outcome, code: code === EXIT.TEMPFAIL ? EXIT.OK : code, queued: tmp.id };
}

/**
 * A spool that cannot be written (the message is then neither sent nor queued): a full disk is
 * temporary (75, as sendmail's callers expect), a directory we may not write is the setup's
 * fault (78). Errors of the message's source (stdin) keep their own status.
 */
function spoolWriteError(err: unknown, dir: string): unknown {
  const c = (err as { code?: unknown } | null)?.code;
  if (!(err instanceof Error) || typeof (err as { syscall?: unknown }).syscall !== 'string' || typeof c !== 'string') return err;
  const message = `cannot write the spool ${dir}: ${err.message}; the message was neither sent nor queued`;
  if (['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'ELOOP', 'EEXIST'].includes(c)) return new ConfigError(message);
  return Object.assign(new Error(message), { code: c }); // ENOSPC, EDQUOT, EIO...: 75 (bin/exit-codes.ts)
}

function reason(outcome: unknown): string {
  if (isResult(outcome)) {
    const r = outcome as SendResult;
    if (r.error) return r.error.message;
    return r.rejected.map((x) => `${x.address}: ${x.reply.code} ${x.reply.lines.join(' ')}`).join('; ');
  }
  return outcome instanceof Error ? outcome.message : String(outcome);
}

export async function queueCommand(
  sub: string | undefined,
  args: string[],
  v: Values,
  dir: string,
  basePlan: (recipe: Recipe, env: SpoolEnvelope) => Promise<SendPlan>,
  signal: AbortSignal,
): Promise<number> {
  const spool = new Spool(dir);
  spool.checkPrivate(); // before reading anything a flush would act on
  if (sub === 'list') {
    spool.recover();
    const entries = spool.list();
    for (const e of entries) {
      let env: SpoolEnvelope | undefined;
      try {
        env = spool.read(e).envelope;
      } catch {
        /* shown without */
      }
      const to = env ? env.to.map((r) => (typeof r === 'string' ? r : r.address)).join(',') : '?';
      const when =
        e.state === 'queued' && e.notBefore * 1000 > Date.now() ? `, next try ${new Date(e.notBefore * 1000).toISOString()}` : '';
      const note = spool.readNote(e.id);
      const state = e.state === 'claimed' || e.state === 'end' ? `sending (process ${e.pid})` : e.state;
      process.stdout.write(
        `${e.id}  ${state}  attempts=${e.attempts}${when}  from=${env?.from ?? '?'} to=${to}${note ? `\n    ${printable(note)}` : ''}\n`,
      );
    }
    if (entries.length === 0) process.stdout.write('the queue is empty\n');
    return EXIT.OK;
  }
  if (sub === 'drop') {
    if (args.length === 0) throw new SmtpUsageError('queue drop needs the ID of a message (see "smtpwire queue list")');
    let code: number = EXIT.OK;
    for (const id of args) {
      const e = spool.drop(id);
      if (e) process.stderr.write(`smtpwire: dropped ${id} (${e.state})\n`);
      else {
        process.stderr.write(`smtpwire: no message ${printable(id)} in ${printable(dir)}\n`);
        code = EXIT.NOINPUT;
      }
    }
    return code;
  }
  if (sub !== 'flush') throw new SmtpUsageError(`unknown queue command "${printable(sub ?? '')}" (list, flush or drop ID)`);

  const backoff = str(v, 'backoff') !== undefined ? seconds(str(v, 'backoff')!, '--backoff') : 30_000;
  const retryFor = str(v, 'retry-for') !== undefined ? seconds(str(v, 'retry-for')!, '--retry-for') : 0;
  const maxAge = str(v, 'max-age') !== undefined ? seconds(str(v, 'max-age')!, '--max-age') : 5 * 24 * HOUR;
  const started = Date.now();
  const until = started + retryFor;
  const tally = { sent: 0, deferred: 0, unknown: 0, failed: 0 };
  let due = v.due === true;
  let force = v.force === true;
  for (;;) {
    spool.recover();
    const now = Date.now();
    const todo = spool
      .list()
      .filter((e) => (e.state === 'queued' && (!due || e.notBefore * 1000 <= now)) || (force && e.state === 'unknown'));
    force = false; // held messages are resent once per --force, not once per round
    let deferredNow = 0;
    for (const e of todo) {
      if (signal.aborted) break;
      const r = await flushOne(spool, e, basePlan, backoff, maxAge, signal);
      if (r) tally[r]++;
      if (r === 'deferred') deferredNow++;
    }
    if (signal.aborted || deferredNow === 0) break;
    const next = Math.min(
      ...spool
        .list()
        .filter((e) => e.state === 'queued')
        .map((e) => e.notBefore * 1000),
    );
    if (!(next <= until)) break;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    due = true; // later rounds take each message when its backoff has passed
  }
  process.stderr.write(
    `smtpwire: queue flush: ${tally.sent} sent, ${tally.deferred} deferred, ${tally.unknown} unknown (kept), ${tally.failed} failed\n`,
  );
  const left = spool.list().filter((e) => e.state === 'queued').length;
  if (tally.unknown > 0) return EXIT.PROTOCOL;
  if (tally.failed > 0) return EXIT.UNAVAILABLE;
  return left > 0 && tally.deferred > 0 ? EXIT.TEMPFAIL : EXIT.OK;
}

async function flushOne(
  spool: Spool,
  queued: SpoolEntry,
  basePlan: (recipe: Recipe, env: SpoolEnvelope) => Promise<SendPlan>,
  backoff: number,
  maxAge: number,
  signal: AbortSignal,
): Promise<'sent' | 'deferred' | 'unknown' | 'failed' | undefined> {
  const claimed = spool.claim(queued);
  if (!claimed) return undefined; // another flush has it
  let entry = claimed;
  const say = (what: string): void => void process.stderr.write(`smtpwire: ${claimed.id}: ${printable(what)}\n`);
  let envelope: SpoolEnvelope;
  let start: number;
  let plan: SendPlan;
  try {
    ({ envelope, start } = spool.read(claimed));
    plan = await basePlan(envelope.recipe, envelope);
  } catch (err) {
    // Not the message's fault (a password that cannot be read now, a broken config): back to new/ untouched.
    spool.reschedule(claimed, claimed.attempts, 0, `not tried: ${err instanceof Error ? err.message : String(err)}`);
    say(`not tried: ${err instanceof Error ? err.message : String(err)}`);
    return 'deferred';
  }
  const outcome = await withDeadline(plan, signal, (sig, onClient) =>
    deliver(
      plan,
      {
        kind: 'file',
        path: spool.path(claimed),
        start,
        onEnd: () => (entry = spool.markEnd(claimed)),
      },
      sig,
      onClient,
    ),
  );
  const code = exitCodeFor(outcome);
  if (envelope.logfile) writeLog(envelope.logfile, logLine(plan, outcome, code, undefined));
  const attempts = claimed.attempts + 1;
  if (!isResult(outcome) && code !== EXIT.TEMPFAIL && code !== EXIT.PROTOCOL) {
    // The session failed before any transaction (authentication, TLS, configuration): not the
    // message's fault, so it keeps its attempts and stays queued until that is fixed.
    spool.reschedule(entry, claimed.attempts, Math.ceil((Date.now() + backoff) / 1000), `not sent: ${reason(outcome)}`);
    say(`not sent (exit ${code}): ${reason(outcome)}`);
    return 'deferred';
  }
  if (code === EXIT.PROTOCOL) {
    spool.hold(entry, `outcome unknown: ${reason(outcome)}`);
    say('outcome unknown: kept in hold; "smtpwire queue flush --force" resends it (it may then arrive twice)');
    return 'unknown';
  }
  const pending = pendingRecipients(outcome, code, envelope);
  if (pending.length > 0) {
    if (Date.now() - envelope.created > maxAge) {
      spool.fail(entry, `gave up after ${attempts} attempts: ${reason(outcome)}`);
      say(`gave up after ${attempts} attempts`);
      return 'failed';
    }
    if (pending.length < envelope.to.length) spool.rewriteEnvelope(entry, { ...envelope, to: pending });
    const delay = Math.min(backoff * 2 ** (attempts - 1), HOUR);
    spool.reschedule(entry, attempts, Math.ceil((Date.now() + delay) / 1000), reason(outcome));
    say(`deferred (attempt ${attempts}, next try in ${(delay / 1000).toFixed(1)} s): ${reason(outcome)}`);
    return 'deferred';
  }
  if (code === EXIT.OK) {
    spool.remove(entry);
    say('sent');
    return 'sent';
  }
  spool.fail(entry, reason(outcome));
  say(`failed: ${reason(outcome)}`);
  return 'failed';
}
