// SOCKS5 (RFC 1928) CONNECT, with no authentication or user name / password (RFC 1929). The
// mail server's name goes to the proxy as ATYP 3 (the proxy resolves it: no DNS look-up leaks
// from here); an IP literal goes as ATYP 1 or 4.
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

const VERSION = 0x05;
const NO_AUTH = 0x00;
const USER_PASS = 0x02;
const NO_ACCEPTABLE = 0xff;
const CONNECT = 0x01;
const ATYP_IPV4 = 0x01;
const ATYP_NAME = 0x03;
const ATYP_IPV6 = 0x04;
const AUTH_VERSION = 0x01; // RFC 1929's sub-negotiation version

/** RFC 1928 §6 REP values: what the proxy says when it did not connect. */
const REPLIES: Record<number, { text: string; transient: boolean }> = {
  0x01: { text: 'general SOCKS server failure', transient: true },
  0x02: { text: 'connection not allowed by ruleset', transient: false },
  0x03: { text: 'network unreachable', transient: true },
  0x04: { text: 'host unreachable', transient: true },
  0x05: { text: 'connection refused', transient: true },
  0x06: { text: 'TTL expired', transient: true },
  0x07: { text: 'command not supported', transient: false },
  0x08: { text: 'address type not supported', transient: false },
};

type Phase = 'method' | 'auth' | 'connect';

export class Socks5Steps implements ProxySteps {
  #target: ProxyTarget;
  #user: Uint8Array | undefined;
  #pass: Uint8Array | undefined;
  #phase: Phase = 'method';

  constructor(target: ProxyTarget, user?: string, pass?: string) {
    checkTarget(target);
    if (user !== undefined) {
      noControls('the proxy user name', user);
      noControls('the proxy password', pass ?? '');
      this.#user = utf8(user);
      this.#pass = utf8(pass ?? '');
      // RFC 1929: ULEN and PLEN are one octet each, from 1.
      if (this.#user.length < 1 || this.#user.length > 255) throw new SmtpUsageError('a SOCKS5 user name must be 1 to 255 octets');
      if (this.#pass.length < 1 || this.#pass.length > 255)
        throw new SmtpUsageError('a SOCKS5 password must be 1 to 255 octets (RFC 1929)');
    }
    if (!ipv4Octets(target.host) && !ipv6Octets(target.host) && utf8(target.host).length > 255) {
      throw new SmtpUsageError('the mail server name is longer than SOCKS5 allows (255 octets)');
    }
    this.#target = target;
  }

  get limit(): number {
    // method: 2; auth: 2; connect: 4 + 1 + 255 + 2 at most
    return this.#phase === 'connect' ? 262 : 2;
  }

  first(): Uint8Array {
    // Offer user/pass only when we have credentials; never send them to a proxy that did not ask.
    return this.#user ? Uint8Array.of(VERSION, 2, NO_AUTH, USER_PASS) : Uint8Array.of(VERSION, 1, NO_AUTH);
  }

  next(input: Uint8Array): StepResult | undefined {
    switch (this.#phase) {
      case 'method':
        return this.#method(input);
      case 'auth':
        return this.#auth(input);
      case 'connect':
        return this.#connect(input);
    }
  }

  #method(input: Uint8Array): StepResult | undefined {
    if (input.length < 2) return undefined;
    if (input[0] !== VERSION) throw notSocks5(input[0]!);
    const method = input[1]!;
    if (method === NO_AUTH) {
      this.#phase = 'connect';
      return { used: 2, send: this.#request() };
    }
    if (method === USER_PASS && this.#user) {
      this.#phase = 'auth';
      return { used: 2, send: joinBytes([[AUTH_VERSION, this.#user.length], this.#user, [this.#pass!.length], this.#pass!]) };
    }
    if (method === NO_ACCEPTABLE || method === USER_PASS) {
      throw new SmtpProxyError(
        'auth',
        this.#user
          ? 'the SOCKS5 proxy accepts none of our authentication methods (no authentication, user name and password)'
          : 'the SOCKS5 proxy requires authentication: put the user name and password in the proxy URL (socks5://user:pass@host:port)',
      );
    }
    throw protocolError(`the SOCKS5 proxy chose authentication method ${method}, which we did not offer`);
  }

  #auth(input: Uint8Array): StepResult | undefined {
    if (input.length < 2) return undefined;
    if (input[0] !== AUTH_VERSION)
      throw protocolError(`the SOCKS5 proxy answered the user name and password with version ${input[0]}, not 1 (RFC 1929)`);
    if (input[1] !== 0x00) throw new SmtpProxyError('auth', `the SOCKS5 proxy rejected the user name or password (status ${input[1]})`);
    this.#phase = 'connect';
    return { used: 2, send: this.#request() };
  }

  #request(): Uint8Array {
    const { host, port } = this.#target;
    const v4 = ipv4Octets(host);
    if (v4) return joinBytes([[VERSION, CONNECT, 0x00, ATYP_IPV4], v4, portOctets(port)]);
    const v6 = ipv6Octets(host);
    if (v6) return joinBytes([[VERSION, CONNECT, 0x00, ATYP_IPV6], v6, portOctets(port)]);
    const name = utf8(host);
    return joinBytes([[VERSION, CONNECT, 0x00, ATYP_NAME, name.length], name, portOctets(port)]);
  }

  #connect(input: Uint8Array): StepResult | undefined {
    if (input.length < 2) return undefined;
    if (input[0] !== VERSION) throw protocolError(`the SOCKS5 proxy answered CONNECT with version ${input[0]}, not 5`);
    const rep = input[1]!;
    if (rep !== 0x00) {
      const known = REPLIES[rep];
      const where = `${this.#target.host}:${this.#target.port}`;
      throw new SmtpProxyError(
        'refused',
        `the SOCKS5 proxy could not connect to ${where}: ${known?.text ?? `reply code ${rep}`}`,
        known?.transient ?? true,
      );
    }
    if (input.length < 5) return undefined;
    const atyp = input[3]!;
    const addr = atyp === ATYP_IPV4 ? 4 : atyp === ATYP_IPV6 ? 16 : atyp === ATYP_NAME ? 1 + input[4]! : -1;
    if (addr < 0) throw protocolError(`the SOCKS5 proxy's reply has an unknown address type ${atyp}`);
    const total = 4 + addr + 2;
    if (input.length < total) return undefined;
    return { used: total, done: true };
  }
}

function notSocks5(version: number): SmtpProxyError {
  // An HTTP proxy answers a SOCKS greeting with "HTTP/1.x 400": 'H' is 0x48.
  const hint =
    version === 0x48
      ? ' (it looks like an HTTP proxy: use http://)'
      : version === 0x00
        ? ' (it looks like a SOCKS4 proxy: use socks4a://)'
        : '';
  return protocolError(`the proxy did not answer as SOCKS5 (version octet ${version})${hint}`);
}
