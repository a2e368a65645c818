// Every optional part of the client (client/parts.ts), as the Node, Deno and Bun entries pass
// them: all the built-in SASL mechanisms, the IDN codec, the proxy clients, message building
// and DKIM, the connect diagnostics, the WebAssembly body scan and the pure PBKDF2 fallback.
// Only what imports this file bundles them; the Worker entry does not.
import { asciiAddress } from '../core/idn.ts';
import { BUILTIN_MECHANISMS } from '../core/sasl/index.ts';
import { bodyBuffers, simdScanner } from '../core/simd-scan.ts';
import { connectDiagnostics } from './diagnostics.ts';
import type { ClientParts } from './parts.ts';
import { slicedPbkdf2 } from './pbkdf2.ts';
import { proxies } from './proxies.ts';
import { messages } from './messages.ts';

export const FULL_PARTS: ClientParts = Object.freeze({
  mechanisms: BUILTIN_MECHANISMS,
  idn: asciiAddress,
  proxies,
  message: messages,
  diagnostics: connectDiagnostics,
  bodyScan: { scan: simdScanner, buffers: bodyBuffers },
  pbkdf2Fallback: slicedPbkdf2,
} satisfies ClientParts);

/** The part the Worker entry passes: none. */
export const NO_PARTS: ClientParts = Object.freeze({});
