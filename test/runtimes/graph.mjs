// A tiny ES module graph walker and "bundler": follows every static and dynamic import from a
// set of entry files, resolves relative paths and bare package names (package.json "exports"
// with the given conditions, then "module"/"main"), and returns each module's source with its
// bare imports rewritten to relative paths, ready for Miniflare's `modules` list (no bundler
// needed: workerd resolves relative imports between the modules it is given).
// Import specifiers come from TypeScript's scanner (ts.preProcessFile), so an import-looking
// string or comment is not mistaken for an import.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** Specifiers of every import/export-from/dynamic import in `source`, with their offsets. */
export function importsOf(source) {
  const { importedFiles } = ts.preProcessFile(source, true, true);
  return importedFiles.map((f) => {
    // pos is the opening quote; the specifier text follows it.
    let start = f.pos + 1;
    if (source.slice(start, start + f.fileName.length) !== f.fileName) start = source.indexOf(f.fileName, f.pos);
    return { specifier: f.fileName, start, end: start + f.fileName.length };
  });
}

function isFile(p) {
  return existsSync(p) && statSync(p).isFile();
}

/** Pick a target from a package.json "exports" value for these conditions. */
function pickExport(value, conditions) {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    for (const v of value) {
      const hit = pickExport(v, conditions);
      if (hit) return hit;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'default' || conditions.includes(key)) {
        const hit = pickExport(v, conditions);
        if (hit) return hit;
      }
    }
  }
  return undefined;
}

function resolvePackage(specifier, fromFile, conditions) {
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  const subpath = '.' + specifier.slice(name.length);
  for (let dir = dirname(fromFile); ; dir = dirname(dir)) {
    const pkgDir = join(dir, 'node_modules', name);
    if (isFile(join(pkgDir, 'package.json'))) {
      const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
      let target;
      if (pkg.exports !== undefined) {
        const exp = pkg.exports;
        const map = typeof exp === 'string' || Array.isArray(exp) || !Object.keys(exp).some((k) => k.startsWith('.')) ? { '.': exp } : exp;
        if (map[subpath] !== undefined) target = pickExport(map[subpath], conditions);
        else {
          for (const [key, v] of Object.entries(map)) {
            if (key.endsWith('*') && subpath.startsWith(key.slice(0, -1))) {
              const t = pickExport(v, conditions);
              if (t) target = t.replace('*', subpath.slice(key.length - 1));
            }
          }
        }
      } else if (subpath === '.') target = pkg.module ?? pkg.main ?? 'index.js';
      else target = subpath;
      if (!target) throw new Error(`cannot resolve ${specifier} (from ${fromFile}): no export for ${subpath}`);
      const file = join(pkgDir, target);
      if (isFile(file)) return file;
      if (isFile(file + '.js')) return file + '.js';
      throw new Error(`cannot resolve ${specifier} (from ${fromFile}): ${file} does not exist`);
    }
    if (dirname(dir) === dir) throw new Error(`cannot resolve ${specifier} (from ${fromFile}): package not found`);
  }
}

/**
 * Walk the graph from `entries` (absolute paths). `external(specifier)` says which specifiers
 * stay as they are (e.g. node:*, cloudflare:*); `onBare(specifier, from)` is called for each
 * bare or builtin specifier met (return false to refuse it: the walk then throws). Returns
 * Map<absolute path, rewritten source>.
 */
export function walk(entries, { conditions = ['import'], external = () => false, sources = new Map() } = {}) {
  const out = new Map();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.shift();
    if (out.has(file)) continue;
    let source = sources.get(file) ?? readFileSync(file, 'utf8');
    const edits = [];
    for (const imp of importsOf(source)) {
      const spec = imp.specifier;
      if (external(spec, file)) continue;
      let target;
      if (spec.startsWith('./') || spec.startsWith('../') || spec.startsWith('/')) {
        target = resolve(dirname(file), spec);
        if (!sources.has(target) && !isFile(target)) throw new Error(`cannot resolve ${spec} from ${file}`);
      } else {
        target = resolvePackage(spec, file, conditions);
        let rel = relative(dirname(file), target).split(sep).join('/');
        if (!rel.startsWith('.')) rel = './' + rel;
        edits.push({ start: imp.start, end: imp.end, text: rel });
      }
      queue.push(target);
    }
    for (const e of edits.sort((a, b) => b.start - a.start)) source = source.slice(0, e.start) + e.text + source.slice(e.end);
    out.set(file, source);
  }
  return out;
}
