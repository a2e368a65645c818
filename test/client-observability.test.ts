// Observability hooks: the events a session emits (opened, closed, TLS, AUTH, every settled
// message), and docs/observability.md's OpenTelemetry module, extracted from the page and run
// against the real OpenTelemetry SDK with in-memory exporters.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { metrics, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exitWhenDone } from './exit-when-done.ts';
import { startSim } from './smtp-sim.ts';
import { connect, createPool, type SmtpObserver } from '../transports/node.ts';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const fixtures = new URL('../../test/fixtures/', import.meta.url);
const key = readFileSync(new URL('server.key', fixtures));
const cert = readFileSync(new URL('server.crt', fixtures));
const msg = (i: number, extra = '') => ({
  from: 'a@example.com',
  to: 'b@example.com',
  body: `Subject: m${i}\r\n\r\nmessage ${i}${extra}\r\n`,
});

function recorder() {
  const events: { hook: string; e: any }[] = [];
  const observe: SmtpObserver = {
    connectionOpened: (e) => events.push({ hook: 'opened', e }),
    connectionClosed: (e) => events.push({ hook: 'closed', e }),
    tls: (e) => events.push({ hook: 'tls', e }),
    auth: (e) => events.push({ hook: 'auth', e }),
    messageSettled: (e) => events.push({ hook: 'message', e }),
  };
  return { events, observe, hooks: () => events.map((x) => x.hook) };
}

test('a session over STARTTLS with AUTH: tls, auth, opened, one event per message, closed', async () => {
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    key,
    cert,
    authMethods: ['PLAIN'],
    onAuth: (auth, _s, cb) => (auth.password === 'pw' ? cb(null, { user: 'u' }) : cb(new Error('no'))),
    onRcptTo: (a, _s, cb) => (a.address.startsWith('no') ? cb(Object.assign(new Error('no such user'), { responseCode: 550 })) : cb()),
    onData: (stream, _s, cb) => {
      stream.resume();
      stream.on('end', () => cb(null));
    },
  });
  server.on('error', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  const r = recorder();
  // The fixture certificate names localhost.
  const client = await connect({
    host: '127.0.0.1',
    port,
    ca: cert.toString(),
    servername: 'localhost',
    auth: { user: 'u', pass: 'pw' },
    observe: r.observe,
  });
  const ok = await client.send(msg(1));
  const refused = await client.send({ ...msg(2), to: 'nobody@example.com' });
  await client.close();
  await new Promise<void>((res) => server.close(() => res()));
  assert.is(ok.outcome, 'accepted');
  assert.is(refused.outcome, 'rejected');
  assert.equal(r.hooks(), ['tls', 'auth', 'opened', 'message', 'message', 'closed']);
  const [tls, auth, opened, m1, m2, closed] = r.events.map((x) => x.e);
  assert.is(tls.mode, 'starttls');
  assert.ok(tls.ok && tls.durationMs >= 0);
  assert.equal([auth.mechanism, auth.ok, auth.refreshed], ['PLAIN', true, false]);
  assert.ok(opened.secure && opened.authenticated && opened.setupMs >= 0);
  assert.equal([m1.outcome, m1.code, m1.accepted, m1.bytes], ['accepted', 250, 1, msg(1).body.length]);
  assert.equal([m2.outcome, m2.code, m2.rejected], ['rejected', 550, 1]);
  assert.ok(m1.startedAt <= Date.now() && m1.durationMs >= 0);
  assert.is(closed.error, undefined);
  assert.equal(closed.messages, { accepted: 1, rejected: 1, unknown: 0 });
  const ids = new Set(r.events.map((x) => x.e.connection.id));
  assert.is(ids.size, 1);
  assert.not.ok(JSON.stringify(r.events.map((x) => ({ ...x.e, capabilities: undefined, result: undefined }))).includes('"pw"'));
});

test('implicit TLS: reported with its duration; a certificate failure is a failed tls event and a closed session that never opened', async () => {
  const server = new SMTPServer({ logger: false, disableReverseLookup: true, secure: true, key, cert, authOptional: true });
  server.on('error', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  const ok = recorder();
  const client = await connect({
    host: '127.0.0.1',
    port,
    tls: 'implicit',
    ca: cert.toString(),
    servername: 'localhost',
    observe: ok.observe,
  });
  await client.close();
  assert.equal(ok.hooks(), ['tls', 'opened', 'closed']);
  assert.equal([ok.events[0]!.e.mode, ok.events[0]!.e.ok], ['implicit', true]);
  const bad = recorder();
  const err = await connect({ host: '127.0.0.1', port, tls: 'implicit', observe: bad.observe }).catch((e) => e);
  assert.is(err.code, 'ETLS');
  assert.equal(bad.hooks(), ['tls', 'closed']);
  assert.equal([bad.events[0]!.e.ok, bad.events[0]!.e.error.code], [false, 'ETLS']);
  assert.is(bad.events[1]!.e.opened, false);
  await new Promise<void>((res) => server.close(() => res()));
});

test('a failed AUTH and a refused connection are reported; a throwing hook breaks nothing', async () => {
  const srv = await startSim({ auth: { mechanisms: ['PLAIN'], pass: () => 'right' } });
  const r = recorder();
  const err = await connect({
    host: '127.0.0.1',
    port: srv.port,
    tls: 'none',
    allowInsecureAuth: true,
    auth: { user: 'u', pass: 'wrong' },
    observe: r.observe,
  }).catch((e) => e);
  assert.is(err.code, 'EAUTH');
  await sleep(20);
  assert.equal(r.hooks(), ['auth', 'closed']);
  assert.equal([r.events[0]!.e.ok, r.events[0]!.e.mechanism, r.events[0]!.e.error.code], [false, 'PLAIN', 'EAUTH']);
  assert.equal([r.events[1]!.e.opened, r.events[1]!.e.error.code], [false, 'EAUTH']);

  const boom: SmtpObserver = {
    connectionOpened() {
      throw new Error('exporter down');
    },
    messageSettled() {
      throw new Error('exporter down');
    },
  };
  const client = await connect({ host: '127.0.0.1', port: srv.port, tls: 'none', observe: boom });
  assert.is((await client.send(msg(1))).outcome, 'accepted');
  await client.close();
  await srv.close();
});

test('unknown outcomes are reported as such (the link dropped after the end was written)', async () => {
  const srv = await startSim({ onMessage: (m) => (m.body.includes('drop') ? 'drop' : '250 2.0.0 ok') });
  const r = recorder();
  const client = await connect({ host: '127.0.0.1', port: srv.port, tls: 'none', observe: r.observe });
  const res = await client.send(msg(1, ' drop'));
  assert.is(res.outcome, 'unknown');
  await client.close();
  const m = r.events.find((x) => x.hook === 'message')!.e;
  assert.is(m.outcome, 'unknown');
  assert.is(m.code, undefined);
  const closed = r.events.find((x) => x.hook === 'closed')!.e;
  assert.is(closed.error.code, 'ECONNECTION');
  assert.equal(closed.messages, { accepted: 0, rejected: 0, unknown: 1 });
  await srv.close();
});

test('docs/observability.md: the OpenTelemetry module runs against the OpenTelemetry SDK', async () => {
  const page = readFileSync(fileURLToPath(new URL('../../docs/observability.md', import.meta.url)), 'utf8');
  const block = /<!-- test: otel-observer -->\s*```js\n([\s\S]*?)```/.exec(page);
  assert.ok(block, 'the page has the marked example');
  // Inside dist/, so "@opentelemetry/api" resolves from this package's node_modules.
  const dir = fileURLToPath(new URL('./doc-examples/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}smtp-otel.mjs`;
  writeFileSync(file, block[1]!);

  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  trace.setGlobalTracerProvider(tracerProvider);
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(meterProvider);

  const { smtpObserver } = await import(file);
  let dropped = false;
  const srv = await startSim({
    onMessage: (m) => {
      if (m.body.includes('refuse')) return '550 5.7.1 refused';
      if (m.body.includes('drop') && !dropped) {
        dropped = true;
        return 'drop';
      }
      return '250 2.0.0 ok';
    },
  });
  const pool = createPool({ host: '127.0.0.1', port: srv.port, tls: 'none', maxConnections: 2, observe: smtpObserver() });
  const results = await Promise.all([...Array.from({ length: 8 }, (_, i) => pool.send(msg(i))), pool.send(msg(100, ' refuse'))]);
  const lost = await pool.send(msg(101, ' drop'));
  await pool.close();
  await srv.close();
  assert.is(results.filter((x) => x.outcome === 'accepted').length, 8);
  assert.is(lost.outcome, 'unknown');

  const finished = spans.getFinishedSpans();
  assert.is(finished.length, 10);
  assert.ok(finished.every((s) => s.name === 'smtp send' && s.kind === SpanKind.CLIENT));
  const byOutcome = (o: string) => finished.filter((s) => s.attributes['smtp.outcome'] === o);
  assert.is(byOutcome('accepted').length, 8);
  assert.is(byOutcome('rejected').length, 1);
  assert.is(byOutcome('unknown').length, 1);
  assert.is(byOutcome('rejected')[0]!.attributes['smtp.reply.code'], 550);
  assert.is(byOutcome('rejected')[0]!.status.code, SpanStatusCode.ERROR);
  assert.is(byOutcome('accepted')[0]!.status.code, SpanStatusCode.UNSET);
  const startMs = (s: (typeof finished)[number]) => s.startTime[0] * 1000 + s.startTime[1] / 1e6;
  assert.ok(
    finished.every((s) => Math.abs(startMs(s) - Date.now()) < 60_000),
    'span times are wall-clock times',
  );

  await reader.forceFlush();
  const points = new Map<string, number>();
  for (const rm of exporter.getMetrics())
    for (const sm of rm.scopeMetrics)
      for (const m of sm.metrics) {
        for (const p of m.dataPoints) {
          const k = `${m.descriptor.name}|${(p.attributes['smtp.outcome'] as string | undefined) ?? ''}`;
          const v = typeof p.value === 'number' ? p.value : (p.value as { count: number }).count;
          points.set(k, (points.get(k) ?? 0) + v);
        }
      }
  assert.is(points.get('smtp.client.messages|accepted'), 8);
  assert.is(points.get('smtp.client.messages|rejected'), 1);
  assert.is(points.get('smtp.client.messages|unknown'), 1);
  assert.is(points.get('smtp.client.message.duration|accepted'), 8);
  assert.ok((points.get('smtp.client.message.size|') ?? 0) > 0);
  assert.is(points.get('smtp.client.connections|'), 0, 'every session opened was closed');
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
});

test('no unhandled promise rejections', async () => {
  await sleep(20);
  assert.equal(unhandled, []);
});

exitWhenDone(test);
test.run();
