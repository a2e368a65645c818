// The client's options and their translation into the core's ConnectionOptions. Checks that
// need no connection (positive numbers, the read size) live here too.
import type { ConnectionOptions } from '../core/connection.ts';
import { SmtpUsageError } from '../core/errors.ts';
import type { SaslMechanism } from '../core/sasl/mechanism.ts';
import type { Timeouts } from '../core/timeouts.ts';
import type { ProxySpec } from '../core/proxy/url.ts';
import type { Pbkdf2Provider } from './pbkdf2.ts';
import type { IdnCodec } from '../core/envelope.ts';
import { BASIC_MECHANISMS } from '../core/sasl/choose.ts';
import type { ClientParts, DiagnosticsFactory, MessageSupport, ProxySupport } from './parts.ts';
import type { TlsClientOptions } from './tls-options.ts';
import type { SecretProvider } from './credentials.ts';
import type { SmtpObserver } from './observe.ts';
import type { ConnectParams, Transport } from './transport.ts';

export type TlsMode = 'starttls' | 'required-starttls' | 'implicit' | 'none';

export interface LogEntry {
  readonly from: 'client' | 'server' | 'info';
  /** Already printable; secrets already redacted by the core. */
  readonly text: string;
}

export interface ClientOptions extends TlsClientOptions {
  host: string;
  /** Default: 465 for 'implicit', 587 for 'required-starttls', else 25. */
  port?: number;
  /** Default 'starttls' (opportunistic: upgrade when offered, go on in clear when not). */
  tls?: TlsMode;
  /** `pass` and `token` may be async providers, asked per connection; a token provider is asked
   *  again once with `refresh: true` after the server refuses its token (client/credentials.ts).
   *  `maxChallenges`: the most 334s the exchange answers (default: the mechanism's bound, see
   *  AuthOptions in core/connection.ts). `mechanisms`: the SASL mechanisms to choose from;
   *  default every built-in one from the Node, Deno and Bun entries, PLAIN and LOGIN from the
   *  Worker entry (add others from smtpwire/sasl, e.g. [SASL_SCRAM_SHA_256, SASL_PLAIN]). */
  auth?: {
    user: string; pass?: string | SecretProvider; token?: string | SecretProvider; mechanism?: string | SaslMechanism; authzid?: string; maxChallenges?: number;
    mechanisms?: readonly SaslMechanism[];
  };
  /** SCRAM's key derivation. Default: WebCrypto (off the event loop), falling back to the pure
   *  code in slices where WebCrypto is missing or refuses. */
  pbkdf2?: Pbkdf2Provider;
  allowInsecureAuth?: boolean;
  /** EHLO name. */
  name?: string;
  lmtp?: boolean;
  /** Core phase timeouts plus `connect` (link + implicit TLS, default 30 s) and `close` (QUIT, default 10 s). */
  timeouts?: Partial<Timeouts> & { connect?: number; close?: number };
  servername?: string;
  ca?: ConnectParams['ca'];
  /** Verify the server certificate. Default true. */
  rejectUnauthorized?: boolean;
  /** Aborts the connection attempt (connect() rejects with SmtpAbortError). */
  signal?: AbortSignal;
  /** Transcript hook: every command and reply (redacted, printable) plus a few notes. */
  logger?: (entry: LogEntry) => void;
  pipelineWindow?: number;
  /** Most transactions whose end (final dot / BDAT LAST) is written and not yet answered: the
   *  most that can turn `unknown` when the link drops. Default: no bound beyond pipelineWindow.
   *  See docs/performance.md (blast radius). */
  maxUnansweredEnds?: number;
  /** Hooks for connection, TLS, AUTH and message events (client/observe.ts). */
  observe?: SmtpObserver;
  /** BDAT chunk size for streamed bodies (default 64 KiB). */
  chunkSize?: number;
  pipelining?: boolean;
  chunking?: boolean;
  /** Body octets a streaming send may leave buffered in the core before waiting. Default 1 MiB. */
  highWaterMark?: number;
  /**
   * Octets asked of a pull-into body (`{ readInto }`, e.g. `fileBody()`) per read: the size of
   * each buffer of the client's read ring. Default: highWaterMark, at most 1 MiB. The ring
   * holds up to 2 + ceil(max(highWaterMark, chunkSize) / readSize) buffers: the high-water mark
   * the core may hold, one buffer being read and one on its way through the transport.
   */
  readSize?: number;
  /** Reach the server through a proxy: 'socks5://user:pass@host:1080', 'socks4a://host:1080',
   *  'http://user:pass@host:3128' (HTTP CONNECT). The proxy resolves the server's name; TLS runs
   *  inside the tunnel and checks the server's certificate, not the proxy's. */
  proxy?: string | URL | ProxySpec;
  /** The proxy clients, where the entry point leaves them out (Workers): `import { proxies }
   *  from 'smtpwire/proxy'`. */
  proxies?: ProxySupport;
  /** The IDN codec, where the entry point leaves it out (Workers): `import { idn } from
   *  'smtpwire/idn'`. Without it an address with a U-label domain needs smtpUtf8: true. */
  idn?: IdnCodec;
  /** Message building and DKIM from options for send(), where the entry point leaves them out
   *  (Workers): `import { messages } from 'smtpwire/message'`. */
  messages?: MessageSupport;
  /** The connect diagnostics (errors that say what to change when TLS and the port disagree, or
   *  a certificate is refused), where the entry point leaves them out (Workers):
   *  `import { connectDiagnostics } from 'smtpwire'`. */
  diagnostics?: DiagnosticsFactory;
  /** The optional parts the runtime entry passes in (client/parts.ts); set by the entries. */
  parts?: ClientParts;
  transport?: Transport;
}

export const MIB = 1 << 20;
export const DEFAULT_CONNECT_TIMEOUT = 30_000;
export const DEFAULT_CLOSE_TIMEOUT = 10_000;

export function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(typeof value === 'number' && value > 0)) throw new SmtpUsageError(`${name} must be a positive number`);
  return value;
}

export function coreOptions(o: ClientOptions, mode: TlsMode, port: number): ConnectionOptions {
  const timeouts: Partial<Timeouts> = {};
  for (const [k, v] of Object.entries(o.timeouts ?? {})) {
    if (k !== 'connect' && k !== 'close' && v !== undefined) (timeouts as Record<string, number>)[k] = v;
  }
  return {
    name: o.name,
    lmtp: o.lmtp,
    tls: mode === 'none' ? 'none' : mode === 'required-starttls' ? 'required' : 'opportunistic',
    secure: mode === 'implicit',
    auth: o.auth && {
      // Providers were turned into strings by connect() (withCredentials) before we get here.
      credentials: { user: o.auth.user, pass: o.auth.pass as string | undefined, token: o.auth.token as string | undefined, authzid: o.auth.authzid },
      mechanism: o.auth.mechanism,
      mechanisms: o.auth.mechanisms ?? o.parts?.mechanisms ?? BASIC_MECHANISMS,
      maxChallenges: o.auth.maxChallenges,
    },
    idn: o.idn ?? o.parts?.idn,
    bodyScan: o.parts?.bodyScan?.scan,
    asyncCompute: true,
    allowInsecureAuth: o.allowInsecureAuth,
    timeouts,
    pipelineWindow: o.pipelineWindow,
    maxUnansweredEnds: o.maxUnansweredEnds,
    chunkSize: o.chunkSize,
    pipelining: o.pipelining,
    chunking: o.chunking,
    transcript: o.logger !== undefined,
    host: o.host,
    port,
    writtenSignal: true, // #linkWrite reports every write, from the link's signal when it has one
  };
}

/** ClientOptions.readSize: a positive integer; by default the high-water mark, at most 1 MiB. */
export function readSize(value: number | undefined, hwm: number): number {
  if (value === undefined) return Math.max(1, Math.min(Math.floor(hwm), MIB));
  if (!(Number.isInteger(value) && value > 0)) throw new SmtpUsageError('readSize must be a positive integer');
  return value;
}
