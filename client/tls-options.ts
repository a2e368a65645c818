// The client's TLS vocabulary, defined once: the mode (how TLS is reached) and the TLS and socket
// options (server name, trust, client certificate, minimum version, ciphers, source address).
// Checked once at the call and carried to the transport in ConnectParams (which extends
// TlsClientOptions); the mode becomes the core's `tls` + `secure` and the link's `implicitTls`
// through TLS_MODES alone. Each transport says which options it cannot honour (`unsupported`),
// and the link is then refused with a usage error that names the option and the reason, never
// silently ignored.
import type { ConnectionOptions } from '../core/options.ts';
import { SmtpUsageError } from '../core/errors.ts';
import type { ConnectParams, TlsVersion } from './transport.ts';

/**
 * How the client reaches TLS, and what each mode means for the core (`tls`: its STARTTLS policy,
 * `secure`: the link is TLS from the first byte) and the default port:
 * - 'starttls': upgrade when offered, go on in clear when not (port 25);
 * - 'required-starttls': upgrade or fail before AUTH or MAIL (port 587);
 * - 'implicit': TLS from the first byte (port 465, RFC 8314);
 * - 'none': never upgrade (port 25).
 */
export const TLS_MODES = {
  starttls: { tls: 'opportunistic', secure: false, port: 25 },
  'required-starttls': { tls: 'required', secure: false, port: 587 },
  implicit: { tls: 'opportunistic', secure: true, port: 465 },
  none: { tls: 'none', secure: false, port: 25 },
} as const satisfies Record<string, Required<Pick<ConnectionOptions, 'tls' | 'secure'>> & { port: number }>;

export type TlsMode = keyof typeof TLS_MODES;

/** The mode asked for (default 'starttls'); throws SmtpUsageError for an unknown one. */
export function tlsMode(mode: unknown): TlsMode {
  if (mode === undefined) return 'starttls';
  if (typeof mode === 'string' && Object.hasOwn(TLS_MODES, mode)) return mode as TlsMode;
  throw new SmtpUsageError(`unknown tls mode: ${String(mode)} (one of ${Object.keys(TLS_MODES).join(', ')})`);
}

/** The port a mode defaults to when none is given (an unknown mode is refused later, by tlsMode). */
export function defaultPort(mode: unknown): number {
  return typeof mode === 'string' && Object.hasOwn(TLS_MODES, mode) ? TLS_MODES[mode as TlsMode].port : TLS_MODES.starttls.port;
}

export interface TlsClientOptions {
  /** TLS server name (SNI and the certificate check). Default: the host (through a proxy too). */
  servername?: string;
  /** Trusted CA certificates (PEM) in place of the runtime's default store. */
  ca?: string | Uint8Array | (string | Uint8Array)[];
  /** Verify the server certificate. Default true; turning it off is for tests only. */
  rejectUnauthorized?: boolean;
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

/** The options a runtime may be unable to honour (refuseUnsupported). */
type TlsKey = Exclude<keyof TlsClientOptions, 'servername' | 'ca' | 'rejectUnauthorized'>;
const VERSIONS: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** The client certificate and socket options as ConnectParams fields; throws SmtpUsageError for
 *  bad ones. (servername, ca and rejectUnauthorized go as given: see linkParams.) */
export function tlsParams(o: TlsClientOptions): Pick<ConnectParams, TlsKey> {
  const out: Pick<ConnectParams, TlsKey> = {};
  const pem = (v: unknown, name: string): string | Uint8Array => {
    if (typeof v === 'string' || v instanceof Uint8Array) return v;
    throw new SmtpUsageError(`${name} must be a PEM string or Uint8Array`);
  };
  if ((o.cert === undefined) !== (o.key === undefined)) {
    throw new SmtpUsageError(
      o.cert === undefined ? 'key needs cert (the client certificate)' : "cert needs key (the client certificate's private key)",
    );
  }
  if (o.cert !== undefined) {
    out.cert = pem(o.cert, 'cert');
    out.key = pem(o.key, 'key');
  }
  if (o.pfx !== undefined) {
    if (!(o.pfx instanceof Uint8Array)) throw new SmtpUsageError("pfx must be the PKCS#12 file's octets (Uint8Array)");
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
    if (typeof o.ciphers !== 'string' || o.ciphers === '' || /[\u0000-\u001f\u007f]/.test(o.ciphers))
      throw new SmtpUsageError('ciphers must be a non-empty OpenSSL cipher list');
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
