// Cloudflare Workers transport: connect() from cloudflare:sockets behind the runtime-neutral
// Link contract, plus the ready-to-use entry points (`import { connect } from 'smtpwire/workers'`).
// Bytes and TLS only; every protocol decision is the core's.
//
// Workers' quirks, handled here (see docs/runtime-workers.md):
// - socket.startTls() is only allowed on a socket opened with secureTransport: 'starttls', so
//   every clear-text connection is opened that way (it costs nothing until startTls is called).
// - Certificates are checked against the runtime's own trust store: no custom CA (`ca` is a
//   usage error) and no way to skip the check (rejectUnauthorized: false still verifies).
// - Outbound port 25 is blocked on Cloudflare's network; the entry points here default to
//   587 (465 for implicit TLS) instead of 25.
import { connect as socketConnect } from 'cloudflare:sockets';
import { SmtpUsageError } from '../core/errors.ts';
import { SmtpClient, type ClientOptions, type SendMailOptions, type SendResult } from '../client/client.ts';
import { bindConnect, bindCreatePool, bindSendMail, type EntryPoints } from '../client/entry.ts';
import type { Pool, PoolOptions } from '../client/pool.ts';
import type { ConnectParams, Link, LinkHandlers, Transport } from '../client/transport.ts';
import { StreamLink, connectWithin, tlsError, type StreamPair, type StreamSocket } from './web-streams.ts';
import { refuseUnsupported } from '../client/tls-options.ts';

/** The socket type, named this way so it matches @cloudflare/workers-types as well as ours. */
type Socket = ReturnType<typeof socketConnect>;

export const workersTransport: Transport = {
  name: 'workers',
  connect: (params, handlers) => open(params, handlers),
};

/** What cloudflare:sockets cannot do, and why (docs/connectivity.md). */
const WORKERS_CANNOT = {
  cert: 'connect() from cloudflare:sockets has no client certificate option (mTLS to origins is a zone setting, not a socket one)',
  key: 'connect() from cloudflare:sockets has no client certificate option',
  pfx: 'connect() from cloudflare:sockets has no client certificate option',
  passphrase: 'connect() from cloudflare:sockets has no client certificate option',
  minVersion: 'connect() from cloudflare:sockets has no TLS version setting',
  ciphers: 'connect() from cloudflare:sockets has no cipher setting',
  localAddress: 'a Worker cannot choose the source address of its connections',
} as const;

async function open(params: ConnectParams, handlers: LinkHandlers): Promise<Link> {
  refuseUnsupported('Cloudflare Workers', params, WORKERS_CANNOT);
  if (params.ca !== undefined) {
    throw new SmtpUsageError('Cloudflare Workers cannot trust a custom CA (`ca`): the server needs a certificate from a public CA');
  }
  // The name the certificate must match: what we meant to reach.
  const name = params.servername ?? params.host;
  // Implicit TLS under another name than the host: open for STARTTLS, upgrade at once with
  // that name (secureTransport 'on' can only check the host it dialled).
  const upgradeAtOnce = params.implicitTls && name !== params.host;
  const socket = await connectWithin<Socket>(
    params,
    async (track) => {
      let s: Socket;
      try {
        // connect() itself throws for an address Workers refuse outright.
        s = socketConnect(
          { hostname: params.host, port: params.port },
          { secureTransport: params.implicitTls && !upgradeAtOnce ? 'on' : 'starttls', allowHalfOpen: false },
        );
      } catch (err) {
        throw connectFailure(err, params);
      }
      s.closed.catch(() => {}); // failures are reported through opened and the streams
      track(() => release(s));
      try {
        await s.opened;
      } catch (err) {
        throw connectFailure(err, params);
      }
      if (upgradeAtOnce) {
        s = s.startTls({ expectedServerHostname: name });
        s.closed.catch(() => {});
        track(() => release(s));
        try {
          await s.opened;
        } catch (err) {
          throw tlsError(err);
        }
      }
      return s;
    },
    (late) => release(late),
  );
  return new StreamLink(new WorkersSocket(socket, name), handlers, params.implicitTls);
}

function connectFailure(err: unknown, params: ConnectParams): unknown {
  if (params.port !== 25) return err;
  const message = err instanceof Error ? err.message : String(err);
  const error = new Error(`${message} (Cloudflare blocks outbound port 25: use 587 with STARTTLS or 465 with implicit TLS)`);
  (error as { cause?: unknown }).cause = err;
  return error;
}

function release(socket: Socket): void {
  try {
    socket.close().catch(() => {});
  } catch {
    // already closed
  }
}

class WorkersSocket implements StreamSocket {
  #socket: Socket;
  #name: string;
  readonly lateHandshakeFailure =
    'workerd reports a failed handshake or rejected certificate only as a closed stream; ' +
    'check that the server presents a publicly trusted certificate for the name dialled';

  constructor(socket: Socket, name: string) {
    this.#socket = socket;
    this.#name = name;
  }

  get streams(): StreamPair {
    return { readable: this.#socket.readable, writable: this.#socket.writable };
  }

  async startTls(): Promise<StreamPair> {
    // The old socket's streams become unusable; the secure socket has its own.
    const secure = this.#socket.startTls({ expectedServerHostname: this.#name });
    this.#socket = secure;
    secure.closed.catch(() => {});
    await secure.opened;
    return this.streams;
  }

  release(): void {
    release(this.#socket);
  }
}

// ---- ready-to-use entry points with this transport as default ----------------------------------

/** Port 25 is blocked for Workers: default to submission (587), or 465 for implicit TLS. */
const defaultPort = (o: { tls?: unknown }): number => (o.tls === 'implicit' ? 465 : 587);
// One export each, typed and pure: JSR's fast type check needs the types spelled out, and a
// bundler drops an entry point the application does not use (and what only it imports).
export const connect: EntryPoints['connect'] = /* @__PURE__ */ bindConnect(workersTransport, defaultPort);
export const sendMail: EntryPoints['sendMail'] = /* @__PURE__ */ bindSendMail(workersTransport, defaultPort);
export const createPool: EntryPoints['createPool'] = /* @__PURE__ */ bindCreatePool(workersTransport, defaultPort);

export { SmtpClient, type ClientOptions, type SendMailOptions, type SendResult, type Pool, type PoolOptions };
export type { Message, BodySource, PullIntoSource, TlsMode, LogEntry } from '../client/client.ts';
export * from '../client/exports.ts';
export * from '../core/errors.ts';
export { slicedPbkdf2, webCryptoPbkdf2, type Pbkdf2Provider } from '../client/pbkdf2.ts';
