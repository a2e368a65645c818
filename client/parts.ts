// The client's optional parts: each is passed in rather than imported, so a bundle carries it
// only when something uses it. The Node, Deno and Bun entries pass every part
// (client/full-parts.ts); the Worker entry passes none, and an application opts in by importing
// a part and naming it in its options (docs/runtime-workers.md "Small bundles"). Without a
// part, using what it does is a typed SmtpUsageError that says what to import (never a silent
// change of behaviour).
import { SmtpUsageError, type SmtpError } from '../core/errors.ts';
import type { BodyScan } from '../core/body.ts';
import type { IdnCodec } from '../core/envelope.ts';
import type { SaslMechanism } from '../core/sasl/mechanism.ts';
import type { ProxySpec, UrlObject } from '../core/proxy/url.ts';
import type { BuiltMessage, MessageOptions, RenderedMessage } from '../message/build.ts';
import type { DkimSignedStream, DkimSigner } from '../message/dkim.ts';
import type { DkimInput } from './dkim-send.ts';
import type { Message } from './message-send.ts';
import type { DiagnosticContext } from './diagnostics.ts';
import type { Pbkdf2Provider } from './pbkdf2.ts';
import type { ConnectParams, Link, LinkHandlers, Transport } from './transport.ts';

/** Proxy clients (SOCKS5, SOCKS4a, HTTP CONNECT): `proxies` from smtpwire/proxy. */
export interface ProxySupport {
  /** A proxy URL or spec, checked (throws SmtpUsageError). */
  parse(proxy: string | UrlObject | ProxySpec): ProxySpec;
  /** Checks what goes to the proxy for this target, before connecting (throws SmtpUsageError). */
  check(proxy: ProxySpec, target: { host: string; port: number }): void;
  connect(
    transport: Transport,
    params: ConnectParams,
    proxy: ProxySpec,
    handlers: LinkHandlers,
    log: (text: string) => void,
  ): Promise<Link>;
}

/** Message building and DKIM for send() given builder options or a `dkim` option
 *  (client/messages.ts; the functions are client/dkim-send.ts's). */
export interface MessageSupport {
  build(options: MessageOptions): BuiltMessage;
  signer(dkim: DkimInput): Promise<DkimSigner>;
  signRaw(message: Message, dkim: DkimInput): Promise<Message>;
  signRendered(
    rendered: RenderedMessage,
    rereadable: boolean,
    dkim: DkimInput,
  ): Promise<{ body: Uint8Array | DkimSignedStream; size: number }>;
}

/** The connect diagnostics as the client sees them (client/diagnostics.ts ConnectDiagnostics). */
export interface Diagnostics {
  readonly listening: boolean;
  heard(bytes: Uint8Array): void;
  linkUp(): void;
  explain<T>(err: T): T | SmtpError;
  closed(error: SmtpError | undefined): SmtpError | undefined;
}

export type DiagnosticsFactory = (ctx: DiagnosticContext, fail: (err: SmtpError) => void) => Diagnostics;

/** Without the diagnostics part: errors go out as the transport and the core word them. */
export const NO_DIAGNOSTICS: Diagnostics = Object.freeze({
  listening: false,
  heard() {},
  linkUp() {},
  explain: <T>(err: T) => err,
  closed: (error: SmtpError | undefined) => error,
});

/** The WebAssembly body check and the memory it reads in place (core/simd-scan.ts). */
export interface BodyScanSupport {
  scan: BodyScan;
  buffers: (size: number, count: number) => () => Uint8Array;
}

/** Every part a runtime entry may pass in. */
export interface ClientParts {
  /** SASL mechanisms to choose from when auth.mechanisms is not given. Default PLAIN, LOGIN. */
  readonly mechanisms?: readonly SaslMechanism[];
  readonly idn?: IdnCodec;
  readonly proxies?: ProxySupport;
  readonly message?: MessageSupport;
  readonly diagnostics?: DiagnosticsFactory;
  readonly bodyScan?: BodyScanSupport;
  /** SCRAM's PBKDF2 where WebCrypto is missing or refuses (client/pbkdf2.ts slicedPbkdf2). */
  readonly pbkdf2Fallback?: Pbkdf2Provider;
}

/** The usage error for a part that is missing: what it is for and exactly what to import. */
export function missingPart(what: string, todo: string): SmtpUsageError {
  return new SmtpUsageError(`${what} is not part of this entry point (the Worker entry leaves it out to keep bundles small): ${todo}`);
}
