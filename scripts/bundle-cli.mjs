#!/usr/bin/env node
// The published CLI as one file: dist/bin/smtpwire-cli.js, bundled by esbuild from tsc's
// dist/bin/smtpwire.js (run by `npm run build` after tsc, hence by prepack and `npm test`).
// Why: a one-off `smtpwire send` spent more time resolving, reading and compiling ~100 ES
// modules than sending (docs/performance.md, start-up). One file, minified, starts in about
// half the extra time. package.json's bin points here; dist/bin/smtpwire.js stays as tsc
// emitted it (the same program, module by module).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
await build({
  entryPoints: [`${root}dist/bin/smtpwire.js`],
  outfile: `${root}dist/bin/smtpwire-cli.js`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  // Minified: V8 pre-parses every function of the file at start-up, and the short names and
  // dropped whitespace cut that pass (measured: ~1.6x `node -e 0` against ~2x unminified).
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
