// The client's read ring for pull-into bodies ({ readInto }), against the scripted server behind
// the mock transport (transports/mock.ts): bytes delivered exactly across many buffer fills,
// buffers reused only once the transport is done with them, and every way a send can end early
// (a failing source, an abort, the link dying with buffers in flight) settling without a hang.
// The mock consumes client writes on later turns, reading the views as they are then, so a
// buffer reused too early shows up as wrong bytes at the server. No sockets and no Node API:
// the runtime suites (test/runtimes) run this file in Deno, Bun and workerd too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { within } from './helpers.ts';
import { connect, type ClientOptions, type PullIntoSource, type SmtpClient } from '../client/client.ts';
import type { Link, Transport } from '../client/transport.ts';
import { mockTransport, script, ScriptedServer, type MockLink, type MockTransportOptions } from '../transports/mock.ts';

const enc = new TextEncoder();
const KIB = 1024;

/** A server that accepts everything: PIPELINING, and CHUNKING unless `chunking` is false. */
function acceptingServer(options: { chunking?: boolean; dieAfterBdat?: number } = {}): ScriptedServer {
  let bdats = 0;
  return new ScriptedServer(
    script()
      .send('220 mock.example ESMTP')
      .respond((line) => {
        if (line.startsWith('EHLO '))
          return `250-mock.example\r\n250-PIPELINING\r\n${options.chunking === false ? '' : '250-CHUNKING\r\n'}250 8BITMIME\r\n`;
        if (line.startsWith('BDAT ')) {
          if (options.dieAfterBdat !== undefined && ++bdats > options.dieAfterBdat) return undefined; // EOF: the link dies
          return '250 2.0.0 chunk ok\r\n';
        }
        if (line.startsWith('MAIL ') || line.startsWith('RCPT ') || line === 'RSET' || line === 'NOOP') return '250 ok\r\n';
        if (line === 'DATA') return '354 go ahead\r\n';
        if (line === '.') return '250 2.0.0 queued\r\n';
        if (line === 'QUIT') return '221 bye\r\n';
        return '500 unexpected\r\n';
      }),
  );
}

/** Deterministic canonical CRLF text of exactly `size` octets (size >= 2): lines of 0..200
 *  printable octets, some starting with "." (DATA must stuff them). */
function message(size: number, seed = 7): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed;
  const rand = (): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  let at = 0;
  while (at < size) {
    const len = Math.min(size - at - 2, rand() % 201); // the last line takes what is left
    for (let i = 0; i < len; i++) out[at + i] = 0x21 + (rand() % 94);
    if (len > 0 && rand() % 9 === 0) out[at] = 0x2e;
    at += len;
    out[at++] = 0x0d;
    out[at++] = 0x0a;
    if (size - at < 2) {
      // one octet left cannot be a line: make it part of the last one instead
      if (at < size) {
        out.copyWithin(at - 1, at - 2, at);
        out[at - 2] = 0x41;
        at++;
      }
    }
  }
  return out;
}

/** Byte equality with the first difference in the message (uvu's diff of megabytes is too slow). */
function sameBytes(actual: Uint8Array | undefined, expected: Uint8Array, what: string): void {
  assert.ok(actual !== undefined, `${what}: nothing`);
  const a = actual;
  const n = Math.min(a.length, expected.length);
  let i = 0;
  while (i < n && a[i] === expected[i]) i++;
  if (i === n && a.length === expected.length) return;
  const show = (b: Uint8Array): string => JSON.stringify(new TextDecoder().decode(b.subarray(Math.max(0, i - 16), i + 16)));
  assert.unreachable(`${what}: ${a.length} octets against ${expected.length}; first difference at ${i}: ${show(a)} vs ${show(expected)}`);
}

const READ_SIZE = 64 * KIB; // the readSize of every ring test (`small` below)
const memoryIds = new WeakMap<ArrayBufferLike, number>();
let nextMemoryId = 0;
function memoryId(memory: ArrayBufferLike): number {
  let id = memoryIds.get(memory);
  if (id === undefined) memoryIds.set(memory, (id = nextMemoryId++));
  return id;
}

interface Recorded extends PullIntoSource {
  reads: number;
  closes: number;
  /** The ring buffers read into: one key per buffer (several may share one ArrayBuffer, e.g. one
   *  WebAssembly memory, at multiples of the read size). */
  readonly buffers: Set<string>;
  /** Reads into memory the transport still had queued (must stay empty). */
  readonly overlaps: string[];
  close(): void;
}

/**
 * A source serving `bytes` in pieces of pseudo-random size (never more than asked). With `link`,
 * every read checks that the buffer lent to it is not part of a write the link still holds.
 */
function source(
  bytes: Uint8Array,
  options: { link?: () => MockLink | undefined; failAt?: number; onRead?: (n: number) => void; seed?: number } = {},
): Recorded {
  let at = 0;
  let x = options.seed ?? 99;
  const s: Recorded = {
    reads: 0,
    closes: 0,
    buffers: new Set(),
    overlaps: [],
    async readInto(buffer: Uint8Array): Promise<number> {
      s.reads++;
      s.buffers.add(`${memoryId(buffer.buffer)}@${Math.floor(buffer.byteOffset / READ_SIZE)}`);
      for (const v of options.link?.()?.pending ?? []) {
        if (v.buffer === buffer.buffer && v.byteOffset < buffer.byteOffset + buffer.length && buffer.byteOffset < v.byteOffset + v.length) {
          s.overlaps.push(
            `read ${s.reads}: [${buffer.byteOffset}, +${buffer.length}) overlaps a queued write [${v.byteOffset}, +${v.length})`,
          );
        }
      }
      await new Promise((r) => setTimeout(r, 0));
      if (options.failAt !== undefined && at >= options.failAt) throw new Error('disk on fire');
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      // Mostly whole buffers, sometimes short reads (as a pipe or socket gives).
      const n = Math.min(bytes.length - at, x % 4 === 0 ? 1 + (x % buffer.length) : buffer.length);
      buffer.set(bytes.subarray(at, at + n));
      at += n;
      options.onRead?.(n);
      return n;
    },
    close() {
      s.closes++;
    },
  };
  return s;
}

async function open(
  server: ScriptedServer,
  options: Partial<ClientOptions> = {},
  mock: MockTransportOptions = {},
): Promise<{ client: SmtpClient; link: () => MockLink | undefined; transport: ReturnType<typeof mockTransport> }> {
  const transport = mockTransport(server, mock);
  const client = await connect({ host: 'mock.example', tls: 'none', transport, ...options });
  return { client, link: () => transport.links[0], transport };
}

const small = { readSize: READ_SIZE, highWaterMark: 128 * KIB, chunkSize: 64 * KIB } as const;

test('BDAT: a pull-into body arrives byte-exact through a few reused buffers', async () => {
  const server = acceptingServer();
  const { client, link } = await open(server, small, { consumePerTurn: 40 * KIB, highWater: 64 * KIB });
  const body = message(3 * 1024 * KIB + 12345);
  const src = source(body, { link });
  const r = await within(20_000, client.send({ from: 'a@example.com', to: 'b@example.com', body: src }), 'send');
  assert.is(r.outcome, 'accepted', r.error?.message);
  await client.close();
  assert.is(await client.closed, undefined);
  assert.is(server.messages.length, 1);
  sameBytes(server.messages[0], body, 'the server got exactly the body');
  assert.equal(src.overlaps, [], 'no read went into memory the transport still held');
  // 2 + ceil(max(128 KiB, 64 KiB) / 64 KiB) = 4 buffers at most, for ~60 reads.
  assert.ok(src.buffers.size <= 4, `${src.buffers.size} distinct buffers`);
  assert.ok(src.reads > 40, `${src.reads} reads`);
  assert.is(src.closes, 1, 'close() once');
  assert.ok(link()!.writtenCalls > 0, 'the link ran onWritten callbacks');
});

test('DATA (no CHUNKING): dot-stuffed, byte-exact, buffers reused; the body waits for 354 in the ring', async () => {
  const server = acceptingServer({ chunking: false });
  const { client, link } = await open(server, small, { consumePerTurn: 16 * KIB });
  const body = message(1024 * KIB + 77, 3);
  const src = source(body, { link, seed: 5 });
  const r = await within(20_000, client.send({ from: 'a@example.com', to: 'b@example.com', body: src }), 'send');
  assert.is(r.outcome, 'accepted', r.error?.message);
  await client.close();
  sameBytes(server.messages[0], body, 'message');
  assert.equal(src.overlaps, []);
  assert.ok(src.buffers.size <= 4, `${src.buffers.size} distinct buffers`);
  assert.is(src.closes, 1);
});

test('pipelined pull-into sends share the ring and each arrives whole, whole bodies queued between them too', async () => {
  const server = acceptingServer();
  const { client, link } = await open(server, small, { consumePerTurn: 64 * KIB });
  const bodies = [message(300 * KIB + 1, 11), enc.encode('Hi\r\n'), message(700 * KIB + 3, 13)];
  const sources = bodies.map((b, i) => source(b, { link, seed: 20 + i }));
  // Whole bodies behind a streaming send wait in the core until it ends: they must not keep the
  // ring from seeing its buffers written (its release rule subtracts them).
  const whole = [message(200 * KIB, 31), message(10 * KIB, 32)];
  const send = (body: PullIntoSource | Uint8Array) => client.send({ from: 'a@example.com', to: 'b@example.com', body });
  const results = await within(
    20_000,
    Promise.all([send(sources[0]!), send(whole[0]!), send(sources[1]!), send(sources[2]!), send(whole[1]!)]),
    'sends',
  );
  assert.equal(
    results.map((r) => r.outcome),
    ['accepted', 'accepted', 'accepted', 'accepted', 'accepted'],
  );
  await client.close();
  assert.is(server.messages.length, 5);
  [bodies[0]!, whole[0]!, bodies[1]!, bodies[2]!, whole[1]!].forEach((b, i) => sameBytes(server.messages[i], b, `message ${i}`));
  const all = new Set(sources.flatMap((s) => [...s.buffers]));
  assert.ok(all.size <= 4, `${all.size} distinct buffers over three sends`);
  for (const s of sources) {
    assert.equal(s.overlaps, []);
    assert.is(s.closes, 1);
  }
});

test('a link that cannot signal written gets fresh buffers (never reused), still byte-exact', async () => {
  const server = acceptingServer();
  const inner = mockTransport(server, { consumePerTurn: 40 * KIB });
  // A wrapper written against the older Link contract: no onWritten, no signalsWritten.
  const legacy: Transport = {
    name: 'legacy',
    async connect(params, handlers): Promise<Link> {
      const link = await inner.connect(params, handlers);
      return {
        write: (chunks) => link.write(chunks),
        startTls: () => link.startTls(),
        close: () => link.close(),
        destroy: () => link.destroy(),
        get secure() {
          return link.secure;
        },
      };
    },
  };
  const client = await connect({ host: 'mock.example', tls: 'none', transport: legacy, ...small });
  const body = message(1024 * KIB, 17);
  const src = source(body, { link: () => inner.links[0] });
  const r = await within(20_000, client.send({ from: 'a@example.com', to: 'b@example.com', body: src }), 'send');
  assert.is(r.outcome, 'accepted', r.error?.message);
  await client.close();
  sameBytes(server.messages[0], body, 'message');
  assert.equal(src.overlaps, []);
  assert.ok(src.buffers.size >= 16, `a fresh 64 KiB buffer per 64 KiB of body: ${src.buffers.size}`);
});

test('a source that fails mid-body: rejected (EABORT, with the cause), closed once, nothing delivered', async () => {
  const server = acceptingServer();
  const { client } = await open(server, small, { consumePerTurn: 40 * KIB });
  const src = source(message(2 * 1024 * KIB), { failAt: 500 * KIB });
  const r = await within(20_000, client.send({ from: 'a@example.com', to: 'b@example.com', body: src }), 'send');
  assert.is(r.outcome, 'rejected');
  assert.is(r.error?.code, 'EABORT');
  assert.match(r.error!.message, /disk on fire/);
  assert.is((r.error as { cause?: Error }).cause?.message, 'disk on fire');
  assert.is(src.closes, 1);
  await within(5_000, client.close(), 'close');
  assert.is(server.messages.length, 0, 'no message completed');
});

test('a bad count from readInto is a usage error (EUSAGE)', async () => {
  const server = acceptingServer();
  const { client } = await open(server, small);
  let closes = 0;
  const r = await within(
    5_000,
    client.send({
      from: 'a@example.com',
      to: 'b@example.com',
      body: { readInto: async (b: Uint8Array) => b.length + 1, close: () => void closes++ },
    }),
    'send',
  );
  assert.is(r.outcome, 'rejected');
  assert.is(r.error?.code, 'EUSAGE');
  assert.is(closes, 1);
  await within(5_000, client.close(), 'close');
});

test('aborted mid-body: rejected with EABORT, the source closed once, nothing delivered', async () => {
  const server = acceptingServer();
  const { client } = await open(server, small, { consumePerTurn: 40 * KIB });
  const ac = new AbortController();
  let read = 0;
  const src = source(message(4 * 1024 * KIB), {
    onRead: (n) => {
      if ((read += n) > 600 * KIB) ac.abort();
    },
  });
  const r = await within(20_000, client.send({ from: 'a@example.com', to: 'b@example.com', body: src, signal: ac.signal }), 'send');
  assert.is(r.outcome, 'rejected');
  assert.is(r.error?.code, 'EABORT');
  await within(5_000, client.close(), 'close');
  await new Promise((res) => setTimeout(res, 10));
  assert.is(src.closes, 1);
  assert.ok(src.reads < 60, `reading stopped after the abort (${src.reads} reads)`);
  assert.is(server.messages.length, 0);
});

test('the link dies with buffers in flight and no onWritten ever comes: the send settles, nothing hangs', async () => {
  const server = acceptingServer({ dieAfterBdat: 3 });
  const { client, link } = await open(server, small, { consumePerTurn: 24 * KIB, dropWrittenOnDeath: true });
  const src = source(message(3 * 1024 * KIB));
  const r = await within(10_000, client.send({ from: 'a@example.com', to: 'b@example.com', body: src }), 'send');
  assert.is(r.outcome, 'rejected');
  assert.is(r.error?.transient, true, 'a dead link mid-body is worth a retry');
  assert.ok(link()!.droppedCalls > 0, 'writes were still queued when the link died');
  const why = await within(5_000, client.closed, 'closed');
  assert.ok(why !== undefined);
  await new Promise((res) => setTimeout(res, 10));
  assert.is(src.closes, 1);
  await within(5_000, client.close(), 'close');
});

test('a streamed body with highWaterMark below chunkSize does not wait forever for a full BDAT chunk', async () => {
  const server = acceptingServer();
  const { client } = await open(server, { highWaterMark: 16 * KIB, chunkSize: 64 * KIB });
  const body = message(200 * KIB, 21);
  async function* pieces(): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < body.length; at += 1000) yield body.slice(at, at + 1000);
  }
  const r = await within(10_000, client.send({ from: 'a@example.com', to: 'b@example.com', body: pieces() }), 'send');
  assert.is(r.outcome, 'accepted', r.error?.message);
  await client.close();
  sameBytes(server.messages[0], body, 'message');
});

test('mock link: onWritten runs once per write, in order, after the server consumed it, and at death', async () => {
  const server = acceptingServer();
  const transport = mockTransport(server, { consumePerTurn: 10 });
  const link = await transport.connect(
    { host: 'x', port: 25, implicitTls: false, rejectUnauthorized: true, connectTimeout: 1000 },
    { data: () => {}, end: () => {}, error: () => {}, drain: () => {} },
  );
  const order: string[] = [];
  link.write([enc.encode('EHLO a\r\n')], () => order.push(`one at ${transport.links[0]!.consumed}`));
  link.write([enc.encode('NOOP\r\n'), enc.encode('NOOP\r\n')], () => order.push(`two at ${transport.links[0]!.consumed}`));
  assert.equal(order, [], 'not inside write()');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(order, ['one at 8', 'two at 20']);
  link.write([new Uint8Array(1000).fill(0x41)], () => order.push('three'));
  link.destroy();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(order, ['one at 8', 'two at 20', 'three']);
  link.write([enc.encode('late')], () => order.push('after destroy'));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(order.at(-1), 'after destroy');
});

test.run();
