// Common connection mistakes turned into errors that say what to do, within seconds:
//  - TLS from the first byte (smtps://) to a port that speaks clear text first: the TLS library
//    receives "220 ..." and fails with raw OpenSSL/rustls/BoringSSL text;
//  - clear text (smtp://, STARTTLS) to a port that speaks TLS first: the server waits for our
//    ClientHello, we wait for its greeting, and only the greeting timeout (minutes) ends it;
//  - a certificate the runtime refused: name the reason and point at `ca` / `--ca`.
// Library text is folded to one printable line (OpenSSL's has newlines).
import { SmtpError, SmtpTimeoutError, SmtpTlsError } from '../core/errors.ts';
import { printable } from '../core/text.ts';
import type { DiagnosticsFactory } from './parts.ts';

export interface DiagnosticContext {
  host: string;
  port: number;
  implicitTls: boolean;
}

/** The port assigned to SMTP submission over implicit TLS (RFC 8314). */
export const IMPLICIT_TLS_PORT = 465;
/** How long a clear-text connection to port 465 may stay silent before we call it a TLS port. */
export const SILENT_TLS_PORT_MS = 3_000;

const TLS_FIRST = "this port speaks TLS from the first byte: use smtps:// (tls: 'implicit') or port 465";
const CLEAR_FIRST =
  'this port speaks clear text first (plain SMTP or STARTTLS), not TLS from the first byte: ' +
  "use smtp:// or smtp+starttls:// (tls: 'starttls'), or the server's implicit-TLS port (465) for smtps://";

export class ConnectDiagnostics {
  /** True while a clear-text session has heard nothing from the server yet. */
  listening = false;
  #ctx: DiagnosticContext;
  #fail: (err: SmtpError) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #heardAny = false;
  #started = false;
  #pending: SmtpError | undefined; // found before the session started; reported when it does

  constructor(ctx: DiagnosticContext, fail: (err: SmtpError) => void) {
    this.#ctx = ctx;
    this.#fail = fail;
    // Octets may arrive before the session starts (queued by the client): sniff from the start.
    this.listening = !ctx.implicitTls;
  }

  /** The link is up and the session started (before the client replays octets that came early). */
  linkUp(): void {
    this.#started = true;
    if (this.#pending) return this.#fail(this.#pending);
    if (this.#ctx.implicitTls || this.#heardAny || this.#ctx.port !== IMPLICIT_TLS_PORT) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#heardAny) return;
      this.listening = false;
      this.#fail(new SmtpTlsError(`no greeting from ${this.where} after ${SILENT_TLS_PORT_MS / 1000} s: ${TLS_FIRST}`));
    }, SILENT_TLS_PORT_MS);
  }

  /** The first octets of a clear-text session. */
  heard(bytes: Uint8Array): void {
    this.listening = false;
    this.#heardAny = true;
    this.#stop();
    // A TLS record header: content type 20..23, version 3.x. No SMTP reply starts with these.
    if (bytes.length >= 2 && bytes[0]! >= 0x14 && bytes[0]! <= 0x17 && bytes[1] === 0x03) {
      const error = new SmtpTlsError(`${this.where} answered with a TLS record instead of an SMTP greeting: ${TLS_FIRST}`);
      if (this.#started) this.#fail(error);
      else this.#pending = error;
    }
  }

  /** The session ended: say more when a silent greeting timeout looks like a TLS port. */
  closed(error: SmtpError | undefined): SmtpError | undefined {
    this.#stop();
    this.listening = false;
    if (error instanceof SmtpTimeoutError && error.phase === 'greeting' && !this.#heardAny && !this.#ctx.implicitTls) {
      error.message +=
        " (the server sent nothing at all: if this port speaks TLS from the first byte, use smtps:// (tls: 'implicit') or port 465)";
    }
    return error;
  }

  /** A connect or STARTTLS failure, explained where we recognise it. */
  explain<T>(err: T): T | SmtpError {
    if (!(err instanceof SmtpTlsError)) return err;
    const raw = rawText(err);
    const code = rawCode(err);
    const what = recognise(raw, code, this.#ctx);
    const detail = oneLine(raw);
    const message = what ? `TLS failed with ${this.where}: ${what} [${detail}]` : `TLS failed with ${this.where}: ${detail}`;
    const explained = new SmtpTlsError(message, err.reply);
    (explained as { cause?: unknown }).cause = err;
    return explained;
  }

  get where(): string {
    return `${this.#ctx.host}:${this.#ctx.port}`;
  }

  #stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** Certificate verdicts by the codes Node and Bun (OpenSSL/BoringSSL names) and rustls (Deno) use. */
const CERT_REASONS: [RegExp, string][] = [
  [/DEPTH_ZERO_SELF_SIGNED_CERT|self[- ]signed certificate$|self-signed certificate(?! in)/i, "the server's certificate is self-signed"],
  [/SELF_SIGNED_CERT_IN_CHAIN|self[- ]signed certificate in certificate chain/i, 'the certificate chain ends in a CA that is not trusted'],
  [
    /UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to (get local issuer|verify the first)|UnknownIssuer|unknown ?issuer|CERT_UNTRUSTED/i,
    'the certificate is issued by a CA that is not trusted',
  ],
  [/CERT_HAS_EXPIRED|certificate has expired|\bExpired\b/i, "the server's certificate has expired"],
  [/CERT_NOT_YET_VALID|NotValidYet|not yet valid/i, "the server's certificate is not valid yet (or this machine's clock is wrong)"],
];
const NAME_MISMATCH =
  /ERR_TLS_CERT_ALTNAME_INVALID|Hostname\/IP does not match|NotValidForName|not valid for name|does not match certificate|HOSTNAME_MISMATCH|ERR_TLS_CERT_ALTNAME/i;
/** A TLS handshake that received clear text (e.g. "220 ..."): each library says it its own way. */
const NOT_TLS =
  /wrong version number|WRONG_VERSION_NUMBER|packet length too long|unknown protocol|http request|InvalidContentType|corrupt message|invalid ?content ?type|record overflow|RECORD_LAYER_FAILURE|not a TLS|UNEXPECTED_RECORD|unsupported protocol/i;
const CA_HINT = 'if the server uses a private CA, trust it with the `ca` option (CLI: --ca FILE)';

function recognise(raw: string, code: string, ctx: DiagnosticContext): string | undefined {
  const text = `${code} ${raw}`;
  if (ctx.implicitTls && NOT_TLS.test(text)) return `the server did not answer in TLS: ${CLEAR_FIRST}`;
  if (NAME_MISMATCH.test(text)) {
    return `the server's certificate is not issued for the name "${printable(ctx.host)}": connect by a name on the certificate, or set \`servername\` (CLI: --servername NAME) to the name it has`;
  }
  for (const [pattern, reason] of CERT_REASONS) if (pattern.test(text)) return `${reason}; ${CA_HINT}`;
  if (/certificate|verify|unknown ca|bad certificate/i.test(text)) return `the certificate check failed; ${CA_HINT}`;
  return undefined;
}

/** The messages of the error and its causes (the library's own text is usually deepest). */
function rawText(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const message = e instanceof Error ? e.message : String(e);
    if (message && !parts.some((p) => p.includes(message))) parts.push(message.replace(/^TLS (failed|handshake failed): /, ''));
    e = (e as { cause?: unknown }).cause;
  }
  // The deepest message is the library's; the outer ones repeat it with our prefixes.
  return parts[parts.length - 1] ?? '';
}

function rawCode(err: unknown): string {
  const codes: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'ETLS') codes.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return codes.join(' ');
}

/** Library text folded to one printable line: OpenSSL's messages carry newlines. */
export function oneLine(text: string): string {
  return printable(text.replace(/\s+/g, ' ').trim());
}

/** The diagnostics as a part (client/parts.ts): the Node, Deno and Bun entries always pass it;
 *  in a Worker, `import { connectDiagnostics } from 'smtpwire'` and pass
 *  connect({ ..., diagnostics: connectDiagnostics }). */
export const connectDiagnostics: DiagnosticsFactory = (ctx, fail) => new ConnectDiagnostics(ctx, fail);
