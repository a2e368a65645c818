#!/usr/bin/env node
// Compare two builds of smtpwire's bench driver side by side, interleaved, against one sink:
// the no-regression check for a refactor (build the old commit in a worktree, then point this
// at both dist/ folders).
//
//   node bench/compare-builds.mjs DIST_A DIST_B [--rounds 7] [--scenarios a,a-sustained]
//
//   git worktree add /tmp/base 8761b63 && cp -al node_modules /tmp/base/node_modules
//   (cd /tmp/base && npx tsc -p tsconfig.json)
//   node bench/compare-builds.mjs /tmp/base/dist dist
//
// Each round runs every build once per scenario in alternating order (A B, then B A), each in
// a fresh process. Prints per build and scenario the medians of msg/s and of CPU us per
// message (the driver's process.cpuUsage() over its timed span, which moves much less than wall
// time on a shared machine), and the ratio B / A; one JSON line per run goes to stderr.
import { spawn } from 'node:child_process';
import { resolve, join } from 'node:path';
import { tmpdir } from 'node:os';
import * as readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { makeFixtures } from './fixtures.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const SCENARIOS = { a: 2000, 'a-sustained': 20000 };

const argv = process.argv.slice(2);
const dists = [];
let rounds = 7;
let scenarios = ['a', 'a-sustained'];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--rounds') rounds = Number(argv[++i]);
  else if (argv[i] === '--scenarios') scenarios = argv[++i].split(',');
  else dists.push(resolve(argv[i]));
}
if (dists.length !== 2 || !(rounds >= 1) || scenarios.some((s) => !(s in SCENARIOS))) {
  console.error('usage: node bench/compare-builds.mjs DIST_A DIST_B [--rounds N] [--scenarios a,a-sustained]');
  process.exit(2);
}

const fx = await makeFixtures(join(tmpdir(), 'smtpwire-compare'), { bigSize: 64 * 1024 });
const sink = spawn(process.execPath, [join(HERE, 'sink.mjs'), '--host', '127.0.0.1', '--port', '0'], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const lines = readline.createInterface({ input: sink.stdout })[Symbol.asyncIterator]();
const port = JSON.parse((await lines.next()).value).port;

function run(dist, n) {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [join(dist, 'bench/driver.js'), '--host', '127.0.0.1', '--port', String(port), '--n', String(n), '--file', fx.small],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      if (code !== 0) return fail(new Error(`${dist}: driver exited ${code}`));
      const r = JSON.parse(out);
      done({ msgPerS: r.sent / r.seconds, cpuUsPerMsg: (r.cpuS * 1e6) / r.sent });
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const results = {};
for (const s of scenarios) results[s] = dists.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (const s of scenarios) {
    const order = r % 2 ? [1, 0] : [0, 1];
    for (const k of order) {
      const x = await run(dists[k], SCENARIOS[s]);
      results[s][k].push(x);
      console.error(JSON.stringify({ round: r, scenario: s, build: dists[k], ...x }));
    }
  }
}
sink.stdin.write('{"op":"exit"}\n');
sink.stdin.end();

console.log(`| scenario | build | msg/s (median) | CPU us/msg (median) | runs |`);
console.log(`|---|---|---|---|---|`);
for (const s of scenarios) {
  const med = results[s].map((runs) => ({ rate: median(runs.map((x) => x.msgPerS)), cpu: median(runs.map((x) => x.cpuUsPerMsg)) }));
  dists.forEach((d, k) => console.log(`| ${s} | ${d} | ${Math.round(med[k].rate)} | ${med[k].cpu.toFixed(1)} | ${rounds} |`));
  console.log(`| ${s} | B / A | ${(med[1].rate / med[0].rate).toFixed(2)} | ${(med[1].cpu / med[0].cpu).toFixed(2)} | |`);
}
