// Proves the core bundles for a browser-like target with no Node built-ins:
// 1. static: walk the import graph of dist/core/index.js (TypeScript's scanner, so strings and
//    comments do not count) and fail on any `node:` or bare import, any import that leaves
//    dist/core/, and any free use of a Node-only global (process, Buffer, require, ...);
// 2. dynamic: load it in workerd WITHOUT nodejs_compat (a Web-standard isolate: no process,
//    no Buffer, no node:*), check those globals really are absent, and run a whole session
//    through the core entry (core-smoke.mjs) plus the core test files that need nothing but
//    the core (PURE_CORE_TESTS below: the RFC 5321/2920/3030/2033/3207/4954 session files, body,
//    address, compose, SMTPUTF8 envelope).
// Run alone (`node test/runtimes/browser-bundle.mjs`, after a build) or from run-workers.mjs.
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { ROOT, Tally } from './harness.mjs';
import { importsOf, walk } from './graph.mjs';

const CORE_DIR = join(ROOT, 'dist/core') + sep;
const NODE_GLOBALS = new Set(['process', 'Buffer', 'require', 'module', 'exports', '__dirname', '__filename', 'global', 'setImmediate']);
/** Core test files that import nothing but the core, the mock server, uvu and fast-check. */
const PURE_CORE_TESTS = [
  'rfc5321-session',
  'rfc2920-pipelining',
  'rfc3030-chunking',
  'rfc2033-lmtp',
  'rfc5321-esmtp-parameters',
  'rfc3207-starttls',
  'rfc4954-auth',
  'rfc5321-body',
  'rfc5321-address',
  'rfc5322-compose',
  'rfc6531-smtputf8-envelope',
];

/** Free uses of Node-only globals (not property names, not declarations). */
function nodeGlobals(file, source) {
  const found = [];
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const visit = (node) => {
    if (ts.isIdentifier(node) && NODE_GLOBALS.has(node.text)) {
      const p = node.parent;
      const isName =
        (ts.isPropertyAccessExpression(p) && p.name === node) ||
        ((ts.isPropertyAssignment(p) ||
          ts.isMethodDeclaration(p) ||
          ts.isPropertyDeclaration(p) ||
          ts.isVariableDeclaration(p) ||
          ts.isParameter(p) ||
          ts.isFunctionDeclaration(p)) &&
          p.name === node);
      if (!isName) {
        const { line } = sf.getLineAndCharacterOfPosition(node.getStart());
        found.push(`${relative(ROOT, file)}:${line + 1} uses ${node.text}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

const BUNDLE_DIR = join(ROOT, 'dist/bundle') + sep;

/** Static check of an import graph (by default dist/core's, tsc's output; the published
 *  dist/bundle/core/index.js with its shared chunks too) that must stay inside `within`;
 *  returns { modules, bytes, problems }. */
export function staticCheck(entry = join(CORE_DIR, 'index.js'), within = CORE_DIR) {
  const problems = [];
  const seen = new Set();
  const queue = [entry];
  let bytes = 0;
  while (queue.length > 0) {
    const file = queue.shift();
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    bytes += source.length;
    problems.push(...nodeGlobals(file, source));
    for (const { specifier } of importsOf(source)) {
      if (!specifier.startsWith('./') && !specifier.startsWith('../')) {
        problems.push(
          `${relative(ROOT, file)} imports '${specifier}' (${specifier.startsWith('node:') ? 'a Node built-in' : 'a bare specifier'})`,
        );
        continue;
      }
      const target = resolve(dirname(file), specifier);
      if (!target.startsWith(within)) problems.push(`${relative(ROOT, file)} imports ${specifier}, outside ${relative(ROOT, within)}`);
      else queue.push(target);
    }
  }
  return { modules: seen.size, bytes, problems };
}

/** Both checks, counted into `tally`. `Miniflare` is the class from the miniflare package. */
export async function checkBrowserBundle(tally, Miniflare) {
  try {
    statSync(join(CORE_DIR, 'index.js'));
  } catch {
    tally.step('browser bundle: dist/core/index.js exists (build first: npx tsc -p .)', false, '');
    return;
  }
  const { modules, bytes, problems } = staticCheck();
  tally.step(
    `browser bundle: dist/core import graph, ${modules} modules / ${(bytes / 1024).toFixed(0)} KiB, no node: or bare import, no Node global`,
    problems.length === 0,
    problems.join('\n'),
  );
  // What the package serves as smtpwire/core (scripts/bundle-lib.mjs): its shared chunks must
  // not bring in what another entry of the same build imports.
  const published = join(BUNDLE_DIR, 'core/index.js');
  let bundled;
  try {
    bundled = staticCheck(published, BUNDLE_DIR);
  } catch (err) {
    bundled = { modules: 0, bytes: 0, problems: [`${relative(ROOT, published)}: ${err.message} (npm run build)`] };
  }
  tally.step(
    `browser bundle: dist/bundle/core/index.js (published) import graph, ${bundled.modules} files / ${(bundled.bytes / 1024).toFixed(0)} KiB, no node: or bare import, no Node global`,
    bundled.problems.length === 0,
    bundled.problems.join('\n'),
  );

  const entry = join(ROOT, 'test/runtimes/worker-entry.mjs');
  const files = [join(ROOT, 'test/runtimes/core-smoke.mjs'), ...PURE_CORE_TESTS.map((n) => join(ROOT, 'dist/test', `${n}.test.js`))];
  let graph;
  try {
    // No `external`: a node: import anywhere in these graphs fails the walk itself.
    graph = walk([entry, ...files], { conditions: ['worker', 'browser', 'import'] });
  } catch (err) {
    tally.step('browser bundle: module graph for workerd', false, String(err));
    return;
  }
  const mf = new Miniflare({
    modules: [...graph].map(([path, contents]) => ({ type: 'ESModule', path, contents })),
    modulesRoot: ROOT,
    compatibilityDate: '2025-09-01',
    compatibilityFlags: [], // deliberately no nodejs_compat
  });
  try {
    await mf.ready;
    const globals = await (await mf.dispatchFetch('http://test.local/globals')).json();
    const present = Object.entries(globals).filter(([, t]) => t !== 'undefined');
    tally.step(
      'browser bundle: workerd without nodejs_compat has no Node globals',
      present.length === 0,
      `present: ${JSON.stringify(present)}`,
    );
    for (const file of files) {
      const spec = './' + relative(dirname(entry), file).split(sep).join('/');
      const started = performance.now();
      const r = await (await mf.dispatchFetch(`http://test.local/core?file=${encodeURIComponent(spec)}`)).json();
      tally.add(`workerd (no nodejs_compat) ${relative(ROOT, file)}`, r.output, r.ok, (performance.now() - started) / 1000);
    }
  } finally {
    await mf.dispose();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { Miniflare } = await import('miniflare');
  const tally = new Tally();
  await checkBrowserBundle(tally, Miniflare);
  tally.finish();
}
