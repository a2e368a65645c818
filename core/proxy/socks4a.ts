// SOCKS4 CONNECT with the SOCKS4a extension: a name is sent after the user id, with the
// destination IP set to 0.0.0.1, so the proxy resolves it. An IPv4 literal goes as plain SOCKS4.
// SOCKS4 has no password and no IPv6.
import { SmtpProxyError, SmtpUsageError } from '../errors.ts';
import { joinBytes } from '../bytes.ts';
import {
  checkTarget,
  ipv4Octets,
  ipv6Octets,
  noControls,
  portOctets,
  protocolError,
  utf8,
  type ProxySteps,
  type ProxyTarget,
  type StepResult,
} from './steps.ts';

const REPLIES: Record<number, { text: string; reason: 'refused' | 'auth' }> = {
  0x5b: { text: 'request rejected or failed', reason: 'refused' },
  0x5c: { text: 'rejected: the proxy cannot reach our identd', reason: 'auth' },
  0x5d: { text: 'rejected: identd reports a different user id', reason: 'auth' },
};

export class Socks4aSteps implements ProxySteps {
  readonly limit = 8;
  #request: Uint8Array;
  #target: ProxyTarget;

  constructor(target: ProxyTarget, user?: string) {
    checkTarget(target);
    if (ipv6Octets(target.host)) throw new SmtpUsageError('SOCKS4a cannot carry an IPv6 address: use socks5://');
    const userId = utf8(user ?? '');
    noControls('the SOCKS4a user id', user ?? '');
    const v4 = ipv4Octets(target.host);
    const head = [0x04, 0x01, ...portOctets(target.port)];
    this.#request = v4 ? joinBytes([head, v4, userId, [0]]) : joinBytes([head, [0, 0, 0, 1], userId, [0], utf8(target.host), [0]]);
    this.#target = target;
  }

  first(): Uint8Array {
    return this.#request;
  }

  next(input: Uint8Array): StepResult | undefined {
    if (input.length < 8) return undefined;
    if (input[0] !== 0x00) {
      const hint =
        input[0] === 0x05
          ? ' (it looks like a SOCKS5-only proxy: use socks5://)'
          : input[0] === 0x48
            ? ' (it looks like an HTTP proxy: use http://)'
            : '';
      throw protocolError(`the proxy did not answer as SOCKS4 (version octet ${input[0]})${hint}`);
    }
    const code = input[1]!;
    if (code === 0x5a) return { used: 8, done: true };
    const known = REPLIES[code];
    throw new SmtpProxyError(
      known?.reason ?? 'refused',
      `the SOCKS4a proxy could not connect to ${this.#target.host}:${this.#target.port}: ${known?.text ?? `reply code ${code}`}`,
    );
  }
}
