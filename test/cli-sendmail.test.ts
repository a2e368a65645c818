// sendmail mode, the msmtp configuration file, --help/--version and unreadable input: the built
// CLI in a child process against a real smtp-server on 127.0.0.1 (test/cli-harness.ts).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXIT } from '../bin/exit-codes.ts';
import { cli, CLI, it, tempDir, testServer } from './cli-harness.ts';
import { exitWhenDone } from './exit-when-done.ts';

const MAX_HEAD_OCTETS = 1 << 20;
const HEAD =
  'From: Alice <alice@example.com>\nTo: Bob <bob@example.com>, "Carol, C." <carol@example.com>\nCc: dave@example.com (Dave)\nBcc: eve@example.com,\n  frank@example.com\nSubject: hi\nDate: Sat, 01 Jun 2024 12:00:00 +0000\nMessage-ID: <fixed@example.com>\n';
const BODY = 'hello\n.leading dot\nBcc: not a header\n';

// ---- sendmail mode ----------------------------------------------------------------------------

it('sendmail -t -i: recipients from To, Cc and Bcc plus the command line; Bcc removed; the rest byte for byte', async () => {
  const s = await testServer();
  try {
    const r = await cli(['sendmail', '--server', s.url, '-t', '-i', '-f', 'sender@example.com', 'extra@example.com', 'bob@example.com'], {
      stdin: HEAD + '\n' + BODY,
    });
    assert.is(r.code, 0, r.stderr);
    assert.is(s.received.length, 1);
    const m = s.received[0]!;
    assert.is(m.from, 'sender@example.com');
    assert.equal([...m.to].sort(), [
      'bob@example.com',
      'carol@example.com',
      'dave@example.com',
      'eve@example.com',
      'extra@example.com',
      'frank@example.com',
    ]);
    const expected = (HEAD.replace(/^Bcc:.*\n {2}frank@example.com\n/m, '') + '\n' + BODY).replace(/\n/g, '\r\n');
    assert.is(m.data.toString('latin1'), expected);
  } finally {
    await s.close();
  }
});

it('invoked through a link named sendmail: the same mode; -oi -oem -bm accepted; From, Date, Message-ID added when missing (-F name)', async () => {
  const s = await testServer();
  const t = tempDir('sendmail-link');
  try {
    const link = join(t.dir, 'sendmail');
    symlinkSync(CLI, link);
    const r = await cli(['--server', s.url, '-oi', '-oem', '-bm', '-F', 'Zoë Example', '-f', 'zoe@example.com', '--', 'bob@example.com'], {
      stdin: 'Subject: no from\n\nbody\n',
      script: link,
    });
    assert.is(r.code, 0, r.stderr);
    const got = s.received[0]!.data.toString('utf8');
    assert.match(got, /^From: =\?UTF-8\?B\?Wm/m);
    assert.match(got, /<zoe@example\.com>\r\n/);
    assert.match(got, /^Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r$/m);
    assert.match(got, /^Message-ID: <[^@>\s]+@example\.com>\r$/m);
    assert.match(got, /\r\nSubject: no from\r\n\r\nbody\r\n$/);
    assert.equal(s.received[0]!.to, ['bob@example.com']);
  } finally {
    t.done();
    await s.close();
  }
});

it('-X log file: a line per message, mode 0600, no password; a symbolic link or a FIFO in its place is not followed (warning, no hang)', async () => {
  const s = await testServer();
  const t = tempDir('log');
  try {
    const msg = 'Subject: x\n\nbody\n';
    const send = (log: string) =>
      cli(['sendmail', '--server', s.url, '--user', 'u', '-X', log, '-f', 'a@example.com', 'b@example.com'], {
        stdin: msg,
        env: { SMTPWIRE_PASSWORD: 'S3cret-pw' },
        timeout: 10_000,
      });
    const log = join(t.dir, 'log');
    let r = await send(log);
    assert.is(r.code, EXIT.NOPERM, r.stderr); // the server offers no AUTH: nothing sent, still logged
    const line = readFileSync(log, 'utf8');
    assert.match(line, /host=127\.0\.0\.1 tls=off auth=on user=u from=a@example\.com recipients=b@example\.com .*exitcode=EX_NOPERM\n$/);
    assert.not.match(line, /S3cret/);
    assert.is(statSync(log).mode & 0o777, 0o600);

    const victim = join(t.dir, 'victim');
    writeFileSync(victim, 'untouched\n');
    const link = join(t.dir, 'link');
    symlinkSync(victim, link);
    r = await send(link);
    assert.is(r.code, EXIT.NOPERM, r.stderr);
    assert.match(r.stderr, /warning: cannot write the log file .*link: it is a symbolic link/);
    assert.is(readFileSync(victim, 'utf8'), 'untouched\n');

    const fifo = join(t.dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    r = await send(fifo);
    assert.is(r.code, EXIT.NOPERM, r.stderr);
    assert.match(r.stderr, /warning: cannot write the log file .*fifo/);
  } finally {
    t.done();
    await s.close();
  }
});

it('a body line over 998 octets: exit 65 (the message, not the command line), nothing delivered, a clear message', async () => {
  const s = await testServer();
  const t = tempDir('long');
  try {
    const msg = `Subject: x\n\nshort\n${'a'.repeat(999)}\nend\n`;
    for (const flags of [['-i'], ['--queue', '--queue-dir', join(t.dir, 'q')]]) {
      const r = await cli(['sendmail', '--server', s.url, ...flags, '-f', 'a@example.com', 'b@example.com'], { stdin: msg });
      assert.is(r.code, EXIT.DATAERR, r.stderr);
      assert.match(r.stderr, /a body line is longer than 998 octets/);
      assert.match(r.stderr, /not delivered to b@example\.com \(its RCPT was accepted/);
      assert.not.match(r.stderr, /rejected b@example\.com: 250/);
      assert.not.match(r.stderr, /queued/);
    }
    assert.is(s.received.length, 0);
    // 998 octets is the limit, not over it.
    const ok = await cli(['sendmail', '--server', s.url, '-i', '-f', 'a@example.com', 'b@example.com'], {
      stdin: `Subject: x\n\n${'a'.repeat(998)}\n`,
    });
    assert.is(ok.code, 0, ok.stderr);
    assert.is(s.received.length, 1);
  } finally {
    t.done();
    await s.close();
  }
});

it('headerless input (dmesg | sendmail -i root), 2 MB: sent as body after the added fields and an empty line, byte for byte', async () => {
  const s = await testServer();
  try {
    const body = Array.from({ length: 100_000 }, (_, i) => `[${i}] kernel: line ${i}\n`).join('');
    assert.ok(body.length > 2 * MAX_HEAD_OCTETS);
    const r = await cli(['sendmail', '--server', s.url, '-i', '-f', 'a@example.com', 'root@example.com'], { stdin: body });
    assert.is(r.code, 0, r.stderr);
    const data = s.received[0]!.data.toString('latin1');
    assert.match(data, /^From: a@example\.com\r\nDate: [^\r]+\r\nMessage-ID: <[^\r]+>\r\n\r\n\[0\] kernel: line 0\r\n/);
    assert.is(data.slice(data.indexOf('\r\n\r\n') + 4), body.replace(/\n/g, '\r\n'));
  } finally {
    await s.close();
  }
});

it('without -i a line with a lone dot ends the message (sendmail rule); with -i it is data', async () => {
  const s = await testServer();
  try {
    const msg = 'Subject: x\nFrom: a@example.com\nDate: Sat, 01 Jun 2024 12:00:00 +0000\nMessage-ID: <a@b>\n\nline\n.\nafter\n';
    let r = await cli(['sendmail', '--server', s.url, '-f', 'a@example.com', 'b@example.com'], { stdin: msg });
    assert.is(r.code, 0, r.stderr);
    assert.ok(s.received[0]!.data.toString().endsWith('\r\n\r\nline\r\n'), JSON.stringify(s.received[0]!.data.toString()));
    r = await cli(['sendmail', '--server', s.url, '-i', '-f', 'a@example.com', 'b@example.com'], { stdin: msg });
    assert.is(r.code, 0, r.stderr);
    assert.ok(s.received[1]!.data.toString().endsWith('\r\nline\r\n.\r\nafter\r\n'));
  } finally {
    await s.close();
  }
});

it("-f '<>' is the null sender and -f '<addr>' is addr, as sendmail and msmtp read them", async () => {
  const s = await testServer();
  try {
    const msg = 'From: a@example.com\nSubject: x\n\nbody\n';
    let r = await cli(['sendmail', '--server', s.url, '-i', '-f', '<>', 'b@example.com'], { stdin: msg });
    assert.is(r.code, 0, r.stderr);
    r = await cli(['sendmail', '--server', s.url, '-i', '-f<c@example.com>', 'b@example.com'], { stdin: msg });
    assert.is(r.code, 0, r.stderr);
    assert.equal(
      s.received.map((m) => m.from),
      ['', 'c@example.com'],
    );
    r = await cli(['sendmail', '--server', s.url, '-i', '-f', '<a@example.com>>', 'b@example.com'], { stdin: msg });
    assert.is(r.code, EXIT.USAGE, r.stderr);
  } finally {
    await s.close();
  }
});

it('-N, -R and -V become DSN NOTIFY, RET and ENVID', async () => {
  const s = await testServer({ hideDSN: false });
  try {
    const r = await cli(
      ['sendmail', '--server', s.url, '-i', '-N', 'failure,delay', '-R', 'hdrs', '-V', 'env-42', '-f', 'a@example.com', 'b@example.com'],
      { stdin: 'Subject: dsn\n\nx\n' },
    );
    assert.is(r.code, 0, r.stderr);
    const m = s.received[0]!;
    assert.is(m.mailArgs.RET, 'HDRS');
    assert.is(m.mailArgs.ENVID, 'env-42');
    assert.is(m.rcptArgs[0]!.NOTIFY, 'FAILURE,DELAY');
  } finally {
    await s.close();
  }
});

it('sendmail mode errors: -t without recipients 64, a bad header address 65, an unknown flag 64, -bs refused', async () => {
  let r = await cli(['sendmail', '--server', 'smtp://127.0.0.1:1', '-t'], { stdin: 'Subject: none\n\nx\n' });
  assert.is(r.code, EXIT.USAGE, r.stderr);
  assert.match(r.stderr, /no recipients/);
  r = await cli(['sendmail', '--server', 'smtp://127.0.0.1:1', '-t'], { stdin: 'To: bob example.com\n\nx\n' });
  assert.is(r.code, EXIT.DATAERR, r.stderr);
  // A control character in a header address is the message's fault too, and never reaches the wire.
  for (const to of ['"x" <bob@exa\0mple.com>', 'bob@exa\rmple.com', 'bob@exa\x7fmple.com']) {
    r = await cli(['sendmail', '--server', 'smtp://127.0.0.1:1', '-t'], { stdin: `To: ${to}\n\nx\n` });
    assert.is(r.code, EXIT.DATAERR, `${JSON.stringify(to)}: ${r.stderr}`);
    assert.match(r.stderr, /-t: /);
  }
  r = await cli(['sendmail', '-Q', 'b@example.com'], { stdin: 'x\n' });
  assert.is(r.code, EXIT.USAGE, r.stderr);
  r = await cli(['sendmail', '-bs'], { stdin: '' });
  assert.is(r.code, EXIT.USAGE, r.stderr);
});

// ---- unreadable input, --help, --version ------------------------------------------------------

it('stdin that is a directory: exit 66 with a clear message, nothing sent (send and sendmail)', async () => {
  const s = await testServer();
  const t = tempDir('stdin-dir');
  try {
    for (const args of [
      ['send', '--server', s.url, '--from', 'a@example.com', 'b@example.com'],
      ['sendmail', '--server', s.url, '-f', 'a@example.com', 'b@example.com'],
      ['send', '--queue', '--queue-dir', join(t.dir, 'q'), '--server', s.url, '--from', 'a@example.com', 'b@example.com'],
    ]) {
      const r = await cli(args, { stdinFile: t.dir });
      assert.is(r.code, EXIT.NOINPUT, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /standard input is a directory/);
    }
    // The other inputs named on the command line, given a directory: 66 and the flag named.
    for (const [args, re] of [
      [['send', '--server', s.url, '--from', 'a@example.com', '--ca', t.dir, 'b@example.com'], /--ca: cannot read .*directory/],
      [
        ['send', '--server', s.url, '--from', 'a@example.com', '--user', 'u', '--pass-file', t.dir, 'b@example.com'],
        /--pass-file: cannot read .*directory/,
      ],
      [['sendmail', '-C', t.dir, 'b@example.com'], /cannot read the configuration file/],
      [['send', '--config', join(t.dir, 'nonexistent'), 'b@example.com'], /cannot read the configuration file .*ENOENT|no such file/i],
    ] as [string[], RegExp][]) {
      const r = await cli(args, { stdin: 'x' });
      assert.is(r.code, EXIT.NOINPUT, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    // An empty stdin (empty pipe, empty file, or a closed one, which Node reopens as /dev/null).
    writeFileSync(join(t.dir, 'empty'), '');
    for (const opts of [{ stdin: '' }, { stdinFile: join(t.dir, 'empty') }, { stdinFile: '/dev/null' }]) {
      const r = await cli(['send', '--server', s.url, '--from', 'a@example.com', 'b@example.com'], opts);
      assert.is(r.code, EXIT.NOINPUT, r.stderr);
      assert.match(r.stderr, /standard input is (an )?empty/);
    }
    assert.is(s.received.length, 0);
  } finally {
    t.done();
    await s.close();
  }
});

it('--help prints the key facts and an existing path to docs/cli.md; --version prints the package version', async () => {
  const r = await cli(['--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /smtpwire sendmail/);
  assert.match(r.stdout, /--data-end-timeout/);
  assert.match(r.stdout, /76 outcome unknown/);
  const doc = /Full documentation: (\S+)/.exec(r.stdout)?.[1];
  assert.ok(doc && doc.startsWith('/') && /switching from msmtp/i.test(readFileSync(doc, 'utf8')), r.stdout);
  const v = await cli(['--version']);
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  assert.is(v.stdout, `smtpwire ${pkg.version}\n`);
  const sv = await cli(['sendmail', '--version']);
  assert.is(sv.stdout, v.stdout);
});

// ---- msmtp configuration ----------------------------------------------------------------------

function msmtprc(dir: string, text: string, mode = 0o600): string {
  const path = join(dir, 'msmtprc');
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

it('msmtp config: defaults, accounts, inheritance, account default; -a and send --account use them', async () => {
  const s = await testServer();
  const t = tempDir('msmtprc');
  try {
    const log = join(t.dir, 'log');
    const conf = msmtprc(
      t.dir,
      `# test\ndefaults\nport ${s.port}\ntls off\nlogfile ${log}\n\naccount base\nhost 127.0.0.1\nfrom base@example.com\ndomain client.example\n\naccount other : base\nfrom "other@example.com"\n\naccount default : other\n`,
    );
    let r = await cli(['sendmail', '-C', conf, '-i', 'b@example.com'], { stdin: 'Subject: 1\n\nx\n' });
    assert.is(r.code, 0, r.stderr);
    assert.is(s.received[0]!.from, 'other@example.com');
    r = await cli(['sendmail', '-C', conf, '-a', 'base', '-i', 'b@example.com'], { stdin: 'Subject: 2\n\nx\n' });
    assert.is(r.code, 0, r.stderr);
    assert.is(s.received[1]!.from, 'base@example.com');
    r = await cli(['send', '--config', conf, '--account', 'base', 'c@example.com'], { stdin: 'Subject: 3\r\n\r\nx\r\n' });
    assert.is(r.code, 0, r.stderr);
    assert.is(s.received[2]!.from, 'base@example.com');
    assert.is(s.received[2]!.data.toString(), 'Subject: 3\r\n\r\nx\r\n'); // send keeps the raw bytes
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    assert.is(lines.length, 3);
    assert.match(lines[0]!, /host=127\.0\.0\.1 tls=off auth=off from=other@example\.com recipients=b@example\.com .*exitcode=EX_OK$/);
    // -f picks the first account whose from matches (msmtp's rule), sub-addresses included.
    r = await cli(['sendmail', '-C', conf, '-i', '-f', 'base+tag@example.com', 'b@example.com'], { stdin: 'Subject: 4\n\nx\n' });
    assert.is(r.code, 0, r.stderr);
    assert.is(s.received[3]!.from, 'base+tag@example.com');
  } finally {
    t.done();
    await s.close();
  }
});

it('msmtp config: an unknown key is a warning with its line number; a bad value is exit 78; -P prints the settings', async () => {
  const s = await testServer();
  const t = tempDir('msmtprc-warn');
  try {
    let conf = msmtprc(t.dir, `account default\nhost 127.0.0.1\nport ${s.port}\nfrom a@example.com\nfrobnicate yes\nsyslog LOG_MAIL\n`);
    let r = await cli(['sendmail', '-C', conf, '-i', 'b@example.com'], { stdin: 'Subject: w\n\nx\n' });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /msmtprc: line 5: unknown command frobnicate: ignored/);
    assert.match(r.stderr, /line 6: syslog is not supported by smtpwire: ignored/);
    r = await cli(['sendmail', '-C', conf, '-P']);
    assert.match(r.stdout, /^host = 127\.0\.0\.1$/m);
    assert.match(r.stdout, /^port = \d+$/m);
    assert.match(r.stdout, /^domain = localhost$/m);
    conf = msmtprc(t.dir, 'account default\nhost h\nport many\n');
    r = await cli(['sendmail', '-C', conf, 'b@example.com'], { stdin: 'x\n' });
    assert.is(r.code, EXIT.CONFIG, r.stderr);
    assert.match(r.stderr, /line 3: invalid argument many for command port/);
    conf = msmtprc(t.dir, 'account default\nhost h\nproxy_host 127.0.0.1\n');
    r = await cli(['sendmail', '-C', conf, 'b@example.com'], { stdin: 'x\n' });
    assert.is(r.code, EXIT.CONFIG, r.stderr);
    assert.match(r.stderr, /proxy_host is not supported/);
    r = await cli(['sendmail', '-C', join(t.dir, 'missing'), 'b@example.com'], { stdin: 'x\n' });
    assert.is(r.code, EXIT.NOINPUT, r.stderr);
  } finally {
    t.done();
    await s.close();
  }
});

it('msmtp config: a file with a password that others can read is refused (78); 0600 works; passwordeval runs', async () => {
  const s = await testServer({
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: false,
    allowInsecureAuth: true,
    onAuth(auth, _session, cb) {
      cb(
        auth.username === 'u' && auth.password === 'pw d' ? null : new Error('bad'),
        auth.username === 'u' && auth.password === 'pw d' ? { user: 'u' } : undefined,
      );
    },
  });
  const t = tempDir('msmtprc-perm');
  try {
    // tls off + auth: smtpwire never sends a password in clear text, so this account uses the
    // smtp+plain server only for the refusal checks; the successful AUTH below goes through send.
    const text = `account default\nhost 127.0.0.1\nport ${s.port}\nfrom a@example.com\nauth on\nuser u\npassword "pw d"\n`;
    let conf = msmtprc(t.dir, text, 0o644);
    let r = await cli(['sendmail', '-C', conf, '-i', 'b@example.com'], { stdin: 'Subject: p\n\nx\n' });
    assert.is(r.code, EXIT.CONFIG, r.stderr);
    assert.match(r.stderr, /contains a password and therefore must have no more than user read\/write permissions/);
    conf = msmtprc(t.dir, text, 0o640);
    r = await cli(['sendmail', '-C', conf, '-i', 'b@example.com'], { stdin: 'Subject: p\n\nx\n' });
    assert.is(r.code, EXIT.CONFIG, r.stderr);
    conf = msmtprc(t.dir, text, 0o600);
    r = await cli(['sendmail', '-C', conf, '-i', 'b@example.com'], { stdin: 'Subject: p\n\nx\n' });
    assert.is(r.code, EXIT.NOPERM, r.stderr); // accepted as a file; AUTH refused in clear text
    assert.match(r.stderr, /TLS|clear|insecure|encrypt/i);
    // passwordeval: the command's first output line (a file without a password may be 0644).
    mkdirSync(join(t.dir, 'bin'));
    conf = msmtprc(
      t.dir,
      `account default\nhost 127.0.0.1\nport ${s.port}\nfrom a@example.com\nauth on\nuser u\npasswordeval printf 'pw d\\nsecond'\n`,
      0o644,
    );
    r = await cli(['sendmail', '-C', conf, '-P']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^passwordeval = printf/m);
    assert.match(r.stdout, /^auth = choose$/m);
    // ... but a file others may write must not make smtpwire run their commands.
    chmodSync(conf, 0o666);
    r = await cli(['sendmail', '-C', conf, '-P']);
    assert.is(r.code, EXIT.CONFIG, r.stderr);
    assert.match(r.stderr, /runs commands .* writable by you only/);
    // A failing passwordeval or eval: its exit status, never the command (it may hold the secret).
    for (const line of ['passwordeval "echo Sup3r-pw; exit 3"', 'eval "echo password Sup3r-pw; exit 3"']) {
      conf = msmtprc(t.dir, `account default\nhost 127.0.0.1\nport ${s.port}\nfrom a@example.com\nauth on\nuser u\n${line}\n`);
      r = await cli(['sendmail', '-C', conf, '-i', 'b@example.com'], { stdin: 'Subject: p\n\nx\n' });
      assert.is(r.code, EXIT.CONFIG, r.stderr);
      assert.match(r.stderr, /eval failed \(exit status 3\)/);
      assert.not.match(r.stderr, /Sup3r/);
    }
  } finally {
    t.done();
    await s.close();
  }
});

exitWhenDone(test);
test.run();
