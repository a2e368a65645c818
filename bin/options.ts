// The CLI's option tables. Every flag lives in the table of the module that owns it; the CLI
// merges the tables of its modules (bin/smtpwire.ts, MODULES), parses once, and lets each
// module fold its values into the plan. A module that adds flags therefore touches one line of
// bin/smtpwire.ts: its entry in MODULES.
import type { ParseArgsConfig } from 'node:util';
import { SmtpUsageError } from '../core/errors.ts';
import type { Envelope, RecipientSpec } from '../core/envelope.ts';
import type { ClientOptions } from '../transports/node.ts';
import type { DkimPlan } from './dkim-options.ts';
import type { MessagePlan } from './message-options.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** The value's name in the usage text (string options). */
  arg?: string;
  /** One line for --help. */
  help: string;
  /** The usage section it is listed under. */
  group?: string;
}

export type OptionTable = Record<string, OptionSpec>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** What one `smtpwire send` (or one sendmail-mode call) is going to do. */
export interface SendPlan {
  client: Omit<ClientOptions, 'transport'>;
  from: string;
  to: (string | RecipientSpec)[];
  dsn?: Envelope['dsn'];
  /** The sender and recipients as typed (display names allowed), for a message built from
   *  flags; `from` and `to` above are their envelope addresses. */
  given?: { from: string; to: string[] };
  /** A message to build from the flags (bin/message-options.ts); undefined: the input is the message. */
  message?: MessagePlan | undefined;
  /** Sign the message with DKIM (bin/dkim-options.ts). */
  dkim?: DkimPlan | undefined;
  verbose: boolean;
  json: boolean;
  insecure: boolean;
  /** Milliseconds for the whole command (--timeout); none when undefined. */
  deadline?: number;
  /** Spool the message when it cannot be sent now (--queue or the account's `queue on`). */
  queue?: { dir: string } | undefined;
  /** msmtp-style log file (the account's `logfile`). */
  logfile?: string | undefined;
  /** The account it came from (msmtp configuration), if any. */
  account?: string | undefined;
  /** Set by a module to rewrite a raw message (stdin, after sendmail mode's header edits) before
   *  it is sent or spooled, e.g. to add header fields or sign it. A filter turns off the
   *  positioned file read (and SIZE=) of `< message.eml`. */
  filter?: ((chunks: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>) | undefined;
}

/**
 * A part of the CLI with flags of its own. `options` is merged into the one table parseArgs
 * sees (a name already taken is a bug, caught at start-up); `apply` runs after the core flags
 * have built the plan, in MODULES order, and may change anything in it.
 */
export interface CliModule {
  name: string;
  options: OptionTable;
  apply?(values: Values, plan: SendPlan): void | Promise<void>;
  /**
   * What a spooled message must keep of this module's values for apply() to run again at flush
   * time (bin/spool.ts stores it in the Recipe): file names made absolute, never a secret
   * itself. Undefined (or no hook): the module has nothing to do at flush time.
   */
  recipe?(values: Values): Values | undefined;
}

/** One table from several; a flag defined twice throws (a programming error, not the user's). */
export function mergeTables(tables: OptionTable[]): OptionTable {
  const out: OptionTable = {};
  const shorts = new Set<string>();
  for (const t of tables) {
    for (const [name, spec] of Object.entries(t)) {
      if (name in out) throw new Error(`CLI option --${name} is defined twice`);
      if (spec.short) {
        if (shorts.has(spec.short)) throw new Error(`CLI option -${spec.short} is defined twice`);
        shorts.add(spec.short);
      }
      out[name] = spec;
    }
  }
  return out;
}

/** The table in the shape node:util parseArgs wants. */
export function parseArgsOptions(table: OptionTable): NonNullable<ParseArgsConfig['options']> {
  const out: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, s] of Object.entries(table)) {
    out[name] = { type: s.type, ...(s.multiple ? { multiple: true } : {}), ...(s.short ? { short: s.short } : {}) };
  }
  return out;
}

/** Usage lines for a table, grouped, aligned. */
export function usageLines(table: OptionTable, group: string | undefined): string[] {
  const rows = Object.entries(table)
    .filter(([, s]) => s.group === group)
    .map(([name, s]) => {
      const flag = `${s.short ? `-${s.short}, ` : ''}--${name}${s.type === 'string' ? ` ${s.arg ?? 'VALUE'}` : ''}`;
      return [flag, s.help] as const;
    });
  const width = Math.min(30, Math.max(0, ...rows.map(([f]) => f.length)));
  return rows.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`);
}

/** A string option's value (the last one given), or undefined. */
export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  if (Array.isArray(v)) {
    const last = v[v.length - 1];
    return typeof last === 'string' ? last : undefined;
  }
  return typeof v === 'string' ? v : undefined;
}

/** Every value of a repeatable string option. */
export function strs(values: Values, name: string): string[] {
  const v = values[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}

export function usage(message: string): never {
  throw new SmtpUsageError(message);
}
