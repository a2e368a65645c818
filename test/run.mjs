// Runs every compiled uvu test file (dist/test/**/*.test.js), each in its own process so one
// file's sockets or timers cannot hold another's, and prints one closing line that CI reads:
// "N passed, N failed, N skipped". Usage: node test/run.mjs [filter-substring]
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('../dist/test/', import.meta.url).pathname;
const sources = new URL('./', import.meta.url).pathname;
const filter = process.argv[2] ?? '';
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    // A compiled test whose .ts is gone (renamed or removed) is stale output tsc left behind.
    else if (name.endsWith('.test.js') && p.includes(filter) && existsSync(join(sources, relative(root, p)).replace(/\.js$/, '.ts')))
      files.push(p);
  }
})(root);

let passed = 0,
  failed = 0,
  skipped = 0;
for (const file of files) {
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' }, timeout: 4 * 60_000 });
  const out = (r.stdout ?? '') + (r.stderr ?? '');
  const num = (label) => Number((out.match(new RegExp(`${label}:\\s+(\\d+)`)) ?? [])[1] ?? 0);
  const total = num('Total'),
    ok = num('Passed'),
    skip = num('Skipped');
  passed += ok;
  skipped += skip;
  const bad = total - ok; // uvu's Total already leaves skipped tests out
  failed += bad;
  const name = relative(root, file);
  if (r.status !== 0 || bad > 0 || total === 0) {
    if (r.status !== 0 && bad === 0) failed++; // a crash counts as one failure
    process.stdout.write(`FAIL ${name} (exit ${r.status}${r.signal ? ' ' + r.signal : ''})\n${out}\n`);
  } else {
    process.stdout.write(`ok   ${name}: ${ok} passed${skip ? `, ${skip} skipped` : ''}\n`);
  }
}
if (files.length === 0) {
  console.log('no test files found');
  failed++;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
