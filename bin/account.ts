// An msmtp account (bin/msmtp-config.ts) as what a send needs: client options, the envelope
// sender, DSN requests, header handling, log file and spool. Defaults are msmtp's, checked
// against `msmtp --pretend` by the interop suite (test/interop/clients.ts).
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import type { NotifyOn } from '../core/envelope.ts';
import { printable } from '../core/text.ts';
import type { Timeouts } from '../core/timeouts.ts';
import type { ClientOptions, TlsMode } from '../transports/node.ts';
import { commandFailure, ConfigError, type Account } from './msmtp-config.ts';

export interface AccountPlan {
  account: string;
  client: Omit<ClientOptions, 'transport'>;
  /** Envelope sender from `from` (substituted), if set. */
  from: string | undefined;
  allowFromOverride: boolean;
  setFromHeader: 'auto' | 'on' | 'off';
  setDateHeader: 'auto' | 'off';
  setMsgidHeader: 'auto' | 'off';
  removeBcc: boolean;
  notify: 'NEVER' | NotifyOn[] | undefined;
  ret: 'FULL' | 'HDRS' | undefined;
  logfile: string | undefined;
  queue: boolean;
  queueDir: string | undefined;
  insecure: boolean;
  /** For --pretend: the settings as msmtp would print them. */
  pretend: [string, string][];
}

const PHASES: (keyof Timeouts)[] = [
  'greeting',
  'hello',
  'starttls',
  'tlsHandshake',
  'auth',
  'mail',
  'rcpt',
  'data',
  'dataBlock',
  'dataEnd',
  'command',
  'quit',
];

/** msmtp's %U, %H, %C, %M substitutions (from, domain). %C is the host name as given: no DNS. */
export function substitute(text: string, env: NodeJS.ProcessEnv = process.env): string {
  return text.replace(/%([UHCM%])/g, (_, c: string) => {
    if (c === '%') return '%';
    if (c === 'U') return env.USER || env.LOGNAME || userInfo().username;
    if (c === 'M') {
      try {
        return readFileSync('/etc/mailname', 'utf8').split('\n', 1)[0]!.trim();
      } catch {
        return hostname();
      }
    }
    return env.HOSTNAME || hostname();
  });
}

/** `passwordeval`: the command's output, first line, as msmtp reads it. */
export function evalPassword(command: string, account: string): string {
  let out: string;
  try {
    // node:child_process loaded only here: a send without a password command never pays for it.
    out = process
      .getBuiltinModule('node:child_process')
      .execFileSync('/bin/sh', ['-c', command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 120_000 });
  } catch (err) {
    throw new ConfigError(`account ${account}: passwordeval ${commandFailure(err)}`);
  }
  const line = out.split(/\r?\n/, 1)[0]!;
  if (line === '') throw new ConfigError(`account ${account}: passwordeval printed no password`);
  return line;
}

export function accountPlan(account: Account, env: NodeJS.ProcessEnv = process.env, opts: { needPassword?: boolean } = {}): AccountPlan {
  const s = account.settings;
  const name = account.name;
  const where = `account ${name} from ${account.origin.replace(/:\d+$/, '')}`;
  if (!s.host) throw new ConfigError(`${where}: host not set`);
  const lmtp = s.protocol === 'lmtp';
  const tlsOn = s.tls === 'on';
  const starttls = s.tls_starttls !== 'off';
  const tls: TlsMode = !tlsOn ? 'none' : starttls ? 'required-starttls' : 'implicit';
  let port = s.port !== undefined ? Number(s.port) : undefined;
  if (port === undefined) {
    if (lmtp) throw new ConfigError(`${where}: port not set (LMTP has no default port)`);
    port = tlsOn && !starttls ? 465 : 25;
  }
  const domain = substitute(s.domain ?? 'localhost', env);
  const client: Omit<ClientOptions, 'transport'> = { host: s.host, port, tls, name: domain, ...(lmtp ? { lmtp: true } : {}) };

  const trust = s.tls_trust_file ?? 'system';
  const certcheck = s.tls_certcheck !== 'off';
  if (tlsOn && certcheck && trust !== 'system') {
    if (trust === '')
      throw new ConfigError(`${where}: an empty tls_trust_file trusts no CA; smtpwire needs a trust file (or tls_certcheck off)`);
    try {
      client.ca = readFileSync(trust, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `${where}: cannot read tls_trust_file ${printable(trust)}: ${err instanceof Error ? err.message : String(err)}`,
        66,
      );
    }
  }
  if (!certcheck) client.rejectUnauthorized = false;

  const auth = s.auth ?? 'off';
  let authShown = 'none';
  if (auth !== 'off' && auth !== 'none') {
    const mechanism = auth === 'on' ? undefined : auth.toUpperCase();
    authShown = mechanism ?? 'choose';
    const user = s.user ?? '';
    let pass: string | undefined = s.password || undefined;
    if (pass === undefined && s.passwordeval && opts.needPassword !== false) pass = evalPassword(s.passwordeval, name);
    if (pass === undefined) pass = env.SMTPWIRE_PASSWORD || undefined;
    if (pass === undefined && opts.needPassword !== false) {
      throw new ConfigError(
        `${where}: auth is on but there is no password: add passwordeval (e.g. a keyring lookup or gpg -d), password, or set SMTPWIRE_PASSWORD`,
      );
    }
    const token = mechanism === 'OAUTHBEARER' || mechanism === 'XOAUTH2';
    client.auth = { user, ...(token ? { token: pass } : { pass }), ...(mechanism ? { mechanism } : {}) };
  }

  if (s.timeout !== undefined && s.timeout !== 'off') {
    const ms = Number(s.timeout) * 1000;
    client.timeouts = Object.fromEntries([...PHASES, 'connect'].map((k) => [k, ms]));
  }

  let notify: AccountPlan['notify'];
  if (s.dsn_notify && s.dsn_notify !== 'off') {
    notify = s.dsn_notify === 'never' ? 'NEVER' : s.dsn_notify.split(',').map((x) => x.toUpperCase() as NotifyOn);
  }
  const ret = s.dsn_return === 'full' ? 'FULL' : s.dsn_return === 'headers' ? 'HDRS' : undefined;
  const from = s.from ? substitute(s.from, env) : undefined;
  const setFromHeader = (s.set_from_header ?? (s.add_missing_from_header === 'off' ? 'off' : 'auto')) as AccountPlan['setFromHeader'];
  const setDateHeader = (s.set_date_header ?? (s.add_missing_date_header === 'off' ? 'off' : 'auto')) as AccountPlan['setDateHeader'];
  const pretend: [string, string][] = [
    ['host', s.host],
    ['port', String(port)],
    ['timeout', s.timeout && s.timeout !== 'off' ? `${s.timeout} seconds` : 'off'],
    ['protocol', lmtp ? 'lmtp' : 'smtp'],
    ['domain', domain],
    ['auth', authShown],
    ['user', s.user || '(not set)'],
    ['password', s.password ? '*' : '(not set)'],
    ['passwordeval', s.passwordeval || '(not set)'],
    ['tls', tlsOn ? 'on' : 'off'],
    ['tls_starttls', starttls ? 'on' : 'off'],
    ['tls_trust_file', trust === '' ? '(not set)' : trust],
    ['tls_certcheck', certcheck ? 'on' : 'off'],
    ['from', from ?? '(not set)'],
    ['allow_from_override', s.allow_from_override === 'off' ? 'off' : 'on'],
    ['set_from_header', setFromHeader],
    ['set_date_header', setDateHeader],
    ['remove_bcc_headers', s.remove_bcc_headers === 'off' ? 'off' : 'on'],
    ['dsn_notify', notify === undefined ? '(not set)' : notify === 'NEVER' ? 'NEVER' : notify.join(',')],
    ['dsn_return', ret ?? '(not set)'],
    ['logfile', s.logfile || '(not set)'],
  ];
  return {
    account: name,
    client,
    from,
    allowFromOverride: s.allow_from_override !== 'off',
    setFromHeader,
    setDateHeader,
    setMsgidHeader: (s.set_msgid_header ?? 'auto') as AccountPlan['setMsgidHeader'],
    removeBcc: s.remove_bcc_headers !== 'off',
    notify,
    ret,
    logfile: s.logfile || undefined,
    queue: s.queue === 'on',
    queueDir: s.queue_dir || undefined,
    insecure: !certcheck && tlsOn,
    pretend,
  };
}

/** The default spool: $SMTPWIRE_QUEUE_DIR, else $XDG_STATE_HOME/smtpwire/queue. */
export function defaultQueueDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SMTPWIRE_QUEUE_DIR) return env.SMTPWIRE_QUEUE_DIR;
  const home = env.HOME || userInfo().homedir;
  return join(env.XDG_STATE_HOME || join(home, '.local', 'state'), 'smtpwire', 'queue');
}
