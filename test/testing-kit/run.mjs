// Runs the test-runner examples of docs/testing.md, each with its own runner: node:test, vitest,
// jest, deno test and bun test (deno and bun from node_modules, see test/runtimes/find-bin.mjs).
// The examples are ```js blocks whose first line is `// file: NAME [run: RUNNER]`; they are
// written to dist/testing-examples/, where `smtpwire` resolves to this package (a node_modules
// link to the repo, like an install). Each runner must report its tests passed; a missing runner
// fails. Prints "N passed, N failed". Needs a build (npm run build) first.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findBun, findDeno } from '../runtimes/find-bin.mjs';

const repo = new URL('../../', import.meta.url).pathname;
const doc = readFileSync(join(repo, 'docs/testing.md'), 'utf8');
const dir = join(repo, 'dist/testing-examples');
rmSync(dir, { recursive: true, force: true });
mkdirSync(join(dir, 'node_modules'), { recursive: true });
symlinkSync(repo, join(dir, 'node_modules/smtpwire'), 'dir');
writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'testing-examples', private: true, type: 'module' }));

const examples = new Map(); // runner -> file
for (const m of doc.matchAll(/```js\n\/\/ file: (\S+)(?:\s+run: ([^\n]+))?\n([\s\S]*?)```/g)) {
  writeFileSync(join(dir, m[1]), m[3]);
  if (m[2]) examples.set(m[2].trim(), m[1]);
}

const bin = (name) => join(repo, 'node_modules/.bin', name);
const runners = {
  'node --test': (f) => [process.execPath, ['--test', '--test-reporter=tap', f], {}, /^# pass (\d+)$/m, /^# fail (\d+)$/m],
  vitest: (f) => [bin('vitest'), ['run', '--root', dir, f], {}, /Tests\s+(\d+) passed/, /Tests\s+.*?(\d+) failed/],
  jest: (f) => [
    bin('jest'),
    ['--rootDir', dir, '--transform', '{}', '--testMatch', '**/' + f],
    { NODE_OPTIONS: '--experimental-vm-modules' },
    /Tests:\s+(\d+) passed/,
    /Tests:\s+(\d+) failed/,
  ],
  'deno test': (f) => [findDeno(), ['test', '--no-check', '--allow-read', '--allow-env', f], {}, /ok \| (\d+) passed/, /(\d+) failed/],
  'bun test': (f) => [findBun(), ['test', './' + f], {}, /^\s*(\d+) pass$/m, /^\s*(\d+) fail$/m],
};

let passed = 0,
  failed = 0;
for (const [runner, make] of Object.entries(runners)) {
  const file = examples.get(runner);
  if (!file) {
    console.log(`FAIL ${runner}: no example in docs/testing.md`);
    failed++;
    continue;
  }
  const [cmd, args, env, passRe, failRe] = make(file);
  const r = spawnSync(cmd, args, {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, ...env, NO_COLOR: '1', FORCE_COLOR: '0', CI: '1' },
    timeout: 180_000,
  });
  const out = ((r.stdout ?? '') + (r.stderr ?? '')).replace(/\x1b\[[0-9;]*m/g, '');
  const ok = Number(passRe.exec(out)?.[1] ?? 0);
  const bad = Number(failRe.exec(out)?.[1] ?? 0);
  if (r.status === 0 && ok > 0 && bad === 0) {
    console.log(`ok   ${runner} ${file}: ${ok} passed`);
    passed += ok;
  } else {
    console.log(`FAIL ${runner} ${file} (exit ${r.status}${r.error ? ' ' + r.error.message : ''}, ${ok} passed, ${bad} failed)\n${out}`);
    failed += Math.max(1, bad);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
