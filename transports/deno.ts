// Deno transport: Deno.connect / Deno.connectTls / Deno.startTls behind the runtime-neutral
// Link contract, plus the ready-to-use entry points (`import { connect } from 'smtpwire/deno'`).
// Bytes and TLS only; every protocol decision is the core's. Needs --allow-net (and
// --allow-read for a CA file the caller reads itself).
import { SmtpUsageError } from '../core/errors.ts';
import { SmtpClient, type ClientOptions, type SendMailOptions, type SendResult } from '../client/client.ts';
import { bindConnect, bindCreatePool, bindSendMail, type EntryPoints } from '../client/entry.ts';
import { FULL_PARTS } from '../client/full-parts.ts';
import type { Pool, PoolOptions } from '../client/pool.ts';
import type { ConnectParams, Link, LinkHandlers, Transport } from '../client/transport.ts';
import { StreamLink, connectWithin, pemList, tlsError, type StreamPair, type StreamSocket } from './web-streams.ts';
import { refuseUnsupported } from '../client/tls-options.ts';

export const denoTransport: Transport = {
  name: 'deno',
  connect: (params, handlers) => open(params, handlers),
};

/** Deno verifies every certificate; there is no per-connection switch to turn that off. */
const NO_SKIP_HINT =
  'Deno checks certificates even with rejectUnauthorized: false; pass the CA as `ca`, ' +
  'or run with --unsafely-ignore-certificate-errors=HOST';

async function open(params: ConnectParams, handlers: LinkHandlers): Promise<Link> {
  if (typeof Deno === 'undefined' || typeof Deno.connect !== 'function') {
    throw new SmtpUsageError('the Deno transport needs the Deno runtime (Deno.connect)');
  }
  refuseUnsupported('Deno', params, DENO_CANNOT);
  const clientCert = clientKeyPair(params);
  const caCerts = pemList(params.ca);
  // The name the certificate must match: what we meant to reach, even when that is an IP.
  const name = params.servername ?? params.host;
  if (clientCert && !(params.implicitTls && name === params.host)) throw new SmtpUsageError(START_TLS_NO_CERT);
  const hint = params.rejectUnauthorized ? undefined : NO_SKIP_HINT;
  const conn = await connectWithin<Deno.Conn>(
    params,
    async (track) => {
      if (!params.implicitTls || name !== params.host) {
        const tcp = await Deno.connect({ hostname: params.host, port: params.port, transport: 'tcp' });
        track(() => tcp.close());
        tcp.setNoDelay(true);
        if (!params.implicitTls) return tcp;
        // Implicit TLS under another name: connect to the host, check the certificate for `name`.
        let tls: Deno.TlsConn;
        try {
          tls = await Deno.startTls(tcp, { hostname: name, caCerts });
        } catch (err) {
          close(tcp);
          throw tlsError(err, hint);
        }
        return handshake(tls, track, hint);
      }
      const tls = await Deno.connectTls({ hostname: params.host, port: params.port, caCerts, ...clientCert });
      return handshake(tls, track, hint);
    },
    (late) => close(late),
  );
  return new StreamLink(new DenoSocket(conn, name, caCerts, hint), handlers, params.implicitTls);
}

/** What Deno's client TLS (rustls) and sockets cannot do, and why (docs/connectivity.md). */
const DENO_CANNOT = {
  pfx: 'Deno reads no PKCS#12; convert it to PEM (openssl pkcs12 -in FILE -nodes) and pass cert + key',
  passphrase: 'Deno takes only an unencrypted PEM key (openssl pkey -in KEY -out plain.key)',
  minVersion: "Deno's TLS client has no version setting (it negotiates only TLS 1.2 and 1.3)",
  ciphers: "Deno's TLS client has no cipher setting (rustls uses its own safe list)",
  localAddress: 'Deno.connect cannot choose the source address',
} as const;

/** Deno.startTls takes no client certificate: only Deno.connectTls (implicit TLS, direct) does. */
const START_TLS_NO_CERT =
  'Deno can present a client certificate (cert + key) only with implicit TLS straight to the server ' +
  '(Deno.connectTls); Deno.startTls, used for STARTTLS, through a proxy and with a servername other than the host, takes none';

function clientKeyPair(params: ConnectParams): { cert: string; key: string } | undefined {
  if (params.cert === undefined || params.key === undefined) return undefined;
  const text = (v: string | Uint8Array): string => (typeof v === 'string' ? v : new TextDecoder().decode(v));
  return { cert: text(params.cert), key: text(params.key) };
}

/** Deno handshakes lazily on first I/O; do it now so a bad certificate fails connect/startTls. */
async function handshake(tls: Deno.TlsConn, track: (release: () => void) => void, hint: string | undefined): Promise<Deno.TlsConn> {
  track(() => tls.close());
  try {
    await tls.handshake();
  } catch (err) {
    close(tls);
    throw tlsError(err, hint);
  }
  return tls;
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed (its streams close the resource when they end)
  }
}

class DenoSocket implements StreamSocket {
  #conn: Deno.Conn;
  #name: string;
  #caCerts: string[] | undefined;
  #hint: string | undefined;

  constructor(conn: Deno.Conn, name: string, caCerts: string[] | undefined, hint: string | undefined) {
    this.#conn = conn;
    this.#name = name;
    this.#caCerts = caCerts;
    this.#hint = hint;
  }

  get streams(): StreamPair {
    return { readable: this.#conn.readable, writable: this.#conn.writable };
  }

  async startTls(): Promise<StreamPair> {
    // Deno.startTls takes the TCP resource over; the old conn must not be used (or closed) after.
    const tls = await Deno.startTls(this.#conn as Deno.TcpConn, { hostname: this.#name, caCerts: this.#caCerts });
    this.#conn = tls;
    try {
      await tls.handshake();
    } catch (err) {
      throw tlsError(err, this.#hint);
    }
    return this.streams;
  }

  release(): void {
    close(this.#conn);
  }
}

export { fileBody, type FileBody, type FileBodyOptions } from '../files/deno-file.ts';

// ---- ready-to-use entry points with this transport as default ----------------------------------

// One export each, typed and pure: JSR's fast type check needs the types spelled out, and a
// bundler drops an entry point the application does not use (and what only it imports).
export const connect: EntryPoints['connect'] = /* @__PURE__ */ bindConnect(denoTransport, undefined, FULL_PARTS);
export const sendMail: EntryPoints['sendMail'] = /* @__PURE__ */ bindSendMail(denoTransport, undefined, FULL_PARTS);
export const createPool: EntryPoints['createPool'] = /* @__PURE__ */ bindCreatePool(denoTransport, undefined, FULL_PARTS);

export { SmtpClient, type ClientOptions, type SendMailOptions, type SendResult, type Pool, type PoolOptions };
export type { Message, BodySource, PullIntoSource, TlsMode, LogEntry } from '../client/client.ts';
export * from '../client/exports.ts';
export * from '../core/errors.ts';
