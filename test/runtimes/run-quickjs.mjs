// Runs the core's suites inside QuickJS (quickjs-emscripten: no TextEncoder, no WebAssembly, no
// crypto, no timers, no Node): each suite is bundled by esbuild, with test-side globals bound
// per module (quickjs/globals.ts, never inside core/) and uvu replaced by quickjs/uvu.ts.
// Prints "N passed, N failed, N skipped" like test/run.mjs. Usage: node test/runtimes/run-quickjs.mjs [filter]
import { build } from 'esbuild';
import { getQuickJS, shouldInterruptAfterDeadline } from 'quickjs-emscripten';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join, sep } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SUITES = [
  'test/rfc5321-session.test.ts',
  'test/rfc2920-pipelining.test.ts',
  'test/rfc3030-chunking.test.ts',
  'test/rfc2033-lmtp.test.ts',
  'test/rfc5321-esmtp-parameters.test.ts',
  'test/rfc3207-starttls.test.ts',
  'test/rfc4954-auth.test.ts',
  'test/rfc6531-smtputf8-envelope.test.ts',
  'test/core-session-properties.test.ts',
  'test/core-errors.test.ts',
  'test/core-transaction-states.test.ts',
  'test/core-output.test.ts',
  'test/rfc5321-ehlo-capabilities.test.ts',
  'test/rfc5321-envelope.test.ts',
  'test/core-output-buffer.test.ts',
  'test/client-buffer-ring.test.ts',
  'test/core-body-release.test.ts',
  'test/core-id-table.test.ts',
  'test/core-queue.test.ts',
];
const GLOBALS = join(root, 'test/runtimes/quickjs/globals.ts');
const CORE = join(root, 'core') + sep;
const filter = process.argv[2] ?? '';
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('SMTPWIRE_') || k === 'PROPERTY_RUNS'));

/** Test-side modules get the host globals as module bindings; core modules get nothing. */
const hostGlobals = {
  name: 'host-globals',
  setup(b) {
    // uvu itself needs Node; uvu/assert is plain code and stays.
    b.onResolve({ filter: /^uvu$/ }, () => ({ path: join(root, 'test/runtimes/quickjs/uvu.ts') }));
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      let contents = await readFile(args.path, 'utf8');
      if (!args.path.startsWith(CORE) && args.path !== GLOBALS) {
        contents = `import { TextEncoder, TextDecoder, process, btoa, atob } from ${JSON.stringify(GLOBALS)};\n${contents}`;
      }
      return { contents, loader: 'ts' };
    });
  },
};

async function bundle(entry) {
  const out = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    define: { __ENV__: JSON.stringify(env) },
    plugins: [hostGlobals],
    logLevel: 'error',
  });
  return out.outputFiles[0].text;
}

/** Core code must not name a host global QuickJS lacks: check the bundle's core part too. */
function coreUsesHostGlobals(code) {
  const hits = [];
  for (const [, file, body] of code.matchAll(/\/\/ core\/([\w/.-]+)\n([\s\S]*?)(?=\n {2}\/\/ [\w./-]+\n|$)/g)) {
    for (const name of [/\bTextEncoder\b/, /\bTextDecoder\b/, /\bprocess\./, /\bBuffer\b/, /\bsetTimeout\b/, /\brequire\(/]) {
      if (name.test(body)) hits.push(`core/${file}: ${name.source}`);
    }
  }
  return hits;
}

const QuickJS = await getQuickJS();
let passed = 0,
  failed = 0;
for (const suite of SUITES.filter((s) => s.includes(filter))) {
  const code = await bundle(suite);
  const leaks = coreUsesHostGlobals(code);
  if (leaks.length) {
    failed++;
    console.log(`FAIL ${suite}: the core names host globals QuickJS lacks:\n  ${leaks.join('\n  ')}`);
    continue;
  }
  const runtime = QuickJS.newRuntime();
  runtime.setMemoryLimit(1024 * 1024 * 1024);
  runtime.setMaxStackSize(4 * 1024 * 1024);
  const started = Date.now();
  runtime.setInterruptHandler(shouldInterruptAfterDeadline(started + 10 * 60_000));
  const vm = runtime.newContext();
  let report;
  const log = vm.newFunction('log', (...args) => console.log(...args.map((a) => vm.dump(a))));
  const consoleObj = vm.newObject();
  vm.setProp(consoleObj, 'log', log);
  vm.setProp(consoleObj, 'error', log);
  vm.setProp(vm.global, 'console', consoleObj);
  const reporter = vm.newFunction('__report', (p, f, text) => {
    report = { passed: vm.getNumber(p), failed: vm.getNumber(f), failures: vm.getString(text) };
  });
  vm.setProp(vm.global, '__report', reporter);
  // fast-check keeps a reference to the timer functions; the suites never call them. Calling
  // one fails loudly (QuickJS has no event loop here).
  const noTimer = vm.newFunction('noTimer', () => {
    throw new Error('no timers in the QuickJS runner');
  });
  for (const name of ['setTimeout', 'clearTimeout']) vm.setProp(vm.global, name, noTimer);
  [log, consoleObj, reporter, noTimer].forEach((h) => h.dispose());
  const result = vm.evalCode(code, suite);
  let error;
  if (result.error) {
    error = vm.dump(result.error);
    result.error.dispose();
  } else result.value.dispose();
  while (!error && !report) {
    const jobs = runtime.executePendingJobs();
    if (jobs.error) {
      error = vm.dump(jobs.error);
      jobs.error.dispose();
    } else if (jobs.value === 0) break;
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (error || !report) {
    failed++;
    console.log(`FAIL ${suite} (${secs} s): ${error ? JSON.stringify(error) : 'the suite never reported (a test hung)'}`);
  } else {
    passed += report.passed;
    failed += report.failed;
    if (report.failed || report.passed === 0) {
      if (report.passed === 0) failed++;
      console.log(`FAIL ${suite} (${secs} s): ${report.passed} passed, ${report.failed} failed\n${report.failures}`);
    } else console.log(`ok   ${suite} in QuickJS: ${report.passed} passed (${secs} s)`);
  }
  // Not disposed: QuickJS's debug assertion on a runtime with objects still alive (fast-check's
  // caches) would abort the whole module; each suite has a runtime of its own and the process
  // ends after the last.
}
console.log(`${passed} passed, ${failed} failed, 0 skipped`);
process.exit(failed > 0 ? 1 : 0);
