// Proxy URLs: socks5://user:pass@host:port, socks5h://, socks4a://user@host:port, socks4://,
// http://user:pass@host:port. Parsed into a ProxySpec once, at the call, so every mistake is a
// usage error before a socket is opened.
import { SmtpUsageError } from '../errors.ts';
import { printable } from '../text.ts';

export type ProxyProtocol = 'socks5' | 'socks4a' | 'http';

export interface ProxySpec {
  protocol: ProxyProtocol;
  /** The proxy's host name or IP literal (IPv6 without brackets). */
  host: string;
  port: number;
  /** SOCKS5 / HTTP: user name; SOCKS4a: the USERID field. */
  user?: string;
  /** SOCKS5 / HTTP only. */
  pass?: string;
}

const SCHEMES: Record<string, { protocol: ProxyProtocol; port: number }> = {
  // The proxy always resolves the mail server's name (ATYP 3): resolving it here would leak the
  // look-up past the proxy, and a sans-IO core has no resolver. socks5h is the same thing.
  'socks5:': { protocol: 'socks5', port: 1080 },
  'socks5h:': { protocol: 'socks5', port: 1080 },
  'socks4a:': { protocol: 'socks4a', port: 1080 },
  'socks4:': { protocol: 'socks4a', port: 1080 },
  'socks:': { protocol: 'socks5', port: 1080 },
  'http:': { protocol: 'http', port: 80 },
};

/** The parts of a WHATWG URL read here. */
interface ParsedUrl {
  readonly protocol: string;
  readonly username: string;
  readonly password: string;
  readonly hostname: string;
  readonly port: string;
  readonly pathname: string;
  readonly search: string;
  readonly hash: string;
}

/** A URL object (anything with an href, as the web's URL). */
export interface UrlObject {
  readonly href: string;
}

/** A proxy URL (or a ProxySpec, checked) as a ProxySpec. Throws SmtpUsageError. Parsing the URL
 *  text uses the runtime's WHATWG URL, a feature-detected extra: where there is none (QuickJS,
 *  XS), give a ProxySpec object instead. */
export function parseProxy(proxy: string | UrlObject | ProxySpec): ProxySpec {
  if (typeof proxy === 'object' && proxy !== null && !('href' in proxy)) return checkSpec(proxy);
  const text = typeof proxy === 'object' && proxy !== null ? String(proxy.href) : String(proxy);
  const Url = (globalThis as { URL?: new (text: string) => ParsedUrl }).URL;
  if (typeof Url !== 'function') {
    throw new SmtpUsageError(
      'this runtime has no URL parser (the WHATWG URL global): give the proxy as an object, { protocol, host, port, user?, pass? }',
    );
  }
  let url: ParsedUrl;
  try {
    url = new Url(text);
  } catch {
    throw new SmtpUsageError(`proxy is not a URL: "${redactUrl(text)}" (try socks5://host:1080 or http://host:3128)`);
  }
  const scheme = SCHEMES[url.protocol];
  if (!scheme) {
    const hint =
      url.protocol === 'https:'
        ? ' (a TLS connection to the proxy itself is not supported; the mail session inside the tunnel still uses TLS)'
        : '';
    throw new SmtpUsageError(
      `proxy scheme must be socks5, socks5h, socks4a, socks4 or http, not "${printable(url.protocol.slice(0, -1))}"${hint}`,
    );
  }
  if ((url.pathname !== '' && url.pathname !== '/') || url.search || url.hash) {
    throw new SmtpUsageError(`proxy URL takes only scheme://[user[:pass]@]host[:port]: "${redactUrl(text)}"`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? scheme.port : Number(url.port);
  const spec: ProxySpec = { protocol: scheme.protocol, host, port };
  if (url.username !== '') spec.user = decode(url.username, 'user name');
  if (url.password !== '') spec.pass = decode(url.password, 'password');
  return checkSpec(spec);
}

function checkSpec(spec: ProxySpec): ProxySpec {
  if (!(spec.protocol === 'socks5' || spec.protocol === 'socks4a' || spec.protocol === 'http')) {
    throw new SmtpUsageError(`proxy protocol must be socks5, socks4a or http, not ${printable(String(spec.protocol))}`);
  }
  if (typeof spec.host !== 'string' || spec.host === '') throw new SmtpUsageError('proxy has no host');
  if (!(Number.isInteger(spec.port) && spec.port > 0 && spec.port < 65536))
    throw new SmtpUsageError('proxy port must be an integer from 1 to 65535');
  if (spec.pass !== undefined && spec.user === undefined) throw new SmtpUsageError('proxy password given without a user name');
  if (spec.protocol === 'socks4a' && spec.pass !== undefined) {
    throw new SmtpUsageError('SOCKS4a has no password (only a user id): use socks5:// for user name and password');
  }
  return { ...spec };
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new SmtpUsageError(`proxy ${what} has a bad %-escape`);
  }
}

/** The URL with its user name and password hidden, for messages: everything before the last
 *  "@". A URL that does not parse may hold a password with an unescaped "/" or "@" (that is
 *  often why it does not parse), so no part of the user info can be told apart safely. */
export function redactUrl(text: string): string {
  const at = text.lastIndexOf('@');
  if (at < 0) return printable(text);
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(text)?.[0] ?? '';
  return printable(`${scheme}***${text.slice(at)}`);
}

/** The proxy as text for logs and messages: no password. */
export function describeProxy(spec: ProxySpec): string {
  const host = spec.host.includes(':') ? `[${spec.host}]` : spec.host;
  return `${spec.protocol}://${spec.user !== undefined ? `${printable(spec.user)}@` : ''}${printable(host)}:${spec.port}`;
}
