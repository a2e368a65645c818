// npm run test:clients — real mail programs and msmtp's own example files, through smtpwire in
// sendmail mode, to a private Postfix on 127.0.0.1 (see clients-lib.ts for the set-up and the
// byte-for-byte check). Closing line: "N passed, N failed".
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  check,
  CLI,
  EXAMPLES,
  freePort,
  makeCerts,
  run,
  startCapture,
  startPostfix,
  tally,
  USERS,
  verify,
  waitFor,
  type Delivery,
} from './clients-lib.ts';

const SASL_OK = /with ESMTPSA/;
let serial = 0;
const marker = (tag: string): string => `${tag}-${process.pid}-${++serial}`;

function authenticatedAs(d: Delivery | undefined, user: string): boolean {
  return (
    d !== undefined &&
    new RegExp(`\\(Authenticated sender: ${user.replace('.', '\\.')}(@[^)]*)?\\)`).test(d.data.subarray(0, 2048).toString('latin1'))
  );
}

const WAIT = 30_000;

async function main(): Promise<number> {
  for (const f of ['msmtprc-user.example', 'msmtprc-system.example']) {
    if (!existsSync(join(EXAMPLES, f))) {
      check(false, `msmtp's ${f} is installed (package msmtp)`);
      return 1;
    }
  }
  const base = mkdtempSync(join(tmpdir(), 'smtpwire-clients-'));
  chmodSync(base, 0o755);
  const capture = await startCapture();
  let postfix: Awaited<ReturnType<typeof startPostfix>> | undefined;
  try {
    const certs = makeCerts(base);
    postfix = await startPostfix(base, capture.port, certs);
    console.log(`clients: Postfix on 127.0.0.1:${postfix.submission} (STARTTLS) and :${postfix.smtps} (implicit TLS); work dir ${base}`);

    // A user's world: HOME with msmtp's user example as ~/.msmtprc (unchanged), a gpg-encrypted
    // password file as the example expects, `sendmail` on PATH being smtpwire.
    const home = join(base, 'home');
    const bin = join(base, 'bin');
    const gnupg = join(base, 'gnupg');
    for (const d of [home, bin, gnupg]) mkdirSync(d, { recursive: true, mode: 0o700 });
    copyFileSync(join(EXAMPLES, 'msmtprc-user.example'), join(home, '.msmtprc'));
    chmodSync(join(home, '.msmtprc'), 0o600);
    const systemExample = join(base, 'msmtprc-system.example');
    copyFileSync(join(EXAMPLES, 'msmtprc-system.example'), systemExample);
    const sendmail = join(bin, 'sendmail');
    chmodSync(CLI, 0o755); // tsc does not set the mode npm sets when it installs the bin
    symlinkSync(CLI, sendmail);
    writeFileSync(join(gnupg, 'passphrase'), 'gpg-test-passphrase\n', { mode: 0o600 });
    // The example runs `gpg2 --no-tty -q -d ~/.msmtp-password.gpg`; Debian ships gpg as `gpg`,
    // and a test has no agent to ask for the passphrase: gpg2 here is gpg with the passphrase.
    writeFileSync(
      join(bin, 'gpg2'),
      `#!/bin/sh\nexec gpg --batch --pinentry-mode loopback --passphrase-file "$GNUPGHOME/passphrase" "$@"\n`,
      { mode: 0o755 },
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: home,
      USER: 'tester',
      LOGNAME: 'tester',
      GNUPGHOME: gnupg,
      PATH: `${bin}:${process.env.PATH}`,
      NODE_EXTRA_CA_CERTS: certs.ca,
      SMTPWIRE_SYSTEM_MSMTPRC: join(base, 'no-system-msmtprc'),
      SMTPWIRE_TEST_CONNECT_MAP: `smtp.freemail.example:587=127.0.0.1:${postfix.submission},mail.company.example:587=127.0.0.1:${postfix.submission},mail.oursite.example:465=127.0.0.1:${postfix.smtps}`,
      GIT_CONFIG_NOSYSTEM: '1',
      LC_ALL: 'C',
    };
    delete env.SMTPWIRE_PASSWORD;
    const enc = run(
      'gpg',
      [
        '--batch',
        '--yes',
        '--pinentry-mode',
        'loopback',
        '--passphrase-file',
        join(gnupg, 'passphrase'),
        '--symmetric',
        '-o',
        join(home, '.msmtp-password.gpg'),
      ],
      { input: `${USERS['joe.smith']}\n`, env },
    );
    check(enc.status === 0, 'gpg encrypted the password file the example reads', enc.out);

    // A tee in front of smtpwire records exactly what a program handed over.
    const capFile = join(base, 'captured.eml');
    const wrap = join(bin, 'sendmail-tee');
    // (s-nail resets HOME to the passwd entry's; this test's user lives in a fake HOME.)
    writeFileSync(wrap, `#!/bin/sh\nexport HOME="${home}"\ntee "${capFile}" | "${sendmail}" "$@"\n`, { mode: 0o755 });
    const captured = (): string => readFileSync(capFile, 'latin1');

    console.log('\n== msmtp example files, unchanged');
    {
      const m = marker('user-example');
      const input = `From: Joe Smith <joe_smith@freemail.example>\nTo: bob@example.net\nCc: Carol <carol@example.net>\nBcc: dave@example.net\nSubject: ${m}\n\nHello from the default account.\n`;
      const r = run(sendmail, ['-t'], { input, env });
      check(r.status === 0, 'user example, account default : freemail, sendmail -t (STARTTLS, AUTH, passwordeval gpg2)', r.out);
      const d = await waitFor(capture.got, m, WAIT);
      verify('user example / freemail', d, {
        from: 'joe_smith@freemail.example',
        to: ['bob@example.net', 'carol@example.net', 'dave@example.net'],
        input,
        with: SASL_OK,
      });
      check(authenticatedAs(d, 'joe.smith'), 'freemail: Postfix saw AUTH as joe.smith');
    }
    {
      const m = marker('freemail2');
      const input = `From: joey@freemail.example\nTo: bob@example.net\nSubject: ${m}\nDate: Sat, 01 Jun 2024 12:00:00 +0000\nMessage-ID: <${m}@freemail.example>\n\nInherited account.\n`;
      const r = run(sendmail, ['-a', 'freemail2', 'bob@example.net'], { input, env });
      check(r.status === 0, 'user example, account freemail2 : freemail (inherits host, TLS, user, passwordeval)', r.out);
      const d = await waitFor(capture.got, m, WAIT);
      verify('user example / freemail2', d, { from: 'joey@freemail.example', to: ['bob@example.net'], input, with: SASL_OK });
      check(authenticatedAs(d, 'joe.smith'), 'freemail2: AUTH as joe.smith');
    }
    {
      const m = marker('company');
      const input = `Subject: ${m}\n\nNo header but the subject: From, Date and Message-ID are added.\n`;
      const r = run(sendmail, ['-a', 'company', '-i', '--', 'bob@example.net'], {
        input,
        env: { ...env, SMTPWIRE_PASSWORD: USERS.company12345 },
      });
      check(r.status === 0, 'user example, account company (its keyring password from SMTPWIRE_PASSWORD)', r.out);
      const d = await waitFor(capture.got, m, WAIT);
      verify('user example / company', d, { from: 'smithjoe@company.example', to: ['bob@example.net'], input, with: SASL_OK });
      check(authenticatedAs(d, 'company12345'), 'company: AUTH as company12345');
    }
    {
      const m = marker('system-example');
      const input = `From: Somebody <somebody@elsewhere.example>\nTo: bob@example.net\nSubject: ${m}\n\nThe system example: port 465, implicit TLS, from %U@oursite.example, no -f override, From set.\n`;
      const r = run(sendmail, ['-C', systemExample, '-f', 'somebody@elsewhere.example', 'bob@example.net'], { input, env });
      check(
        r.status === 0,
        'system example via -C (implicit TLS on "465", from %U@oursite.example, allow_from_override off, set_from_header on)',
        r.out,
      );
      const line =
        readFileSync(systemExample, 'utf8')
          .split('\n')
          .findIndex((l) => l.startsWith('syslog')) + 1;
      check(
        new RegExp(`msmtprc-system\\.example: line ${line}: syslog is not supported by smtpwire: ignored`).test(r.out),
        `system example: syslog is a warning with its line number (${line})`,
        r.out,
      );
      const d = await waitFor(capture.got, m, WAIT);
      verify('system example', d, {
        from: 'tester@oursite.example',
        to: ['bob@example.net'],
        input,
        forceFrom: 'tester@oursite.example',
        with: /with ESMTPS id/,
      });
    }

    {
      // The spool with a real MTA: queued while the account's server is unreachable, then flushed.
      const m = marker('spooled');
      const queueDir = join(base, 'queue');
      const input = `From: Joe Smith <joe_smith@freemail.example>\nTo: bob@example.net\nBcc: dave@example.net\nSubject: ${m}\n\nQueued first, sent by queue flush.\n`;
      const down = { ...env, SMTPWIRE_TEST_CONNECT_MAP: `smtp.freemail.example:587=127.0.0.1:${await freePort()}` };
      const q = run(sendmail, ['-t', '-i', '--queue', '--queue-dir', queueDir], { input, env: down });
      check(q.status === 0 && /queued as /.test(q.out), 'sendmail --queue with the server down: exit 0, queued', q.out);
      const f = run(process.execPath, [CLI, 'queue', 'flush', '--queue-dir', queueDir], { env });
      check(f.status === 0 && /1 sent/.test(f.out), 'smtpwire queue flush with the server up: sent', f.out);
      const d = await waitFor(capture.got, m, WAIT);
      verify('spooled then flushed', d, {
        from: 'joe_smith@freemail.example',
        to: ['bob@example.net', 'dave@example.net'],
        input,
        with: SASL_OK,
      });
    }

    console.log('\n== smtpwire -P against msmtp --pretend');
    const rich = join(home, 'rich.msmtprc');
    writeFileSync(
      rich,
      `defaults\ntimeout 30\ndsn_notify failure,delay\ndsn_return headers\nlogfile ~/mail.log\ntls on\n\naccount rich\nhost mx.rich.example\nprotocol lmtp\nport 2003\ndomain %H\nauth plain\nuser "rich user"\ntls_starttls off\ntls_certcheck off\nfrom %U@rich.example\nset_from_header off\nremove_bcc_headers off\n\naccount other : rich\ntls off\nauth off\ntimeout off\nset_date_header off\nallow_from_override off\n`,
      { mode: 0o600 },
    );
    const KEYS = [
      'host',
      'port',
      'timeout',
      'protocol',
      'domain',
      'auth',
      'user',
      'passwordeval',
      'tls',
      'tls_starttls',
      'tls_trust_file',
      'tls_certcheck',
      'from',
      'allow_from_override',
      'set_from_header',
      'set_date_header',
      'remove_bcc_headers',
      'dsn_notify',
      'dsn_return',
      'logfile',
    ];
    const settings = (text: string): Map<string, string> =>
      new Map(
        text
          .split('\n')
          .map((l) => /^([a-z_]+) = (.*)$/.exec(l))
          .filter((x): x is RegExpExecArray => x !== null)
          .map((x) => [x[1]!, x[2]!]),
      );
    for (const [file, account] of [
      [join(home, '.msmtprc'), 'freemail'],
      [join(home, '.msmtprc'), 'freemail2'],
      [join(home, '.msmtprc'), 'company'],
      [systemExample, 'default'],
      [rich, 'rich'],
      [rich, 'other'],
    ] as const) {
      const theirs = run('msmtp', ['-C', file, '-a', account, '--pretend'], { env });
      const ours = run(sendmail, ['-C', file, '-a', account, '-P'], { env: { ...env, SMTPWIRE_PASSWORD: 'x' } });
      const t = settings(theirs.stdout);
      const o = settings(ours.stdout);
      const diff = KEYS.filter((k) => t.get(k) !== o.get(k)).map((k) => `${k}: msmtp "${t.get(k)}", smtpwire "${o.get(k)}"`);
      check(
        t.size > 10 && diff.length === 0,
        `${file.endsWith('rc') ? file.slice(file.lastIndexOf('/') + 1) : 'system example'} account ${account}: ${KEYS.length} settings equal msmtp --pretend`,
        diff.join('\n') + (t.size > 10 ? '' : `\nmsmtp said: ${theirs.out}`),
      );
    }

    console.log('\n== git send-email');
    const repo = join(base, 'repo');
    mkdirSync(repo);
    const git = (args: string[], input?: string) =>
      run('git', args, {
        env: { ...env, GIT_AUTHOR_DATE: '2024-06-01T12:00:00Z', GIT_COMMITTER_DATE: '2024-06-01T12:00:00Z' },
        cwd: repo,
        input,
      });
    git(['init', '-q']);
    git(['config', 'user.name', 'Joe Smith']);
    git(['config', 'user.email', 'joe_smith@freemail.example']);
    const patches: string[] = [];
    for (const m of [marker('git-sendmail-cmd'), marker('git-smtp-server')]) {
      writeFileSync(join(repo, `${m}.txt`), `${m}\nline with trailing space \n.\nlast\n`);
      git(['add', '.']);
      git(['commit', '-q', '-m', `add ${m}`, '-m', 'A body line.']);
      const p = git(['format-patch', '-1', '--thread', '-o', join(base, 'patches', m)]);
      patches.push(p.stdout.trim());
    }
    const sendEmail = [
      'send-email',
      '--confirm=never',
      '--suppress-cc=all',
      '--to=bob@example.net',
      '--cc=carol@example.net',
      '--from=Joe Smith <joe_smith@freemail.example>',
    ];
    {
      const m = /git-sendmail-cmd-\d+-\d+/.exec(patches[0]!)![0];
      const r = git([...sendEmail, `--sendmail-cmd=${wrap}`, patches[0]!]);
      check(r.status === 0, 'git send-email --sendmail-cmd=smtpwire (through a tee)', r.out);
      const d = await waitFor(capture.got, m, WAIT);
      verify('git send-email --sendmail-cmd', d, {
        from: 'joe_smith@freemail.example',
        to: ['bob@example.net', 'carol@example.net'],
        input: captured(),
        with: SASL_OK,
      });
    }
    {
      const m = /git-smtp-server-\d+-\d+/.exec(patches[1]!)![0];
      // What git produces for this patch (deterministic but for the Date: line it stamps).
      const cat = join(bin, 'cat-only');
      writeFileSync(cat, `#!/bin/sh\ncat > "${capFile}"\n`, { mode: 0o755 });
      git([...sendEmail, `--sendmail-cmd=${cat}`, patches[1]!]);
      const produced = captured();
      const r = git([...sendEmail, `--smtp-server=${sendmail}`, patches[1]!]);
      check(r.status === 0, 'git send-email --smtp-server=/path/to/sendmail (the smtpwire link itself)', r.out);
      const d = await waitFor(capture.got, m, WAIT);
      const date = d ? /^Date: [^\r\n]*/m.exec(d.data.toString('latin1'))?.[0] : undefined;
      check(
        date !== undefined && /^Date: \w{3}, [ \d]\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$/.test(date),
        'git --smtp-server: git stamped a Date: line',
        String(date),
      );
      verify('git send-email --smtp-server', d, {
        from: 'joe_smith@freemail.example',
        to: ['bob@example.net', 'carol@example.net'],
        input: produced.replace(/^Date: [^\n]*/m, date ?? 'Date: ?'),
        with: SASL_OK,
      });
    }

    console.log('\n== mail(1)');
    {
      const m = marker('s-nail');
      const r = run(
        's-nail',
        ['-:/', '-Sv15-compat', `-Smta=${wrap}`, '-Sfrom=joe_smith@freemail.example', '-s', `s-nail ${m}`, 'bob@example.net'],
        { input: 'Body from s-nail.\n.\nafter a dot line\n', env },
      );
      check(r.status === 0, 's-nail -s (mta = smtpwire)', r.out);
      const d = await waitFor(capture.got, m, WAIT);
      verify('s-nail', d, { from: 'joe_smith@freemail.example', to: ['bob@example.net'], input: captured(), with: SASL_OK });
    }
    {
      const m = marker('bsd-mailx');
      const rc = join(base, 'mailrc');
      writeFileSync(rc, `set sendmail=${wrap}\n`);
      const r = run('bsd-mailx', ['-s', `bsd-mailx ${m}`, '-r', 'joe_smith@freemail.example', 'bob@example.net'], {
        input: 'Body from bsd-mailx.\n',
        env: { ...env, MAILRC: rc },
      });
      check(r.status === 0, 'bsd-mailx -s -r (sendmail = smtpwire; it passes -i -t -f)', r.out);
      const d = await waitFor(capture.got, m, WAIT);
      verify('bsd-mailx', d, { from: 'joe_smith@freemail.example', to: ['bob@example.net'], input: captured(), with: SASL_OK });
    }

    console.log('\n== PHP mail()');
    {
      const m = marker('php');
      const code = `exit(mail("bob@example.net", "php ${m}", "PHP body\\nsecond line", "From: Joe Smith <joe_smith@freemail.example>\\r\\nBcc: dave@example.net") ? 0 : 1);`;
      const r = run('php', ['-n', '-d', `sendmail_path=${wrap} -t -i`, '-r', code], { env });
      check(r.status === 0, 'php mail() with sendmail_path = "smtpwire -t -i" and a Bcc', r.out);
      const d = await waitFor(capture.got, m, WAIT);
      verify('php mail()', d, {
        from: 'joe_smith@freemail.example',
        to: ['bob@example.net', 'dave@example.net'],
        input: captured(),
        with: SASL_OK,
      });
    }

    const bad = readFileSync(postfix.log, 'utf8')
      .split('\n')
      .filter((l) => /reject:|status=(bounced|deferred)|authentication failed/.test(l));
    check(bad.length === 0, 'no rejection, bounce, deferral or failed AUTH in the Postfix log', bad.slice(0, 10).join('\n'));
  } catch (err) {
    check(false, 'clients suite ran', err instanceof Error ? (err.stack ?? err.message) : String(err));
  } finally {
    postfix?.stop();
    await capture.stop();
    if (!process.env.SMTPWIRE_INTEROP_KEEP) rmSync(base, { recursive: true, force: true });
  }
  const { passed, failed } = tally();
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 || passed === 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
