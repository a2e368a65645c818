// prepack's last step: every file package.json points at (exports, main, types, bin) exists after
// the build, so `npm pack` fails loudly instead of shipping a package without its dist/.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Every string leaf of an exports/conditions tree. */
function targets(node) {
  if (typeof node === 'string') return [node];
  if (node === null || typeof node !== 'object') return [];
  return Object.values(node).flatMap(targets);
}

const wanted = [
  ...targets(pkg.exports),
  ...[pkg.main, pkg.types].filter(Boolean),
  ...targets(pkg.bin ?? {}),
];
const missing = [...new Set(wanted)].filter((t) => !existsSync(join(root, t)));
if (missing.length > 0) {
  console.error(`package.json points at files the build did not produce:\n  ${missing.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-exports: ${new Set(wanted).size} targets present`);
