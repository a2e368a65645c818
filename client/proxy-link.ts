// Open a link to the mail server through a proxy, with any runtime's Transport: connect to the
// proxy in clear, run the core's sans-IO ProxyTunnel over the link (SOCKS5, SOCKS4a, HTTP
// CONNECT), then, for implicit TLS, upgrade the tunnelled link in place. The TLS name is always
// the mail server's (servername, else its host), never the proxy's.
import { SmtpAbortError, SmtpConnectionError, SmtpError, SmtpProxyError, SmtpTimeoutError, SmtpTlsError } from '../core/errors.ts';
import { ProxyTunnel } from '../core/proxy/tunnel.ts';
import { describeProxy, type ProxySpec } from '../core/proxy/url.ts';
import { printable } from '../core/text.ts';
import type { ConnectParams, Link, LinkHandlers, Transport } from './transport.ts';

/** Connect to `params.host:params.port` through `proxy`. Resolves with a link whose handlers
 *  are `handlers`. Octets the mail server sent with the proxy's last reply (and anything the
 *  link reported while TLS was starting) are given to `handlers` just before this resolves:
 *  the caller must queue link events until its session has started, as the client does.
 *  Rejects with a typed SmtpError. */
export async function connectThroughProxy(
  transport: Transport,
  params: ConnectParams,
  proxy: ProxySpec,
  handlers: LinkHandlers,
  log: (text: string) => void,
): Promise<Link> {
  const started = Date.now();
  const deadline = started + params.connectTimeout;
  const tunnel = new ProxyTunnel(proxy, { host: params.host, port: params.port }, deadline); // usage errors throw here
  const name = describeProxy(proxy);

  // The link's handlers feed the tunnel until it is open, then the client. Between the two
  // (the tunnel is open, TLS may be starting, this function has not returned yet) whatever the
  // link reports is kept, in order, and replayed to the client's handlers at the switch.
  let events: LinkHandlers | undefined;
  let open = false;
  const late: (() => void)[] = [];
  let wake: (() => void) | undefined;
  let ended: unknown = null; // null: still open; undefined: EOF; else the error
  const switched: LinkHandlers = {
    data: (bytes) => {
      if (events) events.data(bytes);
      else if (open) late.push(() => events!.data(bytes));
      else {
        tunnel.receive(bytes, Date.now());
        wake?.();
      }
    },
    end: () => {
      if (events) events.end();
      else if (open) late.push(() => events!.end());
      else {
        ended = undefined;
        tunnel.receiveEof(Date.now());
        wake?.();
      }
    },
    error: (err) => {
      if (events) events.error(err);
      else if (open) late.push(() => events!.error(err));
      else {
        ended = err ?? new Error('link failed');
        wake?.();
      }
    },
    drain: () => events?.drain(),
  };

  log(`connecting to the mail server through the proxy ${name}`);
  let link: Link;
  try {
    // Clear text to the proxy; TLS, if any, starts inside the tunnel below.
    link = await transport.connect(
      { ...params, host: proxy.host, port: proxy.port, implicitTls: false, servername: params.servername ?? params.host },
      switched,
    );
  } catch (err) {
    if (err instanceof SmtpError && !(err instanceof SmtpTlsError)) throw err;
    throw new SmtpConnectionError(`cannot connect to the proxy ${name}: ${oneLine(err)}`, err);
  }

  try {
    tunnel.start(Date.now());
    // Implicit TLS starts inside the data callback that opened the tunnel, before the link
    // reads again: a runtime may refuse to upgrade a socket with a read pending (Deno does).
    const upgrade = params.implicitTls
      ? (rest: Uint8Array): Promise<void> => {
          if (rest.length > 0) {
            // The mail server spoke before our TLS ClientHello: it is a clear-text port.
            return Promise.reject(
              new SmtpTlsError(
                `the server at ${params.host}:${params.port} spoke first in clear text ("${printable(new TextDecoder().decode(rest.subarray(0, 40)).trim())}"): ` +
                  'this port speaks clear text first (plain SMTP or STARTTLS), not TLS from the first byte: use smtp:// (STARTTLS), or port 465 for smtps://',
              ),
            );
          }
          log(`proxy tunnel open to ${params.host}:${params.port}; starting TLS inside it`);
          return within(link.startTls(), deadline - Date.now(), params.connectTimeout);
        }
      : undefined;
    const rest = await run(
      tunnel,
      link,
      deadline,
      params.signal,
      (w) => (wake = w),
      () => ended,
      () => (open = true),
      upgrade,
    );
    if (!params.implicitTls) log(`proxy tunnel open to ${params.host}:${params.port}`);
    // The client queues what comes before it has started its session (client.ts #input).
    events = handlers;
    if (rest.length > 0 && !params.implicitTls) handlers.data(rest);
    for (const replay of late.splice(0)) replay();
    return link;
  } catch (err) {
    link.destroy();
    throw err;
  }
}

/** Drive the tunnel until it is open; resolve with the octets after the proxy's last reply. */
function run(
  tunnel: ProxyTunnel,
  link: Link,
  deadline: number,
  signal: AbortSignal | undefined,
  setWake: (wake: () => void) => void,
  linkEnded: () => unknown,
  opened: () => void,
  upgrade: ((rest: Uint8Array) => Promise<void>) | undefined,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      setWake(() => {});
    };
    const onAbort = (): void => {
      finish();
      reject(new SmtpAbortError());
    };
    const step = (): void => {
      for (;;) {
        const out = tunnel.poll();
        if (out.type === 'write') {
          link.write([out.bytes]);
          continue;
        }
        if (out.type === 'done') {
          finish();
          opened(); // from here the link's octets are the mail server's (or TLS's)
          const rest = out.rest;
          return resolve(upgrade ? upgrade(rest).then(() => rest) : rest);
        }
        if (out.type === 'failed') {
          finish();
          return reject(out.error);
        }
        const why = linkEnded();
        if (why !== null && why !== undefined) {
          finish();
          return reject(new SmtpProxyError('closed', `the connection to the proxy failed during its handshake: ${oneLine(why)}`));
        }
        clearTimeout(timer);
        timer = setTimeout(
          () => {
            tunnel.handleTimeout(Date.now());
            step();
          },
          Math.max(0, out.deadline - Date.now()),
        );
        return;
      }
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    setWake(step);
    step();
  });
}

function within<T>(promise: Promise<T>, ms: number, total: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SmtpTimeoutError('connect', total)), Math.max(0, ms));
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

function oneLine(err: unknown): string {
  return printable((err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim());
}
