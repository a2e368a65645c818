// npm run test:workers — the core test suite and the interop set inside workerd, Cloudflare's
// Workers runtime, through Miniflare. Needs a build first (the worker loads dist/ JS).
// The worker gets: test/runtimes/worker-entry.mjs, the compiled core test files, the compiled
// Workers transport, the interop suite (transpiled from TypeScript here) and the npm packages
// they import, as separate ES modules (graph.mjs resolves and rewrites bare imports).
// workerd trusts the test CA through Miniflare's NODE_EXTRA_CA_CERTS support, exactly as a
// deployed Worker trusts public CAs: the transport itself is given no CA.
// Runs: the core tests with nodejs_compat; the interop set with nodejs_compat and again with no
// compatibility flags; then browser-bundle.mjs (core graph check + core in a flag-less Worker).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import ts from 'typescript';
import { checkBrowserBundle } from './browser-bundle.mjs';
import { CORE_TESTS, ROOT, Tally } from './harness.mjs';
import { walk } from './graph.mjs';
import { startServers } from './server.mjs';

const CA_FILE = join(ROOT, 'test/runtimes/fixtures/ca.crt');
// Miniflare reads this when it is first imported, so set it before the import below.
process.env.NODE_EXTRA_CA_CERTS = CA_FILE;
const { Miniflare } = await import('miniflare');

const tally = new Tally();
// A test that hangs inside workerd would hang dispatchFetch: give the whole run a bound.
setTimeout(() => {
  console.log('FAIL test:workers: still running after 10 minutes, giving up');
  tally.failed++;
  tally.finish();
}, 10 * 60_000).unref();
const coreFiles = CORE_TESTS.map((name) => join(ROOT, 'dist/test', `${name}.test.js`));
for (const f of [...coreFiles, join(ROOT, 'dist/transports/workers.js'), join(ROOT, 'dist/message/index.js')]) {
  if (!existsSync(f)) {
    console.error(`${f} is missing: build first (npx tsc -p .)`);
    process.exit(1);
  }
}

// The interop suite is TypeScript (Deno and Bun run it as is); workerd gets it as JS.
const interopTs = join(ROOT, 'test/runtimes/interop.ts');
const interopJs = join(ROOT, 'test/runtimes/interop.js');
const transpiled = ts.transpileModule(readFileSync(interopTs, 'utf8'), {
  fileName: interopTs,
  compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true },
}).outputText;

const entry = join(ROOT, 'test/runtimes/worker-entry.mjs');
const graph = walk(
  [
    entry,
    ...coreFiles,
    join(ROOT, 'dist/transports/workers.js'),
    join(ROOT, 'dist/message/index.js'),
    join(ROOT, 'dist/client/proxies.js'),
    interopJs,
  ],
  {
    conditions: ['workerd', 'worker', 'import'],
    external: (spec) => spec.startsWith('node:') || spec.startsWith('cloudflare:'),
    sources: new Map([[interopJs, transpiled]]),
  },
);

/** workerd's own log lines (e.g. the certificate error the wrong-name test provokes), marked as such. */
function runtimeStdio(stdout, stderr) {
  for (const stream of [stdout, stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      if (line.trim()) process.stdout.write(`  [workerd log] ${line.slice(0, 300)}\n`);
    });
  }
}

const { config, close } = await startServers();
const moduleList = [...graph].map(([path, contents]) => ({ type: 'ESModule', path, contents }));
const worker = (compatibilityFlags) =>
  new Miniflare({
    handleRuntimeStdio: runtimeStdio,
    modules: moduleList,
    modulesRoot: ROOT,
    compatibilityDate: '2025-09-01',
    compatibilityFlags,
    bindings: {
      CONFIG: JSON.stringify(config),
      TLS_HOST: process.env.SMTPWIRE_WORKERS_TLS_HOST ?? config.host,
      SMTPWIRE_PROPERTY_SEED: process.env.SMTPWIRE_PROPERTY_SEED ?? '',
    },
  });

async function request(mf, path) {
  const started = performance.now();
  try {
    const res = await mf.dispatchFetch(`http://test.local${path}`);
    const body = await res.json();
    return { ...body, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    return { ok: false, output: String(err?.stack ?? err), seconds: (performance.now() - started) / 1000 };
  }
}

try {
  // nodejs_compat: node:crypto for the sasl/hash tests' reference values and `process` for
  // properties' env knobs. The core itself needs no flag (browser-bundle.mjs checks that).
  const compat = worker(['nodejs_compat']);
  try {
    await compat.ready;
    for (const name of CORE_TESTS) {
      const r = await request(compat, `/core?file=${encodeURIComponent(`../../dist/test/${name}.test.js`)}`);
      tally.add(`workerd core ${name}.test`, r.output, r.ok, r.seconds);
    }
    const r = await request(compat, '/interop');
    tally.add('workerd interop (nodejs_compat)', r.output, r.ok, r.seconds);
  } finally {
    await compat.dispose();
  }
  // The Workers transport and the client need no Node compatibility either: prove it.
  const plain = worker([]);
  try {
    await plain.ready;
    const r = await request(plain, '/interop');
    tally.add('workerd interop (no compatibility flags)', r.output, r.ok, r.seconds);
    // DKIM signing is pure code over WebCrypto: no Node compatibility either.
    const d = await request(plain, `/core?file=${encodeURIComponent('../../dist/test/message-dkim.test.js')}`);
    tally.add('workerd core message-dkim.test (no compatibility flags)', d.output, d.ok, d.seconds);
  } finally {
    await plain.dispose();
  }
} finally {
  await close();
}
await checkBrowserBundle(tally, Miniflare);
tally.finish();
