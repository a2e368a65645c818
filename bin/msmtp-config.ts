// msmtp's configuration file format (msmtp(1), "CONFIGURATION FILES"), read the way msmtp reads
// it: a system file (/etc/msmtprc) and a user file (~/.msmtprc, else
// $XDG_CONFIG_HOME/msmtp/config, or the file given with -C), `defaults`, `account NAME [: A,B]`,
// `eval`, quoted arguments, `~` in file names, and the same refusal of a user file that holds a
// password others can read. This module only parses and resolves; bin/account.ts turns an
// account into client options.
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { printable } from '../core/text.ts';

/** Keys smtpwire acts on (msmtp's, plus queue and queue_dir of its own). */
const SUPPORTED = new Set([
  'host',
  'port',
  'protocol',
  'tls',
  'tls_starttls',
  'tls_trust_file',
  'tls_certcheck',
  'auth',
  'user',
  'password',
  'passwordeval',
  'from',
  'allow_from_override',
  'domain',
  'timeout',
  'dsn_notify',
  'dsn_return',
  'logfile',
  'set_from_header',
  'add_missing_from_header',
  'set_date_header',
  'add_missing_date_header',
  'set_msgid_header',
  'remove_bcc_headers',
  'queue',
  'queue_dir',
]);
/** msmtp keys smtpwire reads but does not act on: a warning, and sending goes on. */
const IGNORED = new Set([
  'syslog',
  'aliases',
  'logfile_time_format',
  'auto_from',
  'maildomain',
  'source_ip',
  'tls_crl_file',
  'tls_priorities',
  'tls_min_dh_prime_bits',
  'ntlmdomain',
  'undisclosed_recipients',
]);
/** msmtp keys whose silent omission would weaken or reroute a session: refused when used. */
const REFUSED = new Set(['proxy_host', 'proxy_port', 'socket', 'tls_fingerprint', 'tls_key_file', 'tls_cert_file', 'tls_host_override']);

const BOOLEAN = new Set([
  'tls',
  'tls_starttls',
  'tls_certcheck',
  'allow_from_override',
  'remove_bcc_headers',
  'add_missing_from_header',
  'add_missing_date_header',
]);
const FILE_NAMES = new Set(['tls_trust_file', 'logfile', 'queue_dir']);

export class ConfigError extends Error {
  /** EX_CONFIG (78) for a bad file; EX_NOINPUT (66) when a file named with -C cannot be read. */
  readonly exitCode: 66 | 78;
  constructor(message: string, exitCode: 66 | 78 = 78) {
    super(message);
    this.exitCode = exitCode;
  }
}

export type Settings = Record<string, string>;

export interface Account {
  name: string;
  /** Where it was defined: "file:line". */
  origin: string;
  settings: Settings;
}

export interface LoadedConfig {
  accounts: Map<string, Account>;
  /** In definition order (for -f matching: the first account whose `from` matches). */
  order: string[];
  files: string[];
  warnings: string[];
}

/** The user configuration file msmtp would read: ~/.msmtprc first, then the XDG one. */
export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const home = env.HOME || homedir();
  const candidates = [join(home, '.msmtprc'), join(env.XDG_CONFIG_HOME || join(home, '.config'), 'msmtp', 'config')];
  return candidates.find((p) => isFile(p));
}

export const SYSTEM_CONFIG = '/etc/msmtprc';

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * Loads the system file (when readable) and the user file (-C, or the default one), user
 * accounts overriding system ones, as msmtp does. `explicit`: the -C file, which must exist.
 */
export function loadConfig(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const out: LoadedConfig = { accounts: new Map(), order: [], files: [], warnings: [] };
  const system = env.SMTPWIRE_SYSTEM_MSMTPRC ?? SYSTEM_CONFIG;
  if (isFile(system)) {
    try {
      parseInto(out, system, readFileSync(system, 'utf8'), false, env);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      // An unreadable system file is skipped, as msmtp skips it.
    }
  }
  const user = explicit ?? userConfigPath(env);
  if (user !== undefined) {
    let text: string;
    try {
      if (!statSync(user).isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
      text = readFileSync(user, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `cannot read the configuration file ${printable(user)}: ${err instanceof Error ? err.message : String(err)}`,
        66,
      );
    }
    parseInto(out, user, text, true, env);
  }
  return out;
}

/** Splits "command argument" and unquotes the argument ("..." with \" and \\ escapes). */
function splitLine(line: string, where: string): [string, string] {
  const m = /^(\S+)(?:\s+(.*?))?\s*$/.exec(line)!;
  const command = m[1]!;
  let arg = m[2] ?? '';
  if (arg.startsWith('"')) {
    if (arg.length < 2 || !arg.endsWith('"')) throw new ConfigError(`${where}: unterminated quoted argument`);
    arg = arg.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return [command, arg];
}

function expandTilde(path: string, env: NodeJS.ProcessEnv): string {
  return path.startsWith('~') ? (env.HOME || homedir()) + path.slice(1) : path;
}

/**
 * Why a command run by execFileSync failed, without the command line (Node's "Command failed:
 * /bin/sh -c CMD" message) or its output: either may hold the secret (`passwordeval echo pw`).
 */
export function commandFailure(err: unknown): string {
  const e = (err ?? {}) as { status?: unknown; signal?: unknown; code?: unknown };
  if (e.code === 'ETIMEDOUT') return 'did not finish in time (killed)';
  if (typeof e.signal === 'string' && e.signal !== '') return `was killed by ${e.signal}`;
  if (typeof e.status === 'number') return `failed (exit status ${e.status})`;
  if (typeof e.code === 'string') return `could not be run (${e.code})`;
  return 'failed';
}

/** msmtp's `eval`: the line becomes the first line of the command's output. */
function evalLine(command: string, where: string): string {
  try {
    // node:child_process loaded only here (start-up: see bin/account.ts).
    const out = process
      .getBuiltinModule('node:child_process')
      .execFileSync('/bin/sh', ['-c', command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 60_000 });
    return out.split('\n', 1)[0]!.trim();
  } catch (err) {
    throw new ConfigError(`${where}: eval ${commandFailure(err)}`);
  }
}

function parseInto(out: LoadedConfig, file: string, text: string, userFile: boolean, env: NodeJS.ProcessEnv): void {
  out.files.push(file);
  let defaults: Settings = {};
  let target: Settings | undefined; // where settings go: the defaults or the current account
  let holdsPassword = false;
  let runsCommands = false;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const where = `${file}: line ${i + 1}`;
    let line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    let [command, arg] = splitLine(line, where);
    if (command === 'eval') {
      if (userFile) checkNotWritableByOthers(file);
      line = evalLine(arg, where);
      if (line === '' || line.startsWith('#')) continue;
      [command, arg] = splitLine(line, where);
    }
    if (command === 'defaults') {
      target = defaults = { ...defaults };
      continue;
    }
    if (command === 'account') {
      const m = /^([^:\s]+)\s*(?::\s*(.*))?$/.exec(arg);
      if (!m) throw new ConfigError(`${where}: account needs a name`);
      const settings: Settings = { ...defaults };
      for (const parent of (m[2] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const p = out.accounts.get(parent);
        if (!p) throw new ConfigError(`${where}: account ${printable(parent)} is not defined (yet)`);
        Object.assign(settings, p.settings);
      }
      const name = m[1]!;
      out.accounts.set(name, { name, origin: `${file}:${i + 1}`, settings });
      out.order = out.order.filter((n) => n !== name).concat(name);
      target = settings;
      continue;
    }
    if (REFUSED.has(command)) {
      throw new ConfigError(
        `${where}: ${command} is not supported by smtpwire, and ignoring it could send the mail another way than you asked; remove it or use msmtp for this account`,
      );
    }
    if (!SUPPORTED.has(command)) {
      out.warnings.push(
        IGNORED.has(command)
          ? `${where}: ${command} is not supported by smtpwire: ignored`
          : `${where}: unknown command ${printable(command)}: ignored`,
      );
      continue;
    }
    if (target === undefined) {
      out.warnings.push(`${where}: ${command} before any account or defaults: ignored (as msmtp does)`);
      continue;
    }
    if (command === 'password' && arg !== '') holdsPassword = true;
    if (command === 'passwordeval' && arg !== '') runsCommands = true;
    target[command] = checkValue(command, arg, where, env);
  }
  if (userFile && holdsPassword) checkSecure(file);
  if (userFile && runsCommands) checkNotWritableByOthers(file);
}

/** A file others may write could make smtpwire run their commands (eval, passwordeval). */
function checkNotWritableByOthers(file: string): void {
  const st = statSync(file);
  const uid = typeof process.geteuid === 'function' ? process.geteuid() : st.uid;
  if ((st.mode & 0o022) !== 0 || (st.uid !== uid && st.uid !== 0)) {
    throw new ConfigError(`${file}: runs commands (eval or passwordeval) and therefore must be writable by you only (chmod go-w ${file})`);
  }
}

function checkValue(command: string, arg: string, where: string, env: NodeJS.ProcessEnv): string {
  const bad = (what: string): never => {
    throw new ConfigError(`${where}: invalid argument ${printable(arg)} for command ${command} (${what})`);
  };
  if (BOOLEAN.has(command)) {
    if (arg === '' || arg === 'on') return 'on';
    if (arg === 'off') return 'off';
    bad('on or off');
  }
  switch (command) {
    case 'port':
      if (!/^\d+$/.test(arg) || Number(arg) < 1 || Number(arg) > 65535) bad('1 to 65535');
      break;
    case 'timeout':
      if (arg !== 'off' && !(/^\d+$/.test(arg) && Number(arg) > 0)) bad('off or a number of seconds');
      break;
    case 'protocol':
      if (arg !== 'smtp' && arg !== 'lmtp') bad('smtp or lmtp');
      break;
    case 'dsn_notify':
      if (arg !== 'off' && arg !== 'never' && !/^(success|failure|delay)(,(success|failure|delay))*$/.test(arg))
        bad('off, never or a list of success, failure, delay');
      break;
    case 'dsn_return':
      if (arg !== 'off' && arg !== 'headers' && arg !== 'full') bad('off, headers or full');
      break;
    case 'set_from_header':
      if (!['', 'auto', 'on', 'off'].includes(arg)) bad('auto, on or off');
      return arg === '' ? 'on' : arg;
    case 'set_date_header':
    case 'set_msgid_header':
      if (!['', 'auto', 'off'].includes(arg)) bad('auto or off');
      return arg === '' ? 'auto' : arg;
    case 'queue':
      if (arg === '' || arg === 'on') return 'on';
      if (arg !== 'off') bad('on or off');
      break;
  }
  if (/[\0\r\n]/.test(arg)) bad('control characters');
  return FILE_NAMES.has(command) && arg !== '-' ? expandTilde(arg, env) : arg;
}

/** msmtp refuses a user file with a password unless only its owner (you) can read it. */
function checkSecure(file: string): void {
  const st = statSync(file);
  const uid = typeof process.geteuid === 'function' ? process.geteuid() : st.uid;
  if (st.uid !== uid) throw new ConfigError(`${file}: contains a password and therefore must be owned by you`);
  if ((st.mode & 0o077) !== 0) {
    throw new ConfigError(
      `${file}: contains a password and therefore must have no more than user read/write permissions (chmod 600 ${file})`,
    );
  }
}

/** The account to use: -a NAME; else with -f, the first whose `from` matches; else "default". */
export function chooseAccount(config: LoadedConfig, name: string | undefined, envelopeFrom: string | undefined): Account {
  if (name !== undefined) {
    const a = config.accounts.get(name);
    if (!a) throw new ConfigError(`account ${printable(name)} not found in ${config.files.join(', ') || 'any configuration file'}`);
    return a;
  }
  if (envelopeFrom !== undefined) {
    for (const n of config.order) {
      const a = config.accounts.get(n)!;
      if (a.settings.from !== undefined && fromMatches(a.settings.from, envelopeFrom)) return a;
    }
  }
  const d = config.accounts.get('default');
  if (!d) {
    throw new ConfigError(
      config.files.length === 0
        ? 'no configuration file (~/.msmtprc, $XDG_CONFIG_HOME/msmtp/config or /etc/msmtprc) and no --server: nowhere to send'
        : `no account chosen and no account "default" in ${config.files.join(', ')}`,
    );
  }
  return d;
}

/** msmtp's -f matching: exact, user+detail@domain against user@domain, or a shell wildcard. */
function fromMatches(pattern: string, address: string): boolean {
  const a = address.toLowerCase();
  const p = pattern.toLowerCase();
  if (/[?*[]/.test(p)) {
    const re = new RegExp(
      '^' +
        p
          .replace(/[.+^${}()|\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.') +
        '$',
    );
    return re.test(a);
  }
  return a === p || a.replace(/^([^@+]*)\+[^@]*@/, '$1@') === p;
}
