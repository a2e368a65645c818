// `smtpwire send` flags: the core option table, the server URL, and the "recipe" a session is
// built from. A recipe holds only what can be written down safely (no password: that is read
// again when the session opens), so a spooled message (bin/spool.ts) can be sent later with
// exactly the settings it was queued with.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatPath } from '../core/address.ts';
import { SmtpUsageError } from '../core/errors.ts';
import { redactUrl } from '../core/proxy/url.ts';
import { printable } from '../core/text.ts';
import type { ClientOptions, TlsMode } from '../transports/node.ts';
import { accountPlan, defaultQueueDir, type AccountPlan } from './account.ts';
import { envelopeOf } from './message-options.ts';
import { chooseAccount, loadConfig, type LoadedConfig } from './msmtp-config.ts';
import { str, strs, type OptionTable, type SendPlan, type Values } from './options.ts';

export const SEND_OPTIONS: OptionTable = {
  server: { type: 'string', arg: 'URL', help: 'where to send (default smtp://localhost, or the msmtp account)' },
  account: { type: 'string', short: 'a', arg: 'NAME', help: 'use this account of the msmtp configuration file' },
  config: { type: 'string', short: 'C', arg: 'FILE', help: 'the msmtp configuration file (default ~/.msmtprc)' },
  from: { type: 'string', short: 'f', arg: 'ADDR', help: "sender, 'addr' or 'Name <addr>' ('' for the null sender)" },
  to: { type: 'string', multiple: true, arg: 'ADDR', help: 'a recipient (repeatable; bare arguments are recipients too)' },
  user: { type: 'string', arg: 'NAME', help: 'authenticate; the password comes from $SMTPWIRE_PASSWORD, --pass-file or --pass-cmd' },
  'pass-file': { type: 'string', arg: 'FILE', help: 'read the password from the first line of FILE' },
  auth: { type: 'string', arg: 'MECH', help: 'insist on this SASL mechanism (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256, ...)' },
  ca: { type: 'string', arg: 'FILE', help: 'trust the CA certificates (PEM) in FILE instead of the system store' },
  insecure: { type: 'boolean', help: 'do not check the server certificate (testing only)' },
  name: { type: 'string', arg: 'NAME', help: 'EHLO/LHLO name' },
  queue: { type: 'boolean', short: 'q', help: 'spool the message when it cannot be sent now (exit 0, "queued")' },
  'queue-dir': { type: 'string', arg: 'DIR', help: 'the spool (default $XDG_STATE_HOME/smtpwire/queue)' },
  verbose: { type: 'boolean', short: 'v', help: 'print the SMTP transcript on stderr (secrets redacted)' },
  json: { type: 'boolean', help: 'print the result as JSON on stdout' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  version: { type: 'boolean', help: 'print the version' },
};

/** How to open a session, minus secrets. Stored with a spooled message. */
export interface Recipe {
  server?: string;
  account?: string;
  config?: string;
  user?: string;
  passFile?: string;
  auth?: string;
  ca?: string;
  insecure?: boolean;
  name?: string;
  timeouts?: ClientOptions['timeouts'];
  /** Each CliModule's own values (its recipe() hook), by module name, applied again at flush. */
  modules?: Record<string, Values>;
}

/** A problem with a file named on the command line (EX_NOINPUT, not a usage error). */
export class InputFileError extends Error {}

export function readInput(path: string, flag: string): string {
  try {
    if (statSync(path).isDirectory()) throw new Error('it is a directory');
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputFileError(`${flag}: cannot read ${printable(path)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function readInputBytes(path: string, flag: string): Uint8Array {
  try {
    if (statSync(path).isDirectory()) throw new Error('it is a directory');
    return readFileSync(path);
  } catch (err) {
    throw new InputFileError(`${flag}: cannot read ${printable(path)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const SCHEMES: Record<string, { tls: TlsMode; port: number; lmtp?: boolean }> = {
  'smtp:': { tls: 'starttls', port: 25 },
  'smtp+starttls:': { tls: 'required-starttls', port: 587 },
  'smtps:': { tls: 'implicit', port: 465 },
  'smtp+plain:': { tls: 'none', port: 25 },
  'lmtp:': { tls: 'starttls', port: 24, lmtp: true },
};

/** The --server URL as client options: host, port, TLS mode, LMTP. */
export function parseServerUrl(text: string): Pick<ClientOptions, 'host' | 'port' | 'tls' | 'lmtp'> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // It may hold credentials (refused below once it parses): never echo them.
    throw new SmtpUsageError(`--server is not a URL: "${redactUrl(text)}" (try smtp://host:port)`);
  }
  const scheme = SCHEMES[url.protocol];
  if (!scheme)
    throw new SmtpUsageError(
      `--server scheme must be smtp, smtp+starttls, smtps, smtp+plain or lmtp, not "${printable(url.protocol.slice(0, -1))}"`,
    );
  // Passwords in URLs end up in shell history and process lists: use --user and the env/file.
  if (url.username || url.password)
    throw new SmtpUsageError('--server must not hold credentials: use --user with SMTPWIRE_PASSWORD or --pass-file');
  if ((url.pathname !== '' && url.pathname !== '/') || url.search || url.hash)
    throw new SmtpUsageError(`--server takes only scheme://host[:port]: "${printable(text)}"`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 literals come bracketed
  if (host === '') throw new SmtpUsageError(`--server has no host: "${printable(text)}"`);
  const port = url.port === '' ? scheme.port : Number(url.port);
  if (!(Number.isInteger(port) && port > 0 && port < 65536))
    throw new SmtpUsageError(`--server port must be 1 to 65535: "${printable(text)}"`);
  return { host, port, tls: scheme.tls, ...(scheme.lmtp ? { lmtp: true } : {}) };
}

/** Whether a recipe names an msmtp account (explicitly, or by having no --server). */
export function usesAccount(r: Recipe): boolean {
  return r.server === undefined;
}

/**
 * Client options from a recipe: from --server and the flags, or from the msmtp account (flags
 * given as well override the account's settings). `envelopeFrom` picks the account by its
 * `from` when no account is named, as msmtp -f does.
 */
export function sessionFromRecipe(
  r: Recipe,
  env: NodeJS.ProcessEnv,
  envelopeFrom?: string,
): { client: Omit<ClientOptions, 'transport'>; account?: AccountPlan } {
  let client: Omit<ClientOptions, 'transport'>;
  let account: AccountPlan | undefined;
  if (usesAccount(r)) {
    const config = loadConfig(r.config, env);
    for (const w of config.warnings) process.stderr.write(`smtpwire: warning: ${printable(w)}\n`);
    const implicit = r.account === undefined && r.config === undefined;
    if (implicit && !config.accounts.has('default') && !hasFromMatch(config, envelopeFrom)) {
      client = { host: 'localhost', port: 25, tls: 'starttls' }; // no account to use: the local MTA
    } else {
      account = accountPlan(chooseAccount(config, r.account, envelopeFrom), env, { needPassword: r.user === undefined });
      client = account.client;
    }
  } else {
    client = { ...parseServerUrl(r.server!) };
  }
  if (r.name !== undefined) client.name = r.name;
  if (r.ca !== undefined) client.ca = readInput(r.ca, '--ca');
  if (r.insecure) client.rejectUnauthorized = false;
  if (r.user !== undefined) {
    let pass = env.SMTPWIRE_PASSWORD;
    if (r.passFile !== undefined) pass = readInput(r.passFile, '--pass-file').split(/\r?\n/, 1)[0]!;
    // No password here may still be fine: a module (--pass-cmd, --token-cmd) can supply one;
    // requireSecret() checks once the modules have run.
    client.auth = { user: r.user, ...(pass ? { pass } : {}), ...(r.auth !== undefined ? { mechanism: r.auth } : {}) };
  } else if (r.auth !== undefined && client.auth) {
    client.auth = { ...client.auth, mechanism: r.auth };
  }
  if (r.timeouts) client.timeouts = { ...client.timeouts, ...r.timeouts };
  testConnectMap(client, env);
  return { client, ...(account ? { account } : {}) };
}

/**
 * Tests only: SMTPWIRE_TEST_CONNECT_MAP="name:port=127.0.0.1:port,..." connects to a local port
 * instead, for RFC 2606 `.example` names only (which exist nowhere), so msmtp's example files
 * can be tested unchanged. TLS still verifies the certificate for the configured name.
 */
function testConnectMap(client: Omit<ClientOptions, 'transport'>, env: NodeJS.ProcessEnv): void {
  const map = env.SMTPWIRE_TEST_CONNECT_MAP;
  if (!map || !/\.example$/i.test(client.host)) return;
  for (const item of map.split(',')) {
    const m = /^([^:=]+):(\d+)=([^:=]+):(\d+)$/.exec(item.trim());
    if (m && m[1]!.toLowerCase() === client.host.toLowerCase() && Number(m[2]) === client.port) {
      client.servername = client.host;
      client.host = m[3]!;
      client.port = Number(m[4]);
      return;
    }
  }
}

function hasFromMatch(config: LoadedConfig, from: string | undefined): boolean {
  if (from === undefined) return false;
  try {
    return chooseAccount(config, undefined, from) !== config.accounts.get('default');
  } catch {
    return false;
  }
}

/** After the modules have run: --user must have come with a way to get its secret. */
export function requireSecret(plan: SendPlan): void {
  const auth = plan.client.auth;
  if (auth && auth.pass === undefined && auth.token === undefined) {
    throw new SmtpUsageError('--user needs a password: set SMTPWIRE_PASSWORD, or use --pass-file FILE, --pass-cmd CMD or --token-cmd CMD');
  }
}

/** File names as absolute paths: a spooled recipe may be used later from another directory. */
export function absolutePaths(r: Recipe): void {
  for (const k of ['config', 'passFile', 'ca'] as const) if (r[k] !== undefined) r[k] = resolve(r[k]);
}

/** The recipe the send flags describe. */
export function recipeFrom(v: Values): Recipe {
  const r: Recipe = {};
  const set = (k: keyof Recipe, flag: string): void => {
    const x = str(v, flag);
    if (x !== undefined) (r as Record<string, unknown>)[k] = x;
  };
  set('server', 'server');
  set('account', 'account');
  set('config', 'config');
  set('user', 'user');
  set('passFile', 'pass-file');
  set('auth', 'auth');
  set('ca', 'ca');
  set('name', 'name');
  absolutePaths(r);
  if (v.insecure === true) r.insecure = true;
  if (r.server !== undefined && (r.account !== undefined || r.config !== undefined))
    throw new SmtpUsageError('give either --server or an msmtp account (--account/--config), not both');
  if (r.passFile !== undefined && r.user === undefined) throw new SmtpUsageError('--pass-file needs --user');
  if (r.auth !== undefined && r.user === undefined && r.server !== undefined) throw new SmtpUsageError('--auth needs --user');
  return r;
}

/** `smtpwire send`: the plan from the flags and bare recipients. */
export function sendPlan(v: Values, recipients: string[], env: NodeJS.ProcessEnv): { plan: SendPlan; recipe: Recipe } {
  const recipe = recipeFrom(v);
  const given = [...strs(v, 'to'), ...recipients];
  if (given.length === 0) throw new SmtpUsageError('no recipient: give --to ADDR or a bare address');
  // 'Name <addr>' is accepted; the envelope takes the address. Checked before any connection.
  const to = given.map((a) => {
    if (a === '') throw new SmtpUsageError('a recipient address is empty');
    const address = envelopeOf(a, '--to');
    formatPath(address);
    return address;
  });
  const fromGiven = str(v, 'from');
  const fromFlag = fromGiven === undefined ? undefined : envelopeOf(fromGiven, '--from');
  if (fromFlag !== undefined) formatPath(fromFlag); // a typo fails before any connection
  if (fromFlag === undefined && !usesAccount(recipe)) throw new SmtpUsageError('--from is required');
  const session = sessionFromRecipe(recipe, env, fromFlag);
  const acct = session.account;
  const byFlag = fromFlag !== undefined && (acct === undefined || acct.allowFromOverride);
  const from = byFlag ? fromFlag : (acct?.from ?? fromFlag);
  if (from === undefined)
    throw new SmtpUsageError(acct ? `--from is required (account ${acct.account} has no from)` : '--from is required');
  formatPath(from);

  const plan: SendPlan = {
    client: session.client,
    from,
    to: acct?.notify ? to.map((address) => ({ address, notify: acct.notify! })) : to,
    ...(acct?.ret ? { dsn: { ret: acct.ret } } : {}),
    given: { from: byFlag ? fromGiven! : from, to: given },
    verbose: v.verbose === true,
    json: v.json === true,
    insecure: v.insecure === true || acct?.insecure === true,
    account: acct?.account,
    logfile: acct?.logfile,
    ...(acct?.queue ? { queue: { dir: acct.queueDir ?? defaultQueueDir(env) } } : {}),
  };
  return { plan, recipe };
}
