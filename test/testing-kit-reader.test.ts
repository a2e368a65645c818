// smtpwire/testing's message reader checked against Python's email package (an independent MIME
// parser) on messages nodemailer builds. The in-memory server's tests: testing-memory-server.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exitWhenDone } from './exit-when-done.ts';
import { readMessage } from '../testing/index.ts';

// ---- the reader against Python's email package, on messages nodemailer composes --------------

const PYTHON = '/usr/bin/python3';
const PY = String.raw`
import sys, json, email, email.policy
out = []
for raw in json.load(sys.stdin):
    m = email.message_from_bytes(raw.encode('latin-1'), policy=email.policy.compat32)
    leaves = []
    for p in m.walk():
        if p.is_multipart(): continue
        leaves.append({'type': p.get_content_type(), 'filename': p.get_filename(), 'content': (p.get_payload(decode=True) or b'').decode('latin-1')})
    out.append({'subject': m['Subject'], 'from': m['From'], 'leaves': leaves})
print(json.dumps(out))
`;

test('the reader agrees with Python email on nodemailer-built messages (HTML, attachments, QP, base64)', async () => {
  assert.ok(existsSync(PYTHON), `${PYTHON} is missing: install Debian's python3`);
  const { default: MailComposer } = await import('nodemailer/lib/mail-composer/index.js');
  const mails = [
    {
      from: 'a@example.com',
      to: 'b@example.net',
      subject: 'plain',
      text: 'Hello world\nline two, long enough to need wrapping maybe? '.repeat(4),
    },
    { from: 'a@example.com', to: 'b@example.net', subject: 'alt', text: 'Hi', html: '<p>Hi <b>there</b> — ünïcödé</p>' },
    {
      from: 'a@example.com',
      to: 'b@example.net',
      subject: 'attach',
      text: 'see attached',
      html: '<p>see <img src="cid:logo@x"></p>',
      attachments: [
        { filename: 'hello.txt', content: 'hello attachment\n' },
        { filename: 'bin.dat', content: Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256)) },
        { filename: 'logo.png', content: Buffer.from('89504e470d0a1a0a', 'hex'), cid: 'logo@x' },
      ],
    },
  ];
  const raws: Uint8Array[] = [];
  for (const mail of mails) raws.push(await new MailComposer(mail).compile().build());
  const py = spawnSync(PYTHON, ['-c', PY], { input: JSON.stringify(raws.map((r) => Buffer.from(r).toString('latin1'))), encoding: 'utf8' });
  assert.is(py.status, 0, py.stderr);
  const want = JSON.parse(py.stdout) as { subject: string; leaves: { type: string; filename: string | null; content: string }[] }[];
  raws.forEach((raw, i) => {
    const ours = readMessage(raw);
    assert.is(ours.header('subject'), want[i]!.subject);
    assert.equal(
      ours.parts.map((p) => ({ type: p.contentType, filename: p.filename ?? null, content: Buffer.from(p.content).toString('latin1') })),
      want[i]!.leaves,
      `message ${i}`,
    );
  });
  const att = readMessage(raws[2]!);
  assert.equal(att.attachments.map((a) => a.filename).sort(), ['bin.dat', 'hello.txt', 'logo.png']);
  assert.is(readMessage(raws[1]!).html, '<p>Hi <b>there</b> — ünïcödé</p>');
});

exitWhenDone(test);
test.run();
