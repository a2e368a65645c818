// The proxy / client-certificate / diagnostics cases (test/proxy/cases.ts) in Bun, through
// transports/bun.ts. Run by test/proxy/proxy.ts with the servers' config file as argument.
import { readFileSync } from 'node:fs';
import { connect } from '../../transports/bun.ts';
import { proxyCases, runCases, type ProxyConfig } from '../proxy/cases.ts';

const config: ProxyConfig = JSON.parse(readFileSync(process.argv[2]!, 'utf8'));
const r = await runCases(
  proxyCases(
    {
      name: `bun ${Bun.version}`,
      connect: (o) => connect(o),
      supports: { clientCert: 'all', pfx: false, encryptedKey: true, minVersion: false, ciphers: false, localAddress: false },
    },
    config,
  ),
);
console.log(`${r.passed} passed, ${r.failed} failed`);
process.exit(r.failed > 0 ? 1 : 0);
