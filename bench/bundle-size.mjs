// npm run bundle-size — what a Worker that sends one message costs in bytes, for smtpwire,
// worker-mailer and nodemailer, measured in one run with the same bundler (esbuild, minified,
// ESM) and gzip -9. Not a timed benchmark: sizes are deterministic for given package versions.
// Needs a build (dist/). `--check` exits 1 when smtpwire's raw-message Worker is over the
// 15 kB gzip budget (issue 16) or bundles the WebAssembly scan; `--json` prints the rows as JSON.
//
// smtpwire is resolved the way a user's bundler resolves it (package self-reference through
// package.json "exports", with the `workerd` condition for a Worker). worker-mailer has no raw
// send, so its row composes a text message (as smtpwire's sendMail row does). nodemailer does not
// run in Workers without nodejs_compat: it is bundled for platform node (node: built-ins left
// out, so its row counts nodemailer's own code only).
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BUDGET_GZIP = 15 * 1024;
if (!existsSync(join(ROOT, 'dist/transports/workers.js'))) {
  console.error('dist/ is missing: build first (npm run build)');
  process.exit(1);
}

const host = `{ host: 'smtp.example.com', port: 587 }`;
const cases = [
  {
    name: 'smtpwire: Worker, connect + send one raw message',
    budget: true,
    platform: 'neutral',
    code: `import { connect } from 'smtpwire';
export default { async fetch() {
  const client = await connect({ ...${host}, auth: { user: 'u', pass: 'p' } });
  const r = await client.send({ from: 'a@example.com', to: ['b@example.com'], body: 'Subject: hi\\r\\n\\r\\nhello\\r\\n' });
  await client.close();
  return new Response(r.outcome);
} };`,
  },
  {
    name: 'smtpwire: Worker, sendMail (composes a text message)',
    platform: 'neutral',
    code: `import { sendMail } from 'smtpwire';
export default { async fetch() {
  const r = await sendMail({ ...${host}, auth: { user: 'u', pass: 'p' }, from: 'a@example.com', to: 'b@example.com', subject: 'hi', text: 'hello' });
  return new Response(r.outcome);
} };`,
  },
  {
    name: 'smtpwire/core only (sans-IO state machine)',
    platform: 'neutral',
    code: `import { SmtpConnection } from 'smtpwire/core';
export const c = new SmtpConnection({ host: 'smtp.example.com' });`,
  },
  {
    name: 'worker-mailer: Worker, connect + send a text message',
    platform: 'neutral',
    code: `import { WorkerMailer } from 'worker-mailer';
export default { async fetch() {
  const m = await WorkerMailer.connect({ ...${host}, credentials: { username: 'u', password: 'p' }, authType: 'plain' });
  await m.send({ from: 'a@example.com', to: 'b@example.com', subject: 'hi', text: 'hello' });
  return new Response('sent');
} };`,
  },
  {
    name: 'nodemailer: send one raw message (platform node, built-ins external)',
    platform: 'node',
    code: `import nodemailer from 'nodemailer';
export async function send() {
  const t = nodemailer.createTransport({ ...${host}, auth: { user: 'u', pass: 'p' } });
  return t.sendMail({ envelope: { from: 'a@example.com', to: ['b@example.com'] }, raw: 'Subject: hi\\r\\n\\r\\nhello\\r\\n' });
}`,
  },
];

const version = (name) => JSON.parse(readFileSync(join(ROOT, name === 'smtpwire' ? '' : `node_modules/${name}`, 'package.json'), 'utf8')).version;

const rows = [];
for (const c of cases) {
  const result = await esbuild.build({
    stdin: { contents: c.code, resolveDir: ROOT, sourcefile: 'entry.mjs', loader: 'js' },
    bundle: true, minify: true, format: 'esm', write: false, metafile: true, logLevel: 'silent',
    platform: c.platform,
    conditions: c.platform === 'neutral' ? ['workerd', 'worker', 'import'] : [],
    mainFields: c.platform === 'neutral' ? ['module', 'main'] : undefined,
    external: ['cloudflare:sockets', 'node:*'],
  });
  const bytes = result.outputFiles[0].contents;
  const inputs = Object.keys(result.metafile.inputs);
  const largest = Object.entries(Object.values(result.metafile.outputs)[0].inputs)
    .sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput).slice(0, 6)
    .map(([path, info]) => `${path.replace(/^node_modules\//, '')} ${(info.bytesInOutput / 1024).toFixed(1)}`);
  rows.push({
    name: c.name, minified: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, modules: inputs.length,
    simdScan: inputs.some((p) => p.includes('simd-scan')), budget: c.budget === true, largest,
  });
}

const kB = (n) => (n / 1024).toFixed(1);
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  console.log(`esbuild ${esbuild.version}, minified ESM, gzip -9 (kB = 1024 bytes); smtpwire ${version('smtpwire')} (this checkout), worker-mailer ${version('worker-mailer')}, nodemailer ${version('nodemailer')}\n`);
  console.log('| bundle | minified kB | gzip kB | modules |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.name} | ${kB(r.minified)} | ${kB(r.gzip)} | ${r.modules} |`);
  console.log('');
  for (const r of rows) console.log(`${r.name}: largest (minified kB): ${r.largest.join(', ')}`);
}

if (process.argv.includes('--check')) {
  let bad = 0;
  for (const r of rows.filter((r) => r.budget)) {
    if (r.gzip > BUDGET_GZIP) {
      console.log(`OVER BUDGET: ${r.name}: ${kB(r.gzip)} kB gzip > ${kB(BUDGET_GZIP)} kB`);
      bad++;
    }
    if (r.simdScan) {
      console.log(`${r.name}: bundles core/simd-scan (the WebAssembly scan must never reach a Worker)`);
      bad++;
    }
  }
  process.exit(bad > 0 ? 1 : 0);
}
