// The client's options, derived from the core's ConnectionOptions (core/options.ts): every core
// option is either passed through under its own name and type (PassedCoreOptions) or set by the
// client from an option of its own (ClientManaged: the TLS mode, auth with providers, the
// logger, the timeouts with connect/close, the server's host and port). A new core option is a
// compile error in PASSED until it is passed through or managed here. Checks that need no
// connection (positive numbers, the read size) live here too.
import type { AuthOptions, ConnectionOptions } from '../core/options.ts';
import { SmtpUsageError } from '../core/errors.ts';
import type { SaslCredentials, SaslMechanism } from '../core/sasl/mechanism.ts';
import { BASIC_MECHANISMS, chooseFrom } from '../core/sasl/choose.ts';
import type { Timeouts } from '../core/timeouts.ts';
import type { ProxySpec } from '../core/proxy/url.ts';
import type { Pbkdf2Provider } from './pbkdf2.ts';
import type { IdnCodec } from '../core/envelope.ts';
import type { ClientParts, DiagnosticsFactory, MessageSupport, ProxySupport } from './parts.ts';
import { TLS_MODES, tlsMode, type TlsClientOptions, type TlsMode } from './tls-options.ts';
import type { SecretProvider } from './credentials.ts';
import type { SmtpObserver } from './observe.ts';
import type { Transport } from './transport.ts';

export type { TlsMode } from './tls-options.ts';

/** Core options the client sets itself, from options of its own. */
type ClientManaged =
  | 'tls'
  | 'secure'
  | 'auth'
  | 'timeouts'
  | 'transcript'
  | 'host'
  | 'port'
  | 'asyncCompute'
  | 'writtenSignal'
  // optional parts (client/parts.ts): `idn` is the client's own option (or the entry's part), the scan only the entry's
  | 'idn'
  | 'bodyScan';

/** Core options a client passes through as they are (name, lmtp, pipelining, chunkSize, limits,
 *  random, ...): their meaning and defaults are the core's (core/options.ts). */
export type PassedCoreOptions = Omit<ConnectionOptions, ClientManaged>;

/** Every key of PassedCoreOptions, checked by the compiler both ways. */
const PASSED = {
  name: true,
  lmtp: true,
  allowInsecureAuth: true,
  pipelineWindow: true,
  maxUnansweredEnds: true,
  pipelining: true,
  chunking: true,
  chunkSize: true,
  limits: true,
  random: true,
} as const satisfies Record<keyof PassedCoreOptions, true>;

/** The core's AuthOptions with the credentials spread out, and `pass`/`token` as strings or
 *  providers asked per connection: a token provider is asked again once with `refresh: true`
 *  after the server refuses its token (client/credentials.ts). */
export type ClientAuth = Omit<AuthOptions, 'credentials'> &
  Omit<SaslCredentials, 'pass' | 'token'> & {
    pass?: string | SecretProvider;
    token?: string | SecretProvider;
  };

export interface LogEntry {
  readonly from: 'client' | 'server' | 'info';
  /** Already printable; secrets already redacted by the core. */
  readonly text: string;
}

export interface ClientOptions extends PassedCoreOptions, TlsClientOptions {
  host: string;
  /** Default: 465 for 'implicit', 587 for 'required-starttls', else 25 (TLS_MODES). */
  port?: number;
  /** Default 'starttls' (opportunistic: upgrade when offered, go on in clear when not). */
  tls?: TlsMode;
  /** The core's AuthOptions (mechanism, mechanisms, maxChallenges) with the credentials.
   *  `mechanisms`: the SASL mechanisms to choose from; default every built-in one from the
   *  Node, Deno and Bun entries, PLAIN and LOGIN from the Worker entry (add others from
   *  smtpwire/sasl, e.g. [SASL_SCRAM_SHA_256, SASL_PLAIN]). */
  auth?: ClientAuth;
  /** SCRAM's key derivation. Default: WebCrypto (off the event loop), falling back to the pure
   *  code in slices where WebCrypto is missing or refuses. */
  pbkdf2?: Pbkdf2Provider;
  /** Core phase timeouts plus `connect` (link + implicit TLS, default 30 s) and `close` (QUIT, default 10 s). */
  timeouts?: ConnectionOptions['timeouts'] & { connect?: number; close?: number };
  /** Aborts the connection attempt (connect() rejects with SmtpAbortError). */
  signal?: AbortSignal;
  /** Transcript hook: every command and reply (redacted, printable) plus a few notes. */
  logger?: (entry: LogEntry) => void;
  /** Hooks for connection, TLS, AUTH and message events (client/observe.ts). */
  observe?: SmtpObserver;
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

/** The options a session checks once, with their defaults (the core checks its own). */
export interface ResolvedOptions {
  readonly mode: TlsMode;
  readonly port: number;
  readonly highWaterMark: number;
  readonly readSize: number;
  readonly closeTimeout: number;
}

/** Checks the client's own options; throws SmtpUsageError for a bad one. */
export function resolveOptions(options: ClientOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw new SmtpUsageError('options must be an object');
  if (typeof options.host !== 'string' || options.host === '') throw new SmtpUsageError('host must be a non-empty string');
  if (!options.transport) throw new SmtpUsageError('a transport is required (e.g. import { connect } from "smtpwire/node")');
  const mode = tlsMode(options.tls);
  const port = options.port ?? TLS_MODES[mode].port;
  if (!(Number.isInteger(port) && port > 0 && port < 65536)) throw new SmtpUsageError('port must be an integer from 1 to 65535');
  const highWaterMark = positive(options.highWaterMark, MIB, 'highWaterMark');
  const reads = readSize(options.readSize, highWaterMark);
  const closeTimeout = positive(options.timeouts?.close, DEFAULT_CLOSE_TIMEOUT, 'timeouts.close');
  positive(options.timeouts?.connect, DEFAULT_CONNECT_TIMEOUT, 'timeouts.connect');
  return { mode, port, highWaterMark, readSize: reads, closeTimeout };
}

export function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(typeof value === 'number' && value > 0)) throw new SmtpUsageError(`${name} must be a positive number`);
  return value;
}

/** The core options a client passes through (tests check each one reaches the core). */
export const PASSED_CORE_OPTIONS = Object.keys(PASSED) as readonly (keyof PassedCoreOptions)[];

/** The core's options for a session in `mode` to `port`: the passed options as they are, the
 *  managed ones translated. */
export function coreOptions(o: ClientOptions, mode: TlsMode, port: number): ConnectionOptions {
  const passed: PassedCoreOptions = {};
  for (const key of PASSED_CORE_OPTIONS) {
    if (o[key] !== undefined) (passed as Record<string, unknown>)[key] = o[key];
  }
  const timeouts: Partial<Timeouts> = {};
  for (const [k, v] of Object.entries(o.timeouts ?? {})) {
    if (k !== 'connect' && k !== 'close' && v !== undefined) (timeouts as Record<string, number>)[k] = v;
  }
  const { user: _user, pass: _pass, token: _token, authzid: _authzid, ...auth } = o.auth ?? { user: '' };
  return {
    ...passed,
    tls: TLS_MODES[mode].tls,
    secure: TLS_MODES[mode].secure,
    auth: o.auth && {
      ...auth,
      mechanisms: auth.mechanisms ?? o.parts?.mechanisms ?? BASIC_MECHANISMS,
      credentials: coreCredentials(o.auth),
    },
    idn: o.idn ?? o.parts?.idn,
    bodyScan: o.parts?.bodyScan?.scan,
    asyncCompute: true,
    timeouts,
    transcript: o.logger !== undefined,
    host: o.host,
    port,
    writtenSignal: true, // the client reports every link write, from the link's signal when it has one
  };
}

/** ClientOptions.readSize: a positive integer; by default the high-water mark, at most 1 MiB. */
export function readSize(value: number | undefined, hwm: number): number {
  if (value === undefined) return Math.max(1, Math.min(Math.floor(hwm), MIB));
  if (!(Number.isInteger(value) && value > 0)) throw new SmtpUsageError('readSize must be a positive integer');
  return value;
}

/** The core's credentials from the client's auth. Providers were turned into strings by
 *  connect() (withCredentials) before a session gets here. */
function coreCredentials(auth: ClientAuth): SaslCredentials {
  return { user: auth.user, pass: auth.pass as string | undefined, token: auth.token as string | undefined, authzid: auth.authzid };
}

/** The SASL mechanism a session with `auth` uses against a server offering `offered`: the one
 *  the core picks, by the same rule (for the observer). */
export function mechanismName(
  auth: ClientAuth,
  offered: readonly string[],
  fallback: readonly SaslMechanism[] = BASIC_MECHANISMS,
): string | undefined {
  if (typeof auth.mechanism === 'object') return auth.mechanism.name;
  return chooseFrom(auth.mechanisms ?? fallback, offered, coreCredentials(auth), auth.mechanism)?.name ?? auth.mechanism;
}
