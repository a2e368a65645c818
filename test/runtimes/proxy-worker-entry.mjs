// The worker that runs the proxy suite's shared cases (test/proxy/cases.ts, compiled to dist/)
// inside workerd, through transports/workers.ts, against the REAL proxies and mail servers
// test/proxy/proxy.ts started. Loaded by test/runtimes/proxy-workers.mjs.
//   GET /proxy   every case; answers { passed, failed, lines } (one line per case)
// Sockets belong to the request that opened them, so all cases run inside one request.
import { connect, connectDiagnostics } from '../../dist/transports/workers.js';
import { proxies } from '../../dist/client/proxies.js'; // the Worker entry's opt-ins, with connectDiagnostics
import { proxyCases, runCases } from '../../dist/test/proxy/cases.js';

export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname !== '/proxy') return new Response('not found', { status: 404 });
    const config = JSON.parse(env.CONFIG);
    const lines = [];
    try {
      const runtime = {
        name: 'workerd',
        // A Worker cannot be given a CA (transports/workers.ts refuses `ca`): the runner makes
        // workerd trust the test CA (NODE_EXTRA_CA_CERTS), as a deployed Worker trusts public
        // CAs. So the cases' `ca` (always the test CA) is dropped here, and any other is kept,
        // for the transport to refuse.
        connect: (options) => {
          const { ca, ...rest } = options;
          return connect({ proxies, diagnostics: connectDiagnostics, ...(ca === config.ca ? rest : options) });
        },
        // cloudflare:sockets has secureTransport and expectedServerHostname, nothing more.
        supports: { clientCert: 'none', pfx: false, encryptedKey: false, minVersion: false, ciphers: false, localAddress: false },
        takesCa: false,
        // workerd reports a TLS handshake with a clear-text server as a failed connect.
        tellsClearTextPort: false,
      };
      const r = await runCases(proxyCases(runtime, config), (line) => lines.push(line));
      return Response.json({ ...r, lines });
    } catch (err) {
      lines.push(`  FAIL workerd: the cases did not run: ${err?.stack ?? err}`);
      return Response.json({ passed: 0, failed: 1, lines });
    }
  },
};
