// The connect race of SmtpClient: open the link (directly or through a proxy) against the
// caller's AbortSignal, destroy a link that connects after losing, and turn a failure into the
// typed error the diagnostics explain. What runs on the link afterwards is the client's.
import { SmtpAbortError, SmtpConnectionError, SmtpError } from '../core/errors.ts';
import type { ProxySpec } from '../core/proxy/url.ts';
import type { Probe } from './observe.ts';
import { DEFAULT_CONNECT_TIMEOUT, type ClientOptions } from './options.ts';
import type { Diagnostics, ProxySupport } from './parts.ts';
import { TLS_MODES, tlsMode, type tlsParams } from './tls-options.ts';
import type { ConnectParams, Link, LinkHandlers, Transport } from './transport.ts';

/** Rejects with the signal's reason once it aborts; dispose() removes the listener. */
export function abortSignalled(signal: AbortSignal | undefined): { aborted: Promise<never>; dispose: () => void } {
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortReason(signal));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  return {
    aborted,
    dispose: () => {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** What the transport is asked to connect to. */
export function linkParams(o: ClientOptions, port: number, tls: ReturnType<typeof tlsParams>): ConnectParams {
  return {
    host: o.host,
    port,
    implicitTls: TLS_MODES[tlsMode(o.tls)].secure,
    servername: o.servername,
    ca: o.ca,
    rejectUnauthorized: o.rejectUnauthorized !== false,
    connectTimeout: o.timeouts?.connect ?? DEFAULT_CONNECT_TIMEOUT,
    signal: o.signal,
    ...tls,
  };
}

/** What a session's connect needs (the SmtpClient's, checked at its construction). */
export interface LinkRequest {
  readonly options: ClientOptions;
  readonly port: number;
  readonly transport: Transport;
  readonly proxy: { spec: ProxySpec; via: ProxySupport } | undefined;
  readonly tls: ReturnType<typeof tlsParams>;
  readonly diagnostics: Diagnostics;
  readonly probe: Probe;
  readonly log: (text: string) => void;
}

/** Connect a session's link (directly or through the proxy) against `aborted`, and report an
 *  implicit TLS handshake to the observer. Rejects with the explained, typed error. */
export async function connectLink(req: LinkRequest, handlers: LinkHandlers, aborted: Promise<never>): Promise<Link> {
  const o = req.options;
  const params = linkParams(o, req.port, req.tls);
  req.log(`connecting to ${o.host}:${req.port} via ${req.transport.name}${params.implicitTls ? ' (implicit TLS)' : ''}`);
  const started = Date.now();
  try {
    const link = await openLink(req.transport, params, req.proxy, handlers, aborted, req.diagnostics, req.log);
    if (params.implicitTls) req.probe.tls('implicit', started);
    return link;
  } catch (err) {
    const error = err as SmtpError;
    if (params.implicitTls && error.code === 'ETLS') req.probe.tls('implicit', started, error);
    throw error;
  }
}

/** Connect the link, or reject with the explained error once the connect fails or `aborted` does. */
export async function openLink(
  transport: Transport,
  params: ConnectParams,
  proxy: { spec: ProxySpec; via: ProxySupport } | undefined,
  handlers: LinkHandlers,
  aborted: Promise<never>,
  diagnostics: Diagnostics,
  log: (text: string) => void,
): Promise<Link> {
  const linking = Promise.resolve().then(() =>
    proxy ? proxy.via.connect(transport, params, proxy.spec, handlers, log) : transport.connect(params, handlers),
  );
  try {
    return await Promise.race([linking, aborted]);
  } catch (err) {
    linking.then(
      (link) => link.destroy(),
      () => {},
    ); // it may still connect after an abort
    throw diagnostics.explain(connectError(err, params.host, params.port));
  }
}

export function abortReason(signal: AbortSignal | undefined): SmtpError {
  const reason: unknown = signal?.reason;
  if (reason instanceof SmtpError) return reason;
  return new SmtpAbortError();
}

export function connectError(err: unknown, host: string, port: number): SmtpError {
  if (err instanceof SmtpError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SmtpConnectionError(`cannot connect to ${host}:${port}: ${message}`, err);
}
