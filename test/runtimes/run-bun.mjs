// npm run test:bun — the core test suite and the interop set in Bun (the binary from the npm
// package `bun`, located by find-bin.mjs whether or not its postinstall ran), straight from
// the TypeScript sources. With --bench it also runs the interop set through transports/node.ts
// (node:net in Bun) and times both transports (test/runtimes/bun-bench.ts).
import { CORE_TESTS, Tally, run } from './harness.mjs';
import { findBun } from './find-bin.mjs';
import { startServers, startSink } from './server.mjs';

const bun = findBun();
const tally = new Tally();

const version = await run(bun, ['--version']);
console.log(`bun ${version.output.trim()}`);

for (const name of CORE_TESTS) {
  const r = await run(bun, ['run', `test/${name}.test.ts`]);
  tally.add(`bun core ${name}.test`, r.output, r.ok, r.seconds);
}

const { config, close } = await startServers();
try {
  const r = await run(bun, ['run', 'test/runtimes/bun.test.ts', JSON.stringify(config)]);
  tally.add('bun interop', r.output, r.ok, r.seconds);
  if (process.argv.includes('--bench')) {
    // The Node transport under Bun's node:net, for the comparison in docs/runtime-bun.md.
    const sink = await startSink();
    const b = await run(bun, ['run', 'test/runtimes/bun-bench.ts', JSON.stringify({ ...config, sinkPort: sink.port })]);
    await sink.close();
    tally.add('bun interop via node:net (transports/node.ts)', b.output, b.ok, b.seconds);
    const table = b.output.slice(b.output.indexOf('\nbun '));
    if (table.startsWith('\nbun ')) console.log(table.split('\n\n')[0]);
  }
} finally {
  await close();
}
tally.finish();
