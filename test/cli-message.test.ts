// The CLI's message flags (bin/message-options.ts): the REAL built CLI in a child process
// against a real smtp-server on 127.0.0.1; what arrived is read with mailparser.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXIT } from '../bin/exit-codes.ts';
import { runNode, type ProcessRun } from './node-process.ts';

const CLI = fileURLToPath(new URL('../bin/smtpwire-cli.cjs', import.meta.url));

interface Received {
  from: string;
  to: string[];
  data: Buffer;
}

async function smtpServer(): Promise<{ port: number; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    closeTimeout: 500,
    size: 10 << 20,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const env = session.envelope;
        got.push({ from: env.mailFrom ? env.mailFrom.address : '', to: env.rcptTo.map((r) => r.address), data: Buffer.concat(chunks) });
        callback();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.server.address() as AddressInfo).port, got, close: () => new Promise((r) => server.close(() => r())) };
}

const cli = (args: string[], stdin?: string): Promise<ProcessRun> =>
  runNode(CLI, args, { stdin, env: { ...process.env }, timeout: 10_000 });
const parse = (data: Buffer): Promise<ParsedMail> =>
  (simpleParser as unknown as (b: Buffer, o: object) => Promise<ParsedMail>)(data, { keepCidLinks: true });
const list = (v: AddressObject | AddressObject[] | undefined) =>
  (v === undefined ? [] : Array.isArray(v) ? v : [v]).flatMap((o) => o.value).map((m) => ({ name: m.name, address: m.address }));

test('--from with a name, --cc, --bcc, --reply-to, --html, --attach (twice), --header, --text', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpwire-cli-msg-'));
  const s = await smtpServer();
  try {
    writeFileSync(join(dir, 'page.html'), `<p>Grüße</p>${'<span>x</span>'.repeat(200)}`);
    const pdf = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) & 255));
    writeFileSync(join(dir, 'report.pdf'), pdf);
    writeFileSync(join(dir, 'Übersicht.csv'), 'a,b\n1,2\n');
    const r = await cli([
      'send',
      '-v',
      '--server',
      `smtp://127.0.0.1:${s.port}`,
      '--from',
      'Zoë Example <zoe@example.com>',
      '--to',
      '"Bob, Jr." <bob@example.org>',
      '--cc',
      'carol@example.net',
      '--bcc',
      'hidden@example.net',
      '--reply-to',
      'Help Desk <help@example.com>',
      '--subject',
      'Quarterly report',
      '--text',
      'See attached.',
      '--html',
      join(dir, 'page.html'),
      '--attach',
      join(dir, 'report.pdf'),
      '--attach',
      join(dir, 'Übersicht.csv'),
      '--header',
      'X-Campaign: q4 ünïcode',
      '--priority',
      'high',
    ]);
    assert.is(r.code, 0, r.stderr);
    assert.is(s.got.length, 1);
    const m = s.got[0]!;
    // Every part's length is known (the files were stat()ed): SIZE= declares the exact octets.
    assert.match(r.stderr, new RegExp(`^C: MAIL FROM:<zoe@example\\.com> .*SIZE=${m.data.length}\\b`, 'm'));
    assert.is(m.from, 'zoe@example.com');
    assert.equal(m.to, ['bob@example.org', 'carol@example.net', 'hidden@example.net']);
    assert.not.ok(m.data.includes('hidden@example.net'), 'Bcc is envelope only');
    for (const line of m.data.toString('latin1').split('\r\n')) assert.ok(line.length <= 998);
    const p = await parse(m.data);
    assert.equal(list(p.from), [{ name: 'Zoë Example', address: 'zoe@example.com' }]);
    assert.equal(list(p.to), [{ name: 'Bob, Jr.', address: 'bob@example.org' }]);
    assert.equal(list(p.cc), [{ name: '', address: 'carol@example.net' }]);
    assert.equal(list(p.replyTo), [{ name: 'Help Desk', address: 'help@example.com' }]);
    assert.is(p.subject, 'Quarterly report');
    assert.is(p.text, 'See attached.');
    assert.match(String(p.html), /^<p>Grüße<\/p>/);
    assert.match(m.data.toString('latin1'), /^X-Priority: 1 \(Highest\)\r$/m);
    assert.match(m.data.toString('latin1'), /^X-Campaign: /m);
    assert.is(p.attachments.length, 2);
    assert.is(p.attachments[0]!.filename, 'report.pdf');
    assert.is(p.attachments[0]!.contentType, 'application/pdf');
    assert.ok(Buffer.from(p.attachments[0]!.content).equals(pdf));
    assert.is(p.attachments[1]!.filename, 'Übersicht.csv');
    assert.is(p.attachments[1]!.content.toString(), 'a,b\n1,2\n');
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--compose reads the text from stdin; a missing --attach file is exit 66 before connecting', async () => {
  const s = await smtpServer();
  try {
    const ok = await cli(
      ['send', '--server', `smtp://127.0.0.1:${s.port}`, '--from', 'a@example.com', 'b@example.com', '--compose', '--subject', 'hi'],
      'from stdin\n',
    );
    assert.is(ok.code, 0, ok.stderr);
    assert.is((await parse(s.got[0]!.data)).text, 'from stdin\n');
    const missing = await cli([
      'send',
      '--server',
      `smtp://127.0.0.1:${s.port}`,
      '--from',
      'a@example.com',
      'b@example.com',
      '--attach',
      '/nonexistent/file.pdf',
    ]);
    assert.is(missing.code, EXIT.NOINPUT, missing.stderr);
    assert.match(missing.stderr, /--attach: cannot read/);
    assert.is(s.got.length, 1);
  } finally {
    await s.close();
  }
});

test('bad message flags are usage errors (exit 64) before connecting', async () => {
  const cases: [string, string[], RegExp][] = [
    ['header without a colon', ['--header', 'X-Nothing', '--text', 'x'], /--header/],
    ['header injection', ['--header', 'X-A: b\r\nBcc: evil@example.com', '--text', 'x'], /control character/],
    ['header the builder writes', ['--header', 'Subject: x', '--text', 'x'], /subject option/],
    ['bad --cc', ['--cc', 'not an address', '--text', 'x'], /cc/],
    ['a name in --from with CRLF', ['--text', 'x'], /control character/],
  ];
  for (const [what, extra, re] of cases) {
    const from = what.startsWith('a name') ? 'Evil\r\nBcc: x@y.z <a@example.com>' : 'a@example.com';
    const r = await cli(['send', '--server', 'smtp://127.0.0.1:1', '--from', from, 'b@example.com', ...extra]);
    assert.is(r.code, EXIT.USAGE, `${what}: ${r.stderr}`);
    assert.match(r.stderr, re, what);
  }
});

test.run();
