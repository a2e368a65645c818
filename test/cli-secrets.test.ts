// --pass-cmd and --token-cmd: the REAL built CLI in a child process against smtp-server
// (STARTTLS with the fixture CA, since the CLI never sends credentials in clear). The secret
// is a command's first line; it must never show up in the -v transcript or in an error.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exitWhenDone } from './exit-when-done.ts';
import { runNode } from './node-process.ts';

const CLI = fileURLToPath(new URL('../bin/smtpwire-cli.cjs', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const CA = `${FIXTURES}server.crt`;
const MESSAGE = 'From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nhello\r\n';
const PASSWORD = 'pw-from-the-vault-7f3a';
const STALE = 'ya29.stale-token-91c2';
const FRESH = 'ya29.fresh-token-55d0';

async function server() {
  const seen: string[] = [];
  const bodies: string[] = [];
  const s = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authMethods: ['PLAIN', 'XOAUTH2'],
    key: readFileSync(`${FIXTURES}server.key`),
    cert: readFileSync(CA),
    onAuth(auth, _session, cb) {
      if (auth.method === 'XOAUTH2') {
        seen.push(auth.accessToken ?? '');
        if (auth.accessToken === FRESH) return cb(null, { user: 'alice' });
        return cb(null, { data: { status: '401', schemes: 'bearer', scope: 'https://mail.example.com/' } });
      }
      seen.push(`PLAIN ${auth.password ?? ''}`);
      return auth.password === PASSWORD ? cb(null, { user: 'alice' }) : cb(new Error('Invalid username or password'));
    },
    onData(stream, _s, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString());
        cb(null);
      });
    },
  });
  s.on('error', () => {});
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.server.address() as AddressInfo).port;
  return { port, seen, bodies, close: () => new Promise<void>((r) => s.close(() => r())) };
}

function cli(args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SMTPWIRE_PASSWORD;
  return runNode(CLI, args, { stdin: MESSAGE, env, timeout: 15_000 });
}

const base = (port: number) => [
  'send',
  '-v',
  '--server',
  `smtp+starttls://localhost:${port}`,
  '--ca',
  CA,
  '--user',
  'alice',
  '--from',
  'a@example.com',
  'b@example.com',
];

function assertNoSecret(text: string, secrets: string[]): void {
  for (const s of secrets) {
    assert.not.ok(text.includes(s), `secret ${s} leaked`);
    assert.not.ok(text.includes(Buffer.from(`\0alice\0${s}`).toString('base64')), 'PLAIN response leaked');
    assert.not.ok(text.includes(Buffer.from(`user=alice\x01auth=Bearer ${s}\x01\x01`).toString('base64')), 'XOAUTH2 response leaked');
  }
}

test('--pass-cmd: the first line of the command is the password; nothing of it in the transcript', async () => {
  const srv = await server();
  // `cat` would eat the message if the command shared the CLI's stdin.
  const r = await cli([...base(srv.port), '--pass-cmd', `cat; printf '%s\\n' '${PASSWORD}'; echo second line`]);
  await srv.close();
  assert.is(r.code, 0, r.stderr);
  assert.equal(srv.bodies, [MESSAGE], 'the message, whole: the command did not read stdin');
  assert.equal(srv.seen, [`PLAIN ${PASSWORD}`]);
  assert.match(r.stderr, /C: AUTH PLAIN <redacted>/);
  assertNoSecret(r.stdout + r.stderr, [PASSWORD]);
});

test("--token-cmd: XOAUTH2 with the command's token; refused, it runs again with SMTPWIRE_REFRESH=1", async () => {
  const srv = await server();
  const cmd = `if [ "$SMTPWIRE_REFRESH" = 1 ]; then echo '${FRESH}'; else echo '${STALE}'; fi`;
  const r = await cli([...base(srv.port), '--token-cmd', cmd]);
  await srv.close();
  assert.is(r.code, 0, r.stderr);
  assert.equal(srv.seen, [STALE, FRESH]);
  assert.match(r.stderr, /C: AUTH XOAUTH2 <redacted>/);
  assertNoSecret(r.stdout + r.stderr, [STALE, FRESH]);
});

test('a failing command: exit 77, its status in the error, neither the command nor its output', async () => {
  const srv = await server();
  const r = await cli([...base(srv.port), '--pass-cmd', `echo '${PASSWORD}'; exit 3`]);
  await srv.close();
  assert.is(r.code, 77, r.stderr);
  assert.match(r.stderr, /--pass-cmd: the command exited with status 3/);
  assertNoSecret(r.stdout + r.stderr, [PASSWORD]);
  assert.equal(srv.seen, [], 'no AUTH was tried');
});

test('a refused password from --pass-cmd: exit 77 and no echo', async () => {
  const srv = await server();
  const r = await cli([...base(srv.port), '--pass-cmd', 'echo wrong-secret-1234']);
  await srv.close();
  assert.is(r.code, 77, r.stderr);
  assertNoSecret(r.stdout + r.stderr, ['wrong-secret-1234']);
});

test('usage: the flags need --user; --pass-cmd and --pass-file exclude each other', async () => {
  const a = await cli(['send', '--server', 'smtp://localhost:1', '--pass-cmd', 'echo x', '--from', 'a@example.com', 'b@example.com']);
  assert.is(a.code, 64);
  assert.match(a.stderr, /--pass-cmd needs --user/);
  const b = await cli([
    'send',
    '--server',
    'smtp://localhost:1',
    '--user',
    'u',
    '--pass-file',
    '/dev/null',
    '--pass-cmd',
    'echo x',
    '--from',
    'a@example.com',
    'b@example.com',
  ]);
  assert.is(b.code, 64);
  assert.match(b.stderr, /either with --pass-file or with --pass-cmd/);
});

exitWhenDone(test);
test.run();
