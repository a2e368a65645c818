// TLS and socket options of the client (client certificate, minimum version, ciphers, source
// address): checked once at the call, carried to the transport in ConnectParams. Each
// transport says which it cannot honour (`unsupported`), and the link is then refused with a
// usage error that names the option and the reason, never silently ignored.
import { SmtpUsageError } from '../core/errors.ts';
import type { ConnectParams, TlsVersion } from './transport.ts';

export interface TlsClientOptions {
  /** Client certificate chain (PEM), with `key`. */
  cert?: string | Uint8Array;
  /** Private key (PEM) of `cert`; encrypted keys take `passphrase`. */
  key?: string | Uint8Array;
  /** Client certificate and key as PKCS#12 (a .p12/.pfx file's octets), instead of cert + key. */
  pfx?: Uint8Array;
  /** Unlocks `pfx` or an encrypted `key`. */
  passphrase?: string;
  /** Lowest TLS version to accept. */
  minVersion?: TlsVersion;
  /** OpenSSL cipher list (TLS 1.2 and lower). */
  ciphers?: string;
  /** Source IP address of the connection (to the server, or to the proxy). */
  localAddress?: string;
}

type TlsKey = keyof TlsClientOptions;
const VERSIONS: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** The options as ConnectParams fields; throws SmtpUsageError for bad ones. */
export function tlsParams(o: TlsClientOptions): Pick<ConnectParams, TlsKey> {
  const out: Pick<ConnectParams, TlsKey> = {};
  const pem = (v: unknown, name: string): string | Uint8Array => {
    if (typeof v === 'string' || v instanceof Uint8Array) return v;
    throw new SmtpUsageError(`${name} must be a PEM string or Uint8Array`);
  };
  if ((o.cert === undefined) !== (o.key === undefined)) {
    throw new SmtpUsageError(o.cert === undefined ? 'key needs cert (the client certificate)' : 'cert needs key (the client certificate\'s private key)');
  }
  if (o.cert !== undefined) {
    out.cert = pem(o.cert, 'cert');
    out.key = pem(o.key, 'key');
  }
  if (o.pfx !== undefined) {
    if (!(o.pfx instanceof Uint8Array)) throw new SmtpUsageError('pfx must be the PKCS#12 file\'s octets (Uint8Array)');
    if (o.cert !== undefined) throw new SmtpUsageError('give the client certificate either as pfx or as cert + key, not both');
    out.pfx = o.pfx;
  }
  if (o.passphrase !== undefined) {
    if (typeof o.passphrase !== 'string') throw new SmtpUsageError('passphrase must be a string');
    if (o.pfx === undefined && o.key === undefined) throw new SmtpUsageError('passphrase unlocks pfx or key: give one of them');
    out.passphrase = o.passphrase;
  }
  if (o.minVersion !== undefined) {
    if (!VERSIONS.includes(o.minVersion)) throw new SmtpUsageError(`minVersion must be one of ${VERSIONS.join(', ')}`);
    out.minVersion = o.minVersion;
  }
  if (o.ciphers !== undefined) {
    if (typeof o.ciphers !== 'string' || o.ciphers === '' || /[\u0000-\u001f\u007f]/.test(o.ciphers)) throw new SmtpUsageError('ciphers must be a non-empty OpenSSL cipher list');
    out.ciphers = o.ciphers;
  }
  if (o.localAddress !== undefined) {
    if (typeof o.localAddress !== 'string' || !/^[0-9a-fA-F:.]+$/.test(o.localAddress) || !/[.:]/.test(o.localAddress)) {
      throw new SmtpUsageError('localAddress must be an IP address of this machine');
    }
    out.localAddress = o.localAddress;
  }
  return out;
}

/**
 * For transports: refuse the options this runtime cannot honour. `why` maps each unsupported
 * option to the reason; the first one given is reported.
 */
export function refuseUnsupported(runtime: string, params: ConnectParams, why: Partial<Record<TlsKey, string>>): void {
  for (const key of Object.keys(why) as TlsKey[]) {
    if (params[key] !== undefined) throw new SmtpUsageError(`${runtime} cannot use the \`${key}\` option: ${why[key]}`);
  }
}
