// `smtpwire capture` (bin/capture.ts, testing/capture.ts) with real mail programs as clients:
// swaks (Perl Net::SMTP-free raw client, pipelining), msmtp, Python's smtplib, and our client
// (BDAT). Each needs its Debian package (swaks, msmtp, python3); a missing one fails the test.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exitWhenDone } from './exit-when-done.ts';
import { connect } from '../transports/node.ts';

const BIN = new URL('../bin/smtpwire-cli.cjs', import.meta.url).pathname;
const PYTHON = '/usr/bin/python3';

function need(tool: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`]);
  assert.is(r.status, 0, `${tool} is missing: install Debian's ${tool} (CI's .ci/run does)`);
}

interface Capture {
  child: ChildProcess;
  port: number;
  dir: string;
  lines: string[];
  stop(): Promise<number | null>;
}

async function startCapture(...args: string[]): Promise<Capture> {
  const dir = mkdtempSync(join(tmpdir(), 'smtpwire-capture-'));
  const child = spawn(process.execPath, [BIN, 'capture', '--port', '0', '--dir', dir, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buf = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      buf += b.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        const m = /^listening on 127\.0\.0\.1:(\d+)$/.exec(line);
        if (m) resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`capture exited early (${code})`)));
  });
  return {
    child,
    port,
    dir,
    lines,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', (code) => {
          rmSync(dir, { recursive: true, force: true });
          resolve(code);
        });
        child.kill('SIGTERM');
      }),
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

test('swaks, msmtp, smtplib and smtpwire (BDAT) deliver; each message is an .eml plus a JSON envelope and a line', async () => {
  need('swaks');
  need('msmtp');
  assert.ok(existsSync(PYTHON), `${PYTHON} is missing: install Debian's python3`);
  const cap = await startCapture();
  try {
    const swaksBody = 'Subject: from swaks\r\n\r\nline\r\n.starts with a dot\r\n';
    const s = spawnSync(
      'swaks',
      [
        '--server',
        `127.0.0.1:${cap.port}`,
        '--from',
        'sw@example.com',
        '--to',
        'r1@example.net,r2@example.net',
        '--data',
        swaksBody.replace(/\r\n/g, '\\n'),
        '--pipeline',
        '--silent',
        '2',
      ],
      { encoding: 'utf8' },
    );
    assert.is(s.status, 0, s.stdout + s.stderr);
    await until(() => cap.lines.length >= 2, 'the swaks line');

    const m = spawnSync('msmtp', ['--host=127.0.0.1', `--port=${cap.port}`, '--from=ms@example.com', '--tls=off', 'r3@example.net'], {
      input: 'Subject: from msmtp\n\nvia msmtp\n',
      encoding: 'utf8',
    });
    assert.is(m.status, 0, m.stderr);
    await until(() => cap.lines.length >= 3, 'the msmtp line');

    const py = spawnSync(
      PYTHON,
      [
        '-c',
        `import smtplib,sys
s = smtplib.SMTP('127.0.0.1', ${cap.port})
refused = s.sendmail('py@example.com', ['r4@example.net'], b'Subject: from python\\r\\n\\r\\n\\xc3\\xa9t\\xc3\\xa9\\r\\n')
s.quit()
sys.exit(1 if refused else 0)`,
      ],
      { encoding: 'utf8' },
    );
    assert.is(py.status, 0, py.stderr);
    await until(() => cap.lines.length >= 4, 'the python line');

    const client = await connect({ host: '127.0.0.1', port: cap.port, tls: 'none', chunking: true });
    const ours = new TextEncoder().encode('Subject: from smtpwire\r\n\r\n' + ('x'.repeat(76) + '\r\n').repeat(3000));
    const r = await client.send({ from: 'sw2@example.com', to: 'r5@example.net', body: ours });
    await client.close();
    assert.is(r.outcome, 'accepted', String(r.error));
    await until(() => cap.lines.length >= 5, 'the smtpwire line');

    const files = readdirSync(cap.dir).sort();
    assert.equal(files, [
      '000001.eml',
      '000001.json',
      '000002.eml',
      '000002.json',
      '000003.eml',
      '000003.json',
      '000004.eml',
      '000004.json',
    ]);
    const env = (n: number) => JSON.parse(readFileSync(join(cap.dir, `00000${n}.json`), 'utf8'));
    const eml = (n: number) => readFileSync(join(cap.dir, `00000${n}.eml`));
    assert.equal([env(1).from, env(1).to], ['sw@example.com', ['r1@example.net', 'r2@example.net']]);
    assert.is(env(1).subject, 'from swaks');
    assert.ok(eml(1).toString().includes('\r\nline\r\n.starts with a dot\r\n'), 'dot-unstuffed: ' + eml(1).toString());
    assert.is(env(2).subject, 'from msmtp');
    assert.ok(eml(2).toString().includes('via msmtp\r\n'), 'msmtp sends CRLF lines');
    assert.is(eml(3).toString('utf8'), 'Subject: from python\r\n\r\nété\r\n');
    assert.equal(eml(4), Buffer.from(ours), 'BDAT body byte for byte');
    assert.is(env(4).via, 'BDAT');
    assert.match(
      cap.lines[1]!,
      /^message 1 accepted from=<sw@example\.com> to=<r1@example\.net>,<r2@example\.net> size=\d+ subject="from swaks" file=.*000001\.eml$/,
    );
  } finally {
    assert.is(await cap.stop(), 0, 'SIGTERM stops it cleanly');
  }
});

test('--reject and --drop-after: Python sees the refusal and the lost link', async () => {
  const cap = await startCapture('--reject', '@blocked\\.example$', '--drop-after', '1');
  try {
    const py = spawnSync(
      PYTHON,
      [
        '-c',
        `import smtplib
s = smtplib.SMTP('127.0.0.1', ${cap.port})
try:
    s.sendmail('a@example.com', ['x@blocked.example'], b'Subject: a\\r\\n\\r\\nb\\r\\n')
except smtplib.SMTPRecipientsRefused as e:
    print('refused', e.recipients['x@blocked.example'][0])
try:
    s.sendmail('a@example.com', ['ok@example.net'], b'Subject: a\\r\\n\\r\\nb\\r\\n')
    print('sent?!')
except smtplib.SMTPServerDisconnected:
    print('disconnected')
`,
      ],
      { encoding: 'utf8' },
    );
    assert.is(py.status, 0, py.stderr);
    assert.is(py.stdout, 'refused 550\ndisconnected\n');
    await until(() => cap.lines.length >= 2, 'the line');
    assert.match(cap.lines[1]!, /^message 1 dropped /);
  } finally {
    await cap.stop();
  }
});

test('--json prints one JSON object per message', async () => {
  const cap = await startCapture('--json');
  try {
    const client = await connect({ host: '127.0.0.1', port: cap.port, tls: 'none' });
    await client.send({ from: 'j@example.com', to: ['k@example.net'], body: 'Subject: j\r\n\r\nj\r\n' });
    await client.close();
    await until(() => cap.lines.length >= 2, 'the JSON line');
    const j = JSON.parse(cap.lines[1]!);
    assert.equal([j.seq, j.from, j.to, j.fate, j.size], [1, 'j@example.com', ['k@example.net'], 'accepted', 17]);
    assert.ok(String(j.file).endsWith('000001.eml'));
  } finally {
    await cap.stop();
  }
});

test('bad flags exit 64 with a message', () => {
  const r = spawnSync(process.execPath, [BIN, 'capture', '--port', 'x'], { encoding: 'utf8' });
  assert.is(r.status, 64);
  assert.match(r.stderr, /--port must be a whole number/);
});

exitWhenDone(test);
test.run();
