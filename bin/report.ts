// What the CLI prints about a send: one line per recipient and the reason on stderr, or a JSON
// object on stdout (--json), and the exit status (bin/exit-codes.ts).
import { SmtpError } from '../core/errors.ts';
import { describeReply, type Reply } from '../core/reply.ts';
import { printable } from '../core/text.ts';
import type { SendResult } from '../transports/node.ts';
import { EXIT, isResult, type ExitCode } from './exit-codes.ts';

function replyJson(r: Reply | undefined): { code: number; enhanced: string | null; text: string } | null {
  return r ? { code: r.code, enhanced: r.enhanced ?? null, text: r.lines.join('\n') } : null;
}

function errorJson(err: unknown): { code: string; message: string; transient: boolean } | null {
  if (err === undefined || err === null) return null;
  if (err instanceof SmtpError) return { code: err.code, message: printable(err.message), transient: err.transient };
  const code = (err as { code?: unknown }).code;
  return {
    code: typeof code === 'string' ? code : 'EINTERNAL',
    message: printable(err instanceof Error ? err.message : String(err)),
    transient: false,
  };
}

/** The result (or the error that stopped the send before one existed) as a JSON object. */
export function toJson(outcome: SendResult | unknown, exitCode: ExitCode, extra: Record<string, unknown> = {}): object {
  if (isResult(outcome)) {
    const r = outcome as SendResult;
    const recipient = (x: { address: string; reply: Reply }) => ({ address: x.address, ...replyJson(x.reply)! });
    return {
      outcome: r.outcome,
      accepted: r.accepted.map(recipient),
      rejected: r.rejected.map(recipient),
      unknown: r.unknown,
      reply: replyJson(r.reply),
      error: errorJson(r.error),
      exitCode,
      ...extra,
    };
  }
  // No transaction ran (connect, TLS or AUTH failed): nothing was delivered.
  return { outcome: 'rejected', accepted: [], rejected: [], unknown: [], reply: null, error: errorJson(outcome), exitCode, ...extra };
}

const ADVICE: Partial<Record<ExitCode, string>> = {
  [EXIT.TEMPFAIL]: 'temporary failure: retrying later may succeed',
  [EXIT.PROTOCOL]: 'outcome unknown: the server may have the message; do not retry blindly',
  [EXIT.NOPERM]: 'authentication failed',
  [EXIT.DATAERR]: 'the message cannot be sent as it is: fix it, then send it again',
};

export function report(outcome: SendResult | unknown, exitCode: ExitCode | number, verbose: boolean): void {
  const lines: string[] = [];
  if (isResult(outcome)) {
    const r = outcome as SendResult;
    if (exitCode !== EXIT.OK || verbose) {
      for (const x of r.accepted) lines.push(`accepted ${x.address}: ${describeReply(x.reply)}`);
      // A recipient whose RCPT was accepted is listed as rejected when the message then failed.
      for (const x of r.rejected)
        lines.push(
          x.reply.code >= 400
            ? `rejected ${x.address}: ${describeReply(x.reply)}`
            : `not delivered to ${x.address} (its RCPT was accepted: ${describeReply(x.reply)})`,
        );
      for (const a of r.unknown) lines.push(`unknown ${a}: no final reply`);
    }
    if (r.error) lines.push(`${r.outcome === 'unknown' ? 'no final reply' : 'not delivered'}: ${r.error.message}`);
  } else {
    lines.push(outcome instanceof Error ? outcome.message : String(outcome));
    if (exitCode === EXIT.USAGE) lines.push('(smtpwire --help for usage)');
  }
  const advice = ADVICE[exitCode as ExitCode];
  if (advice) lines.push(advice);
  for (const l of lines) process.stderr.write(`smtpwire: ${printable(l)}\n`);
}

/** Exit once stdout has taken everything (it may be a pipe). */
export function exit(code: number): void {
  const out = process.stdout;
  if (!out.writableNeedDrain) process.exit(code);
  const done = (): never => process.exit(code);
  out.once('drain', done).once('error', done).once('close', done);
}
