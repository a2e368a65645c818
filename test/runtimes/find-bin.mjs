// Locates the runtime binaries that the npm packages `deno` and `bun` ship, whether or not their
// postinstall scripts ran (npm may skip install scripts):
//   deno: node_modules/deno/deno after its postinstall, else node_modules/@deno/<platform>/deno
//   bun:  node_modules/bun/bin/bun.exe once its postinstall replaced the placeholder,
//         else node_modules/@oven/bun-<platform>[-baseline|-musl]/bin/bun
// Usage as a script: node test/runtimes/find-bin.mjs deno|bun  (prints the path)
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const modules = join(root, 'node_modules');
/** The real binaries are tens of MB; the placeholders and JS shims are a few KB. */
const isBinary = (p) => existsSync(p) && statSync(p).isFile() && statSync(p).size > 1_000_000;

const os = process.platform === 'win32' ? 'windows' : process.platform;
const arch = process.arch === 'x64' ? 'x64' : process.arch === 'arm64' ? 'aarch64' : process.arch;

function first(candidates, what) {
  for (const p of candidates) if (isBinary(p)) return p;
  throw new Error(`${what} binary not found (looked in: ${candidates.map((p) => p.slice(root.length)).join(', ')}); run npm ci`);
}

function scoped(scope, prefix) {
  const dir = join(modules, scope);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.startsWith(prefix))
    .sort()
    .map((n) => join(dir, n));
}

export function findDeno() {
  const exe = process.platform === 'win32' ? 'deno.exe' : 'deno';
  const denoArch = process.arch === 'x64' ? 'x64' : 'arm64';
  const plat = { linux: `linux-${denoArch}-glibc`, darwin: `darwin-${denoArch}`, win32: `win32-${denoArch}` }[process.platform];
  return first(
    [join(modules, 'deno', exe), ...(plat ? [join(modules, '@deno', plat, exe)] : []), ...scoped('@deno', '').map((d) => join(d, exe))],
    'deno',
  );
}

export function findBun() {
  const exe = process.platform === 'win32' ? 'bun.exe' : 'bun';
  // The plain build first, then -baseline (older CPUs), then -musl (Alpine).
  const platDirs = scoped('@oven', `bun-${os}-${arch}`).sort((a, b) => a.length - b.length);
  return first([...platDirs.map((d) => join(d, 'bin', exe)), join(modules, 'bun', 'bin', 'bun.exe')], 'bun');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const which = process.argv[2];
  const find = { deno: findDeno, bun: findBun }[which];
  if (!find) {
    console.error('usage: node test/runtimes/find-bin.mjs deno|bun');
    process.exit(2);
  }
  console.log(find());
}
