// smtpwire/testing: the in-memory server behind the Transport contract and its failure rules,
// driven by the real client. No Node API: it runs in Node, Deno, Bun and workerd (CORE_TESTS in
// test/runtimes/harness.mjs). The reader against Python's email package: testing-kit-reader.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SmtpAuthError, SmtpUsageError } from '../core/errors.ts';
import { connect, sendMail } from '../client/client.ts';
import { createPool } from '../client/pool.ts';
import { createTestServer, manualClock } from '../testing/index.ts';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
/** connect, send one raw message, close: what an application's mail function does. */
async function deliver(o: {
  transport: import('../client/transport.ts').Transport;
  from: string;
  to: string | string[];
  body: string | Uint8Array;
  auth?: { user: string; pass: string; mechanism?: string };
}) {
  const client = await connect({ host: 'mx.test', transport: o.transport, ...(o.auth ? { auth: o.auth } : {}) });
  try {
    return await client.send({ from: o.from, to: o.to, body: o.body });
  } finally {
    await client.close().catch(() => {});
  }
}
const MSG = 'From: a@example.com\r\nTo: b@example.net\r\nSubject: hello\r\n\r\nbody line\r\n.leading dot\r\n';

test('accepts by default and records envelope, raw bytes and headers', async () => {
  const server = createTestServer();
  const r = await deliver({ transport: server.transport, from: 'a@example.com', to: ['b@example.net', 'c@example.org'], body: MSG });
  assert.is(r.outcome, 'accepted');
  assert.is(r.accepted.length, 2);
  assert.is(server.messages.length, 1);
  const m = server.messages[0]!;
  assert.equal(m.envelope.from, 'a@example.com');
  assert.equal(m.envelope.to, ['b@example.net', 'c@example.org']);
  assert.is(text(m.raw), MSG, 'raw bytes as the application wrote them (dot-unstuffed)');
  assert.is(m.header('subject'), 'hello');
  assert.is(m.text, 'body line\r\n.leading dot\r\n');
  assert.is(m.fate, 'accepted');
  assert.ok(m.secure, 'the client upgraded with (virtual) STARTTLS');
});

test('sendMail (composed text/plain) is recorded with headers and text part', async () => {
  const server = createTestServer();
  const r = await sendMail({
    host: 'mx.test',
    transport: server.transport,
    from: 'a@example.com',
    to: 'b@example.net',
    subject: 'Grüße',
    text: 'Hallo Welt\n',
  });
  assert.is(r.outcome, 'accepted');
  const m = server.messages[0]!;
  assert.is(m.header('to'), 'b@example.net');
  assert.is(m.text?.replace(/\r\n/g, '\n'), 'Hallo Welt\n');
});

test('a pool with pipelining sends many messages; sequence numbers are server-wide', async () => {
  const server = createTestServer();
  const pool = createPool({ host: 'mx.test', transport: server.transport, maxConnections: 2 });
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      pool.send({ from: 's@example.com', to: `r${i}@example.net`, body: `Subject: ${i}\r\n\r\nn${i}\r\n` }),
    ),
  );
  await pool.close();
  assert.ok(results.every((r) => r.outcome === 'accepted'));
  assert.is(server.messages.length, 10);
  assert.equal(
    server.messages.map((m) => m.seq),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  assert.equal(new Set(server.messages.map((m) => m.header('subject'))).size, 10);
});

test('8-bit and SMTPUTF8 bodies arrive byte for byte, through DATA or BDAT', async () => {
  for (const chunking of [false, true]) {
    const server = createTestServer();
    const body = new TextEncoder().encode('Subject: café\r\nTo: ü@exämple.de\r\n\r\nÜnïcödé\r\n.\r\n..\r\n');
    const client = await connect({ host: 'mx.test', transport: server.transport, chunking });
    const r = await client.send({ from: 'ö@example.com', to: 'ü@exämple.de', body });
    await client.close();
    assert.is(r.outcome, 'accepted');
    const m = server.messages[0]!;
    assert.equal(m.raw, body);
    assert.is(m.envelope.via, chunking ? 'BDAT' : 'DATA');
    assert.ok(m.envelope.mailParams.includes('SMTPUTF8'));
    assert.is(m.header('Subject'), 'café');
  }
});

test('rule: recipients matching a pattern are refused with the chosen code', async () => {
  const server = createTestServer({
    rules: {
      rejectRecipients: [
        { match: /@blocked\.example$/, code: 550 },
        { match: 'busy@example.net', code: 450 },
      ],
    },
  });
  const r = await deliver({
    transport: server.transport,
    from: 'a@example.com',
    to: ['ok@example.net', 'x@blocked.example', 'busy@example.net'],
    body: MSG,
  });
  assert.is(r.outcome, 'accepted');
  assert.equal(
    r.accepted.map((a) => a.address),
    ['ok@example.net'],
  );
  assert.equal(
    r.rejected.map((a) => [a.address, a.reply?.code]),
    [
      ['x@blocked.example', 550],
      ['busy@example.net', 450],
    ],
  );
  assert.equal(server.messages[0]!.envelope.to, ['ok@example.net']);
  const all = await deliver({ transport: server.transport, from: 'a@example.com', to: ['y@blocked.example'], body: MSG });
  assert.is(all.outcome, 'rejected');
  assert.is(server.messages.length, 1, 'nothing recorded for a message no recipient took');
});

test('rule: 421 after N messages; the application sees a transient rejection', async () => {
  const server = createTestServer({ rules: { closeAfter: 2 } });
  const client = await connect({ host: 'mx.test', transport: server.transport });
  const rs = [];
  for (let i = 0; i < 3; i++) rs.push(await client.send({ from: 'a@example.com', to: 'b@example.net', body: MSG }).catch((e) => e));
  await client.close().catch(() => {});
  assert.equal(
    rs.slice(0, 2).map((r) => r.outcome),
    ['accepted', 'accepted'],
  );
  assert.is(rs[2].outcome, 'rejected');
  assert.is(rs[2].reply?.code, 421);
  assert.ok(rs[2].error?.transient, 'a 421 is transient: retry later');
  assert.is(server.messages.length, 2);
});

test('rule: the link dropped after the final dot gives unknown, and the message is recorded', async () => {
  for (const chunking of [false, true]) {
    const server = createTestServer({ rules: { dropAfterEnd: [2] } });
    const client = await connect({ host: 'mx.test', transport: server.transport, chunking });
    const a = await client.send({ from: 'a@example.com', to: 'b@example.net', body: MSG });
    const b = await client.send({ from: 'a@example.com', to: 'b@example.net', body: MSG });
    await client.closed;
    assert.is(a.outcome, 'accepted');
    assert.is(b.outcome, 'unknown', 'never a false "sent", never a false "failed"');
    assert.equal(
      server.messages.map((m) => m.fate),
      ['accepted', 'dropped'],
    );
  }
});

test('rule: slow replies on a manual clock; the client timeout fires on the real one', async () => {
  const clock = manualClock();
  const server = createTestServer({ clock, rules: { delay: { end: 5_000 } } });
  const client = await connect({ host: 'mx.test', transport: server.transport });
  let settled: string | undefined;
  const p = client.send({ from: 'a@example.com', to: 'b@example.net', body: MSG }).then((r) => (settled = r.outcome));
  await new Promise((r) => setTimeout(r, 20));
  assert.is(settled, undefined, 'the reply to the dot is held back');
  assert.is(server.messages.length, 1, 'the server has the message already');
  clock.advance(4_999);
  await new Promise((r) => setTimeout(r, 5));
  assert.is(settled, undefined);
  clock.advance(1);
  await p;
  assert.is(settled, 'accepted');
  await client.close();

  // A real delay longer than the client's data-end timeout: unknown (the dot left the process).
  const slow = createTestServer({ rules: { delay: { end: 300 } } });
  const c2 = await connect({ host: 'mx.test', transport: slow.transport, timeouts: { dataEnd: 50 } });
  const r = await c2.send({ from: 'a@example.com', to: 'b@example.net', body: MSG });
  assert.is(r.outcome, 'unknown');
});

test('rule: AUTH failure, and AUTH success with the user recorded', async () => {
  const server = createTestServer({ rules: { auth: { users: { alice: 'right' } } } });
  const err = await connect({ host: 'mx.test', transport: server.transport, auth: { user: 'alice', pass: 'wrong' } }).then(
    () => undefined,
    (e) => e,
  );
  assert.instance(err, SmtpAuthError);
  assert.is(err.reply?.code, 535);
  const r = await deliver({
    transport: server.transport,
    auth: { user: 'alice', pass: 'right', mechanism: 'LOGIN' },
    from: 'a@example.com',
    to: 'b@example.net',
    body: MSG,
  });
  assert.is(r.outcome, 'accepted');
  assert.is(server.messages[0]!.user, 'alice');
  const always = createTestServer({ rules: { auth: { fail: { code: 454, text: '4.7.0 try later' } } } });
  const e2 = await connect({ host: 'mx.test', transport: always.transport, auth: { user: 'bob', pass: 'x' } }).then(
    () => undefined,
    (e) => e,
  );
  assert.instance(e2, SmtpAuthError);
  assert.is(e2.reply?.code, 454);
  const noAuth = await deliver({ transport: server.transport, from: 'a@example.com', to: 'b@example.net', body: MSG });
  assert.is(noAuth.outcome, 'rejected', 'MAIL without AUTH is refused when the rule requires it');
  assert.is(noAuth.reply?.code, 530);
});

test('waitFor() and clear()', async () => {
  const server = createTestServer();
  const w = server.waitFor(2);
  void deliver({ transport: server.transport, from: 'a@example.com', to: 'b@example.net', body: MSG });
  void deliver({ transport: server.transport, from: 'a@example.com', to: 'c@example.net', body: MSG });
  const got = await w;
  assert.is(got.length, 2);
  server.clear();
  assert.is(server.messages.length, 0);
  assert.is(server.connections, 0);
});

test('a hostname with a line break is refused, never put on the wire', async () => {
  const server = createTestServer({ hostname: 'mx.test\r\n250 injected' });
  const err = await connect({ host: 'mx.test', transport: server.transport }).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(err instanceof SmtpUsageError || err?.cause instanceof SmtpUsageError, String(err));
});

test.run();
