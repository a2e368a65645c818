// The proxy clients as one part (client/parts.ts ProxySupport): `import { proxies } from
// 'smtpwire/proxy'` and connect({ ..., proxy: 'socks5://…', proxies }) where the entry point
// does not include them (Workers); the Node, Deno and Bun entries always do.
import { proxySteps } from '../core/proxy/tunnel.ts';
import { parseProxy } from '../core/proxy/url.ts';
import type { ProxySupport } from './parts.ts';
import { connectThroughProxy } from './proxy-link.ts';

export const proxies: ProxySupport = Object.freeze({
  parse: parseProxy,
  check: (proxy, target) => void proxySteps(proxy, target),
  connect: connectThroughProxy,
} satisfies ProxySupport);

export { parseProxy, describeProxy, type ProxySpec, type ProxyProtocol } from '../core/proxy/url.ts';
