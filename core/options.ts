// What a connection can be told, and the checks made once, at construction.
import type { ReplyParserLimits } from './reply.ts';
import type { SaslCredentials, SaslMechanism } from './sasl/mechanism.ts';
import { SmtpUsageError } from './errors.ts';
import { DEFAULT_TIMEOUTS, type Timeouts } from './timeouts.ts';
import { BASIC_MECHANISMS, checkMechanismName, checkMechanisms, validateCredentials } from './sasl/choose.ts';
import type { BodyScan } from './body.ts';
import type { IdnCodec } from './envelope.ts';

export interface AuthOptions {
  credentials: SaslCredentials;
  /** A mechanism name to insist on, or a custom mechanism object. Default: the strongest both sides have. */
  mechanism?: string | SaslMechanism;
  /** Mechanisms to choose from. Default: PLAIN and LOGIN (core/sasl/choose.ts BASIC_MECHANISMS),
   *  so that the others are bundled only when used; smtpwire/core's SmtpConnection and the
   *  Node/Deno/Bun entries pass every built-in one (BUILTIN_MECHANISMS). */
  mechanisms?: readonly SaslMechanism[];
  /** Most server challenges the exchange answers before cancelling it with `*`. Default: the
   *  mechanism's own bound (`maxChallenges`), else DEFAULT_MAX_CHALLENGES (10). */
  maxChallenges?: number;
}

export interface ConnectionOptions {
  /** EHLO/LHLO name: a domain or an address literal. Default `[127.0.0.1]`. */
  name?: string;
  /** LMTP (RFC 2033): LHLO, and one final reply per accepted recipient. */
  lmtp?: boolean;
  /** STARTTLS policy. `required` fails before AUTH or MAIL if TLS cannot be had. Default opportunistic. */
  tls?: 'none' | 'opportunistic' | 'required';
  /** The link is already TLS (implicit TLS, port 465): no STARTTLS. */
  secure?: boolean;
  auth?: AuthOptions;
  /** Allow AUTH on a link without TLS. Off by default: credentials never travel in clear. */
  allowInsecureAuth?: boolean;
  timeouts?: Partial<Timeouts>;
  /** Most transactions in flight at once with PIPELINING. Default 64. */
  pipelineWindow?: number;
  /** Most transactions whose end (BDAT LAST) is written and not yet answered: the most a dropped
   *  link can turn `unknown`. A body's end waits while this many are out. Default: unbounded
   *  (pipelineWindow bounds it). DATA's final dot waits for its reply anyway (at most 1). */
  maxUnansweredEnds?: number;
  /** Use PIPELINING / CHUNKING when advertised. Default true. */
  pipelining?: boolean;
  chunking?: boolean;
  /** A BDAT chunk is written once this many body octets are queued (or the body ends). Default 64 KiB. */
  chunkSize?: number;
  /** Reply parser bounds. */
  limits?: Partial<ReplyParserLimits>;
  /** Emit transcript events (secrets redacted). */
  transcript?: boolean;
  /** Random bytes for SASL nonces. Default: globalThis.crypto.getRandomValues. */
  random?: (length: number) => Uint8Array;
  /** Server host and port, for OAUTHBEARER. */
  host?: string;
  port?: number;
  /** The driver answers `compute` outputs (SCRAM's PBKDF2) with computed()/computeFailed(),
   *  e.g. by WebCrypto off the event loop. Off: the core computes in place, synchronously. */
  asyncCompute?: boolean;
  /**
   * The driver reports with written() how far the transport has taken the output (handed it to
   * the OS). Then "unknown" needs the end of data to have been taken, not only polled, and
   * output the transport does not take for `timeouts.dataBlock` fails the session. Without it,
   * output counts as taken once poll() hands it out.
   */
  writtenSignal?: boolean;
  /** Converts an address whose domain is in U-labels to A-labels (IDNA, UTS #46): `idn` from
   *  smtpwire/idn (core/idn.ts asciiAddress). Without it such an address needs SMTPUTF8 (the
   *  message says smtpUtf8: true), else send() throws SmtpUsageError naming the import. */
  idn?: IdnCodec;
  /** A faster body check (the WebAssembly SIMD scan, core/simd-scan.ts simdScanner), passed in
   *  by the Node/Deno/Bun entries and smtpwire/core; without it the JavaScript loop does the
   *  same check. Never in a Worker (workerd refuses to compile WebAssembly at run time). */
  bodyScan?: BodyScan;
}

/** BDAT chunk size for streamed bodies when ConnectionOptions.chunkSize is not given. */
export const DEFAULT_CHUNK_SIZE = 65536;
/** Transactions in flight with PIPELINING: enough that 40 messages at 25 ms RTT take one flight. */
export const DEFAULT_WINDOW = 64;

/** The options with defaults applied; throws SmtpUsageError for a bad one. */
export interface CheckedOptions {
  readonly timeouts: Timeouts;
  readonly window: number;
  readonly maxUnansweredEnds: number;
  readonly chunkSize: number;
}

export function checkOptions(options: ConnectionOptions): CheckedOptions {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  for (const [k, v] of Object.entries(timeouts)) {
    if (!(typeof v === 'number' && v > 0)) throw new SmtpUsageError(`timeouts.${k} must be a positive number of milliseconds`);
  }
  if (options.auth) {
    validateCredentials(options.auth.credentials);
    const { mechanism, mechanisms } = options.auth;
    if (mechanisms !== undefined && !Array.isArray(mechanisms))
      throw new SmtpUsageError('auth.mechanisms must be an array of SASL mechanisms (from smtpwire/sasl)');
    // Each name may go on the wire after "AUTH ".
    for (const m of mechanisms ?? []) checkMechanismName('auth.mechanisms', (m as Partial<SaslMechanism> | null)?.name);
    if (mechanism !== undefined)
      checkMechanismName('auth.mechanism', typeof mechanism === 'object' ? (mechanism as Partial<SaslMechanism> | null)?.name : mechanism);
    if (typeof mechanism !== 'object') checkMechanisms(mechanisms ?? BASIC_MECHANISMS, options.auth.credentials, mechanism);
  }
  const maxChallenges = options.auth?.maxChallenges;
  if (maxChallenges !== undefined && !(Number.isInteger(maxChallenges) && maxChallenges >= 1)) {
    throw new SmtpUsageError('auth.maxChallenges must be a positive integer');
  }
  const window = options.pipelineWindow ?? DEFAULT_WINDOW;
  if (!(Number.isInteger(window) && window >= 1)) throw new SmtpUsageError('pipelineWindow must be a positive integer');
  const ends = options.maxUnansweredEnds;
  if (ends !== undefined && !(Number.isInteger(ends) && ends >= 1))
    throw new SmtpUsageError('maxUnansweredEnds must be a positive integer');
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!(Number.isInteger(chunkSize) && chunkSize >= 1)) throw new SmtpUsageError('chunkSize must be a positive integer');
  return { timeouts, window, maxUnansweredEnds: ends ?? Infinity, chunkSize };
}
