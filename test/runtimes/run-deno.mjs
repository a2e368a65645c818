// npm run test:deno — the core test suite and the interop set in Deno (the binary from the npm
// package `deno`), straight from the TypeScript sources, with the narrowest permissions that
// work: the core tests get no network at all, the interop set only --allow-net=127.0.0.1 and
// --allow-read for the one message file its fileBody test sends.
// First, `deno check` type-checks transports/deno.ts against Deno's own declarations (the tsc
// build only sees the minimal ones in transports/runtime-types.d.ts).
import { CORE_TESTS, Tally, run } from './harness.mjs';
import { findDeno } from './find-bin.mjs';
import { startServers } from './server.mjs';

const deno = findDeno();
const tally = new Tally();
const base = ['--config', 'test/runtimes/deno.json', '--no-lock'];
// uvu's colour library reads these; the property tests read the SMTPWIRE_FUZZ_* knobs.
const env =
  '--allow-env=FORCE_COLOR,NODE_DISABLE_COLORS,NO_COLOR,TERM,SMTPWIRE_FUZZ_SCALE,SMTPWIRE_FUZZ_SEED,SMTPWIRE_FUZZ_REPORT,SMTPWIRE_PROPERTY_SEED';

const version = await run(deno, ['--version']);
console.log(version.output.split('\n')[0]);

const check = await run(deno, ['check', ...base, 'transports/deno.ts', 'test/runtimes/deno.test.ts']);
tally.step('deno check transports/deno.ts test/runtimes/deno.test.ts', check.ok, check.output, check.seconds);

for (const name of CORE_TESTS) {
  const r = await run(deno, ['run', ...base, env, `test/${name}.test.ts`]);
  tally.add(`deno core ${name}.test`, r.output, r.ok, r.seconds);
}

const { config, close } = await startServers();
try {
  const r = await run(deno, [
    'run',
    ...base,
    env,
    `--allow-net=${config.host}`,
    `--allow-read=${config.file}`,
    'test/runtimes/deno.test.ts',
    JSON.stringify(config),
  ]);
  tally.add('deno interop', r.output, r.ok, r.seconds);
} finally {
  await close();
}
tally.finish();
