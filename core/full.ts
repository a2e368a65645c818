// SmtpConnection with every optional part passed in: all the built-in SASL mechanisms and the
// IDN codec (UTS #46). This is smtpwire/core's SmtpConnection, so using the core directly works
// as it always has; core/connection.ts itself imports neither, so a bundle that drives the core
// through a lean entry (the Worker's) carries only PLAIN, LOGIN and no IDN tables.
// The WebAssembly body scan stays out even here (a faster path, not a behaviour): pass
// `bodyScan: simdScanner` to have it, as the Node, Deno and Bun entries do.
import { SmtpConnection as LeanConnection, type AuthOptions, type ConnectionOptions } from './connection.ts';
import { asciiAddress } from './idn.ts';
import { BUILTIN_MECHANISMS } from './sasl/index.ts';

export type { AuthOptions, ConnectionOptions } from './connection.ts';
export { DEFAULT_CHUNK_SIZE } from './connection.ts';

/** `options` with the parts it does not name filled in: every built-in mechanism and the IDN
 *  codec. The result inherits from `options` (nothing else is read or copied here: the core
 *  reads each option when it needs it, as it would from `options` itself). */
export function withFullParts(options: ConnectionOptions): ConnectionOptions {
  if (options === null || typeof options !== 'object') return options; // the constructor says what is wrong
  const full = Object.create(options) as { -readonly [K in keyof ConnectionOptions]: ConnectionOptions[K] };
  if (options.idn === undefined) full.idn = asciiAddress;
  const auth = options.auth;
  if (auth !== null && typeof auth === 'object' && auth.mechanisms === undefined)
    full.auth = Object.assign(Object.create(auth) as AuthOptions, { mechanisms: BUILTIN_MECHANISMS });
  return full;
}

export class SmtpConnection extends LeanConnection {
  constructor(options: ConnectionOptions = {}) {
    super(withFullParts(options));
  }
}
