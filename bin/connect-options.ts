// The CLI's connection flags: proxy, client certificate, TLS policy, source address. Kept apart
// from bin/smtpwire.ts, which only spreads CONNECT_FLAGS into its parseArgs options and merges
// connectOptions() into the client options. Secrets never come from the command line alone:
// a proxy password may sit in the URL (as curl allows) but $SMTPWIRE_PROXY_PASSWORD is
// preferred, and a key's passphrase comes from a file or $SMTPWIRE_KEY_PASSPHRASE.
import { SmtpUsageError } from '../core/errors.ts';
import { parseProxy, type ProxySpec } from '../core/proxy/url.ts';
import type { TlsVersion } from '../client/transport.ts';
import type { ClientOptions } from '../client/client.ts';

export const CONNECT_FLAGS = {
  proxy: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  pfx: { type: 'string' },
  'passphrase-file': { type: 'string' },
  'tls-min': { type: 'string' },
  ciphers: { type: 'string' },
  servername: { type: 'string' },
  'local-address': { type: 'string' },
} as const;

export const CONNECT_USAGE = `  --proxy URL         connect through a proxy: socks5://[user[:pass]@]host[:port], socks4a://,
                      http://[user[:pass]@]host[:port] (HTTP CONNECT); the password may come
                      from $SMTPWIRE_PROXY_PASSWORD instead of the URL
  --cert FILE         client certificate (PEM), with --key FILE (its private key, PEM)
  --pfx FILE          client certificate and key as PKCS#12 (.p12/.pfx)
  --passphrase-file FILE  unlocks --pfx or an encrypted --key (or $SMTPWIRE_KEY_PASSPHRASE)
  --tls-min VERSION   lowest TLS version: 1.2 or 1.3 (1.0 and 1.1 too, if you must)
  --ciphers LIST      OpenSSL cipher list
  --servername NAME   the name the server certificate must carry (and SNI), if not the host
  --local-address IP  source address of the connection
`;

export type ConnectFlagValues = { [K in keyof typeof CONNECT_FLAGS]?: string | undefined };

export interface FileReaders {
  /** A text file named by `flag`; throws the CLI's unreadable-file error. */
  text(path: string, flag: string): string;
  bytes(path: string, flag: string): Uint8Array;
}

const VERSIONS: Record<string, TlsVersion> = {
  '1': 'TLSv1', '1.0': 'TLSv1', 'TLSv1': 'TLSv1', 'TLSv1.0': 'TLSv1',
  '1.1': 'TLSv1.1', 'TLSv1.1': 'TLSv1.1',
  '1.2': 'TLSv1.2', 'TLSv1.2': 'TLSv1.2',
  '1.3': 'TLSv1.3', 'TLSv1.3': 'TLSv1.3',
};

/** The client options these flags ask for; checks flag combinations, reads the files. */
export function connectOptions(v: ConnectFlagValues, read: FileReaders, env: Record<string, string | undefined>): Partial<ClientOptions> {
  const out: Partial<ClientOptions> = {};
  if (v.proxy !== undefined) {
    const spec: ProxySpec = parseProxy(v.proxy);
    const pass = env.SMTPWIRE_PROXY_PASSWORD;
    if (pass && spec.pass === undefined) {
      if (spec.user === undefined) throw new SmtpUsageError('$SMTPWIRE_PROXY_PASSWORD is set but --proxy has no user name (socks5://user@host:port)');
      spec.pass = pass;
    }
    out.proxy = spec;
  }
  if ((v.cert === undefined) !== (v.key === undefined)) throw new SmtpUsageError(v.cert === undefined ? '--key needs --cert' : '--cert needs --key');
  if (v.pfx !== undefined && v.cert !== undefined) throw new SmtpUsageError('give --pfx or --cert with --key, not both');
  if (v.cert !== undefined) {
    out.cert = read.text(v.cert, '--cert');
    out.key = read.text(v.key!, '--key');
  }
  if (v.pfx !== undefined) out.pfx = read.bytes(v.pfx, '--pfx');
  const passphrase = v['passphrase-file'] !== undefined
    ? read.text(v['passphrase-file'], '--passphrase-file').split(/\r?\n/, 1)[0]!
    : env.SMTPWIRE_KEY_PASSPHRASE;
  if (v['passphrase-file'] !== undefined && v.pfx === undefined && v.key === undefined) throw new SmtpUsageError('--passphrase-file unlocks --pfx or --key: give one');
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
