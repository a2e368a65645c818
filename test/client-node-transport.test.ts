// The friendly client and the Node transport against a real smtp-server in process
// (test/smtp-server-fixture.ts: 127.0.0.1, port 0, the fixture certificate as the CA). The pool's
// retries against the same server: pool-retries.test.ts.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import { exitWhenDone } from './exit-when-done.ts';
import * as assert from 'uvu/assert';
import { rejection } from './helpers.ts';
import { assert_rejects, body, ca, plain, sleep, startServer, type TestServer } from './smtp-server-fixture.ts';
import { SmtpAbortError, SmtpError, SmtpTlsError } from '../core/errors.ts';
import type { LogEntry } from '../client/client.ts';
import { connect, fileBody, nodeTransport, sendMail } from '../transports/node.ts';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

// ---------------------------------------------------------------- sessions and TLS

test('plain link: one message accepted, NOOP answered, close() resolves and the server got the exact body', async () => {
  const srv = await startServer();
  const client = await connect(plain(srv.port));
  assert.is(client.secure, false);
  assert.ok(client.capabilities.pipelining);
  const r = await client.send({ from: 'a@example.com', to: 'b@example.com', body: body('plain') });
  assert.is(r.outcome, 'accepted');
  assert.equal(
    r.accepted.map((x) => x.address),
    ['b@example.com'],
  );
  assert.is(r.error, undefined);
  const reply = await client.noop();
  assert.is(reply.code, 250);
  await client.close();
  assert.is(await client.closed, undefined);
  assert.is(srv.messages.length, 1);
  assert.is(srv.messages[0]!.body.toString(), body('plain'));
  assert.equal(srv.messages[0]!.to, ['b@example.com']);
  await srv.close();
});

test('STARTTLS: upgrades with the fixture CA and delivers', async () => {
  const srv = await startServer();
  const log: LogEntry[] = [];
  const client = await connect({ host: '127.0.0.1', port: srv.port, ca, logger: (e) => log.push(e) });
  assert.is(client.secure, true);
  assert.ok(log.some((e) => e.from === 'client' && e.text === 'STARTTLS'));
  const r = await client.send({ from: 'a@example.com', to: ['b@example.com'], body: body('starttls') });
  assert.is(r.outcome, 'accepted');
  await client.close();
  assert.is(srv.messages.length, 1);
  await srv.close();
});

test('required-starttls: a server without STARTTLS is refused with ETLS', async () => {
  const srv = await startServer({ hideSTARTTLS: true });
  const err = await rejection(connect({ host: '127.0.0.1', port: srv.port, tls: 'required-starttls', ca }));
  assert.is(err.code, 'ETLS');
  await srv.close();
});

test('implicit TLS: connects over TLS from the first byte', async () => {
  const srv = await startServer({ secure: true });
  const client = await connect({ host: 'localhost', port: srv.port, tls: 'implicit', ca });
  assert.is(client.secure, true);
  assert.not.ok(client.capabilities.startTls);
  const r = await client.send({ from: 'a@example.com', to: 'b@example.com', body: body('implicit') });
  assert.is(r.outcome, 'accepted');
  await client.close();
  assert.is(srv.messages.length, 1);
  await srv.close();
});

test('certificates: self-signed without ca is refused (implicit and STARTTLS); rejectUnauthorized:false works', async () => {
  const tlsSrv = await startServer({ secure: true });
  const e1 = await rejection(connect({ host: '127.0.0.1', port: tlsSrv.port, tls: 'implicit' }));
  assert.is(e1.code, 'ETLS');
  assert.instance(e1, SmtpTlsError);
  // The right CA but the wrong name is refused too.
  const e2 = await rejection(connect({ host: '127.0.0.1', port: tlsSrv.port, tls: 'implicit', ca, servername: 'mail.example.com' }));
  assert.is(e2.code, 'ETLS');
  const insecure = await connect({ host: '127.0.0.1', port: tlsSrv.port, tls: 'implicit', rejectUnauthorized: false });
  assert.is((await insecure.send({ from: 'a@example.com', to: 'b@example.com', body: body('insecure') })).outcome, 'accepted');
  await insecure.close();
  await tlsSrv.close();

  const srv = await startServer();
  const e3 = await rejection(connect({ host: '127.0.0.1', port: srv.port, tls: 'required-starttls' }));
  // The handshake failure reaches the core through transportError(); the TLS error is its cause.
  assert.ok(
    e3.code === 'ETLS' || (e3.code === 'ECONNECTION' && (e3 as { cause?: unknown }).cause instanceof SmtpTlsError),
    `${e3.code}: ${e3.message}`,
  );
  const ok = await connect({ host: '127.0.0.1', port: srv.port, rejectUnauthorized: false });
  assert.is(ok.secure, true);
  await ok.close();
  await srv.close();
});

// ---------------------------------------------------------------- AUTH

function authServer(seen: string[]): Promise<TestServer> {
  return startServer({
    authOptional: false,
    authMethods: ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2'],
    onAuth(auth, _session, callback) {
      const method = String(auth.method);
      seen.push(method);
      if (method === 'XOAUTH2') {
        if (auth.username === 'alice' && auth.accessToken === 'token-123') return callback(null, { user: 'alice' });
        return callback(null, { data: { status: '401', schemes: 'bearer' } });
      }
      const ok = auth.username === 'alice' && (method === 'CRAM-MD5' ? auth.validatePassword('s3cret') : auth.password === 's3cret');
      callback(ok ? null : new Error('Invalid username or password'), ok ? { user: 'alice' } : undefined);
    },
  });
}

for (const mechanism of ['PLAIN', 'LOGIN', 'CRAM-MD5'] as const) {
  test(`AUTH ${mechanism} over STARTTLS`, async () => {
    const seen: string[] = [];
    const srv = await authServer(seen);
    const log: LogEntry[] = [];
    const client = await connect({
      host: '127.0.0.1',
      port: srv.port,
      ca,
      auth: { user: 'alice', pass: 's3cret', mechanism },
      logger: (e) => log.push(e),
    });
    const r = await client.send({ from: 'alice@example.com', to: 'b@example.com', body: body(mechanism) });
    assert.is(r.outcome, 'accepted');
    assert.equal(seen, [mechanism]);
    // The transcript hook never sees the secret, in clear or in base64.
    const secrets = ['s3cret', Buffer.from('\0alice\0s3cret').toString('base64'), Buffer.from('s3cret').toString('base64')];
    assert.not.ok(log.some((e) => secrets.some((x) => e.text.includes(x))));
    assert.ok(log.some((e) => e.from === 'client' && e.text.startsWith(`AUTH ${mechanism}`)));
    await client.close();
    await srv.close();
  });
}

test('AUTH XOAUTH2 with a token', async () => {
  const seen: string[] = [];
  const srv = await authServer(seen);
  const client = await connect({
    host: '127.0.0.1',
    port: srv.port,
    ca,
    auth: { user: 'alice', token: 'token-123', mechanism: 'XOAUTH2' },
  });
  assert.is((await client.send({ from: 'alice@example.com', to: 'b@example.com', body: body('oauth') })).outcome, 'accepted');
  assert.equal(seen, ['XOAUTH2']);
  await client.close();
  await srv.close();
});

test('AUTH: a wrong password rejects connect() with EAUTH; no credentials in clear by default', async () => {
  const seen: string[] = [];
  const srv = await authServer(seen);
  const err = await rejection(connect({ host: '127.0.0.1', port: srv.port, ca, auth: { user: 'alice', pass: 'wrong' } }));
  assert.is(err.code, 'EAUTH');
  const clear = await rejection(connect({ ...plain(srv.port), auth: { user: 'alice', pass: 's3cret' } }));
  assert.is(clear.code, 'EAUTH');
  assert.equal(seen, ['CRAM-MD5']); // the strongest both offer; the clear-text attempt never reached the server
  await srv.close();
});

// ---------------------------------------------------------------- envelopes and extensions

test('several recipients, one rejected: accepted with the rejected list', async () => {
  const srv = await startServer({
    onRcptTo(address, _session, callback) {
      if (address.address === 'nobody@example.com') {
        const err = new Error('No such user') as Error & { responseCode: number };
        err.responseCode = 550;
        return callback(err);
      }
      callback();
    },
  });
  const client = await connect(plain(srv.port));
  const r = await client.send({ from: 'a@example.com', to: ['b@example.com', 'nobody@example.com', 'c@example.com'], body: body('rcpts') });
  assert.is(r.outcome, 'accepted');
  assert.equal(
    r.accepted.map((x) => x.address),
    ['b@example.com', 'c@example.com'],
  );
  assert.equal(
    r.rejected.map((x) => x.address),
    ['nobody@example.com'],
  );
  assert.is(r.rejected[0]!.reply.code, 550);
  const none = await client.send({ from: 'a@example.com', to: ['nobody@example.com'], body: body('none') });
  assert.is(none.outcome, 'rejected');
  assert.is(none.error?.code, 'EREPLY');
  await client.close();
  assert.is(srv.messages.length, 1);
  assert.equal(srv.messages[0]!.to, ['b@example.com', 'c@example.com']);
  await srv.close();
});

test('SIZE: the advertised limit refuses locally (ECAPABILITY); a hidden one gets the server 552', async () => {
  const srv = await startServer({ size: 1000 });
  const client = await connect(plain(srv.port));
  const big = body('big', 'x'.repeat(70) + '\r\n'.repeat(1) + ('y'.repeat(70) + '\r\n').repeat(20));
  const r = await client.send({ from: 'a@example.com', to: 'b@example.com', body: big });
  assert.is(r.outcome, 'rejected');
  assert.is(r.error?.code, 'ECAPABILITY');
  // A stream has no declared size: the core stops it once it passes the limit.
  const streamed = await client.send({ from: 'a@example.com', to: 'b@example.com', body: [big] });
  assert.is(streamed.outcome, 'rejected');
  assert.is(streamed.error?.code, 'ECAPABILITY');
  await client.close();
  assert.is(srv.messages.length, 0);
  await srv.close();

  const hidden = await startServer({ size: 1000, hideSize: true, rejectOversized: true });
  const c2 = await connect(plain(hidden.port));
  const r2 = await c2.send({ from: 'a@example.com', to: 'b@example.com', body: big });
  assert.is(r2.outcome, 'rejected');
  assert.is(r2.error?.code, 'EREPLY');
  assert.is(r2.reply?.code, 552);
  assert.is(r2.error?.transient, false);
  await c2.close();
  await hidden.close();
});

test('SMTPUTF8 addresses; 8-bit bodies declare 8BITMIME (and are refused without it)', async () => {
  const srv = await startServer();
  const client = await connect(plain(srv.port));
  const r = await client.send({ from: 'jörg@example.com', to: 'ünïcode@exämple.com', body: body('utf8', 'Grüße') });
  assert.is(r.outcome, 'accepted');
  await client.close();
  assert.is(srv.messages[0]!.from, 'jörg@example.com');
  assert.equal(srv.messages[0]!.to, ['ünïcode@exämple.com']);
  assert.is(srv.messages[0]!.body.toString('utf8'), body('utf8', 'Grüße'));
  await srv.close();

  const old = await startServer({ hideSMTPUTF8: true, hide8BITMIME: true });
  const c2 = await connect(plain(old.port));
  const r2 = await c2.send({ from: 'jörg@example.com', to: 'b@example.com', body: body('x') });
  assert.is(r2.outcome, 'rejected');
  assert.is(r2.error?.code, 'ECAPABILITY');
  const r3 = await c2.send({ from: 'a@example.com', to: 'b@example.com', body: body('x', 'Grüße') });
  assert.is(r3.outcome, 'rejected');
  assert.is(r3.error?.code, 'ECAPABILITY');
  const r4 = await c2.send({ from: 'a@example.com', to: 'b@example.com', body: body('x', 'plain ascii') });
  assert.is(r4.outcome, 'accepted');
  await c2.close();
  assert.is(old.messages.length, 1);
  await old.close();
});

test('usage errors reject send() synchronously-at-call; the session goes on', async () => {
  const srv = await startServer();
  const client = await connect(plain(srv.port));
  const err = await rejection(client.send({ from: 'a@example.com', to: 'bad\r\nRCPT TO:<x@y>', body: 'x' }));
  assert.is(err.code, 'EUSAGE');
  const err2 = await rejection(client.send({ from: 'a@example.com', to: 'b@example.com', body: 42 as unknown as string }));
  assert.is(err2.code, 'EUSAGE');
  assert.is((await client.send({ from: 'a@example.com', to: 'b@example.com', body: body('after') })).outcome, 'accepted');
  await client.close();
  await srv.close();
});

// ---------------------------------------------------------------- streaming and pipelining

test('a 20 MB body streamed from an async generator arrives byte-exact with bounded buffering', async () => {
  let received = 0;
  let maxGap = 0;
  const srv = await startServer({
    onData(stream, _session, callback) {
      const hash = createHash('sha256');
      stream.on('data', (c: Buffer) => {
        received += c.length;
        hash.update(c);
      });
      stream.on('end', () => {
        delivered = hash.digest('hex');
        callback(null);
      });
    },
  });
  let delivered = '';
  const sent = createHash('sha256');
  let produced = 0;
  const TOTAL = 20 * 1024 * 1024;
  async function* generate(): AsyncGenerator<Uint8Array> {
    let line = 0;
    while (produced < TOTAL) {
      let text = '';
      for (let i = 0; i < 800; i++) text += `line ${String(line++).padStart(9, '0')} ${'abcdefghijklmnopqrstuvwxyz'.repeat(2)}.\r\n`;
      const chunk = Buffer.from(text);
      sent.update(chunk);
      produced += chunk.length;
      maxGap = Math.max(maxGap, produced - received);
      yield chunk;
    }
  }
  const client = await connect(plain(srv.port));
  const r = await client.send({ from: 'a@example.com', to: 'b@example.com', body: generate() });
  assert.is(r.outcome, 'accepted');
  await client.close();
  assert.ok(produced >= TOTAL);
  assert.is(delivered, sent.digest('hex'));
  // Socket buffers hold some; the client must not have read the whole 20 MB ahead.
  assert.ok(maxGap < 12 * 1024 * 1024, `the client ran ${maxGap} octets ahead of the server`);
  await srv.close();
});

test('other body sources: iterable of strings, ReadableStream, Uint8Array', async () => {
  const srv = await startServer();
  const client = await connect(plain(srv.port));
  const text = body('sources', 'one\r\ntwo\r\n.leading dot');
  const bytes = new TextEncoder().encode(text);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.subarray(0, 10));
      controller.enqueue(bytes.subarray(10));
      controller.close();
    },
  });
  const results = await Promise.all([
    client.send({ from: 'a@example.com', to: 'b@example.com', body: [text.slice(0, 5), text.slice(5)] }),
    client.send({ from: 'a@example.com', to: 'b@example.com', body: stream }),
    client.send({ from: 'a@example.com', to: 'b@example.com', body: bytes }),
  ]);
  assert.equal(
    results.map((r) => r.outcome),
    ['accepted', 'accepted', 'accepted'],
  );
  await client.close();
  assert.equal(
    srv.messages.map((m) => m.body.toString()),
    [text, text, text],
  );
  await srv.close();
});

test('30 concurrent sends on one client share the connection and pipeline', async () => {
  const srv = await startServer();
  const log: LogEntry[] = [];
  const client = await connect({ ...plain(srv.port), logger: (e) => log.push(e) });
  const results = await Promise.all(
    Array.from({ length: 30 }, (_, i) => client.send({ from: 'a@example.com', to: `r${i}@example.com`, body: body(`n${i}`) })),
  );
  assert.ok(results.every((r) => r.outcome === 'accepted'));
  assert.equal(
    results.map((r) => r.accepted[0]!.address),
    Array.from({ length: 30 }, (_, i) => `r${i}@example.com`),
  );
  await client.close();
  assert.is(srv.stats.connections, 1);
  assert.is(srv.messages.length, 30);
  // Pipelining: each MAIL, RCPT and DATA went as one group, before any of their replies; the
  // next group waits for the reply to the dot (see core/connection.ts writeData).
  const grouped = log.every(
    (e, i) =>
      !(e.from === 'client' && e.text.startsWith('MAIL FROM')) || (log[i + 1]?.text.startsWith('RCPT TO') && log[i + 2]?.text === 'DATA'),
  );
  assert.ok(grouped, 'expected MAIL, RCPT and DATA to leave together');
  const afterDot = log.some((e, i) => e.from === 'client' && e.text === '.' && log[i + 1]?.from === 'client');
  assert.not.ok(afterDot, 'the next command waits for the reply to the final dot');
  await srv.close();
});

// ---------------------------------------------------------------- files (fileBody: the client's read ring)

/** Open file descriptors of this process (Linux), or undefined where /proc is not there. */
function openFds(): number | undefined {
  return existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : undefined;
}

test('fileBody: a 6 MiB file arrives byte-exact (DATA, dot-stuffed) and the file is closed after', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpwire-file-'));
  try {
    // CRLF lines, every 7th starting with "." (stuffed on the wire, unstuffed by the server).
    const lines: string[] = [];
    for (let i = 0; lines.length * 80 < 6 * 1024 * 1024; i++)
      lines.push(`${i % 7 === 0 ? '.' : ''}line ${String(i).padStart(8, '0')} ${'0123456789abcdef'.repeat(4)}`);
    const bytes = Buffer.from(`Subject: a file\r\n\r\n${lines.join('\r\n')}\r\n`);
    const path = join(dir, 'message.eml');
    writeFileSync(path, bytes);
    let delivered = '';
    const srv = await startServer({
      onData(stream, _session, callback) {
        const hash = createHash('sha256');
        stream.on('data', (c: Buffer) => hash.update(c));
        stream.on('end', () => {
          delivered = hash.digest('hex');
          callback(null);
        });
      },
    });
    const client = await connect({ ...plain(srv.port), readSize: 256 * 1024 });
    const fdsBefore = openFds(); // the connection's sockets included
    const body = fileBody(path);
    assert.is(body.size, bytes.length);
    let closes = 0;
    const close = body.close.bind(body);
    const r = await client.send({
      from: 'a@example.com',
      to: 'b@example.com',
      size: body.size,
      body: { readInto: (b) => body.readInto(b), close: () => (closes++, close()) },
    });
    assert.is(r.outcome, 'accepted', r.error?.message);
    await sleep(10);
    if (fdsBefore !== undefined) assert.is(openFds(), fdsBefore, 'the file is closed again');
    await client.close();
    assert.is(delivered, createHash('sha256').update(bytes).digest('hex'));
    assert.is(closes, 1, 'the client closed the source once');
    await assert_rejects(body.readInto(new Uint8Array(10)), /closed/);
    await srv.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fileBody: start and length pick a range; its size is declared as SIZE=; a missing file throws at the call', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpwire-file-'));
  try {
    const path = join(dir, 'm.eml');
    writeFileSync(path, 'junk before\r\nSubject: range\r\n\r\nbody\r\njunk after\r\n');
    const start = 'junk before\r\n'.length;
    const text = 'Subject: range\r\n\r\nbody\r\n';
    const srv = await startServer({ size: 1_000_000 }); // advertises SIZE
    const said: string[] = [];
    const client = await connect({ ...plain(srv.port), logger: (e) => e.from === 'client' && said.push(e.text) });
    const body = fileBody(new URL(`file://${path}`), { start, length: text.length });
    assert.is(body.size, text.length);
    const r = await client.send({ from: 'a@example.com', to: 'b@example.com', body });
    assert.is(r.outcome, 'accepted', r.error?.message);
    assert.ok(
      said.some((l) => l.startsWith('MAIL FROM:') && l.includes(` SIZE=${text.length}`)),
      said.join(' | '),
    );
    await client.close();
    assert.is(srv.messages[0]!.body.toString(), text);
    assert.throws(() => fileBody(join(dir, 'missing.eml')), /ENOENT/);
    assert.throws(
      () => fileBody(dir),
      (e: unknown) => (e as SmtpError).code === 'EUSAGE',
    );
    assert.throws(
      () => fileBody(path, { start: -1 }),
      (e: unknown) => (e as SmtpError).code === 'EUSAGE',
    );
    await srv.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('node link: onWritten runs once per write, in order, not inside write(), and for writes dropped by destroy()', async () => {
  // A server that reads nothing: writes pile up in the socket and behind it.
  const sockets: import('node:net').Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.pause();
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  const port = (server.address() as AddressInfo).port;
  const link = await nodeTransport.connect(
    { host: '127.0.0.1', port, implicitTls: false, rejectUnauthorized: true, connectTimeout: 5000 },
    { data: () => {}, end: () => {}, error: () => {}, drain: () => {} },
  );
  assert.is(link.signalsWritten, true);
  const done: number[] = [];
  link.write([Buffer.from('small\r\n')], () => done.push(1));
  assert.equal(done, [], 'never inside write()');
  await sleep(20);
  assert.equal(done, [1], 'written once the kernel took it');
  const big = new Uint8Array(16 * 1024 * 1024);
  for (let i = 2; i <= 5; i++) link.write([Buffer.from('head'), big], () => done.push(i));
  await sleep(50);
  assert.ok(done.length < 5, 'the peer reads nothing: the big writes are still queued');
  link.destroy();
  await sleep(20);
  assert.equal(done, [1, 2, 3, 4, 5], 'every write settled, in order, once the link was destroyed');
  link.write([Buffer.from('late')], () => done.push(6));
  await sleep(5);
  assert.equal(done, [1, 2, 3, 4, 5, 6], 'a write after destroy() is settled too');
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((res) => server.close(() => res()));
});

// ---------------------------------------------------------------- cancellation and failures

test('abort mid-body: rejected with EABORT and the server does not get the message', async () => {
  const srv = await startServer();
  const client = await connect(plain(srv.port));
  const ac = new AbortController();
  let stopped = false;
  async function* generate(): AsyncGenerator<string> {
    try {
      yield 'Subject: aborted\r\n\r\n';
      yield 'part one\r\n'.repeat(1000);
      setTimeout(() => ac.abort(), 20);
      await new Promise((r) => ac.signal.addEventListener('abort', r));
      yield 'part two\r\n';
    } finally {
      stopped = true;
    }
  }
  const r = await client.send({ from: 'a@example.com', to: 'b@example.com', body: generate(), signal: ac.signal });
  assert.is(r.outcome, 'rejected');
  assert.is(r.error?.code, 'EABORT');
  // A DATA body cannot be withdrawn: the core drops the link instead of sending the dot.
  const why = await client.closed;
  assert.ok(why !== undefined);
  await sleep(100);
  assert.ok(stopped, 'the body source was released');
  assert.is(srv.messages.length, 0);
  await srv.close();
});

test('abort before the body: a queued send is rejected with EABORT and the session goes on', async () => {
  const srv = await startServer();
  const client = await connect(plain(srv.port));
  let release!: () => void;
  const later = new Promise<void>((r) => (release = r));
  async function* slow(): AsyncGenerator<string> {
    yield 'Subject: first\r\n\r\n';
    await later;
    yield 'done\r\n';
  }
  const ac = new AbortController();
  const first = client.send({ from: 'a@example.com', to: 'b@example.com', body: slow() });
  // Queued behind the first (its body has not ended), so nothing of it is on the wire yet.
  const second = client.send({ from: 'a@example.com', to: 'b@example.com', body: body('cancelled'), signal: ac.signal });
  await sleep(30);
  ac.abort();
  const b = await second;
  assert.is(b.outcome, 'rejected');
  assert.is(b.error?.code, 'EABORT');
  release();
  assert.is((await first).outcome, 'accepted');
  // An already-aborted signal never starts a transaction.
  const pre = await client.send({ from: 'a@example.com', to: 'b@example.com', body: body('pre'), signal: AbortSignal.abort() });
  assert.is(pre.outcome, 'rejected');
  assert.is(pre.error?.code, 'EABORT');
  assert.is((await client.send({ from: 'a@example.com', to: 'b@example.com', body: body('kept') })).outcome, 'accepted');
  await client.close();
  assert.is(await client.closed, undefined);
  assert.equal(
    srv.messages.map((m) => m.body.toString()),
    ['Subject: first\r\n\r\ndone\r\n', body('kept')],
  );
  await srv.close();
});

test('a failing body source or a bad chunk rejects the send; nothing is delivered', async () => {
  const srv = await startServer();
  const client = await connect(plain(srv.port));
  async function* broken(): AsyncGenerator<string> {
    yield 'Subject: broken\r\n\r\npart\r\n';
    throw new Error('disk on fire');
  }
  const r = await client.send({ from: 'a@example.com', to: 'b@example.com', body: broken() });
  assert.is(r.outcome, 'rejected');
  assert.is(r.error?.code, 'EABORT');
  assert.match(r.error!.message, /disk on fire/);
  const c2 = await connect(plain(srv.port));
  const bad = await c2.send({ from: 'a@example.com', to: 'b@example.com', body: ['Subject: x\r\n\r\n', 42] as unknown as string[] });
  assert.is(bad.outcome, 'rejected');
  assert.is(bad.error?.code, 'EUSAGE');
  await sleep(50);
  assert.is(srv.messages.length, 0);
  await client.close();
  await c2.close();
  await srv.close();
});

test('server drops the link after the final dot: outcome unknown (never a false accepted)', async () => {
  let gotData = 0;
  const srv = await startServer({
    onData(stream) {
      stream.on('data', () => {});
      stream.on('end', () => {
        gotData++;
        srv.dropAll(); // the message arrived whole, the reply never goes out
      });
    },
  });
  const client = await connect(plain(srv.port));
  const r = await client.send({ from: 'a@example.com', to: 'b@example.com', body: body('unknown') });
  assert.is(r.outcome, 'unknown');
  assert.is(r.error?.code, 'ECONNECTION');
  assert.is(gotData, 1);
  const after = await client.send({ from: 'a@example.com', to: 'b@example.com', body: body('after') });
  assert.is(after.outcome, 'rejected'); // the session is over: honest rejection, no I/O
  assert.is((await client.closed)?.code, 'ECONNECTION');
  await srv.close();
});

test('server drops the link mid-body: outcome rejected (transient)', async () => {
  let dropped!: () => void;
  const gone = new Promise<void>((r) => (dropped = r));
  const srv = await startServer({
    onData(stream) {
      stream.once('data', () => {
        srv.dropAll();
        dropped();
      });
    },
  });
  const client = await connect(plain(srv.port));
  async function* generate(): AsyncGenerator<string> {
    yield 'Subject: cut\r\n\r\n' + 'first part\r\n'.repeat(100);
    await gone;
    await sleep(20);
    yield 'second part\r\n';
  }
  const r = await client.send({ from: 'a@example.com', to: 'b@example.com', body: generate() });
  assert.is(r.outcome, 'rejected');
  assert.is(r.error?.code, 'ECONNECTION');
  assert.is(r.error?.transient, true);
  await srv.close();
});

test('connect: refused port, greeting timeout, AbortSignal', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const freePort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const refused = await rejection(connect(plain(freePort)));
  assert.is(refused.code, 'ECONNECTION');

  const silent = await startServer({
    onConnect() {
      /* never greet */
    },
  });
  const slow = await rejection(connect({ ...plain(silent.port), timeouts: { greeting: 150 } }));
  assert.is(slow.code, 'ETIMEOUT');
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const aborted = await rejection(connect({ ...plain(silent.port), signal: ac.signal }));
  assert.instance(aborted, SmtpAbortError);
  silent.dropAll();
  await silent.close();
});

test('sendMail: compose, send, close in one call', async () => {
  const srv = await startServer();
  const r = await sendMail({
    ...plain(srv.port),
    from: 'a@example.com',
    to: 'b@example.com',
    cc: ['c@example.com'],
    subject: 'Grüße',
    text: 'Hallo Welt\nzweite Zeile',
    priority: 'high',
  });
  assert.is(r.outcome, 'accepted');
  assert.equal(srv.messages[0]!.to, ['b@example.com', 'c@example.com']);
  const text = srv.messages[0]!.body.toString('utf8');
  assert.match(text, /^Date: /m);
  assert.match(text, /^Subject: =\?UTF-8\?B\?/m);
  assert.match(text, /^X-Priority: 1/m);
  assert.match(text, /Hallo Welt\r\nzweite Zeile/);
  await sleep(50);
  assert.is(srv.stats.open, 0);
  await srv.close();
});

test('no unhandled promise rejections', async () => {
  await sleep(50);
  assert.equal(unhandled, []);
});

exitWhenDone(test);
test.run();
