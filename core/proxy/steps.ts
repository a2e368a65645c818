// What every proxy protocol here is: a short exchange before the tunnel carries SMTP. Each
// protocol is a list of steps over the octets the proxy has sent so far; ProxyTunnel
// (tunnel.ts) does the buffering, the bounds, the deadline and the typed errors around them.
import { SmtpProxyError, SmtpUsageError } from '../errors.ts';

/** The mail server the proxy is asked to reach. The name goes to the proxy as it is. */
export interface ProxyTarget {
  host: string;
  port: number;
}

export type StepResult =
  | { readonly used: number; readonly send: Uint8Array } // consumed `used` octets; send this, read on
  | { readonly used: number; readonly done: true }; // the tunnel is open after `used` octets

export interface ProxySteps {
  /** The octets the client sends first. */
  first(): Uint8Array;
  /** Look at the octets not yet used; undefined while the reply is incomplete. Throws SmtpProxyError. */
  next(input: Uint8Array): StepResult | undefined;
  /** Most octets the reply awaited now may take (bounds what a proxy can make us buffer). */
  readonly limit: number;
}

export { utf8 } from '../text.ts';

/** Reject controls (CR, LF, NUL, ...) in anything we put on the wire to a proxy. */
export function noControls(what: string, value: string): void {
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new SmtpUsageError(`${what} must not contain control characters (CR, LF, NUL, ...)`);
}

export function checkTarget(target: ProxyTarget): void {
  if (typeof target.host !== 'string' || target.host === '') throw new SmtpUsageError('the mail server host is empty');
  noControls('the mail server host', target.host);
  if (/[\s/@]/.test(target.host)) throw new SmtpUsageError('the mail server host must be a name or an IP address');
  if (!(Number.isInteger(target.port) && target.port > 0 && target.port < 65536))
    throw new SmtpUsageError('port must be an integer from 1 to 65535');
}

export function protocolError(message: string): SmtpProxyError {
  return new SmtpProxyError('protocol', message);
}

/** An IPv4 literal as 4 octets, else undefined. */
export function ipv4Octets(host: string): Uint8Array | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const v = Number(m[i + 1]);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

/** An IPv6 literal (brackets allowed, "::" and a trailing IPv4 part too) as 16 octets, else undefined. */
export function ipv6Octets(text: string): Uint8Array | undefined {
  const host = text.replace(/^\[(.*)\]$/, '$1');
  if (!host.includes(':') || !/^[0-9a-fA-F:.]+$/.test(host)) return undefined;
  const halves = host.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!;
      if (i === pieces.length - 1 && p.includes('.')) {
        const v4 = ipv4Octets(p);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

export function portOctets(port: number): number[] {
  return [port >> 8, port & 0xff];
}
