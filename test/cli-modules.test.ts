// The CLI modules of main (message, DKIM, connection, secret commands) inside the sendmail
// branch's CLI: spooled messages (--queue) keep what they need in the recipe (never a secret),
// a DKIM signature made before spooling verifies (dkimpy and mailauth) after the flush, message
// flags work in sendmail mode, and every module's flags are in --help. The REAL built CLI
// against real smtp-server instances on 127.0.0.1.
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { EXIT } from '../bin/exit-codes.ts';
import { cli, freePort, it, tempDir, testServer } from './cli-harness.ts';
import { dkimpyMissing, txtRecord, verifyWithDkimpy, verifyWithMailauth } from './dkim-verifiers.ts';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const CA = `${FIXTURES}server.crt`;
const PASSWORD = 'pw-only-in-the-vault-4e1b';

/** A STARTTLS server on `port` that wants AUTH PLAIN with PASSWORD. */
async function authServer(port: number) {
  const got: { to: string[]; data: Buffer }[] = [];
  const passwords: string[] = [];
  const s = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authMethods: ['PLAIN'],
    closeTimeout: 200,
    key: readFileSync(`${FIXTURES}server.key`),
    cert: readFileSync(CA),
    onAuth(auth, _session, cb) {
      passwords.push(auth.password ?? '');
      return auth.password === PASSWORD ? cb(null, { user: 'alice' }) : cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        got.push({ to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(chunks) });
        cb(null);
      });
    },
  });
  s.on('error', () => {});
  await new Promise<void>((r) => s.listen(port, '127.0.0.1', () => r()));
  return { got, passwords, close: () => new Promise<void>((r) => s.close(() => r())) };
}

const spoolFiles = (q: string): string[] =>
  ['new', 'cur', 'hold', 'failed'].flatMap((d) => {
    try {
      return readdirSync(join(q, d)).map((f) => join(q, d, f));
    } catch {
      return [];
    }
  });

const parse = (data: Buffer): Promise<ParsedMail> => (simpleParser as unknown as (b: Buffer) => Promise<ParsedMail>)(data);

it('--queue with a built message, DKIM, --pass-cmd and connection flags: the spool keeps the command and the flags, not the secret; flush authenticates, delivers to To and Cc, and the signature verifies', async () => {
  const missing = dkimpyMissing();
  if (missing) throw new Error(missing); // fails loudly, never skipped
  const t = tempDir('cli-modules');
  const port = await freePort();
  let srv: Awaited<ReturnType<typeof authServer>> | undefined;
  try {
    const q = join(t.dir, 'q');
    const keys = generateKeyPairSync('ed25519');
    const keyFile = join(t.dir, 'dkim.pem');
    writeFileSync(keyFile, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const vault = join(t.dir, 'vault');
    writeFileSync(vault, `${PASSWORD}\n`, { mode: 0o600 });
    const passCmd = `cat '${vault}'`;
    const args = [
      'send',
      '--queue',
      '--queue-dir',
      q,
      '--server',
      `smtp+starttls://localhost:${port}`,
      '--ca',
      CA,
      '--user',
      'alice',
      '--pass-cmd',
      passCmd,
      '--tls-min',
      '1.2',
      '--local-address',
      '127.0.0.1',
      '--from',
      'Zoë Sender <zoe@example.com>',
      '--to',
      'Bob <bob@example.org>',
      '--cc',
      'carol@example.net',
      '--subject',
      'queued and signed',
      '--text',
      'Grüße aus dem Spool',
      '--dkim-key',
      keyFile,
      '--dkim-selector',
      'q1',
      '--dkim-domain',
      'example.com',
    ];
    const r = await cli(args);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /queued as/);
    const spooled = spoolFiles(q);
    assert.is(spooled.length, 1);
    const text = readFileSync(spooled[0]!, 'latin1');
    assert.ok(text.includes(`"pass-cmd":${JSON.stringify(passCmd)}`), 'the command is kept');
    assert.not.ok(text.includes(PASSWORD), 'the password is not in the spool file');
    assert.match(text, /"tls-min":"1\.2"/);
    assert.match(text, /"local-address":"127\.0\.0\.1"/);
    assert.match(text, /\r\nDKIM-Signature: |\nDKIM-Signature: /);

    srv = await authServer(port);
    const f = await cli(['queue', 'flush', '--queue-dir', q], { timeout: 20_000 });
    assert.is(f.code, 0, f.stderr);
    assert.equal(srv.passwords, [PASSWORD]); // the command ran at flush time
    assert.is(srv.got.length, 1);
    assert.equal(srv.got[0]!.to.sort(), ['bob@example.org', 'carol@example.net']);
    const data = srv.got[0]!.data;
    const records = { 'q1._domainkey.example.com': txtRecord(keys.publicKey) };
    assert.equal(verifyWithDkimpy([data], records)[0]!.results, [true]);
    assert.equal((await verifyWithMailauth(data, records)).results, [true]);
    const m = await parse(data);
    assert.is(m.subject, 'queued and signed');
    assert.is(m.text?.trim(), 'Grüße aus dem Spool');
    assert.is(spoolFiles(q).length, 0);
  } finally {
    await srv?.close();
    t.done();
  }
});

it('--queue refuses a proxy password in the URL (it would land in the spool) and a --user with no secret source', async () => {
  const t = tempDir('cli-modules');
  try {
    const q = join(t.dir, 'q');
    const base = ['send', '--queue', '--queue-dir', q, '--server', 'smtp+plain://127.0.0.1:9', '--from', 'a@example.com', 'b@example.com'];
    const p = await cli([...base, '--proxy', 'socks5://u:secret@127.0.0.1:9'], { stdin: 'Subject: x\r\n\r\nx\r\n' });
    assert.is(p.code, EXIT.USAGE, p.stderr);
    assert.match(p.stderr, /SMTPWIRE_PROXY_PASSWORD/);
    const u = await cli([...base, '--user', 'alice'], { stdin: 'Subject: x\r\n\r\nx\r\n' });
    assert.is(u.code, EXIT.USAGE, u.stderr);
    assert.match(u.stderr, /--pass-cmd/);
    assert.is(spoolFiles(q).length, 0);
  } finally {
    t.done();
  }
});

it('sendmail mode with message flags: built message, -F name in From, Date and Message-ID, recipients from the command line; -t refused with them', async () => {
  const s = await testServer();
  try {
    const r = await cli(
      [
        'sendmail',
        '--server',
        s.url,
        '-f',
        'me@example.com',
        '-F',
        'Mé Myself',
        '--subject',
        'built',
        '--text',
        'hello',
        '--cc',
        'c@example.net',
        'b@example.org',
      ],
      { stdin: '' },
    );
    assert.is(r.code, 0, r.stderr);
    assert.is(s.received.length, 1);
    assert.equal(s.received[0]!.to.sort(), ['b@example.org', 'c@example.net']);
    const m = await parse(s.received[0]!.data);
    assert.equal(m.from?.value[0], { address: 'me@example.com', name: 'Mé Myself' });
    assert.is(m.subject, 'built');
    assert.ok(m.date instanceof Date && m.messageId !== undefined);
    const t = await cli(['sendmail', '--server', s.url, '-t', '--text', 'x'], { stdin: '' });
    assert.is(t.code, EXIT.USAGE, t.stderr);
  } finally {
    await s.close();
  }
});

it('sendmail -t -i with DKIM: signed after the header edits (Bcc gone, Date and Message-ID added); dkimpy and mailauth verify what arrived', async () => {
  const missing = dkimpyMissing();
  if (missing) throw new Error(missing);
  const t = tempDir('cli-modules');
  const s = await testServer();
  try {
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyFile = join(t.dir, 'dkim.pem');
    writeFileSync(keyFile, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const raw = 'From: me@example.com\nTo: b@example.org\nBcc: secret@example.net\nSubject: signed by sendmail\n\nbody\n.\nmore\n';
    const r = await cli(
      [
        'sendmail',
        '-t',
        '-i',
        '--server',
        s.url,
        '-f',
        'me@example.com',
        '--dkim-key',
        keyFile,
        '--dkim-selector',
        'sm',
        '--dkim-domain',
        'example.com',
      ],
      { stdin: raw },
    );
    assert.is(r.code, 0, r.stderr);
    assert.is(s.received.length, 1);
    assert.equal(s.received[0]!.to.sort(), ['b@example.org', 'secret@example.net']);
    const data = s.received[0]!.data;
    const text = data.toString('latin1');
    assert.ok(text.startsWith('DKIM-Signature: '), 'the signature is the first field');
    assert.not.match(text, /^Bcc:/im);
    assert.match(text, /^Date: /m);
    assert.match(text, /^Message-ID: /m);
    const records = { 'sm._domainkey.example.com': txtRecord(keys.publicKey) };
    assert.equal(verifyWithDkimpy([data], records)[0]!.results, [true]);
    assert.equal((await verifyWithMailauth(data, records)).results, [true]);
  } finally {
    await s.close();
    t.done();
  }
});

it('--help lists the flags of every module, in send and sendmail mode', async () => {
  for (const args of [['--help'], ['sendmail', '--help']]) {
    const r = await cli(args);
    assert.is(r.code, 0, r.stderr);
    for (const flag of [
      '--attach',
      '--html',
      '--dkim-key',
      '--proxy',
      '--pfx',
      '--pass-cmd',
      '--token-cmd',
      '--data-end-timeout',
      '--queue',
    ]) {
      assert.ok(r.stdout.includes(flag), `${args.join(' ')}: ${flag} in --help`);
    }
  }
});

test.run();
