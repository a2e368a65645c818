// msmtp's `logfile`: one line per message the account tried to send, appended (or printed on
// stdout for "-"). The fields are msmtp's (host, tls, auth, user, from, recipients, mailsize,
// smtpstatus, smtpmsg, errormsg, exitcode), so scripts that read msmtp's log keep working.
import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';
import { printable } from '../core/text.ts';
import type { SendResult } from '../transports/node.ts';
import { EXIT, isResult } from './exit-codes.ts';
import type { SendPlan } from './options.ts';

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(EXIT).map(([k, v]) => [v, `EX_${k === 'OK' ? 'OK' : k}`]));
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function stamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function logLine(
  plan: SendPlan,
  outcome: SendResult | unknown,
  exitCode: number,
  size: number | undefined,
  now = new Date(),
): string {
  const parts = [
    stamp(now),
    `host=${plan.client.host}`,
    `tls=${plan.client.tls && plan.client.tls !== 'none' ? 'on' : 'off'}`,
    `auth=${plan.client.auth ? 'on' : 'off'}`,
  ];
  if (plan.client.auth) parts.push(`user=${plan.client.auth.user}`);
  parts.push(`from=${plan.from}`, `recipients=${plan.to.map((r) => (typeof r === 'string' ? r : r.address)).join(',')}`);
  if (exitCode === EXIT.OK && size !== undefined) parts.push(`mailsize=${size}`);
  const r = isResult(outcome) ? (outcome as SendResult) : undefined;
  if (exitCode !== EXIT.OK) {
    const reply = r?.reply;
    if (reply) parts.push(`smtpstatus=${reply.code}`, `smtpmsg='${reply.lines.join(' ').replace(/'/g, '')}'`);
    const err = r ? r.error : outcome;
    if (err instanceof Error) parts.push(`errormsg='${err.message.replace(/'/g, '')}'`);
  } else if (r?.reply) {
    parts.push(`smtpstatus=${r.reply.code}`, `smtpmsg='${r.reply.lines.join(' ').replace(/'/g, '')}'`);
  }
  parts.push(`exitcode=${NAMES[exitCode] ?? exitCode}`);
  return printable(parts.join(' ')) + '\n';
}

/**
 * Appends the line; a log that cannot be written is a warning, never a lost message. The file
 * is opened without following a symbolic link in its place (a link planted where the log goes,
 * say in /tmp, must not make us append to another file) and without blocking (a FIFO nobody
 * reads must not hang the CLI after the message went out); only a regular file is written.
 */
export function writeLog(path: string, line: string): void {
  try {
    if (path === '-') {
      process.stdout.write(line);
      return;
    }
    const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = constants;
    let fd: number;
    try {
      fd = openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600);
    } catch (err) {
      if ((err as { code?: string }).code === 'ELOOP') throw new Error('it is a symbolic link (give the real file)', { cause: err });
      throw err;
    }
    try {
      if (!fstatSync(fd).isFile()) throw new Error('it is not a regular file');
      const bytes = Buffer.from(line, 'utf8');
      for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    process.stderr.write(
      `smtpwire: warning: cannot write the log file ${printable(path)}: ${err instanceof Error ? err.message : String(err)}\n`,
    );
  }
}
