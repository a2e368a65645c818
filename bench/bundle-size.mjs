// npm run bundle-size — what a Worker that sends one message costs in bytes, for smtpwire,
// worker-mailer and nodemailer, measured in one run with the same bundler (esbuild, minified,
// ESM) and gzip -9. Not a timed benchmark: sizes are deterministic for given package versions.
// Needs a build (dist/). The bundles and checks are in bench/bundle-cases.mjs (test:package
// runs the same checks on the packed tarball).
//   --check        exit 1 when the raw-message Worker is over issue 16's 15 kB gzip budget or
//                  bundles WebAssembly (the body scan must never reach a Worker)
//   --ceiling KB   with --check: the gzip limit to enforce instead of 15 kB (CI's regression
//                  ceiling while the budget is not met; docs/performance.md "Bundle size")
//   --json         the rows as JSON
//   --breakdown    where the raw-message Worker's bytes are: minified bytes by folder (core/,
//                  client/, transports/) and the gzip size with every string literal over 12
//                  characters emptied (how much of it is error messages and other text)
//
// smtpwire is resolved the way a user's bundler resolves it (package self-reference through
// package.json "exports", with the `workerd` condition for a Worker). worker-mailer has no raw
// send, so its row composes a text message (as smtpwire's sendMail row does). nodemailer does not
// run in Workers without nodejs_compat: it is bundled for platform node (node: built-ins left
// out, so its row counts nodemailer's own code only).
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import ts from 'typescript';
import { BUDGET_GZIP, CASES, budgetProblems, measure } from './bundle-cases.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
if (!existsSync(join(ROOT, 'dist/bundle/transports/workers.js'))) {
  console.error('dist/ is missing: build first (npm run build)');
  process.exit(1);
}
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const ceiling = arg('--ceiling') === undefined ? undefined : Number(arg('--ceiling')) * 1024;
if (ceiling !== undefined && !(ceiling > 0)) {
  console.error('--ceiling takes a size in kB, e.g. --ceiling 27');
  process.exit(2);
}

const version = (name) =>
  JSON.parse(readFileSync(join(ROOT, name === 'smtpwire' ? '' : `node_modules/${name}`, 'package.json'), 'utf8')).version;

const rows = [];
for (const c of CASES) {
  const { code: _, ...r } = await measure(c.code, ROOT, c.platform);
  rows.push({ name: c.name, budget: c.budget === true, ...r });
}

const kB = (n) => (n / 1024).toFixed(1);
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  console.log(
    `esbuild ${esbuild.version}, minified ESM, gzip -9 (kB = 1024 bytes); smtpwire ${version('smtpwire')} (this checkout), worker-mailer ${version('worker-mailer')}, nodemailer ${version('nodemailer')}\n`,
  );
  console.log('| bundle | minified kB | gzip kB | modules |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.name} | ${kB(r.minified)} | ${kB(r.gzip)} | ${r.modules} |`);
  console.log('');
  for (const r of rows) console.log(`${r.name}: largest (minified kB): ${r.largest.join(', ')}`);
}
if (process.argv.includes('--breakdown')) {
  const c = CASES.find((x) => x.budget);
  // From tsc's modules (dist/transports/workers.js and what it imports), not from the package's
  // dist/bundle/ whose shared chunks mix folders: the same code, shaken the same way (the Worker
  // bundled from either holds the same declarations; docs/performance.md, Issue 18).
  const tscWorker = c.code.replaceAll("from 'smtpwire'", "from './dist/transports/workers.js'");
  if (tscWorker === c.code) throw new Error('--breakdown: the raw-message Worker no longer imports from smtpwire');
  const r = await measure(tscWorker, ROOT, c.platform);
  const folders = new Map();
  for (const [path, bytes] of Object.entries(r.byModule)) {
    const folder = /^dist\/([^/]+)\//.exec(path)?.[1] ?? path;
    folders.set(folder, (folders.get(folder) ?? 0) + bytes);
  }
  console.log(`\n${c.name}, from tsc's modules: ${kB(r.minified)} kB minified, ${kB(r.gzip)} kB gzip\n`);
  console.log('| folder | minified kB | share |');
  console.log('|---|---:|---:|');
  for (const [folder, bytes] of [...folders].sort((a, b) => b[1] - a[1]))
    console.log(`| ${folder} | ${kB(bytes)} | ${((100 * bytes) / r.minified).toFixed(0)}% |`);
  const text = withoutLongStrings(r.code);
  console.log(
    `\nWith every string literal over 12 characters emptied (${kB(r.code.length - text.length)} kB of text removed): ${kB(gzipSync(text, { level: 9 }).length)} kB gzip, against ${kB(r.gzip)} kB with them.`,
  );
}

/** `code` with the contents of each string and template literal longer than 12 characters
 *  removed (TypeScript's scanner finds them; templates keep their `${}` code). */
function withoutLongStrings(code) {
  const K = ts.SyntaxKind;
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, ts.LanguageVariant.Standard, code);
  const braces = []; // 't' for a template's ${, 'b' for any other brace
  const literal = new Set([K.StringLiteral, K.NoSubstitutionTemplateLiteral, K.TemplateHead, K.TemplateMiddle, K.TemplateTail]);
  const divisionAfter = new Set([K.Identifier, K.NumericLiteral, K.CloseParenToken, K.CloseBracketToken, K.StringLiteral, K.ThisKeyword]);
  let out = '';
  let last = 0;
  let prev = K.Unknown;
  for (let t = scanner.scan(); t !== K.EndOfFileToken; prev = t, t = scanner.scan()) {
    if (t === K.OpenBraceToken) braces.push('b');
    else if (t === K.TemplateHead) braces.push('t');
    else if (t === K.CloseBraceToken) {
      if (braces.pop() === 't') {
        t = scanner.reScanTemplateToken(false);
        if (t === K.TemplateMiddle) braces.push('t');
      }
    } else if ((t === K.SlashToken || t === K.SlashEqualsToken) && !divisionAfter.has(prev)) t = scanner.reScanSlashToken();
    if (!literal.has(t)) continue;
    const start = scanner.getTokenStart();
    const end = scanner.getTokenEnd();
    if (end - start <= 12) continue;
    // Keep the delimiters: the opening quote, ` or }, and the closing quote, ` or ${.
    const close = t === K.TemplateHead || t === K.TemplateMiddle ? 2 : 1;
    out += code.slice(last, start + 1) + code.slice(end - close, end);
    last = end;
  }
  return out + code.slice(last);
}

if (process.argv.includes('--check')) {
  const limit = ceiling ?? BUDGET_GZIP;
  const problems = rows.filter((r) => r.budget).flatMap((r) => budgetProblems(r.name, r, limit));
  for (const p of problems) console.log(`CHECK FAILED: ${p}`);
  for (const r of rows.filter((r) => r.budget)) {
    const goal = r.gzip <= BUDGET_GZIP ? 'met' : `NOT met (${kB(r.gzip)} kB)`;
    console.log(
      `check: ${r.name}: ${kB(r.gzip)} kB gzip, limit ${kB(limit)} kB; issue 16's ${kB(BUDGET_GZIP)} kB budget ${goal}; WebAssembly: ${r.webAssembly ? 'yes' : 'none'}`,
    );
  }
  process.exit(problems.length > 0 ? 1 : 0);
}
