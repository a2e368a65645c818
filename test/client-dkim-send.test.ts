// DKIM on the friendly API: client.send(), pool.send() and sendMail() with `dkim`, for built
// messages (with a streamed file attachment, signed after rendering for the server) and raw
// ones, delivered to smtp-server and checked there by two independent verifiers, dkimpy
// (Debian's python3-dkim) and mailauth (npm). Also the CLI's --dkim-* with a built message
// (--text, --html, --attach), and the typed errors before MAIL for bodies that cannot be read
// twice. Needs python3-dkim and python3-nacl: without them these tests FAIL, saying how to install.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildMessage } from '../message/build.ts';
import { createDkimSigner, DkimError, type DkimSignatureOptions } from '../message/dkim.ts';
import { connect, createPool, fileBody, sendMail } from '../transports/node.ts';
import { dkimpyMissing, txtRecord, verifyWithDkimpy, verifyWithMailauth } from './dkim-verifiers.ts';
import { runNode } from './node-process.ts';

const CLI = fileURLToPath(new URL('../bin/smtpwire-cli.cjs', import.meta.url));
const missing = dkimpyMissing();
const D = 'signer.example';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
const RSA_PEM = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const ED_PEM = ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const records: Record<string, string> = {
  [`rsa._domainkey.${D}`]: txtRecord(rsa.publicKey),
  [`ed._domainkey.${D}`]: txtRecord(ed.publicKey),
};
const ED: DkimSignatureOptions = { domain: D, selector: 'ed', privateKey: ED_PEM };
const RSA_SIMPLE: DkimSignatureOptions = { domain: D, selector: 'rsa', privateKey: RSA_PEM, canonicalization: 'simple/simple' };

const dir = mkdtempSync(join(tmpdir(), 'smtpwire-dkim-send-'));
const REPORT = join(dir, 'report.bin');
// 300 KiB of every octet value, with CRLF runs and trailing spaces: base64-encoded as it streams.
const reportBytes = Buffer.alloc(300 * 1024);
for (let i = 0; i < reportBytes.length; i++) reportBytes[i] = (i * 7 + (i >> 9)) & 0xff;
writeFileSync(REPORT, reportBytes);

interface Server {
  port: number;
  messages: Buffer[];
  mails: number;
  connections: number;
  close(): Promise<void>;
}

async function smtpServer(): Promise<Server> {
  const s: Server = { port: 0, messages: [], mails: 0, connections: 0, close: async () => {} };
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    closeTimeout: 500,
    size: 64 << 20,
    onConnect(_session, cb) {
      s.connections++;
      cb();
    },
    onMailFrom(_a, _session, cb) {
      s.mails++;
      cb();
    },
    onData(stream, _session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        s.messages.push(Buffer.concat(chunks));
        cb();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  s.port = (server.server.address() as AddressInfo).port;
  s.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return s;
}

const totals = { signatures: 0, dkimpy: 0, mailauth: 0 };

/** Every delivered message carries `expect` signatures, and each verifies with both verifiers. */
async function verifyDelivered(what: string, delivered: Buffer[], expect: number): Promise<void> {
  const py = verifyWithDkimpy(delivered, records);
  for (let i = 0; i < delivered.length; i++) {
    const ma = await verifyWithMailauth(delivered[i]!, records);
    assert.equal(py[i]!.results, Array(expect).fill(true), `${what} #${i}: dkimpy ${py[i]!.errors.join('; ')}`);
    assert.equal(ma.results, Array(expect).fill(true), `${what} #${i}: mailauth ${ma.errors.join('; ')}`);
    totals.signatures += expect;
    totals.dkimpy += py[i]!.results.filter(Boolean).length;
    totals.mailauth += ma.results.filter(Boolean).length;
  }
}

/** The delivered message, parsed by mailparser: the attachment arrived whole. */
async function assertAttachment(raw: Buffer): Promise<void> {
  const p = await simpleParser(raw);
  const a = p.attachments.find((x) => x.filename === 'report.bin');
  assert.ok(a, 'the attachment arrived');
  assert.ok(Buffer.compare(a.content, reportBytes) === 0, 'the attachment arrived byte for byte');
}

const built = () =>
  buildMessage({
    from: '"Ann Signer" <ann@signer.example>',
    to: 'Bob <bob@example.net>',
    subject: 'Grüße: the report   with  spaces',
    text: 'Hello,  \n\nthe report is attached.\t\n\n\n',
    html: '<p>Hello, the <b>report</b> is attached.</p>',
    headers: { 'X-Long': Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ') },
    attachments: [{ filename: 'report.bin', content: () => fileBody(REPORT) }],
  });

test('client.send(built message with a streamed file attachment, { dkim: [ed25519, rsa simple] }): both verify as delivered', async () => {
  assert.ok(missing === undefined, missing);
  const server = await smtpServer();
  try {
    const client = await connect({ host: '127.0.0.1', port: server.port, tls: 'none' });
    try {
      const r = await client.send(built(), { dkim: [ED, RSA_SIMPLE] });
      assert.is(r.outcome, 'accepted', r.error?.message);
      // A prepared signer, and the builder's options with `dkim` among them.
      const signer = await createDkimSigner(ED);
      const r2 = await client.send({
        from: 'ann@signer.example',
        to: 'bob@example.net',
        subject: 'options',
        text: 'café\n',
        attachments: [{ filename: 'report.bin', content: async () => new Blob([reportBytes]).stream() }],
        dkim: signer,
      });
      assert.is(r2.outcome, 'accepted', r2.error?.message);
    } finally {
      await client.close();
    }
    assert.is(server.messages.length, 2);
    await verifyDelivered('built, two signatures', [server.messages[0]!], 2);
    await verifyDelivered('builder options, prepared signer', [server.messages[1]!], 1);
    for (const m of server.messages) await assertAttachment(m);
  } finally {
    await server.close();
  }
});

test('client.send(raw message, { dkim }): string, bytes and a function that reopens a file; all verify', async () => {
  assert.ok(missing === undefined, missing);
  const server = await smtpServer();
  const eml = join(dir, 'raw.eml');
  const raw = 'From: ann@signer.example\nTo: bob@example.net\nSubject:  raw  \n\nline with trailing space \n\n\n';
  writeFileSync(eml, raw);
  try {
    const client = await connect({ host: '127.0.0.1', port: server.port, tls: 'none' });
    try {
      const env = { from: 'ann@signer.example', to: 'bob@example.net' };
      for (const body of [raw, new TextEncoder().encode(raw), () => fileBody(eml)]) {
        const r = await client.send({ ...env, body, dkim: [RSA_SIMPLE, ED] });
        assert.is(r.outcome, 'accepted', r.error?.message);
      }
      // dkim as the second argument, for a raw message too.
      const r = await client.send({ ...env, body: raw }, { dkim: ED });
      assert.is(r.outcome, 'accepted', r.error?.message);
    } finally {
      await client.close();
    }
    assert.is(server.messages.length, 4);
    await verifyDelivered('raw', server.messages.slice(0, 3), 2);
    await verifyDelivered('raw, second argument', server.messages.slice(3), 1);
  } finally {
    await server.close();
  }
});

test('a body that cannot be read twice: DkimError (reason source) before MAIL, nothing sent', async () => {
  const server = await smtpServer();
  try {
    const client = await connect({ host: '127.0.0.1', port: server.port, tls: 'none' });
    try {
      const oneShot = buildMessage({
        from: 'ann@signer.example',
        to: 'bob@example.net',
        text: 'x',
        attachments: [{ filename: 'report.bin', content: fileBody(REPORT) }],
      });
      const e1 = await client.send(oneShot, { dkim: ED }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.instance(e1, DkimError);
      assert.is((e1 as DkimError).reason, 'source');
      assert.match((e1 as Error).message, /content: \(\) => fileBody\(path\)/);
      const e2 = await client
        .send({
          from: 'ann@signer.example',
          to: 'bob@example.net',
          body: (async function* () {
            yield 'From: a@signer.example\r\n\r\nx';
          })(),
          dkim: ED,
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.instance(e2, DkimError);
      assert.is((e2 as DkimError).reason, 'source');
      // The session is still good: an unsigned message goes.
      const r = await client.send({ from: 'ann@signer.example', to: 'bob@example.net', body: 'From: a@signer.example\r\n\r\nok\r\n' });
      assert.is(r.outcome, 'accepted');
    } finally {
      await client.close();
    }
    assert.is(server.mails, 1, 'MAIL only for the unsigned message');
  } finally {
    await server.close();
  }
});

test('pool.send and sendMail with dkim: built and raw messages verify; bad DKIM options fail before connecting', async () => {
  assert.ok(missing === undefined, missing);
  const server = await smtpServer();
  try {
    const pool = createPool({ host: '127.0.0.1', port: server.port, tls: 'none', maxConnections: 2 });
    try {
      const results = await Promise.all([
        pool.send(built(), { dkim: ED }),
        pool.send({ from: 'ann@signer.example', to: 'bob@example.net', subject: 'pooled', text: 'hi', dkim: RSA_SIMPLE }),
        pool.send({
          from: 'ann@signer.example',
          to: 'bob@example.net',
          body: 'From: ann@signer.example\r\nSubject: raw pooled\r\n\r\nhi\r\n',
          dkim: [ED, RSA_SIMPLE],
        }),
      ]);
      for (const r of results) assert.is(r.outcome, 'accepted', r.error?.message);
    } finally {
      await pool.close();
    }
    const r = await sendMail({
      host: '127.0.0.1',
      port: server.port,
      tls: 'none',
      from: 'ann@signer.example',
      to: 'bob@example.net',
      subject: 'sendMail',
      text: 'hello',
      attachments: [{ filename: 'report.bin', content: () => fileBody(REPORT) }],
      dkim: [ED, RSA_SIMPLE],
    });
    assert.is(r.outcome, 'accepted', r.error?.message);
    assert.is(server.messages.length, 4);
    const count = (m: Buffer): number => (m.toString('latin1').match(/^DKIM-Signature:/gim) ?? []).length;
    for (const m of server.messages) await verifyDelivered('pool/sendMail', [m], count(m));
    assert.equal(server.messages.map(count).sort(), [1, 1, 2, 2]);
    const before = server.connections;
    const bad = await sendMail({
      host: '127.0.0.1',
      port: server.port,
      tls: 'none',
      from: 'ann@signer.example',
      to: 'bob@example.net',
      text: 'x',
      dkim: { domain: D, selector: 'ed', privateKey: 'not a key' },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(bad, DkimError);
    const oneShot = await sendMail({
      host: '127.0.0.1',
      port: server.port,
      tls: 'none',
      from: 'ann@signer.example',
      to: 'bob@example.net',
      text: 'x',
      attachments: [{ filename: 'report.bin', content: fileBody(REPORT) }],
      dkim: ED,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(oneShot, DkimError);
    assert.is((oneShot as DkimError).reason, 'source');
    assert.is(server.connections, before, 'no connection for bad DKIM options or a one-shot attachment');
  } finally {
    await server.close();
  }
});

test('CLI: --text --html --attach FILE with --dkim-* signs the built message; dkimpy and mailauth verify it as delivered', async () => {
  assert.ok(missing === undefined, missing);
  const server = await smtpServer();
  try {
    const key = join(dir, 'ed.pem');
    writeFileSync(key, ED_PEM);
    const html = join(dir, 'body.html');
    writeFileSync(html, '<p>Grüße, the report.</p>\n');
    const out = await runNode(
      CLI,
      [
        'send',
        '--server',
        `smtp+plain://127.0.0.1:${server.port}`,
        '--from',
        'Ann <ann@signer.example>',
        '--to',
        'bob@example.net',
        '--subject',
        'CLI signed',
        '--text',
        'Hello  \n\n',
        '--html',
        html,
        '--attach',
        REPORT,
        '--dkim-key',
        key,
        '--dkim-selector',
        'ed',
        '--dkim-domain',
        D,
      ],
      { stdin: '', timeout: 60_000 },
    );
    assert.is(out.code, 0, out.stderr);
    assert.is(server.messages.length, 1);
    await verifyDelivered('CLI built', server.messages, 1);
    await assertAttachment(server.messages[0]!);
  } finally {
    await server.close();
  }
});

test('totals', () => {
  console.log(`dkim-send: ${totals.signatures} signatures; dkimpy verified ${totals.dkimpy}, mailauth verified ${totals.mailauth}`);
  assert.is(totals.signatures, 17); // every signature of every test above, counted
  rmSync(dir, { recursive: true, force: true });
});

test.run();
