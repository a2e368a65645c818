// The proxy suite's shared cases (test/proxy/cases.ts) inside workerd, Cloudflare's Workers
// runtime, through Miniflare: run by test/proxy/proxy.ts (npm run test:proxy) with the config
// file of the real proxies and mail servers it started. Needs a build first (the worker loads
// dist/ JS). workerd trusts the proxy suite's test CA (test/fixtures/pki/ca.crt) through
// Miniflare's NODE_EXTRA_CA_CERTS support, the way a deployed Worker trusts public CAs: the
// transport itself is given no CA. Closing line: "N passed, N failed".
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from './harness.mjs';
import { walk } from './graph.mjs';

// Miniflare reads this when it is first imported, so set it before the import below.
process.env.NODE_EXTRA_CA_CERTS = join(ROOT, 'test/fixtures/pki/ca.crt');
const { Miniflare } = await import('miniflare');

const configFile = process.argv[2];
if (!configFile) {
  console.log('usage: node test/runtimes/proxy-workers.mjs CONFIG.json (test/proxy/proxy.ts passes it)');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
for (const f of ['dist/transports/workers.js', 'dist/test/proxy/cases.js']) {
  if (!existsSync(join(ROOT, f))) {
    console.log(`${f} is missing: build first (npx tsc -p .)`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

const entry = join(ROOT, 'test/runtimes/proxy-worker-entry.mjs');
const graph = walk([entry], {
  conditions: ['workerd', 'worker', 'import'],
  external: (spec) => spec.startsWith('cloudflare:'),
});

const mf = new Miniflare({
  // workerd's own log lines (e.g. the certificate errors the cases provoke), marked as such.
  handleRuntimeStdio(stdout, stderr) {
    for (const stream of [stdout, stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (line.trim()) process.stdout.write(`  [workerd log] ${line.slice(0, 300)}\n`);
      });
    }
  },
  modules: [...graph].map(([path, contents]) => ({ type: 'ESModule', path, contents })),
  modulesRoot: ROOT,
  compatibilityDate: '2025-09-01',
  // No compatibility flags: the Workers transport and the tunnel need no Node compatibility.
  compatibilityFlags: [],
  bindings: { CONFIG: readFileSync(configFile, 'utf8') },
});

let passed = 0;
let failed = 0;
try {
  await mf.ready;
  const res = await mf.dispatchFetch('http://test.local/proxy');
  const body = await res.json();
  for (const line of body.lines) console.log(line);
  passed = body.passed;
  failed = body.failed;
} catch (err) {
  console.log(`  FAIL workerd: ${err?.stack ?? err}`);
  failed++;
} finally {
  await mf.dispose();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
