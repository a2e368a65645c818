// npm run fuzz: the core's property tests (dist/test/core-session-properties.test.js) over at least
// 1,000,000 generated server streams in total, in parallel shards with distinct seeds.
//
//   node test/fuzz.mjs                       1,000,000 streams, random seeds (printed)
//   node test/fuzz.mjs --streams 50000 --seed 42   a shorter, seed-fixed run (what CI uses)
//   node test/fuzz.mjs --jobs 1              one process
//
// Each shard runs the properties with SMTPWIRE_FUZZ_SCALE (run-count multiplier),
// SMTPWIRE_FUZZ_SEED and SMTPWIRE_FUZZ_REPORT=1, and reports "fuzz: N server streams generated".
// A failing property prints fast-check's counterexample with its seed and path, so any
// failure is reproducible with --seed. Closing line: "N passed, N failed".
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1] : fallback;
};
const target = Number(opt('streams', process.env.SMTPWIRE_FUZZ_STREAMS ?? '1000000'));
const fixedSeed = opt('seed', process.env.SMTPWIRE_FUZZ_SEED);
const jobs = Math.max(1, Number(opt('jobs', String(fixedSeed === undefined ? Math.min(4, availableParallelism()) : 1))));
const file = new URL('../dist/test/core-session-properties.test.js', import.meta.url).pathname;

if (!(target > 0)) {
  console.error('--streams must be a positive number');
  process.exit(2);
}
if (!existsSync(file)) {
  console.error(`${file} is missing: build first (npm run build)`);
  process.exit(2);
}

/** Runs one shard; resolves with its stream count and uvu totals. */
function shard(scale, seed, label) {
  return new Promise((resolve) => {
    const env = {
      ...process.env,
      FORCE_COLOR: '0',
      SMTPWIRE_FUZZ_SCALE: String(scale),
      SMTPWIRE_FUZZ_REPORT: '1',
      SMTPWIRE_FUZZ_SEED: String(seed),
    };
    const child = spawn(process.execPath, [file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    child.on('close', (code, signal) => {
      const num = (re) => Number((out.match(re) ?? [])[1] ?? 0);
      const streams = num(/fuzz: (\d+) server streams generated/);
      const total = num(/Total:\s+(\d+)/);
      const passed = num(/Passed:\s+(\d+)/);
      const ok = code === 0 && total > 0 && passed === total;
      resolve({ label, seed, scale, streams, total, passed, ok, code, signal, out });
    });
  });
}

const started = Date.now();
// Calibrate: streams per unit of scale (about 5,500 today; the properties may grow).
const seedBase = fixedSeed !== undefined ? Number(fixedSeed) : Math.floor(Math.random() * 2 ** 31);
const probe = await shard(1, seedBase, 'calibration');
if (!probe.ok || probe.streams === 0) {
  process.stdout.write(probe.out);
  console.log(`fuzz: the calibration run failed (exit ${probe.code}${probe.signal ? ' ' + probe.signal : ''}; seed ${seedBase})`);
  console.log(`${probe.passed} passed, ${Math.max(1, probe.total - probe.passed)} failed`);
  process.exit(1);
}
const remaining = Math.max(0, target - probe.streams);
const perShard = Math.ceil(remaining / jobs);
const scale = Math.max(1, Math.ceil(perShard / probe.streams));
const shards = remaining === 0 ? [] : Array.from({ length: jobs }, (_, i) => shard(scale, seedBase + 1 + i, `shard ${i + 1}/${jobs}`));
console.log(
  `fuzz: target ${target.toLocaleString('en')} streams; calibration gave ${probe.streams} at scale 1; ` +
    `${shards.length} shard(s) at scale ${scale}, seeds ${seedBase + 1}..${seedBase + shards.length}`,
);
const results = [probe, ...(await Promise.all(shards))];

let streams = 0,
  passed = 0,
  failed = 0;
for (const r of results) {
  streams += r.streams;
  passed += r.passed;
  const bad = r.ok ? 0 : Math.max(1, r.total - r.passed);
  failed += bad;
  console.log(
    `  ${r.ok ? 'ok  ' : 'FAIL'} ${r.label}: seed ${r.seed}, scale ${r.scale}, ${r.streams.toLocaleString('en')} streams, ${r.passed}/${r.total} properties`,
  );
  if (!r.ok)
    process.stdout.write(
      r.out
        .split('\n')
        .map((l) => `       ${l}`)
        .join('\n') + '\n',
    );
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(
  `fuzz: ${streams} server streams generated in total (${streams.toLocaleString('en')}; target ${target.toLocaleString('en')}) in ${seconds} s`,
);
if (streams < target) {
  console.log(`fuzz: fewer streams than the target`);
  failed++;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
