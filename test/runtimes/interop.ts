// The interop set every runtime runs against real smtp-server instances (test/runtimes/server.mjs)
// through its own transport: plain, STARTTLS, AUTH PLAIN, several recipients with one
// rejected, a 5 MB body byte-exact (whole and streamed), 100 pipelined messages, implicit TLS,
// a certificate for the wrong name, a pool (also with a password provider, a bounded queue and
// observer hooks) and sendMail. Runtime-neutral: only ECMAScript,
// Web Crypto (for SHA-256) and Web Streams; each runtime's entry passes its transport in.
import * as assert from 'uvu/assert';
import type { Test } from 'uvu';
import type { ClientOptions, Message, PullIntoSource, SendMailOptions, SendResult, SmtpClient } from '../../client/client.ts';
import type { Pool, PoolOptions } from '../../client/pool.ts';
import type { Transport } from '../../client/transport.ts';
import type { buildMessage } from '../../message/index.ts';

export interface InteropConfig {
  host: string;
  /** A name the test certificate is issued to (besides 127.0.0.1). */
  tlsName: string;
  ports: {
    plain: number;
    starttls: number;
    implicit: number;
    closed: number;
    injectSameRead: number;
    injectLater: number;
    socks5: number;
    httpProxy: number;
  };
  user: string;
  pass: string;
  ca: string;
  /** A message file (bigMessage) the runner wrote for fileBody tests; absent where files are not. */
  file?: string;
  /** The DKIM key to sign with (Ed25519, PKCS#8 PEM); the server verifies what it receives. */
  dkim: { domain: string; selector: string; privateKey: string };
}

type Opts<T> = Omit<T, 'transport'>;

export interface RuntimeUnderTest {
  name: string;
  connect(options: Opts<ClientOptions>): Promise<SmtpClient>;
  createPool(options: Opts<PoolOptions>): Pool;
  sendMail(options: Opts<SendMailOptions>): Promise<SendResult>;
  /** Client options that make this runtime trust the test certificate ({ ca } where it can). */
  trust: Partial<ClientOptions>;
  /** Host to dial for TLS tests (default config.host). */
  tlsHost?: string;
  /** The runtime's transport, for the link-level tests. */
  transport?: Transport;
  /** The runtime's fileBody and a way to read a whole file, where the runtime has files. */
  fileBody?: (path: string) => PullIntoSource & { readonly size: number };
  readFile?: (path: string) => Promise<Uint8Array>;
  /** smtpwire/message's builder as this runtime loads it. */
  buildMessage: typeof buildMessage;
}

const enc = new TextEncoder();
const MIB = 1 << 20;

/** What the harness server put in its final 250 reply. */
interface Received {
  sha256: string;
  size: number;
  rcpt: number;
  secure: boolean;
  user: string;
}

function received(result: SendResult): Received {
  assert.is(result.outcome, 'accepted', `outcome: ${result.outcome} ${result.error?.message ?? ''}`);
  const text = result.reply?.lines.join(' ') ?? '';
  const pattern = /sha256=([0-9a-f]{64}) size=(\d+) rcpt=(\d+) secure=(true|false) user=(\S+)/;
  assert.match(text, pattern, `unexpected final reply: ${text}`);
  const m = pattern.exec(text)!;
  return { sha256: m[1]!, size: Number(m[2]), rcpt: Number(m[3]), secure: m[4] === 'true', user: m[5]! };
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A deterministic RFC 5322 message of about `size` octets: CRLF lines up to 998 octets, some
 *  starting with "." (dot-stuffing must round-trip), every byte value 0x20..0x7e. */
export function bigMessage(size: number, seed = 1): Uint8Array {
  const head = enc.encode(
    `From: a@example.com\r\nTo: b@example.com\r\nSubject: big ${seed}\r\nMessage-ID: <big-${seed}@smtpwire.test>\r\n\r\n`,
  );
  const out = new Uint8Array(size);
  out.set(head);
  let at = head.length;
  let x = seed >>> 0 || 1;
  const rand = (): number => {
    // xorshift32: fast, deterministic, identical in every runtime
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  while (at < size - 2) {
    const room = size - 2 - at;
    let len = Math.min(room, rand() % 998);
    const lineStart = at;
    for (let i = 0; i < len; i++) out[at++] = 0x20 + (rand() % 95);
    if (len > 0 && rand() % 8 === 0) out[lineStart] = 0x2e; // a line starting with "."
    if (len === 0 && room > 0 && rand() % 2 === 0) {
      out[at++] = 0x2e; // a line that is exactly "."
      len = 1;
    }
    out[at++] = 0x0d;
    out[at++] = 0x0a;
  }
  return out.subarray(0, at);
}

function smallMessage(i: number): Uint8Array {
  return enc.encode(
    `From: a@example.com\r\nTo: b@example.com\r\nSubject: pipelined ${i}\r\n\r\nmessage number ${i}\r\n.leading dot ${i}\r\n`,
  );
}

export function registerInterop(test: Test, rt: RuntimeUnderTest, config: InteropConfig): void {
  const base: Opts<ClientOptions> = { host: config.host, name: 'client.test', timeouts: { connect: 10_000 } };
  const tls: Opts<ClientOptions> = { ...base, ...rt.trust, host: rt.tlsHost ?? config.host };
  const clients: SmtpClient[] = [];
  const open = async (options: Opts<ClientOptions>): Promise<SmtpClient> => {
    const client = await rt.connect(options);
    clients.push(client);
    return client;
  };
  test.after.each(async () => {
    for (const c of clients.splice(0)) if (!c.isClosed) c.abort();
  });

  test(`${rt.name}: plain session, one message`, async () => {
    const client = await open({ ...base, port: config.ports.plain, tls: 'none' });
    assert.is(client.secure, false);
    const body = smallMessage(0);
    const got = received(await client.send({ from: 'a@example.com', to: 'b@example.com', body }));
    assert.is(got.secure, false);
    assert.is(got.size, body.length);
    assert.is(got.sha256, await sha256(body));
    await client.close();
    assert.is(await client.closed, undefined);
  });

  test(`${rt.name}: STARTTLS (required) upgrades and delivers`, async () => {
    const client = await open({ ...tls, port: config.ports.starttls, tls: 'required-starttls' });
    assert.is(client.secure, true);
    const body = smallMessage(1);
    const got = received(await client.send({ from: 'a@example.com', to: 'b@example.com', body }));
    assert.is(got.secure, true, 'the server saw the message over TLS');
    assert.is(got.sha256, await sha256(body));
    await client.close();
    assert.is(await client.closed, undefined);
  });

  test(`${rt.name}: AUTH PLAIN after STARTTLS`, async () => {
    const client = await open({
      ...tls,
      port: config.ports.starttls,
      tls: 'required-starttls',
      auth: { user: config.user, pass: config.pass, mechanism: 'PLAIN' },
    });
    const got = received(await client.send({ from: 'a@example.com', to: 'b@example.com', body: smallMessage(2) }));
    assert.is(got.user, config.user, 'the server saw the authenticated user');
    assert.is(got.secure, true);
    await client.close();
  });

  test(`${rt.name}: AUTH PLAIN with a wrong password fails with EAUTH`, async () => {
    try {
      await open({
        ...tls,
        port: config.ports.starttls,
        tls: 'required-starttls',
        auth: { user: config.user, pass: 'wrong', mechanism: 'PLAIN' },
      });
      assert.unreachable('connect should have failed');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'EAUTH', String(err));
    }
  });

  test(`${rt.name}: several recipients, one rejected`, async () => {
    const client = await open({ ...base, port: config.ports.plain, tls: 'none' });
    const to = ['one@example.com', 'two@example.com', 'reject-me@example.com', 'three@example.com'];
    const result = await client.send({ from: 'a@example.com', to, body: smallMessage(3) });
    const got = received(result);
    assert.equal(
      result.accepted.map((r) => r.address),
      ['one@example.com', 'two@example.com', 'three@example.com'],
    );
    assert.equal(
      result.rejected.map((r) => r.address),
      ['reject-me@example.com'],
    );
    assert.is(result.rejected[0]!.reply.code, 550);
    assert.is(got.rcpt, 3, 'the server has three recipients');
    await client.close();
  });

  test(`${rt.name}: 5 MB body over STARTTLS arrives byte-exact`, async () => {
    const body = bigMessage(5 * MIB, 7);
    const client = await open({ ...tls, port: config.ports.starttls, tls: 'required-starttls' });
    const got = received(await client.send({ from: 'a@example.com', to: 'b@example.com', body }));
    assert.is(got.size, body.length);
    assert.is(got.sha256, await sha256(body));
    await client.close();
  });

  test(`${rt.name}: 5 MB body streamed (ReadableStream, plain) arrives byte-exact`, async () => {
    const body = bigMessage(5 * MIB, 8);
    let at = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= body.length) return controller.close();
        const n = 1 + ((at * 7919) % (64 * 1024)); // uneven chunk sizes
        controller.enqueue(body.slice(at, at + n));
        at += n;
      },
    });
    const client = await open({ ...base, port: config.ports.plain, tls: 'none', highWaterMark: 256 * 1024 });
    const got = received(await client.send({ from: 'a@example.com', to: 'b@example.com', body: stream, size: body.length }));
    assert.is(got.size, body.length);
    assert.is(got.sha256, await sha256(body));
    await client.close();
  });

  test(`${rt.name}: 5 MB pull-into body ({ readInto }, read into the client's reused buffers) arrives byte-exact`, async () => {
    const body = bigMessage(5 * MIB + 17, 9);
    let at = 0;
    let reads = 0;
    let closes = 0;
    const buffers = new Set<ArrayBufferLike>();
    const source: PullIntoSource = {
      async readInto(buffer) {
        reads++;
        buffers.add(buffer.buffer);
        const n = Math.min(buffer.length, body.length - at, 1 + ((at * 7919) % (200 * 1024))); // short reads too
        buffer.set(body.subarray(at, at + n));
        at += n;
        return n;
      },
      close() {
        closes++;
      },
    };
    const client = await open({ ...base, port: config.ports.plain, tls: 'none', readSize: 128 * 1024, highWaterMark: 256 * 1024 });
    const got = received(await client.send({ from: 'a@example.com', to: 'b@example.com', body: source, size: body.length }));
    assert.is(got.size, body.length);
    assert.is(got.sha256, await sha256(body));
    assert.is(closes, 1);
    // 2 + ceil(256 KiB / 128 KiB) buffers at most: the link's onWritten let the client reuse them.
    assert.ok(buffers.size <= 4 && reads > 40, `${reads} reads into ${buffers.size} buffers`);
    await client.close();
  });

  if (rt.fileBody && rt.readFile && config.file) {
    const { fileBody, readFile } = rt;
    const path = config.file;
    test(`${rt.name}: fileBody sends a file byte-exact (STARTTLS)`, async () => {
      const bytes = await readFile(path);
      const body = fileBody(path);
      assert.is(body.size, bytes.length);
      const client = await open({ ...tls, port: config.ports.starttls, tls: 'required-starttls' });
      const got = received(await client.send({ from: 'a@example.com', to: 'b@example.com', body, size: body.size }));
      assert.is(got.size, bytes.length);
      assert.is(got.sha256, await sha256(bytes));
      await client.close();
    });
  }

  if (rt.transport) {
    const transport = rt.transport;
    test(`${rt.name}: the link runs onWritten once per write, in order, and for writes dropped by destroy()`, async () => {
      let greeted!: () => void;
      const greeting = new Promise<void>((resolve) => (greeted = resolve));
      const link = await transport.connect(
        { host: config.host, port: config.ports.plain, implicitTls: false, rejectUnauthorized: true, connectTimeout: 10_000 },
        { data: () => greeted(), end: () => {}, error: () => {}, drain: () => {} },
      );
      assert.is(link.signalsWritten, true);
      await greeting;
      const done: number[] = [];
      link.write([enc.encode('NOOP\r\n')], () => done.push(1));
      assert.equal(done, [], 'never inside write()');
      const waitFor = async (n: number): Promise<void> => {
        for (let i = 0; i < 500 && done.length < n; i++) await new Promise((r) => setTimeout(r, 10));
      };
      await waitFor(1);
      assert.equal(done, [1]);
      // Megabytes the server will not take in time (it reads them as one overlong line), then destroy.
      const junk = new Uint8Array(4 * MIB).fill(0x78);
      for (let i = 2; i <= 5; i++) link.write([junk], () => done.push(i));
      link.destroy();
      await waitFor(5);
      assert.equal(done, [1, 2, 3, 4, 5]);
    });
  }

  test(`${rt.name}: 100 pipelined messages on one connection`, async () => {
    const client = await open({ ...tls, port: config.ports.starttls, tls: 'required-starttls' });
    assert.ok(client.capabilities.pipelining, 'the server offers PIPELINING');
    const bodies = Array.from({ length: 100 }, (_, i) => smallMessage(100 + i));
    const to = (i: number): string[] => (i % 10 === 0 ? ['x@example.com', 'reject@example.com'] : ['x@example.com']);
    const results = await Promise.all(bodies.map((body, i) => client.send({ from: 'a@example.com', to: to(i), body })));
    for (let i = 0; i < results.length; i++) {
      const got = received(results[i]!);
      assert.is(got.sha256, await sha256(bodies[i]!), `message ${i} is its own body`);
      assert.is(results[i]!.rejected.length, i % 10 === 0 ? 1 : 0);
    }
    await client.close();
    assert.is(await client.closed, undefined);
  });

  test(`${rt.name}: implicit TLS`, async () => {
    const client = await open({ ...tls, port: config.ports.implicit, tls: 'implicit', auth: { user: config.user, pass: config.pass } });
    assert.is(client.secure, true);
    const got = received(await client.send({ from: 'a@example.com', to: 'b@example.com', body: smallMessage(4) }));
    assert.is(got.secure, true);
    assert.is(got.user, config.user);
    await client.close();
  });

  // The runtime's own path through a tunnel (the harness's minimal SOCKS5 and CONNECT relays;
  // real proxy servers are in test/proxy/): clear text to the proxy, then TLS inside the tunnel
  // for the mail server's name.
  test(`${rt.name}: STARTTLS through a SOCKS5 proxy`, async () => {
    const client = await open({
      ...tls,
      port: config.ports.starttls,
      tls: 'required-starttls',
      proxy: `socks5://127.0.0.1:${config.ports.socks5}`,
      auth: { user: config.user, pass: config.pass },
    });
    const got = received(await client.send({ from: 'a@example.com', to: 'b@example.com', body: smallMessage(5) }));
    assert.is(got.secure, true);
    assert.is(got.user, config.user);
    await client.close();
  });

  test(`${rt.name}: implicit TLS through an HTTP CONNECT proxy`, async () => {
    const client = await open({
      ...tls,
      port: config.ports.implicit,
      tls: 'implicit',
      proxy: `http://127.0.0.1:${config.ports.httpProxy}`,
    });
    assert.is(client.secure, true);
    const got = received(await client.send({ from: 'a@example.com', to: 'b@example.com', body: smallMessage(6) }));
    assert.is(got.secure, true);
    await client.close();
  });

  test(`${rt.name}: a proxy that cannot reach the server: EPROXY refused`, async () => {
    try {
      await open({ ...base, port: config.ports.closed, proxy: `socks5://127.0.0.1:${config.ports.socks5}` });
      assert.unreachable('connect should have failed');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'EPROXY', String(err));
      assert.is((err as { reason?: string }).reason, 'refused');
    }
  });

  test(`${rt.name}: smtps:// to a STARTTLS port fails with ETLS, fast`, async () => {
    const started = Date.now();
    try {
      await open({ ...tls, port: config.ports.starttls, tls: 'implicit' });
      assert.unreachable('connect should have failed');
    } catch (err) {
      // workerd reports a TLS handshake with a clear-text server as a failed connect ("proxy
      // request failed, cannot connect to the specified address"), the same words as a closed
      // port: there it cannot be told apart (docs/connectivity.md).
      const code = (err as { code?: string }).code;
      if (rt.name.startsWith('workerd')) assert.ok(code === 'ETLS' || code === 'ECONNECTION', String(err));
      else {
        assert.is(code, 'ETLS', String(err));
        assert.match(String((err as Error).message), 'this port speaks clear text first');
      }
      assert.not.match(String((err as Error).message), /\n|\\x0a/);
    }
    assert.ok(Date.now() - started < 8000, `took ${Date.now() - started} ms`);
  });

  test(`${rt.name}: a certificate for another name is refused (ETLS)`, async () => {
    try {
      await open({ ...tls, port: config.ports.starttls, tls: 'required-starttls', servername: 'not-the-server.example' });
      assert.unreachable('connect should have failed');
    } catch (err) {
      // The transport rejects startTls() with SmtpTlsError; the session ends with it.
      assert.is((err as { code?: string }).code, 'ETLS', `expected an ETLS error: ${String(err)}`);
    }
  });

  test(`${rt.name}: implicit TLS with a certificate for another name is refused (ETLS)`, async () => {
    try {
      await open({ ...tls, port: config.ports.implicit, tls: 'implicit', servername: 'not-the-server.example' });
      assert.unreachable('connect should have failed');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'ETLS', `expected an ETLS error: ${String(err)}`);
    }
  });

  test(`${rt.name}: clear-text bytes sent with the STARTTLS 220 are refused (injection, EPROTOCOL)`, async () => {
    try {
      await open({ ...tls, port: config.ports.injectSameRead, tls: 'required-starttls' });
      assert.unreachable('connect should have failed');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'EPROTOCOL', `expected EPROTOCOL: ${String(err)}`);
    }
  });

  test(`${rt.name}: clear-text bytes sent after the STARTTLS 220 never pass as TLS input (ETLS)`, async () => {
    try {
      await open({ ...tls, port: config.ports.injectLater, tls: 'required-starttls' });
      assert.unreachable('connect should have failed');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'ETLS', `expected ETLS: ${String(err)}`);
    }
  });

  test(`${rt.name}: a refused connection fails with ECONNECTION`, async () => {
    try {
      await open({ ...base, port: config.ports.closed, tls: 'none' });
      assert.unreachable('connect should have failed');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'ECONNECTION', String(err));
    }
  });

  test(`${rt.name}: pool spreads 30 messages over 3 connections`, async () => {
    const pool = rt.createPool({
      ...tls,
      port: config.ports.starttls,
      tls: 'required-starttls',
      maxConnections: 3,
      maxMessagesPerConnection: 12,
    });
    try {
      const bodies = Array.from({ length: 30 }, (_, i) => smallMessage(300 + i));
      const results = await Promise.all(
        bodies.map((body) => pool.send({ from: 'a@example.com', to: 'b@example.com', body } satisfies Message)),
      );
      for (let i = 0; i < results.length; i++) assert.is(received(results[i]!).sha256, await sha256(bodies[i]!));
    } finally {
      await pool.close();
    }
  });

  test(`${rt.name}: pool with a password provider, a bounded queue, stats() and observer hooks`, async () => {
    let asked = 0;
    let opened = 0;
    let closed = 0;
    let settled = 0;
    const pool = rt.createPool({
      ...tls,
      port: config.ports.starttls,
      tls: 'required-starttls',
      maxConnections: 2,
      maxPendingPerConnection: 2,
      maxQueued: 4,
      auth: {
        user: config.user,
        pass: async (context) => {
          asked++;
          assert.is(context.kind, 'pass');
          return config.pass;
        },
        mechanism: 'PLAIN',
      },
      observe: {
        connectionOpened: () => opened++,
        connectionClosed: () => closed++,
        messageSettled: (e) => {
          if (e.outcome === 'accepted') settled++;
        },
      },
    });
    try {
      const sends = Array.from({ length: 12 }, (_, i) =>
        pool.send({ from: 'a@example.com', to: 'b@example.com', body: smallMessage(400 + i) }),
      );
      assert.is(pool.stats().queued, 4, 'the queue is bounded');
      assert.is(pool.stats().waiting, 8);
      for (const r of await Promise.all(sends)) assert.is(received(r).user, config.user);
      assert.is(pool.stats().accepted, 12);
      assert.is(settled, 12);
    } finally {
      await pool.close();
    }
    assert.ok(opened >= 1 && opened <= 2, `opened ${opened}`);
    assert.is(asked, opened, 'the provider is asked once per connection');
    assert.is(closed, opened);
  });

  test(`${rt.name}: a built message (smtpwire/message: text, HTML, inline image, 1 MB streamed attachment) arrives byte-exact`, async () => {
    const data = bigMessage(MIB, 11);
    const message = rt.buildMessage({
      from: { name: 'Zoë Example', address: 'zoe@example.com' },
      to: ['"Bob, Jr." <bob@example.com>'],
      bcc: 'hidden@example.com',
      subject: `Grüße from ${rt.name}`,
      text: 'Hello,\nsee the attachment.\n',
      html: `<p>Hello <img src="cid:logo@x"></p>${'<b>long line</b>'.repeat(100)}`,
      attachments: [
        { filename: 'logo.png', cid: 'logo@x', content: new Uint8Array([0x89, 0x50, 0x4e, 0x47]) },
        {
          filename: 'Übersicht.bin',
          content: () =>
            new ReadableStream<Uint8Array>({
              start(c) {
                for (let i = 0; i < data.length; i += 50_000) c.enqueue(data.slice(i, i + 50_000));
                c.close();
              },
            }),
        },
      ],
    });
    const client = await open({ ...base, port: config.ports.plain, tls: 'none' });
    let k = 0;
    const r = message.render({
      smtpUtf8: client.capabilities.smtpUtf8,
      eightBitMime: client.capabilities.eightBitMime,
      random: (n) => new Uint8Array(n).fill(++k),
    });
    const chunks: Uint8Array[] = [];
    for await (const c of r.body) chunks.push(c.slice());
    const expected = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    chunks.reduce((at, c) => (expected.set(c, at), at + c.length), 0);
    assert.is(r.size, undefined); // a stream's length is not known before it is read
    assert.equal(r.to, ['bob@example.com', 'hidden@example.com']);
    const text = new TextDecoder().decode(expected);
    assert.not.match(text, /hidden@example\.com/);
    assert.ok(text.split('\r\n').every((line) => line.length <= 998));
    const got = received(await client.send({ from: r.from, to: r.to, body: r.body, eightBit: r.eightBit }));
    assert.is(got.rcpt, 2);
    assert.is(got.size, expected.length);
    assert.is(got.sha256, await sha256(expected));
    // The client renders a built message itself once it knows the server's extensions.
    assert.is(received(await client.send(message)).rcpt, 2);
    await client.close();
  });

  test(`${rt.name}: a built message with a streamed attachment, signed by client.send({ dkim }): mailauth and dkimpy verify it as received`, async () => {
    const data = bigMessage(300 * 1024, 5);
    const message = rt.buildMessage({
      from: 'Ann <ann@signer.test>',
      to: 'bob@example.com',
      subject: `Grüße, signed in ${rt.name}`,
      text: 'Hello  \n\nsigned after rendering.\t\n\n\n',
      html: `<p>Grüße</p>${'<i>long html line</i>'.repeat(80)}`,
      // A function: the signer reads the message twice (hash, then send).
      attachments: [
        {
          filename: 'data.bin',
          content: () =>
            new ReadableStream<Uint8Array>({
              start(c) {
                for (let i = 0; i < data.length; i += 40_000) c.enqueue(data.slice(i, i + 40_000));
                c.close();
              },
            }),
        },
      ],
    });
    const client = await open({ ...base, port: config.ports.plain, tls: 'none' });
    const result = await client.send(message, { dkim: config.dkim });
    await client.close();
    received(result);
    const text = result.reply?.lines.join(' ') ?? '';
    assert.match(text, / mailauth=pass dkimpy=pass$/, `the server's verdict: ${text}`);
  });

  test(`${rt.name}: sendMail in one call`, async () => {
    const result = await rt.sendMail({
      ...tls,
      port: config.ports.starttls,
      tls: 'required-starttls',
      auth: { user: config.user, pass: config.pass },
      from: 'a@example.com',
      to: ['b@example.com', 'reject-b@example.com'],
      cc: 'c@example.com',
      subject: `hello from ${rt.name}`,
      text: 'Grüße aus der Laufzeit.\n.line with a dot\n',
    });
    const got = received(result);
    assert.is(got.rcpt, 2);
    assert.is(got.user, config.user);
    assert.is(result.rejected.length, 1);
  });
}
