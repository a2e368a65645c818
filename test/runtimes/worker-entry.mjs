// The worker that runs tests inside workerd (Miniflare), loaded by run-workers.mjs with the
// compiled core test files, the compiled Workers transport and the interop suite as modules.
//   GET /core?file=<module path relative to this file>   one core test file
//   GET /interop                                        the interop set through transports/workers
//   GET /globals                                        typeof each Node-only global
// Each request answers { ok, output } with uvu's report. Sockets belong to the request that
// opened them, so the whole interop set runs inside one request.

// uvu prints with the console.log it finds when it is first imported: capture it from here on.
const out = [];
console.log = (...args) => {
  out.push(args.map(String).join(' '));
};

// Held in a variable, not written as import('...'), so the module-graph walk of a worker
// that has no interop route (browser-bundle.mjs) does not pull them in; run-workers.mjs adds
// them as entries.
const INTEROP_MODULES = {
  transport: '../../dist/transports/workers.js',
  suite: './interop.js',
  message: '../../dist/message/index.js',
  proxy: '../../dist/client/proxies.js',
};

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    out.length = 0;
    if (url.pathname === '/globals') {
      // Which Node-only globals this isolate has (none, without nodejs_compat).
      const names = ['process', 'Buffer', 'require', 'module', '__dirname', 'setImmediate', 'global'];
      return Response.json(Object.fromEntries(names.map((n) => [n, typeof globalThis[n]])));
    }
    try {
      // uvu's deferred mode: files register their suites; exec() below runs them and reports.
      globalThis.UVU_DEFER = 1;
      globalThis.UVU_INDEX = 0;
      globalThis.UVU_QUEUE = [[url.pathname]];
      const uvu = await import('uvu');
      if (url.pathname === '/core') {
        globalThis.SMTPWIRE_PROPERTY_SEED = env.SMTPWIRE_PROPERTY_SEED || undefined; // read by test/fc.ts
        await import(url.searchParams.get('file'));
      } else if (url.pathname === '/interop') {
        const config = { ...JSON.parse(env.CONFIG), file: undefined }; // no files in a Worker
        const workers = await import(INTEROP_MODULES.transport);
        const { registerInterop } = await import(INTEROP_MODULES.suite);
        // The Worker entry leaves proxies and message building from options out (small
        // bundles): the suite opts in the way docs/runtime-workers.md tells an application to.
        const { proxies } = await import(INTEROP_MODULES.proxy);
        const { messages } = await import(INTEROP_MODULES.message);
        const optIn = (options) => ({ proxies, messages, ...options });
        const runtime = {
          name: 'workerd',
          connect: (options) => workers.connect(optIn(options)),
          createPool: (options) => workers.createPool(optIn(options)),
          sendMail: (options) => workers.sendMail(optIn(options)),
          trust: {}, // Workers cannot take a CA: the harness makes workerd trust the test CA
          tlsHost: env.TLS_HOST,
          transport: workers.workersTransport,
          buildMessage: (await import(INTEROP_MODULES.message)).buildMessage,
        };
        registerInterop(uvu.test, runtime, config);
        workersOnly(uvu.test, workers, config, await import('uvu/assert'));
        uvu.test.run();
      } else {
        return new Response('not found', { status: 404 });
      }
      await uvu.exec();
      return Response.json({ ok: true, output: out.join('\n') });
    } catch (err) {
      return Response.json({ ok: false, output: `${out.join('\n')}\n${err?.stack ?? err}` });
    }
  },
};

/** What only the Workers entry points do: refuse a custom CA, default to port 587. */
function workersOnly(test, workers, config, assert) {
  test('workerd: a custom CA is a usage error (Workers cannot take one)', async () => {
    try {
      await workers.connect({ host: config.host, port: config.ports.plain, tls: 'none', ca: config.ca });
      assert.unreachable('connect should have failed');
    } catch (err) {
      assert.is(err.code, 'EUSAGE', String(err));
    }
  });
  test('workerd: a proxy without the opt-in is a usage error that names the import', async () => {
    try {
      await workers.connect({
        host: config.host,
        port: config.ports.plain,
        tls: 'none',
        proxy: `socks5://127.0.0.1:${config.ports.socks5}`,
      });
      assert.unreachable('connect should have failed');
    } catch (err) {
      assert.is(err.code, 'EUSAGE', String(err));
      assert.match(err.message, "import { proxies } from 'smtpwire/proxy'");
    }
  });
  test('workerd: the port defaults to 587, not 25 (blocked on Cloudflare)', async () => {
    const log = [];
    try {
      const client = await workers.connect({
        host: config.host,
        tls: 'none',
        timeouts: { connect: 5000 },
        logger: (e) => log.push(e.text),
      });
      client.abort();
    } catch {
      // nothing listens on 587 here; the log says where it tried
    }
    assert.ok(
      log.some((line) => line.includes(`${config.host}:587`)),
      log.join(' | '),
    );
  });
}
