// The proxy handshake as a sans-IO state machine, in the core's style: octets in, octets out,
// a deadline passed in, typed errors out. A transport-neutral driver (client/proxy-link.ts)
// runs it over a plain link before SMTP starts, so one implementation serves every runtime.
//
//   const tunnel = new ProxyTunnel(spec, { host: 'mail.example.com', port: 587 }, deadline);
//   tunnel.start(now);
//   on data: tunnel.receive(bytes, now); on EOF: tunnel.receiveEof(now); at the deadline: tunnel.handleTimeout(now)
//   after each: for (let out = tunnel.poll(); out.type === 'write'; out = tunnel.poll()) write(out.bytes);
//   then 'done' (rest = the mail server's first octets, if any came), 'failed', or 'wait'.
import { SmtpProxyError, SmtpUsageError } from '../errors.ts';
import { HttpConnectSteps } from './http-connect.ts';
import { Socks4aSteps } from './socks4a.ts';
import { Socks5Steps } from './socks5.ts';
import type { ProxySteps, ProxyTarget } from './steps.ts';
import { describeProxy, type ProxySpec } from './url.ts';

export type TunnelOutput =
  | { readonly type: 'write'; readonly bytes: Uint8Array }
  | { readonly type: 'wait'; readonly deadline: number }
  | { readonly type: 'done'; readonly rest: Uint8Array }
  | { readonly type: 'failed'; readonly error: SmtpProxyError };

export function proxySteps(spec: ProxySpec, target: ProxyTarget): ProxySteps {
  switch (spec.protocol) {
    case 'socks5':
      return new Socks5Steps(target, spec.user, spec.pass);
    case 'socks4a':
      return new Socks4aSteps(target, spec.user);
    case 'http':
      return new HttpConnectSteps(target, spec.user, spec.pass);
    default:
      throw new SmtpUsageError(`unknown proxy protocol ${String((spec as { protocol: unknown }).protocol)}`);
  }
}

export class ProxyTunnel {
  #steps: ProxySteps;
  #name: string;
  #deadline: number;
  #out: Uint8Array[] = [];
  #input: Uint8Array = new Uint8Array(0);
  #state: 'new' | 'running' | 'done' | 'failed' = 'new';
  #result: TunnelOutput | undefined;

  /** Throws SmtpUsageError at once for input that cannot go on the wire. */
  constructor(spec: ProxySpec, target: ProxyTarget, deadline: number) {
    this.#steps = proxySteps(spec, target);
    this.#name = describeProxy(spec);
    this.#deadline = deadline;
  }

  /** The link to the proxy is up. */
  start(now: number): void {
    if (this.#state !== 'new') return;
    this.#state = 'running';
    if (now >= this.#deadline) return this.handleTimeout(now);
    this.#out.push(this.#steps.first());
  }

  receive(bytes: Uint8Array, now: number): void {
    if (this.#state === 'done') {
      // Octets after the tunnel opened are the mail server's: keep them for the caller.
      this.#input = join(this.#input, bytes);
      this.#result = { type: 'done', rest: this.#input };
      return;
    }
    if (this.#state !== 'running') return;
    if (now >= this.#deadline) return this.handleTimeout(now);
    this.#input = join(this.#input, bytes);
    try {
      for (;;) {
        const step = this.#steps.next(this.#input);
        if (!step) break;
        this.#input = this.#input.subarray(step.used);
        if ('send' in step) {
          this.#out.push(step.send);
          continue;
        }
        this.#state = 'done';
        this.#result = { type: 'done', rest: this.#input };
        return;
      }
      if (this.#input.length > this.#steps.limit) {
        throw new SmtpProxyError('protocol', `the proxy ${this.#name} sent a reply longer than ${this.#steps.limit} octets`);
      }
    } catch (err) {
      this.#fail(err instanceof SmtpProxyError ? err : new SmtpProxyError('protocol', String(err)));
    }
  }

  receiveEof(_now: number): void {
    if (this.#state !== 'running') return;
    this.#fail(
      new SmtpProxyError(
        'closed',
        `the proxy ${this.#name} closed the connection during the handshake` + (this.#input.length ? ' (after an incomplete reply)' : ''),
      ),
    );
  }

  handleTimeout(now: number): void {
    if (this.#state !== 'running' || now < this.#deadline) return;
    this.#fail(new SmtpProxyError('timeout', `the proxy ${this.#name} did not finish its handshake before the connect deadline`));
  }

  poll(): TunnelOutput {
    const next = this.#out.shift();
    if (next) return { type: 'write', bytes: next };
    return this.#result ?? { type: 'wait', deadline: this.#deadline };
  }

  #fail(error: SmtpProxyError): void {
    this.#state = 'failed';
    this.#out = [];
    this.#result = { type: 'failed', error };
  }
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
