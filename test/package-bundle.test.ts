// The package serves dist/bundle/ (scripts/bundle-lib.mjs: every entry of package.json "exports"
// built by esbuild in one build with shared chunks), while every other suite runs tsc's modules.
// Here: the bundle exports what tsc's module of the same entry exports, one object per name
// across entries (a class exists once: an error thrown through `smtpwire` is an instanceof the
// class from `smtpwire/core`), and the Node entry, imported by name as a user does (package
// self-reference through "exports"), delivers a message to an independent server.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exitWhenDone } from './exit-when-done.ts';
import { startServer } from './smtp-server-fixture.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { main: string; exports: Record<string, unknown> };

type Conditions = string | { [condition: string]: Conditions };
/** Every JavaScript file an export serves, by condition path ("node", "workerd", "." ...). */
function served(node: Conditions, path = ''): [string, string][] {
  if (typeof node === 'string') return node.endsWith('.d.ts') ? [] : [[path, node]];
  return Object.entries(node).flatMap(([k, v]) => served(v, k === 'types' ? '' : `${path}/${k}`));
}
const SUBPATHS = Object.keys(pkg.exports).filter((s) => s !== './package.json');
const specifier = (sub: string) => `smtpwire${sub.slice(1)}`;
/** What Node picks for a subpath (the `node` condition, else `default`). */
function nodeTarget(sub: string): string {
  const t = pkg.exports[sub] as Conditions;
  if (typeof t === 'string') return t;
  const pick = (t.node ?? t.default) as Conditions;
  return typeof pick === 'string' ? pick : (pick.default as string);
}

/** Export names of a module and everything it re-exports (esbuild's metafile). */
async function exportNames(file: string): Promise<string[]> {
  const r = await esbuild.build({
    entryPoints: [file],
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'neutral',
    outdir: '/nonexistent',
    external: ['node:*', 'cloudflare:sockets'],
    logLevel: 'silent',
  });
  return [...Object.values(r.metafile.outputs)[0]!.exports].sort();
}

test('every JavaScript target of package.json is a bundle, present, exporting what tsc emitted for it', async () => {
  const all = [...SUBPATHS.flatMap((s) => served(pkg.exports[s] as Conditions)), ['main', pkg.main] as [string, string]];
  assert.ok(all.length >= 20, `only ${all.length} targets`);
  for (const [cond, target] of all) {
    assert.ok(target.startsWith('./dist/bundle/'), `${cond}: ${target} is not under dist/bundle/`);
    assert.ok(existsSync(`${ROOT}${target}`), `${target} is missing: npm run build`);
    const tsc = `${ROOT}${target.replace('./dist/bundle/', 'dist/')}`;
    const [bundled, emitted] = await Promise.all([exportNames(`${ROOT}${target}`), exportNames(tsc)]);
    assert.ok(emitted.length > 0, tsc);
    assert.equal(bundled, emitted, `${target} exports differ from ${tsc}`);
  }
});

test("the same object identities across entries as tsc's modules (no class twice)", async () => {
  // tsc's output is one module graph, each module once: where two entries export the same object
  // there, the bundle must too (a duplicated class would break instanceof); where they differ
  // there (connect, bound per runtime), they differ in the bundle as well.
  const seen = new Map<string, { bundled: unknown; emitted: unknown; from: string }>();
  let same = 0;
  for (const sub of SUBPATHS) {
    const target = nodeTarget(sub);
    if (target.includes('/workers.js')) continue; // imports cloudflare:sockets
    const bundled = (await import(specifier(sub))) as Record<string, unknown>;
    const emitted = (await import(`${ROOT}${target.replace('./dist/bundle/', 'dist/')}`)) as Record<string, unknown>;
    for (const name of Object.keys(bundled)) {
      const first = seen.get(name);
      if (!first) {
        seen.set(name, { bundled: bundled[name], emitted: emitted[name], from: sub });
        continue;
      }
      const shouldBeSame = first.emitted === emitted[name];
      if (shouldBeSame) same++;
      assert.is(
        first.bundled === bundled[name],
        shouldBeSame,
        `${name} from ${specifier(sub)} and from ${specifier(first.from)}: ${shouldBeSame ? "one object in tsc's output, two in the bundle" : "two in tsc's output, one in the bundle"}`,
      );
    }
  }
  assert.ok(same > 50, `only ${same} names shared between entries: is the list of entries right?`);
});

test('an error thrown through `smtpwire` is an instanceof the class of `smtpwire/core`', async () => {
  const lib = (await import(specifier('.'))) as { connect(o: unknown): Promise<unknown> };
  const core = (await import(specifier('./core'))) as { SmtpUsageError: new () => Error; SmtpError: new () => Error };
  const err = await lib.connect({ host: '127.0.0.1', port: 1, tls: 'sometimes' }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof core.SmtpUsageError, String(err));
  assert.ok(err instanceof core.SmtpError);
});

test('`smtpwire` (the Node bundle, imported by name) delivers a message to smtp-server', async () => {
  const server = await startServer();
  try {
    const lib = (await import(specifier('.'))) as {
      sendMail(o: unknown): Promise<{ outcome: string }>;
    };
    const r = await lib.sendMail({
      host: '127.0.0.1',
      port: server.port,
      tls: 'none',
      from: 'app@example.com',
      to: 'user@example.org',
      subject: 'from the bundle',
      text: 'hello',
    });
    assert.is(r.outcome, 'accepted');
    assert.is(server.messages.length, 1);
    assert.match(server.messages[0]!.body.toString('utf8'), 'Subject: from the bundle');
  } finally {
    await server.close();
  }
});

exitWhenDone(test);
test.run();
