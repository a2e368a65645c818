// Proxy tunnels (SOCKS5, SOCKS4a, HTTP CONNECT) as sans-IO state machines.
export { parseProxy, describeProxy, type ProxySpec, type ProxyProtocol } from './url.ts';
export { ProxyTunnel, proxySteps, type TunnelOutput } from './tunnel.ts';
export type { ProxyTarget, ProxySteps, StepResult } from './steps.ts';
