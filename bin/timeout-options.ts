// Timeout flags: one per protocol phase (the core's timer table, core/timeouts.ts, plus the
// client's connect and close timers) and --timeout, a deadline for the whole command. Without
// them the RFC 5321 §4.5.3.2 defaults apply: a server that never answers the final dot holds
// the command for 10 minutes, which is right for a queue runner and wrong for a script.
import { SmtpTimeoutError, SmtpUsageError } from '../core/errors.ts';
import type { Timeouts } from '../core/timeouts.ts';
import { printable } from '../core/text.ts';
import type { CliModule, OptionTable, Values } from './options.ts';

type ClientTimeouts = Partial<Timeouts> & { connect?: number; close?: number };

/** Flag name -> the timer(s) it sets. */
const PHASES: Record<string, { keys: (keyof ClientTimeouts)[]; what: string; fallback: string }> = {
  'connect-timeout': { keys: ['connect'], what: 'TCP connect and implicit TLS handshake', fallback: '30' },
  'greeting-timeout': { keys: ['greeting'], what: "the server's 220 greeting", fallback: '300' },
  'hello-timeout': { keys: ['hello'], what: 'the EHLO/LHLO reply', fallback: '300' },
  'starttls-timeout': { keys: ['starttls', 'tlsHandshake'], what: 'the STARTTLS reply and the TLS handshake', fallback: '120 / 60' },
  'auth-timeout': { keys: ['auth'], what: 'each AUTH step', fallback: '300' },
  'mail-timeout': { keys: ['mail'], what: 'the MAIL FROM reply', fallback: '300' },
  'rcpt-timeout': { keys: ['rcpt'], what: 'each RCPT TO reply', fallback: '300' },
  'data-timeout': { keys: ['data'], what: 'the 354 reply to DATA', fallback: '120' },
  'data-block-timeout': { keys: ['dataBlock'], what: 'each block of the body to be taken', fallback: '180' },
  'data-end-timeout': { keys: ['dataEnd'], what: 'the reply after the final dot / BDAT LAST', fallback: '600' },
  'command-timeout': { keys: ['command'], what: 'RSET and NOOP replies', fallback: '300' },
  'quit-timeout': { keys: ['quit', 'close'], what: 'the QUIT reply at the end', fallback: '10' },
};

export const TIMEOUT_OPTIONS: OptionTable = {
  timeout: {
    type: 'string',
    arg: 'SECONDS',
    group: 'timeouts',
    help: 'a deadline for the whole command (default: none, each phase has its own)',
  },
  ...Object.fromEntries(
    Object.entries(PHASES).map(([flag, p]) => [
      flag,
      {
        type: 'string',
        arg: 'SECONDS',
        group: 'timeouts',
        help: `${p.what} (default ${p.fallback})`,
      },
    ]),
  ),
};

/** A positive number of seconds (fractions allowed) as milliseconds. */
export function seconds(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\s*\d*\.?\d+\s*$/.test(text) || !(n > 0) || n > 2_000_000) {
    throw new SmtpUsageError(`${flag} takes a positive number of seconds, not "${printable(text)}"`);
  }
  return Math.max(1, Math.round(n * 1000));
}

/** The per-phase timers from the flags (merged over `base`, e.g. msmtp's `timeout`). */
export function phaseTimeouts(values: Values, base: ClientTimeouts = {}): ClientTimeouts {
  const out: ClientTimeouts = { ...base };
  for (const [flag, p] of Object.entries(PHASES)) {
    const v = values[flag];
    if (typeof v !== 'string') continue;
    const ms = seconds(v, `--${flag}`);
    for (const k of p.keys) out[k] = ms;
  }
  return out;
}

/** The error a send ends with when --timeout runs out. */
export class OverallTimeoutError extends SmtpTimeoutError {
  constructor(ms: number) {
    super('whole command', ms);
    this.message = `the time limit for the whole command (--timeout ${ms / 1000} s) ran out`;
  }
}

export const timeoutModule: CliModule = {
  name: 'timeouts',
  options: TIMEOUT_OPTIONS,
  apply(values, plan) {
    plan.client.timeouts = phaseTimeouts(values, plan.client.timeouts);
    if (typeof values.timeout === 'string') plan.deadline = seconds(values.timeout, '--timeout');
  },
};
