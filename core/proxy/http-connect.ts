// HTTP CONNECT (RFC 9110 §9.3.6) with optional Basic authentication (RFC 7617). The proxy
// resolves the name; a 2xx opens the tunnel and any octets after the header block already
// belong to the mail server. The header block is bounded; anything else is an error that
// carries the proxy's status line.
import { SmtpProxyError, SmtpUsageError } from '../errors.ts';
import { encodeBase64 } from '../sasl/base64.ts';
import { decodeUtf8, printable } from '../text.ts';
import { checkTarget, ipv6Octets, noControls, protocolError, utf8, type ProxySteps, type ProxyTarget, type StepResult } from './steps.ts';

/** Most octets of status line and headers we read before giving up on the proxy. */
export const MAX_HTTP_HEADER = 16 * 1024;

export class HttpConnectSteps implements ProxySteps {
  readonly limit = MAX_HTTP_HEADER;
  #request: Uint8Array;
  #authorised: boolean;
  #target: string;
  #scanned = 0; // octets of the reply already searched for the blank line

  constructor(target: ProxyTarget, user?: string, pass?: string) {
    checkTarget(target);
    const host = ipv6Octets(target.host) ? `[${target.host.replace(/^\[|\]$/g, '')}]` : target.host;
    const authority = `${host}:${target.port}`;
    let lines = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
    this.#authorised = user !== undefined;
    if (user !== undefined) {
      noControls('the proxy user name', user);
      noControls('the proxy password', pass ?? '');
      // RFC 7617 §2: the user-id cannot contain a colon (the first one ends it).
      if (user.includes(':')) throw new SmtpUsageError('an HTTP proxy user name cannot contain ":" (Basic authentication)');
      lines += `Proxy-Authorization: Basic ${encodeBase64(utf8(`${user}:${pass ?? ''}`))}\r\n`;
    }
    this.#request = utf8(`${lines}\r\n`);
    this.#target = authority;
  }

  first(): Uint8Array {
    return this.#request;
  }

  next(input: Uint8Array): StepResult | undefined {
    // Resume the search where the last one stopped: a proxy dripping its header an octet at a
    // time must not cost a scan of the whole block per octet.
    const end = headerEnd(input, this.#scanned);
    this.#scanned = Math.max(0, input.length - 2);
    if (end < 0) {
      // A proxy that is not HTTP at all shows in its first octet (SOCKS replies start with 0, 4 or 5).
      if (input.length > 0 && input[0]! < 0x20)
        throw protocolError(`the proxy did not answer as HTTP (first octet ${input[0]}): is it a SOCKS proxy?`);
      return undefined;
    }
    const head = decodeUtf8(input.subarray(0, end));
    const statusLine = head.split(/\r?\n/, 1)[0]!;
    const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
    if (!m) throw protocolError(`the proxy did not answer as HTTP: "${printable(statusLine.slice(0, 120))}"`);
    const status = Number(m[1]);
    const reason = printable((m[2] ?? '').slice(0, 200));
    if (status >= 200 && status < 300) return { used: end, done: true };
    const said = `${status}${reason ? ` ${reason}` : ''}`;
    // 407 is the proxy's own "who are you"; some proxies (tinyproxy) answer bad credentials with 401.
    if (status === 407 || status === 401) {
      throw new SmtpProxyError(
        'auth',
        this.#authorised
          ? `the HTTP proxy rejected the user name or password (${said})`
          : `the HTTP proxy requires authentication (${said}): put the user name and password in the proxy URL (http://user:pass@host:port)`,
      );
    }
    // 403 is a policy: retrying will not help. 5xx (502 bad gateway, 503, 504) usually means the
    // proxy could not reach the server, which may pass.
    throw new SmtpProxyError(
      'refused',
      `the HTTP proxy would not connect to ${this.#target}: ${said}`,
      status >= 500 || status === 408 || status === 429,
    );
  }
}

/** Octets up to and including the blank line that ends the header block (searched from `from`), or -1. */
function headerEnd(input: Uint8Array, from: number): number {
  for (let i = from; i < input.length; i++) {
    if (input[i] !== 0x0a) continue;
    if (input[i + 1] === 0x0a) return i + 2;
    if (input[i + 1] === 0x0d && input[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}
