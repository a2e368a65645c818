// The CLI's connection flags: proxy, client certificate, TLS policy, source address. Kept apart
// from bin/smtpwire.ts, which only lists connectModule in MODULES; its apply() merges
// connectOptions() into the client options. Secrets never come from the command line alone:
// a proxy password may sit in the URL (as curl allows) but $SMTPWIRE_PROXY_PASSWORD is
// preferred, and a key's passphrase comes from a file or $SMTPWIRE_KEY_PASSPHRASE.
import { SmtpUsageError } from '../core/errors.ts';
import { parseProxy, type ProxySpec } from '../core/proxy/url.ts';
import type { TlsVersion } from '../client/transport.ts';
import type { ClientOptions } from '../client/client.ts';
import { resolve } from 'node:path';
import { readInput, readInputBytes } from './args.ts';
import { str, type CliModule, type OptionTable, type Values } from './options.ts';

const G = 'connection';

export const CONNECT_FLAGS: OptionTable = {
  proxy: {
    type: 'string',
    arg: 'URL',
    group: G,
    help: 'socks5://[user@]host[:port], socks4a://, http:// (CONNECT); password: $SMTPWIRE_PROXY_PASSWORD',
  },
  cert: { type: 'string', arg: 'FILE', group: G, help: 'client certificate (PEM), with --key FILE (its private key, PEM)' },
  key: { type: 'string', arg: 'FILE', group: G, help: 'the private key of --cert (PEM)' },
  pfx: { type: 'string', arg: 'FILE', group: G, help: 'client certificate and key as PKCS#12 (.p12/.pfx)' },
  'passphrase-file': { type: 'string', arg: 'FILE', group: G, help: 'unlocks --pfx or an encrypted --key (or $SMTPWIRE_KEY_PASSPHRASE)' },
  'tls-min': { type: 'string', arg: 'VERSION', group: G, help: 'lowest TLS version: 1.2 or 1.3 (1.0 and 1.1 too, if you must)' },
  ciphers: { type: 'string', arg: 'LIST', group: G, help: 'OpenSSL cipher list' },
  servername: { type: 'string', arg: 'NAME', group: G, help: 'the name the server certificate must carry (and SNI), if not the host' },
  'local-address': { type: 'string', arg: 'IP', group: G, help: 'source address of the connection' },
};

export type ConnectFlagValues = Partial<
  Record<'proxy' | 'cert' | 'key' | 'pfx' | 'passphrase-file' | 'tls-min' | 'ciphers' | 'servername' | 'local-address', string | undefined>
>;

const FILES = ['cert', 'key', 'pfx', 'passphrase-file'];

/**
 * The CLI module. A spooled message keeps these flags (file names made absolute) and they are
 * applied again at flush time, files read then; a proxy password must come from
 * $SMTPWIRE_PROXY_PASSWORD then too, never from the spool file.
 */
export const connectModule: CliModule = {
  name: 'connect',
  options: CONNECT_FLAGS,
  apply(v, plan) {
    const values: ConnectFlagValues = {};
    for (const k of Object.keys(CONNECT_FLAGS)) {
      const x = str(v, k);
      if (x !== undefined) values[k as keyof ConnectFlagValues] = x;
    }
    Object.assign(plan.client, connectOptions(values, { text: readInput, bytes: readInputBytes }, process.env));
  },
  recipe(v) {
    const out: Values = {};
    for (const k of Object.keys(CONNECT_FLAGS)) {
      const x = str(v, k);
      if (x !== undefined) out[k] = FILES.includes(k) ? resolve(x) : x;
    }
    if (typeof out.proxy === 'string' && parseProxy(out.proxy).pass !== undefined) {
      throw new SmtpUsageError(
        'with --queue, give the proxy password in $SMTPWIRE_PROXY_PASSWORD, not in the --proxy URL (the spool file must not hold it)',
      );
    }
    return Object.keys(out).length ? out : undefined;
  },
};

export interface FileReaders {
  /** A text file named by `flag`; throws the CLI's unreadable-file error. */
  text(path: string, flag: string): string;
  bytes(path: string, flag: string): Uint8Array;
}

const VERSIONS: Record<string, TlsVersion> = {
  '1': 'TLSv1',
  '1.0': 'TLSv1',
  'TLSv1': 'TLSv1',
  'TLSv1.0': 'TLSv1',
  '1.1': 'TLSv1.1',
  'TLSv1.1': 'TLSv1.1',
  '1.2': 'TLSv1.2',
  'TLSv1.2': 'TLSv1.2',
  '1.3': 'TLSv1.3',
  'TLSv1.3': 'TLSv1.3',
};

/** The client options these flags ask for; checks flag combinations, reads the files. */
export function connectOptions(v: ConnectFlagValues, read: FileReaders, env: Record<string, string | undefined>): Partial<ClientOptions> {
  const out: Partial<ClientOptions> = {};
  if (v.proxy !== undefined) {
    const spec: ProxySpec = parseProxy(v.proxy);
    const pass = env.SMTPWIRE_PROXY_PASSWORD;
    if (pass && spec.pass === undefined) {
      if (spec.user === undefined)
        throw new SmtpUsageError('$SMTPWIRE_PROXY_PASSWORD is set but --proxy has no user name (socks5://user@host:port)');
      spec.pass = pass;
    }
    out.proxy = spec;
  }
  if ((v.cert === undefined) !== (v.key === undefined))
    throw new SmtpUsageError(v.cert === undefined ? '--key needs --cert' : '--cert needs --key');
  if (v.pfx !== undefined && v.cert !== undefined) throw new SmtpUsageError('give --pfx or --cert with --key, not both');
  if (v.cert !== undefined) {
    out.cert = read.text(v.cert, '--cert');
    out.key = read.text(v.key!, '--key');
  }
  if (v.pfx !== undefined) out.pfx = read.bytes(v.pfx, '--pfx');
  const passphrase =
    v['passphrase-file'] !== undefined
      ? read.text(v['passphrase-file'], '--passphrase-file').split(/\r?\n/, 1)[0]!
      : env.SMTPWIRE_KEY_PASSPHRASE;
  if (v['passphrase-file'] !== undefined && v.pfx === undefined && v.key === undefined)
    throw new SmtpUsageError('--passphrase-file unlocks --pfx or --key: give one');
  if (passphrase !== undefined && (v.pfx !== undefined || v.key !== undefined)) out.passphrase = passphrase;
  if (v['tls-min'] !== undefined) {
    const version = VERSIONS[v['tls-min']];
    if (!version) throw new SmtpUsageError('--tls-min must be 1.0, 1.1, 1.2 or 1.3');
    out.minVersion = version;
  }
  if (v.ciphers !== undefined) out.ciphers = v.ciphers;
  if (v.servername !== undefined) out.servername = v.servername;
  if (v['local-address'] !== undefined) out.localAddress = v['local-address'];
  return out;
}
