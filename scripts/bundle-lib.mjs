#!/usr/bin/env node
// The library as the package serves it: every JavaScript target of package.json "exports" (and
// "main") under dist/bundle/ is built by esbuild from tsc's output of the same path without the
// `bundle/` (dist/bundle/transports/node.js <- dist/transports/node.js), all entries in ONE build
// with code splitting: a module used by several entries lives in exactly one shared chunk
// (dist/bundle/chunks/), so each class exists once and `instanceof` / identity hold across
// `smtpwire`, `smtpwire/core`, `smtpwire/testing`... (checked below from esbuild's metafile).
// Run by `npm run build` after tsc (hence by prepack and `npm test`).
//
// Why: importing `smtpwire` was ~80 ES modules, and Node resolves, reads, compiles and links each
// one (docs/performance.md, start-up). Not minified: the stack traces a user sees stay readable
// (same names and line structure as the sources). ESM, platform neutral (the same files serve
// Node, Deno, Bun and Workers); Node's built-ins and `cloudflare:sockets` stay imports. The
// declarations stay tsc's (package.json "types" conditions point at dist/**.d.ts).
import { build } from 'esbuild';
import ts from 'typescript';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const OUT = 'dist/bundle/';

/** Every string leaf of an exports/conditions tree that is not a declaration file. */
function targets(node) {
  if (typeof node === 'string') return node.endsWith('.d.ts') ? [] : [node];
  if (node === null || typeof node !== 'object') return [];
  return Object.values(node).flatMap(targets);
}
const served = [...new Set([...targets(pkg.exports), pkg.main].map((t) => t.replace(/^\.\//, '')))].filter((t) => t.endsWith('.js'));
const entries = served.map((t) => {
  if (!t.startsWith(OUT)) throw new Error(`package.json serves ${t}, outside ${OUT}: every JavaScript entry must be a bundle`);
  const from = join(root, 'dist', t.slice(OUT.length));
  if (!existsSync(from)) throw new Error(`${t}: its source ${relative(root, from)} is missing (run tsc first)`);
  return from;
});

/**
 * Tree-shaking through shared chunks. Unbundled, a bundler drops a whole unused module of ours
 * ("sideEffects": false). In a chunk, many modules are one file, and a user's bundler keeps
 * every top-level statement of a chunk it imports from unless it can prove the statement pure:
 * `const T = Object.freeze({...})`, `const re = new RegExp(...)`, a table built by a call... are
 * not provably pure, and each kept one keeps what it references (measured: the raw-message
 * Worker went from 28 to 60 kB gzip, with the WebAssembly scan, DKIM and the proxies in it). So
 * each top-level `const`/`let`/`var` initializer that is not plainly pure is marked as such:
 * `const T = /* @__PURE__ *\/ (() => Object.freeze({...}))();` (the same value, computed at the
 * same point). That is what "sideEffects": false already promises for a module, taken to the
 * statement: a top-level declaration of ours only defines its binding, so an unused one may go.
 * (esbuild, Rollup, webpack/terser all honour the annotation.)
 */
function pureTopLevel() {
  const plain = (e) =>
    ts.isLiteralExpression(e) ||
    ts.isNoSubstitutionTemplateLiteral(e) ||
    ts.isArrowFunction(e) ||
    ts.isFunctionExpression(e) ||
    e.kind === ts.SyntaxKind.TrueKeyword ||
    e.kind === ts.SyntaxKind.FalseKeyword ||
    e.kind === ts.SyntaxKind.NullKeyword ||
    (ts.isPrefixUnaryExpression(e) && ts.isNumericLiteral(e.operand)) ||
    (ts.isArrayLiteralExpression(e) && e.elements.every(plain)) ||
    (ts.isObjectLiteralExpression(e) &&
      e.properties.every((p) => ts.isPropertyAssignment(p) && !ts.isComputedPropertyName(p.name) && plain(p.initializer)));
  return {
    name: 'pure-top-level',
    setup(b) {
      b.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        const sf = ts.createSourceFile(args.path, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
        const edits = [];
        for (const st of sf.statements) {
          if (!ts.isVariableStatement(st)) continue;
          for (const d of st.declarationList.declarations) {
            if (d.initializer && !plain(d.initializer)) edits.push(d.initializer);
          }
        }
        let out = text;
        for (const e of edits.reverse()) {
          // A call or `new` whose arguments are plain takes the annotation itself (no wrapper
          // left in a minified bundle); anything else is wrapped in an annotated arrow call.
          const direct =
            (ts.isCallExpression(e) || ts.isNewExpression(e)) && (e.arguments ?? []).every((a) => plain(a) || ts.isIdentifier(a));
          const marked = direct ? `/* @__PURE__ */ ${e.getText(sf)}` : `/* @__PURE__ */ (() => (${e.getText(sf)}))()`;
          out = `${out.slice(0, e.getStart(sf))}${marked}${out.slice(e.getEnd())}`;
        }
        return { contents: out, loader: 'js' };
      });
    },
  };
}

rmSync(join(root, OUT), { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: entries,
  outbase: join(root, 'dist'),
  outdir: join(root, OUT),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  external: ['node:*', 'cloudflare:sockets'],
  chunkNames: 'chunks/[name]-[hash]',
  plugins: [pureTopLevel()],
  metafile: true,
  logLevel: 'warning',
});

// Each source module in exactly one output file: two copies of a module would be two classes.
const seen = new Map();
for (const [out, info] of Object.entries(result.metafile.outputs)) {
  for (const input of Object.keys(info.inputs)) {
    if (seen.has(input)) throw new Error(`${input} is in both ${seen.get(input)} and ${out}: a class would exist twice`);
    seen.set(input, out);
  }
}
const files = Object.keys(result.metafile.outputs).length;
console.log(`bundle-lib: ${entries.length} entries, ${files - entries.length} shared chunks, ${seen.size} modules in ${OUT}`);
