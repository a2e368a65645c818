// npm run test:package — the package as a user gets it. Packs the tarball (prepack builds and
// checks it), installs it offline into fresh consumer projects in a temp dir and runs an example
// in each that sends a message to smtp-server (from npm) on 127.0.0.1; the server must receive
// it. Consumers: Node ESM, Node CommonJS (require of an ES module: Node >= 20.19 / 22.12),
// TypeScript strict with `nodenext` and with `bundler` resolution (compiled, then run; the
// TypeScript examples of README.md and docs/getting-started.md are type-checked there too), Deno,
// Bun, a Worker bundled by esbuild with the `workerd` condition and run by Miniflare, and the
// published `smtpwire` bin as npm links it (the bundled CLI). Then
// @arethetypeswrong/cli and publint on the tarball. Prints one line per check and a closing
// "N passed, N failed"; exits non-zero on any failure. A missing tool is a failure.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';
import { findBun, findDeno } from '../runtimes/find-bin.mjs';
import { extractExamples, EXAMPLE_GLOBALS } from './doc-examples.mjs';
import { BUDGET_GZIP, CEILING_GZIP, RAW_WORKER, budgetProblems, measure } from '../../bench/bundle-cases.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MODULES = join(ROOT, 'node_modules');
const keep = process.argv.includes('--keep');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const tmp = mkdtempSync(join(tmpdir(), 'smtpwire-package-'));
let passed = 0;
let failed = 0;

function ok(name, detail = '') {
  passed++;
  console.log(`ok   ${name}${detail ? `  (${detail})` : ''}`);
}
function fail(name, err) {
  failed++;
  console.log(`FAIL ${name}: ${String(err?.stack ?? err).slice(0, 3000)}`);
}

/** Runs a command (asynchronously: the SMTP server lives in this process); rejects with its
 *  output when it fails. */
function run(cmd, args, cwd, env = {}) {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 180_000, maxBuffer: 1 << 26 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')} failed (${err.code ?? err.signal})\n${stdout}\n${stderr}`));
        else resolve(stdout + stderr);
      },
    );
  });
}

// ---- the server every consumer sends to -----------------------------------------------------

const received = new Map(); // consumer name -> raw message
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const name = /^X-Consumer: (\S+)/m.exec(raw)?.[1] ?? '?';
      received.set(name, { raw, from: session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address) });
      callback();
    });
  },
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const PORT = server.server.address().port;

/** The message each consumer sends: its name in a header, so the server can tell them apart. */
const message = (name) => `{ host: '127.0.0.1', port: ${PORT}, tls: 'none', from: 'app@example.com', to: ['user@example.org'],
    subject: 'from ${name}', text: 'hello', headers: { 'X-Consumer': '${name}' } }`;

function expectDelivered(name, output) {
  const got = received.get(name);
  if (!got) throw new Error(`the server received nothing from ${name}; its output:\n${output}`);
  if (got.from !== 'app@example.com' || got.to.join() !== 'user@example.org') throw new Error(`wrong envelope: ${JSON.stringify(got)}`);
  if (!/accepted/.test(output)) throw new Error(`the example did not report accepted:\n${output}`);
}

// ---- pack -----------------------------------------------------------------------------------

let tarball;
try {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const info = JSON.parse(out.slice(out.indexOf('[')))[0];
  tarball = join(tmp, info.filename);
  const files = info.files.map((f) => f.path);
  for (const must of [
    'LICENSE',
    'README.md',
    'docs/getting-started.md',
    'dist/bundle/transports/node.js',
    'dist/transports/node.d.ts',
    'dist/bundle/core/index.js',
  ]) {
    if (!files.includes(must)) throw new Error(`the tarball lacks ${must}`);
  }
  if (files.some((f) => f.startsWith('dist/test/') || f.startsWith('dist/bench/')))
    throw new Error('the tarball ships dist/test or dist/bench');
  // The library is served from dist/bundle/ (scripts/bundle-lib.mjs) and the CLI from its two
  // files (scripts/bundle-cli.mjs): tsc's module-by-module JavaScript is not shipped.
  const unbundled = files.filter(
    (f) => /^dist\/.*\.[cm]?js$/.test(f) && !f.startsWith('dist/bundle/') && !f.startsWith('dist/bin/smtpwire-cli'),
  );
  if (unbundled.length > 0) throw new Error(`the tarball ships JavaScript outside dist/bundle/: ${unbundled.slice(0, 5).join(', ')}`);
  ok(
    'npm pack',
    `${info.filename}: ${files.length} files, ${(info.size / 1024).toFixed(0)} kB packed, ${(info.unpackedSize / 1024).toFixed(0)} kB unpacked`,
  );
} catch (err) {
  fail('npm pack', err);
  finish();
}

/** A fresh project with the tarball installed, offline (the package has no dependencies). */
async function consumer(name, pkg, files, links = []) {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, private: true, ...pkg }, null, 2));
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', tarball], dir);
  // Tools come from the repo's node_modules, linked, not downloaded.
  for (const link of links) {
    mkdirSync(join(dir, 'node_modules', link, '..'), { recursive: true });
    symlinkSync(join(MODULES, link), join(dir, 'node_modules', link), 'dir');
  }
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

const wanted = (name) => only.length === 0 || only.some((o) => name.includes(o));

async function check(name, body) {
  if (!wanted(name)) return;
  try {
    const detail = await body();
    ok(name, detail);
  } catch (err) {
    fail(name, err);
  }
}

// ---- consumers ------------------------------------------------------------------------------

const ESM_EXAMPLE = (name) => `import { sendMail } from 'smtpwire';
const r = await sendMail(${message(name)});
console.log(r.outcome, r.reply?.code);
if (r.outcome !== 'accepted') process.exit(1);
`;

await check('node-esm', async () => {
  const dir = await consumer('node-esm', { type: 'module' }, { 'main.mjs': ESM_EXAMPLE('node-esm') });
  const out = await run(process.execPath, ['main.mjs'], dir);
  expectDelivered('node-esm', out);
  return `node ${process.version}`;
});

await check('node-cjs', async () => {
  const dir = await consumer(
    'node-cjs',
    { type: 'commonjs' },
    {
      'main.cjs': `const { sendMail, SmtpUsageError } = require('smtpwire');
const core = require('smtpwire/core');
if (typeof core.SmtpConnection !== 'function' || typeof SmtpUsageError !== 'function') throw new Error('require() gave incomplete exports');
// The public core leaves the building blocks to smtpwire/core/internal.
const internal = require('smtpwire/core/internal');
if ('sha256' in core || 'encodeBase64' in core || typeof internal.sha256 !== 'function' || typeof internal.ReplyParser !== 'function') throw new Error('smtpwire/core/internal is not where the building blocks are');
sendMail(${message('node-cjs')}).then((r) => {
  console.log(r.outcome, r.reply && r.reply.code);
  if (r.outcome !== 'accepted') process.exitCode = 1;
});
`,
    },
  );
  const out = await run(process.execPath, ['main.cjs'], dir);
  expectDelivered('node-cjs', out);
  return `require(esm), node ${process.version}`;
});

/** Strict TypeScript: the outcome switch must narrow (only rejected/unknown carry an error). */
const TS_EXAMPLE = (name) => `import { sendMail, type SendResult } from 'smtpwire';
import { SmtpConnection } from 'smtpwire/core';

function describe(r: SendResult): string {
  switch (r.outcome) {
    case 'accepted': return \`accepted \${r.reply?.code}\`;
    case 'rejected': return \`rejected, transient: \${r.error.transient}\`;
    case 'unknown': return \`unknown: \${r.error.message}\`;
  }
}
void SmtpConnection;
const r = await sendMail(${message(name)});
console.log(describe(r));
if (r.outcome !== 'accepted') process.exit(1);
`;
/** Must compile with no error: each expected error proves the types are real, not `any` (which
 *  is what TypeScript silently gives when it cannot read the declarations). */
const TYPE_PROBE = `import { sendMail, type SendResult } from 'smtpwire';
import type { RefusedCommand } from 'smtpwire/core';
import { sha256 } from 'smtpwire/core/internal';
declare const r: SendResult;
export const refused: RefusedCommand = 'RCPT';
// @ts-expect-error: RefusedCommand is a union of the refusable steps
export const notRefusable: RefusedCommand = 'QUIT';
export const digest: Uint8Array = sha256(new Uint8Array(0));
// @ts-expect-error: outcome is a string union, not a number
export const n: number = r.outcome;
if (r.outcome === 'accepted') {
  // @ts-expect-error: an accepted result has no error
  r.error.message;
}
// @ts-expect-error: host must be a string
void sendMail({ host: 1, from: 'a@example.com', to: 'b@example.com', subject: 's', text: 't' });
`;
const probeArgs = (moduleKind, resolution) => [
  '--noEmit',
  '--strict',
  '--target',
  'es2022',
  '--module',
  moduleKind,
  '--moduleResolution',
  resolution,
  '--types',
  'node',
  '--lib',
  'es2022',
  'probe.ts',
];
const TS_LINKS = ['typescript', '@types/node'];
const tsconfig = (moduleKind, resolution) =>
  JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: moduleKind,
      moduleResolution: resolution,
      strict: true,
      skipLibCheck: false,
      noEmitOnError: true,
      outDir: 'out',
      types: ['node'],
      lib: ['ES2022'],
    },
    include: ['main.ts'],
  });

await check('ts-nodenext', async () => {
  const examples = extractExamples(ROOT, ['README.md', 'docs/getting-started.md', 'docs/installing.md']);
  const files = {
    'main.ts': TS_EXAMPLE('ts-nodenext'),
    'probe.ts': TYPE_PROBE,
    'tsconfig.json': tsconfig('nodenext', 'nodenext'),
    'docs/globals.d.ts': EXAMPLE_GLOBALS,
  };
  for (const ex of examples) files[`docs/${ex.name}.ts`] = ex.code;
  files['docs/tsconfig.json'] = JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      noEmit: true,
      types: ['node'],
      lib: ['ES2022'],
    },
    include: ['*.ts'],
  });
  const dir = await consumer('ts-nodenext', { type: 'module' }, files, TS_LINKS);
  const tsc = join(dir, 'node_modules/typescript/bin/tsc');
  await run(process.execPath, [tsc, '-p', '.'], dir);
  const out = await run(process.execPath, ['out/main.js'], dir);
  expectDelivered('ts-nodenext', out);
  // The documentation's examples, each a module, against the installed package's types.
  await run(process.execPath, [tsc, '-p', 'docs'], dir);
  await run(process.execPath, [tsc, ...probeArgs('nodenext', 'nodenext')], dir);
  // The oldest TypeScript we state (docs/installing.md): 4.9, node16/nodenext resolution.
  const oldTs = process.env.SMTPWIRE_OLD_TS;
  if (!oldTs) throw new Error('SMTPWIRE_OLD_TS (TypeScript 4.9.5) is not set: run test/package/run.sh');
  const oldVersion = JSON.parse(readFileSync(join(oldTs, 'package.json'), 'utf8')).version;
  if (oldVersion !== '4.9.5') throw new Error(`SMTPWIRE_OLD_TS is TypeScript ${oldVersion}, not 4.9.5`);
  await run(process.execPath, [join(oldTs, 'bin/tsc'), ...probeArgs('nodenext', 'nodenext')], dir);
  return `tsc 4.9.5 and ${JSON.parse(readFileSync(join(MODULES, 'typescript/package.json'), 'utf8')).version}; ${examples.length} doc examples type-check`;
});

await check('ts-bundler', async () => {
  const dir = await consumer(
    'ts-bundler',
    { type: 'module' },
    { 'main.ts': TS_EXAMPLE('ts-bundler'), 'probe.ts': TYPE_PROBE, 'tsconfig.json': tsconfig('esnext', 'bundler') },
    TS_LINKS,
  );
  await run(process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), ...probeArgs('esnext', 'bundler')], dir);
  await run(process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), '-p', '.'], dir);
  const out = await run(process.execPath, ['out/main.js'], dir);
  expectDelivered('ts-bundler', out);
});

// The published bin (package.json "bin": the single-file CLI behind its compile-cache launcher,
// scripts/bundle-cli.mjs), as npm links it into node_modules/.bin.
await check('cli (node_modules/.bin/smtpwire)', async () => {
  const dir = await consumer(
    'cli',
    {},
    { 'msg.eml': 'From: app@example.com\r\nTo: user@example.org\r\nSubject: from cli\r\nX-Consumer: cli\r\n\r\nhello\r\n' },
  );
  const out = await run(
    'sh',
    [
      '-c',
      `node_modules/.bin/smtpwire send --server smtp+plain://127.0.0.1:${PORT} --from app@example.com --to user@example.org --json < msg.eml`,
    ],
    dir,
  );
  expectDelivered('cli', out);
  return (await run('node_modules/.bin/smtpwire', ['--version'], dir)).trim();
});

await check('deno', async () => {
  const deno = findDeno();
  const dir = await consumer(
    'deno',
    { type: 'module' },
    {
      'main.ts': `import { sendMail, denoTransport } from 'smtpwire';
if (denoTransport?.name !== 'deno') throw new Error('the deno condition did not pick the Deno entry');
${TS_EXAMPLE('deno').split('\n').slice(2).join('\n').replaceAll('process.exit', 'Deno.exit').replace('void SmtpConnection;', '')}`.replace(
        'function describe(r: SendResult)',
        'function describe(r: Awaited<ReturnType<typeof sendMail>>)',
      ),
    },
  );
  const env = { DENO_NO_UPDATE_CHECK: '1', DENO_DIR: join(tmp, 'deno-cache') };
  await run(deno, ['check', 'main.ts'], dir, env);
  const out = await run(deno, ['run', '--allow-net=127.0.0.1', '--allow-read', '--allow-env', 'main.ts'], dir, env);
  expectDelivered('deno', out);
  return (await run(deno, ['--version'], dir, env)).split('\n')[0];
});

await check('bun', async () => {
  const bun = findBun();
  const dir = await consumer(
    'bun',
    { type: 'module' },
    {
      'main.ts': ESM_EXAMPLE('bun').replace(
        "import { sendMail } from 'smtpwire';",
        `import { sendMail, bunTransport } from 'smtpwire';
if (bunTransport?.name !== 'bun') throw new Error('the bun condition did not pick the Bun entry');`,
      ),
    },
  );
  const out = await run(bun, ['main.ts'], dir, { BUN_INSTALL_CACHE_DIR: join(tmp, 'bun-cache') });
  expectDelivered('bun', out);
  return `bun ${(await run(bun, ['--version'], dir)).trim()}`;
});

await check('worker (miniflare)', async () => {
  const dir = await consumer(
    'worker',
    { type: 'module' },
    {
      'worker.mjs': `import { sendMail, workersTransport } from 'smtpwire';
export default {
  async fetch() {
    if (workersTransport?.name !== 'workers') return new Response('the workerd condition did not pick the Workers entry', { status: 500 });
    const r = await sendMail(${message('worker')});
    return new Response(\`\${r.outcome} \${r.reply?.code}\`);
  },
};
`,
    },
  );
  const esbuild = await import('esbuild');
  const built = await esbuild.build({
    entryPoints: [join(dir, 'worker.mjs')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker'],
    external: ['cloudflare:sockets', 'node:*'],
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const code = built.outputFiles[0].text;
  const { Miniflare } = await import('miniflare');
  const mf = new Miniflare({ modules: true, script: code, compatibilityDate: '2025-09-01' });
  try {
    const res = await mf.dispatchFetch('http://consumer.local/');
    const text = await res.text();
    expectDelivered('worker', text);
  } finally {
    await mf.dispose();
  }
  return `bundled by esbuild, ${(code.length / 1024).toFixed(1)} kB minified`;
});

// Issue 16's small bundles, from the installed tarball as a user's bundler resolves it: the
// Worker that sends one raw message (bench/bundle-cases.mjs RAW_WORKER) is measured and must
// hold no WebAssembly; the detector must flag a bundle that does take the scan; and the same
// lean Worker, pointed at the test server, must deliver under Miniflare.
await check('worker bundle (raw message, installed tarball)', async () => {
  const dir = await consumer('worker-raw', { type: 'module' }, {});
  const row = await measure(RAW_WORKER, dir);
  const problems = budgetProblems('the raw-message Worker', row, CEILING_GZIP);
  const scan = await measure(`import { simdScanner } from 'smtpwire/core';\nexport const s = simdScanner;`, dir);
  if (!scan.webAssembly) problems.push('the WebAssembly check did not flag a bundle that imports simdScanner');
  const sendable = await measure(
    `import { connect } from 'smtpwire';
export default { async fetch() {
  const client = await connect({ host: '127.0.0.1', port: ${PORT}, tls: 'none' });
  const r = await client.send({ from: 'app@example.com', to: ['user@example.org'], body: 'X-Consumer: worker-raw\\r\\nSubject: raw\\r\\n\\r\\nhello\\r\\n' });
  await client.close();
  return new Response(\`\${r.outcome} \${r.reply?.code}\`);
} };`,
    dir,
  );
  if (sendable.webAssembly) problems.push('the sendable raw-message Worker bundles WebAssembly');
  const { Miniflare } = await import('miniflare');
  const mf = new Miniflare({ modules: true, script: sendable.code, compatibilityDate: '2025-09-01' });
  try {
    const res = await mf.dispatchFetch('http://consumer.local/');
    expectDelivered('worker-raw', await res.text());
  } finally {
    await mf.dispose();
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  const kB = (n) => (n / 1024).toFixed(1);
  const goal = row.gzip <= BUDGET_GZIP ? 'met' : 'NOT met';
  return `${kB(row.gzip)} kB gzip / ${kB(row.minified)} kB minified (CI ceiling ${kB(CEILING_GZIP)} kB; issue 16's ${kB(BUDGET_GZIP)} kB budget ${goal}), no WebAssembly; delivered under Miniflare`;
});

await check('jsr (deno publish --dry-run)', async () => {
  const out = await run(findDeno(), ['publish', '--dry-run', '--allow-dirty'], ROOT, { DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' });
  if (!/Success/.test(out) || /warning/i.test(out)) throw new Error(out);
  return `${(out.match(/^\s+file:\/\//gm) ?? []).length} files, no warnings`;
});

// ---- attw and publint on the tarball ----------------------------------------------------------

await check('attw', async () => {
  // esm-only: the package is ES modules only; CommonJS users require() it (Node >= 20.19), which
  // attw's node16-cjs column flags as "CJS resolves to ESM" by design.
  const out = await run(
    process.execPath,
    [
      join(MODULES, '@arethetypeswrong/cli/dist/index.js'),
      tarball,
      '--profile',
      'esm-only',
      '--format',
      'table-flipped',
      '--no-color',
      '--no-emoji',
    ],
    tmp,
  );
  console.log(out.replace(/^/gm, '     '));
});

await check('publint', async () => {
  const out = await run(process.execPath, [join(MODULES, 'publint/src/cli.js'), 'run', tarball, '--strict'], tmp);
  console.log(out.replace(/^/gm, '     '));
});

finish();

function finish() {
  server.close();
  if (keep) console.log(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}
