// The proxy / client-certificate / diagnostics cases (test/proxy/cases.ts) in Deno, through
// transports/deno.ts. Run by test/proxy/proxy.ts with the servers' config file as argument.
import { connect } from '../../transports/deno.ts';
import { proxyCases, runCases, type ProxyConfig } from '../proxy/cases.ts';

const config: ProxyConfig = JSON.parse(await Deno.readTextFile(Deno.args[0]!));
const r = await runCases(
  proxyCases(
    {
      name: `deno ${Deno.version.deno}`,
      connect: (o) => connect(o),
      // Deno.connectTls takes a client certificate (cert + key PEM); Deno.startTls does not, and
      // Deno has no PKCS#12, TLS version floor, cipher list or source address for clients.
      supports: { clientCert: 'implicit', pfx: false, encryptedKey: false, minVersion: false, ciphers: false, localAddress: false },
    },
    config,
  ),
);
console.log(`${r.passed} passed, ${r.failed} failed`);
Deno.exit(r.failed > 0 ? 1 : 0);
