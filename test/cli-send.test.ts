// CLI tests: the REAL built CLI (dist/bin/smtpwire-cli.cjs, the published single-file bin) in a child process, against a real
// smtp-server (or a tiny scripted one for the failures smtp-server cannot stage) on 127.0.0.1.
// Plus unit tests of exitCodeFor, the pure exit-status mapping.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { SMTPServerOptions } from 'smtp-server';
import { test } from 'uvu';
import { exitWhenDone } from './exit-when-done.ts';
import { cli as harnessCli, it as harnessIt, testServer, unansweredServer, type CliRun } from './cli-harness.ts';
import * as assert from 'uvu/assert';
import { EXIT, exitCodeFor } from '../bin/exit-codes.ts';
import {
  SmtpAuthError,
  SmtpCapabilityError,
  SmtpConnectionError,
  SmtpProtocolError,
  SmtpReplyError,
  SmtpTimeoutError,
  SmtpTlsError,
  SmtpUsageError,
  SmtpAbortError,
} from '../core/errors.ts';
import type { TransactionResult } from '../core/events.ts';
import type { Reply } from '../core/reply.ts';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const CA = `${FIXTURES}server.crt`;
const KEY = readFileSync(`${FIXTURES}server.key`, 'utf8');
const CERT = readFileSync(CA, 'utf8');
const PASSWORD = 'correct horse battery staple';
const MESSAGE = 'From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nhello\r\n.leading dot\r\n';

// ---- harness ----------------------------------------------------------------------------------

/** The harness's bounded test and CLI run, with this file's limits (15 s a test, 10 s a run). */
const it = (name: string, fn: () => Promise<void> | void, ms = 15_000): void => harnessIt(name, fn, ms);
type Run = CliRun;
const cli = (args: string[], opts: Parameters<typeof harnessCli>[1] = {}): Promise<Run> => harnessCli(args, { timeout: 10_000, ...opts });

interface Server {
  port: number;
  /** Each message as the server received it. */
  readonly messages: Buffer[];
  close(): Promise<void>;
}

/** A real smtp-server (cli-harness.ts). Default: plain text (no STARTTLS), AUTH optional. */
async function smtpServer(options: SMTPServerOptions = {}): Promise<Server> {
  const s = await testServer({ closeTimeout: 500, ...options });
  return {
    port: s.port,
    get messages() {
      return s.received.map((r) => r.data);
    },
    close: () => s.close(),
  };
}

/** An smtp-server error with an SMTP reply code. */
function refusal(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

const tlsOptions = { key: KEY, cert: CERT };
const authOptions = (password = PASSWORD): SMTPServerOptions => ({
  authOptional: false,
  authMethods: ['PLAIN', 'LOGIN'],
  onAuth(auth, _session, callback) {
    if (auth.username === 'user' && auth.password === password) callback(null, { user: 'user' });
    else callback(refusal(535, 'Authentication failed'));
  },
});

/**
 * A scripted server for what smtp-server cannot stage: it answers every command with 250
 * (354 to DATA), then drops the link either on DATA or right after reading the final dot,
 * without a reply. No PIPELINING, so the client waits for each reply.
 */
function droppingServer(dropAt: 'data' | 'dot' | 'silent'): Promise<{ port: number; close(): Promise<void> }> {
  return unansweredServer({
    name: 'drop.test',
    go: 'go ahead',
    quit: true,
    onData: () => dropAt !== 'data',
    // The body is in; the reply never comes: the link drops, or (silent) stays open.
    onDot: (sock) => {
      if (dropAt !== 'silent') sock.destroy();
      return false;
    },
  });
}

const json = (r: Run): any => {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`stdout is not JSON:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
};

// ---- sending ----------------------------------------------------------------------------------

it('raw message from stdin, --json: accepted, exit 0, the server got the exact bytes', async () => {
  const s = await smtpServer();
  try {
    const r = await cli(
      ['send', '--server', `smtp://127.0.0.1:${s.port}`, '--from', 'a@example.com', '--to', 'b@example.com', 'c@example.com', '--json'],
      { stdin: MESSAGE },
    );
    assert.is(r.code, 0, r.stderr);
    const out = json(r);
    assert.is(out.outcome, 'accepted');
    assert.equal(
      out.accepted.map((x: any) => x.address),
      ['b@example.com', 'c@example.com'],
    );
    assert.is(out.accepted[0].code, 250);
    assert.equal(out.rejected, []);
    assert.equal(out.unknown, []);
    assert.is(out.error, null);
    assert.is(out.exitCode, 0);
    assert.is(s.messages.length, 1);
    assert.is(s.messages[0]!.toString('latin1'), MESSAGE); // dot-stuffed on the wire, unstuffed by the server
  } finally {
    await s.close();
  }
});

it('a 3 MB raw message streams through intact', async () => {
  const s = await smtpServer();
  try {
    const line = 'x'.repeat(76) + '\r\n';
    const body = 'Subject: big\r\n\r\n' + line.repeat(Math.ceil((3 << 20) / line.length));
    const r = await cli(['send', '--server', `smtp+plain://127.0.0.1:${s.port}`, '--from', 'a@example.com', 'b@example.com'], {
      stdin: body,
      timeout: 20_000,
    });
    assert.is(r.code, 0, r.stderr);
    assert.is(s.messages[0]!.length, body.length);
    assert.ok(s.messages[0]!.toString('latin1') === body);
  } finally {
    await s.close();
  }
}, 25_000);

it('stdin redirected from a file (5 MB): SIZE= declared, delivered intact', async () => {
  const s = await smtpServer({ size: 50 << 20 });
  const dir = mkdtempSync(join(tmpdir(), 'smtpwire-cli-'));
  try {
    const line = 'y'.repeat(76) + '\r\n';
    const body = 'Subject: from a file\r\n\r\n' + line.repeat(Math.ceil((5 << 20) / line.length));
    const path = join(dir, 'message.eml');
    writeFileSync(path, body, 'latin1');
    const r = await cli(['send', '-v', '--server', `smtp+plain://127.0.0.1:${s.port}`, '--from', 'a@example.com', 'b@example.com'], {
      stdinFile: path,
      timeout: 20_000,
    });
    assert.is(r.code, 0, r.stderr);
    assert.ok(r.stderr.includes(`SIZE=${body.length}`), r.stderr.slice(0, 2000));
    assert.ok(s.messages[0]!.toString('latin1') === body);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await s.close();
  }
}, 25_000);

it('one recipient refused permanently: exit 67 (EX_NOUSER), the others still get it', async () => {
  const s = await smtpServer({
    onRcptTo(address, _session, callback) {
      callback(address.address.startsWith('nobody@') ? refusal(550, 'No such user') : null);
    },
  });
  try {
    const r = await cli(
      ['send', '--server', `smtp://127.0.0.1:${s.port}`, '--from', 'a@example.com', 'b@example.com', 'nobody@example.com', '--json'],
      { stdin: MESSAGE },
    );
    assert.is(r.code, EXIT.NOUSER, r.stderr);
    const out = json(r);
    assert.is(out.outcome, 'accepted');
    assert.equal(
      out.accepted.map((x: any) => x.address),
      ['b@example.com'],
    );
    assert.is(out.rejected[0].address, 'nobody@example.com');
    assert.is(out.rejected[0].code, 550);
    assert.match(out.rejected[0].text, /No such user/);
    assert.is(s.messages.length, 1);
    assert.match(r.stderr, /rejected nobody@example\.com: 550/);
  } finally {
    await s.close();
  }
});

it('every recipient refused permanently: exit 67', async () => {
  const s = await smtpServer({ onRcptTo: (_a, _s, callback) => callback(refusal(550, 'No such user')) });
  try {
    const r = await cli(
      ['send', '--server', `smtp://127.0.0.1:${s.port}`, '--from', 'a@example.com', 'x@example.com', 'y@example.com', '--json'],
      { stdin: MESSAGE },
    );
    assert.is(r.code, EXIT.NOUSER, r.stderr);
    assert.is(json(r).outcome, 'rejected');
    assert.is(s.messages.length, 0);
  } finally {
    await s.close();
  }
});

/**
 * A CHUNKING + PIPELINING server that refuses recipients as Exim does (issue 12): "refuse..."
 * gets 550, "later..." 451; a BDAT with no accepted recipient is read and answered 503 (the
 * transaction kept). Records the BDAT commands it got.
 */
async function chunkingRefuser(): Promise<{ port: number; bdats: string[]; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const bdats: string[] = [];
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    let skip = 0;
    let accepted = 0;
    sock.write('220 chunk.test ESMTP\r\n');
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (skip > 0) {
          const n = Math.min(skip, buf.length);
          buf = buf.subarray(n);
          skip -= n;
          if (skip > 0) return;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.subarray(0, nl).toString('latin1');
        buf = buf.subarray(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') sock.write('250-chunk.test\r\n250-PIPELINING\r\n250 CHUNKING\r\n');
        else if (verb === 'MAIL' || verb === 'RSET') {
          accepted = 0;
          sock.write('250 ok\r\n');
        } else if (verb === 'RCPT') {
          if (/<refuse/i.test(line)) sock.write('550 5.1.1 no such user\r\n');
          else if (/<later/i.test(line)) sock.write('451 4.2.1 try later\r\n');
          else {
            accepted++;
            sock.write('250 ok\r\n');
          }
        } else if (verb === 'BDAT') {
          bdats.push(line);
          skip = Number(line.split(' ')[1]);
          const last = / LAST$/i.test(line);
          sock.write(accepted === 0 ? '503 valid RCPT command must precede BDAT\r\n' : last ? '250 queued\r\n' : '250 chunk\r\n');
        } else if (verb === 'QUIT') return void sock.end('221 bye\r\n');
        else sock.write('500 what\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    bdats,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

for (const [to, exit, code] of [
  [['refuse1@example.com'], EXIT.NOUSER, 550],
  [['later2@example.com'], EXIT.TEMPFAIL, 451],
] as const) {
  it(`CHUNKING + PIPELINING, every recipient refused (${code}): exit ${exit} from the recipients' replies, not the BDAT's 503`, async () => {
    const s = await chunkingRefuser();
    try {
      const r = await cli(['send', '--server', `smtp://127.0.0.1:${s.port}`, '--from', 'a@example.com', ...to, '--json'], {
        stdin: MESSAGE,
      });
      assert.is(r.code, exit, r.stderr);
      const out = json(r);
      assert.is(out.outcome, 'rejected');
      assert.is(out.error.code, 'EREPLY');
      assert.is(out.reply?.code ?? out.error.reply?.code, code, r.stdout);
    } finally {
      await s.close();
    }
  });
}

it('MAIL FROM refused permanently: exit 69 (EX_UNAVAILABLE)', async () => {
  const s = await smtpServer({ onMailFrom: (_a, _s, callback) => callback(refusal(550, 'Sender blocked')) });
  try {
    const r = await cli(
      ['send', '--server', `smtp://127.0.0.1:${s.port}`, '--from', 'a@example.com', 'b@example.com', 'c@example.com', '--json'],
      { stdin: MESSAGE },
    );
    assert.is(r.code, EXIT.UNAVAILABLE, r.stderr);
    const out = json(r);
    assert.is(out.outcome, 'rejected');
    assert.equal(out.accepted, []);
    assert.is(out.reply.code, 550);
    assert.is(out.error.code, 'EREPLY');
    assert.is(out.error.transient, false);
    assert.is(s.messages.length, 0);
  } finally {
    await s.close();
  }
});

it('message refused permanently at the final dot: exit 69', async () => {
  const s = await smtpServer({
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => callback(refusal(554, 'Looks like spam')));
    },
  });
  try {
    const r = await cli(['send', '--server', `smtp://127.0.0.1:${s.port}`, '--from', 'a@example.com', 'b@example.com', '--json'], {
      stdin: MESSAGE,
    });
    assert.is(r.code, EXIT.UNAVAILABLE, r.stderr);
    assert.is(json(r).reply.code, 554);
  } finally {
    await s.close();
  }
});

it('4xx at the final dot: exit 75 (EX_TEMPFAIL), error transient', async () => {
  const s = await smtpServer({
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => callback(refusal(451, 'Try again later')));
    },
  });
  try {
    const r = await cli(['send', '--server', `smtp://127.0.0.1:${s.port}`, '--from', 'a@example.com', 'b@example.com', '--json'], {
      stdin: MESSAGE,
    });
    assert.is(r.code, EXIT.TEMPFAIL, r.stderr);
    const out = json(r);
    assert.is(out.outcome, 'rejected');
    assert.is(out.reply.code, 451);
    assert.is(out.error.transient, true);
    assert.match(r.stderr, /temporary failure/);
  } finally {
    await s.close();
  }
});

it('connection lost before the dot: exit 75', async () => {
  const s = await droppingServer('data');
  try {
    const r = await cli(['send', '--server', `smtp+plain://127.0.0.1:${s.port}`, '--from', 'a@example.com', 'b@example.com', '--json'], {
      stdin: MESSAGE,
    });
    assert.is(r.code, EXIT.TEMPFAIL, r.stderr);
    const out = json(r);
    assert.is(out.outcome, 'rejected');
    assert.is(out.error.code, 'ECONNECTION');
  } finally {
    await s.close();
  }
});

it('connection lost after the dot, before the reply: exit 76 (outcome unknown)', async () => {
  const s = await droppingServer('dot');
  try {
    const r = await cli(['send', '--server', `smtp+plain://127.0.0.1:${s.port}`, '--from', 'a@example.com', 'b@example.com', '--json'], {
      stdin: MESSAGE,
    });
    assert.is(r.code, EXIT.PROTOCOL, r.stderr);
    assert.is(json(r).outcome, 'unknown');
    assert.match(r.stderr, /do not retry blindly/);
  } finally {
    await s.close();
  }
});

it('nothing listening: exit 75 with a JSON error', async () => {
  const s = await droppingServer('data');
  const port = s.port;
  await s.close(); // a port that was just free
  const r = await cli(['send', '--server', `smtp://127.0.0.1:${port}`, '--from', 'a@example.com', 'b@example.com', '--json'], {
    stdin: MESSAGE,
  });
  assert.is(r.code, EXIT.TEMPFAIL, r.stderr);
  const out = json(r);
  assert.is(out.outcome, 'rejected');
  assert.is(out.error.code, 'ECONNECTION');
  assert.is(out.error.transient, true);
});

// ---- timeouts (issue 12 item 9) ---------------------------------------------------------------

it('a server silent after the final dot: --data-end-timeout 1 ends it in about a second, exit 76', async () => {
  const s = await droppingServer('silent');
  try {
    const started = Date.now();
    const r = await cli(
      [
        'send',
        '--data-end-timeout',
        '1',
        '--server',
        `smtp+plain://127.0.0.1:${s.port}`,
        '--from',
        'a@example.com',
        'b@example.com',
        '--json',
      ],
      { stdin: MESSAGE, timeout: 8_000 },
    );
    const took = Date.now() - started;
    assert.is(r.code, EXIT.PROTOCOL, r.stderr);
    const out = json(r);
    assert.is(out.outcome, 'unknown');
    assert.is(out.error.code, 'ETIMEOUT');
    assert.match(out.error.message, /1000 ms/);
    assert.ok(took >= 1000 && took < 6_000, `took ${took} ms`);
  } finally {
    await s.close();
  }
});

it('a server silent after the final dot: --timeout 1.5 (whole command) ends it, exit 76, no wait for QUIT', async () => {
  const s = await droppingServer('silent');
  try {
    const started = Date.now();
    const r = await cli(
      ['send', '--timeout', '1.5', '--server', `smtp+plain://127.0.0.1:${s.port}`, '--from', 'a@example.com', 'b@example.com', '--json'],
      { stdin: MESSAGE, timeout: 8_000 },
    );
    const took = Date.now() - started;
    assert.is(r.code, EXIT.PROTOCOL, r.stderr);
    assert.is(json(r).outcome, 'unknown');
    assert.match(r.stderr, /--timeout 1\.5 s/);
    assert.ok(took >= 1500 && took < 6_000, `took ${took} ms`);
  } finally {
    await s.close();
  }
});

it('a server silent after the final dot: without a flag the CLI is still waiting after 4 s (the 10-minute RFC default)', async () => {
  const s = await droppingServer('silent');
  try {
    let err: unknown;
    try {
      await cli(['send', '--server', `smtp+plain://127.0.0.1:${s.port}`, '--from', 'a@example.com', 'b@example.com'], {
        stdin: MESSAGE,
        timeout: 4_000,
      });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof Error && /did not exit within 4000 ms/.test(err.message), String(err));
  } finally {
    await s.close();
  }
});

it('--timeout while connecting to a server that never greets: exit 75 (nothing sent)', async () => {
  const sockets: net.Socket[] = [];
  const server = net.createServer((sock) => {
    sockets.push(sock);
    sock.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const r = await cli(
      ['send', '--timeout', '1', '--server', `smtp+plain://127.0.0.1:${port}`, '--from', 'a@example.com', 'b@example.com', '--json'],
      { stdin: MESSAGE, timeout: 8_000 },
    );
    assert.is(r.code, EXIT.TEMPFAIL, r.stderr);
    assert.is(json(r).error.code, 'ETIMEOUT');
    const r2 = await cli(
      [
        'send',
        '--greeting-timeout',
        '0.5',
        '--server',
        `smtp+plain://127.0.0.1:${port}`,
        '--from',
        'a@example.com',
        'b@example.com',
        '--json',
      ],
      { stdin: MESSAGE, timeout: 8_000 },
    );
    assert.is(r2.code, EXIT.TEMPFAIL, r2.stderr);
    assert.match(json(r2).error.message, /500 ms waiting for the greeting/);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

// ---- usage ------------------------------------------------------------------------------------

it('usage errors exit 64 before connecting', async () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown flag', ['send', '--from', 'a@example.com', '--bogus', 'b@example.com'], /bogus/],
    ['no recipient', ['send', '--from', 'a@example.com'], /no recipient/],
    ['no --from', ['send', 'b@example.com'], /--from/],
    ['no command', [], /command/],
    ['unknown command', ['post', '--from', 'a@example.com', 'b@example.com'], /unknown command/],
    ['bad URL scheme', ['send', '--server', 'http://localhost', '--from', 'a@example.com', 'b@example.com'], /scheme/],
    ['not a URL', ['send', '--server', 'localhost:25', '--from', 'a@example.com', 'b@example.com'], /scheme|URL/],
    ['credentials in the URL', ['send', '--server', 'smtp://u:p@localhost', '--from', 'a@example.com', 'b@example.com'], /credentials/],
    ['bad address', ['send', '--from', 'a@example.com', 'not an address'], /address/],
    ['CRLF in an address', ['send', '--from', 'a@example.com\r\nRCPT TO:<x@y.z>', 'b@example.com'], /control character/],
    ['bad priority', ['send', '--from', 'a@example.com', '--text', 'hi', '--priority', 'urgent', 'b@example.com'], /priority/],
    ['--subject without composing', ['send', '--from', 'a@example.com', '--subject', 'hi', 'b@example.com'], /--compose/],
    ['bad --timeout', ['send', '--timeout', 'soon', '--from', 'a@example.com', 'b@example.com'], /--timeout takes a positive number/],
    ['zero --data-end-timeout', ['send', '--data-end-timeout', '0', '--from', 'a@example.com', 'b@example.com'], /--data-end-timeout/],
    ['--user without a password', ['send', '--from', 'a@example.com', '--user', 'u', 'b@example.com'], /password/],
  ];
  for (const [what, args, stderr] of cases) {
    const r = await cli(args);
    assert.is(r.code, EXIT.USAGE, `${what}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, stderr, what);
    assert.is(r.stdout, '', what);
  }
});

it('--help prints the usage on stdout and exits 0', async () => {
  const r = await cli(['--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /usage: smtpwire send/);
  assert.match(r.stdout, /smtp\+starttls:\/\//);
});

it('an unreadable --ca file exits 66 (EX_NOINPUT)', async () => {
  const r = await cli(['send', '--ca', '/nonexistent/ca.pem', '--from', 'a@example.com', 'b@example.com']);
  assert.is(r.code, EXIT.NOINPUT, r.stderr);
  assert.match(r.stderr, /--ca: cannot read/);
});

// ---- authentication and TLS -------------------------------------------------------------------

it('wrong password: exit 77 (EX_NOPERM)', async () => {
  const s = await smtpServer({ ...tlsOptions, disabledCommands: [], ...authOptions() });
  try {
    const r = await cli(
      [
        'send',
        '--server',
        `smtp+starttls://127.0.0.1:${s.port}`,
        '--ca',
        CA,
        '--user',
        'user',
        '--from',
        'a@example.com',
        'b@example.com',
        '--json',
      ],
      { stdin: MESSAGE, env: { SMTPWIRE_PASSWORD: 'wrong password' } },
    );
    assert.is(r.code, EXIT.NOPERM, r.stderr);
    assert.is(json(r).error.code, 'EAUTH');
    assert.is(s.messages.length, 0);
  } finally {
    await s.close();
  }
});

it('-v: transcript on stderr with AUTH redacted, the password never shown', async () => {
  const s = await smtpServer({ ...tlsOptions, disabledCommands: [], ...authOptions() });
  try {
    const r = await cli(
      [
        'send',
        '-v',
        '--server',
        `smtp+starttls://127.0.0.1:${s.port}`,
        '--ca',
        CA,
        '--user',
        'user',
        '--auth',
        'PLAIN',
        '--from',
        'a@example.com',
        'b@example.com',
      ],
      { stdin: MESSAGE, env: { SMTPWIRE_PASSWORD: PASSWORD } },
    );
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /^C: STARTTLS$/m);
    assert.match(r.stderr, /^C: AUTH PLAIN <redacted>$/m);
    assert.match(r.stderr, /^S: 235 /m);
    assert.match(r.stderr, /^C: MAIL FROM:<a@example\.com>/m);
    const secret = Buffer.from(`\0user\0${PASSWORD}`).toString('base64');
    assert.not.ok(r.stderr.includes(PASSWORD), 'password in the transcript');
    assert.not.ok(r.stderr.includes(secret), 'encoded credentials in the transcript');
    assert.not.ok(r.stdout.includes(PASSWORD));
    assert.is(s.messages.length, 1);
  } finally {
    await s.close();
  }
});

it('--pass-file: the password is the first line of the file', async () => {
  const s = await smtpServer({ ...tlsOptions, disabledCommands: [], ...authOptions() });
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(`${tmpdir()}/smtpwire-cli-`);
  try {
    writeFileSync(`${dir}/pass`, `${PASSWORD}\nsecond line ignored\n`, { mode: 0o600 });
    const r = await cli(
      [
        'send',
        '--server',
        `smtp+starttls://127.0.0.1:${s.port}`,
        '--ca',
        CA,
        '--user',
        'user',
        '--pass-file',
        `${dir}/pass`,
        '--from',
        'a@example.com',
        'b@example.com',
      ],
      { stdin: MESSAGE },
    );
    assert.is(r.code, 0, r.stderr);
    assert.is(s.messages.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await s.close();
  }
});

it('smtps:// with --ca: implicit TLS, accepted', async () => {
  const s = await smtpServer({ ...tlsOptions, secure: true, disabledCommands: [] });
  try {
    const r = await cli(['send', '-v', '--server', `smtps://127.0.0.1:${s.port}`, '--ca', CA, '--from', 'a@example.com', 'b@example.com'], {
      stdin: MESSAGE,
    });
    assert.is(r.code, 0, r.stderr);
    assert.not.match(r.stderr, /STARTTLS/); // already TLS from the first byte
    assert.is(s.messages[0]!.toString('latin1'), MESSAGE);
  } finally {
    await s.close();
  }
});

it('smtps:// without --ca: the self-signed certificate is refused (69), nothing sent', async () => {
  const s = await smtpServer({ ...tlsOptions, secure: true, disabledCommands: [] });
  try {
    const r = await cli(['send', '--server', `smtps://127.0.0.1:${s.port}`, '--from', 'a@example.com', 'b@example.com', '--json'], {
      stdin: MESSAGE,
    });
    assert.is(r.code, EXIT.UNAVAILABLE, r.stderr);
    assert.is(json(r).error.code, 'ETLS');
    assert.is(s.messages.length, 0);
  } finally {
    await s.close();
  }
});

it('--insecure: prints a loud warning and skips the certificate check', async () => {
  const s = await smtpServer({ ...tlsOptions, secure: true, disabledCommands: [] });
  try {
    const r = await cli(['send', '--insecure', '--server', `smtps://127.0.0.1:${s.port}`, '--from', 'a@example.com', 'b@example.com'], {
      stdin: MESSAGE,
    });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /WARNING: --insecure/);
    assert.match(r.stderr, /NOT checked/);
    assert.is(s.messages.length, 1);
  } finally {
    await s.close();
  }
});

it('smtp+starttls:// against a server without STARTTLS: refused, nothing sent in clear', async () => {
  const s = await smtpServer();
  try {
    const r = await cli(['send', '--server', `smtp+starttls://127.0.0.1:${s.port}`, '--from', 'a@example.com', 'b@example.com', '--json'], {
      stdin: MESSAGE,
    });
    assert.is(r.code, EXIT.UNAVAILABLE, r.stderr);
    assert.is(json(r).error.code, 'ETLS');
    assert.is(s.messages.length, 0);
  } finally {
    await s.close();
  }
});

// ---- composition and LMTP ---------------------------------------------------------------------

it('--compose --subject --priority high: builds the headers; text from stdin', async () => {
  const s = await smtpServer();
  try {
    const r = await cli(
      [
        'send',
        '--server',
        `smtp://127.0.0.1:${s.port}`,
        '--from',
        'a@example.com',
        '--to',
        'b@example.com',
        '--compose',
        '--subject',
        'Grüße',
        '--priority',
        'high',
      ],
      { stdin: 'Hallo,\nschöne Grüße.\n' },
    );
    assert.is(r.code, 0, r.stderr);
    const got = s.messages[0]!.toString('utf8');
    assert.match(got, /^X-Priority: 1 \(Highest\)\r$/m);
    assert.match(got, /^Importance: High\r$/m);
    assert.match(got, /^From: a@example\.com\r$/m);
    assert.match(got, /^To: b@example\.com\r$/m);
    assert.match(got, /^Subject: =\?UTF-8\?B\?R3LDvMOfZQ==\?=\r$/m);
    assert.match(got, /\r\n\r\nHallo,\r\nschöne Grüße\.\r\n$/); // 8BITMIME offered: UTF-8 as is
  } finally {
    await s.close();
  }
});

it('--text: composes without reading stdin', async () => {
  const s = await smtpServer();
  try {
    const r = await cli([
      'send',
      '--server',
      `smtp://127.0.0.1:${s.port}`,
      '--from',
      'a@example.com',
      'b@example.com',
      '--text',
      'short note',
      '--subject',
      'hi',
    ]);
    assert.is(r.code, 0, r.stderr);
    const got = s.messages[0]!.toString('utf8');
    assert.match(got, /^Subject: hi\r$/m);
    assert.not.match(got, /X-Priority/);
    assert.match(got, /\r\n\r\nshort note(\r\n)?$/); // the wire adds the CRLF the dot needs
  } finally {
    await s.close();
  }
});

it('lmtp://: LHLO and one reply per recipient', async () => {
  const s = await smtpServer({ lmtp: true });
  try {
    const r = await cli(
      ['send', '-v', '--server', `lmtp://127.0.0.1:${s.port}`, '--from', 'a@example.com', 'b@example.com', 'c@example.com', '--json'],
      { stdin: MESSAGE },
    );
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /^C: LHLO /m);
    assert.equal(
      json(r).accepted.map((x: any) => x.address),
      ['b@example.com', 'c@example.com'],
    );
  } finally {
    await s.close();
  }
});

// ---- exitCodeFor ------------------------------------------------------------------------------

const reply = (code: number, text = 'text'): Reply => ({ code, enhanced: undefined, lines: [text] });
// Any mix of fields (exitCodeFor must cope with each), hence the assertion.
const result = (r: Partial<TransactionResult>): TransactionResult =>
  ({
    id: 1,
    outcome: 'accepted',
    accepted: [],
    rejected: [],
    unknown: [],
    reply: undefined,
    error: undefined,
    ...r,
  }) as TransactionResult;
const ok = { address: 'b@example.com', reply: reply(250) };

it('exitCodeFor: results', () => {
  assert.is(exitCodeFor(result({ accepted: [ok], reply: reply(250) })), 0);
  assert.is(exitCodeFor(result({ accepted: [ok], rejected: [{ address: 'x@example.com', reply: reply(550) }] })), EXIT.NOUSER);
  assert.is(exitCodeFor(result({ accepted: [ok], rejected: [{ address: 'x@example.com', reply: reply(452) }] })), EXIT.TEMPFAIL);
  assert.is(exitCodeFor(result({ outcome: 'unknown', error: new SmtpConnectionError('the server closed the connection') })), EXIT.PROTOCOL);
  // LMTP: some recipients' final replies never came.
  assert.is(exitCodeFor(result({ accepted: [ok], unknown: ['c@example.com'] })), EXIT.PROTOCOL);

  const r550 = reply(550, 'no such user');
  assert.is(
    exitCodeFor(
      result({
        outcome: 'rejected',
        rejected: [{ address: 'x@example.com', reply: r550 }],
        reply: r550,
        error: new SmtpReplyError('every recipient was rejected', r550, 'RCPT'),
      }),
    ),
    EXIT.NOUSER,
  );
  const r450 = reply(450);
  assert.is(
    exitCodeFor(
      result({
        outcome: 'rejected',
        rejected: [{ address: 'x@example.com', reply: r450 }],
        reply: r450,
        error: new SmtpReplyError('every recipient was rejected', r450, 'RCPT'),
      }),
    ),
    EXIT.TEMPFAIL,
  );
  // MAIL refused: pipelined RCPTs got 503s, which are not the recipients' fault.
  const mail = reply(550, 'sender blocked');
  assert.is(
    exitCodeFor(
      result({
        outcome: 'rejected',
        rejected: [{ address: 'x@example.com', reply: reply(503) }],
        reply: mail,
        error: new SmtpReplyError('MAIL FROM rejected: 550 sender blocked', mail, 'MAIL'),
      }),
    ),
    EXIT.UNAVAILABLE,
  );
  const spam = reply(554, 'spam');
  assert.is(
    exitCodeFor(
      result({
        outcome: 'rejected',
        rejected: [{ address: 'b@example.com', reply: spam }],
        reply: spam,
        error: new SmtpReplyError('message rejected: 554 spam', spam),
      }),
    ),
    EXIT.UNAVAILABLE,
  );
  const later = reply(451);
  assert.is(
    exitCodeFor(result({ outcome: 'rejected', reply: later, error: new SmtpReplyError('message rejected: 451', later) })),
    EXIT.TEMPFAIL,
  );
  assert.is(exitCodeFor(result({ outcome: 'rejected', error: new SmtpConnectionError('lost') })), EXIT.TEMPFAIL);
  assert.is(exitCodeFor(result({ outcome: 'rejected', error: new SmtpAuthError('authentication failed', reply(535)) })), EXIT.NOPERM);
  assert.is(exitCodeFor(result({ outcome: 'rejected', error: new SmtpCapabilityError('needs SMTPUTF8') })), EXIT.UNAVAILABLE);
  assert.is(exitCodeFor(result({ outcome: 'rejected', error: new SmtpAbortError() })), EXIT.TEMPFAIL);
  // The body encoder refusing the message mid-transaction (a line over 998 octets): the message's fault.
  assert.is(exitCodeFor(result({ outcome: 'rejected', error: new SmtpUsageError('a body line is longer than 998 octets') })), EXIT.DATAERR);
});

it('exitCodeFor: thrown errors', () => {
  assert.is(exitCodeFor(new SmtpUsageError('bad address')), EXIT.USAGE);
  // A spool on a full disk or over quota could not take the message now: retry later, not "a bug" (70).
  for (const code of ['ENOSPC', 'EDQUOT']) assert.is(exitCodeFor(Object.assign(new Error(code), { code })), EXIT.TEMPFAIL, code);
  assert.is(exitCodeFor(new SmtpAuthError('authentication failed', reply(535))), EXIT.NOPERM);
  assert.is(exitCodeFor(new SmtpAuthError('no mechanism both sides support')), EXIT.NOPERM);
  assert.is(exitCodeFor(new SmtpAuthError('temporary', reply(454))), EXIT.TEMPFAIL);
  assert.is(exitCodeFor(new SmtpTimeoutError('greeting', 1000)), EXIT.TEMPFAIL);
  assert.is(exitCodeFor(new SmtpConnectionError('refused')), EXIT.TEMPFAIL);
  assert.is(exitCodeFor(new SmtpProtocolError('garbage reply')), EXIT.TEMPFAIL);
  assert.is(exitCodeFor(new SmtpTlsError('certificate has expired')), EXIT.UNAVAILABLE);
  assert.is(exitCodeFor(new SmtpTlsError('STARTTLS refused', reply(454))), EXIT.TEMPFAIL);
  assert.is(exitCodeFor(new SmtpReplyError('greeting refused', reply(554))), EXIT.UNAVAILABLE);
  assert.is(exitCodeFor(new SmtpReplyError('greeting refused', reply(421))), EXIT.TEMPFAIL);
  assert.is(exitCodeFor(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), EXIT.TEMPFAIL);
  assert.is(exitCodeFor(new Error('a bug')), EXIT.SOFTWARE);
  assert.is(exitCodeFor(undefined), EXIT.SOFTWARE);
});

exitWhenDone(test);
test.run();
