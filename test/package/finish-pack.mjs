// prepack's last step, after a clean build:
// 1. The emitted .d.ts files keep the sources' `.ts` import specifiers (tsc rewrites them in the
//    .js only). TypeScript before 5.0 cannot resolve those and silently types the whole package as
//    `any`; with `.js` specifiers TypeScript 4.7+ (node16/nodenext) reads the same declarations.
// 2. Every file package.json points at (exports, main, types, bin) must exist, so `npm pack`
//    fails loudly instead of shipping a package without its dist/.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

// Relative specifiers only: `from './x.ts'`, `import('../y.ts')`.
const TS_SPECIFIER = /((?:\bfrom|\bimport\()\s*['"]\.{1,2}\/[^'"\n]*?)\.ts(['"])/g;
let rewritten = 0;
function fixDeclarations(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) fixDeclarations(path);
    else if (entry.name.endsWith('.d.ts')) {
      const text = readFileSync(path, 'utf8');
      const fixed = text.replace(TS_SPECIFIER, '$1.js$2');
      if (fixed !== text) {
        writeFileSync(path, fixed);
        rewritten++;
      }
    }
  }
}
// The shipped dist/ folders: "dist/core/**/*.d.ts" -> dist/core (files such as the CLI's are not
// folders; dist/bundle has no .d.ts).
const shipped = new Set(pkg.files.filter((f) => f.startsWith('dist/')).map((f) => f.split('/*')[0]));
for (const dir of shipped) if (existsSync(join(root, dir)) && statSync(join(root, dir)).isDirectory()) fixDeclarations(join(root, dir));

/** Every string leaf of an exports/conditions tree. */
function targets(node) {
  if (typeof node === 'string') return [node];
  if (node === null || typeof node !== 'object') return [];
  return Object.values(node).flatMap(targets);
}
const wanted = new Set([...targets(pkg.exports), pkg.main, pkg.types, ...targets(pkg.bin ?? {})].filter(Boolean));
const missing = [...wanted].filter((t) => !existsSync(join(root, t)));
if (missing.length > 0) {
  console.error(`package.json points at files the build did not produce:\n  ${missing.join('\n  ')}`);
  process.exit(1);
}
console.log(`finish-pack: .ts specifiers rewritten in ${rewritten} declaration files; ${wanted.size} package.json targets present`);
