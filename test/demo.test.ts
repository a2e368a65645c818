// The README's first command runs dist/bin/demo.js: it must work, finish fast, and show what
// it promises (the transcript, the result, the message as the server received it).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import { exitWhenDone } from './exit-when-done.ts';
import * as assert from 'uvu/assert';

const DEMO = fileURLToPath(new URL('../bin/demo.js', import.meta.url));

function runDemo(timeout = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEMO], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`demo did not exit within ${timeout} ms; stdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeout);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('npm run demo: exits 0 and shows the transcript, the result and the received message', async () => {
  const started = Date.now();
  const r = await runDemo();
  assert.is(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.ok(Date.now() - started < 10_000, 'the demo should take a few seconds at most');
  const out = r.stdout;
  // The transcript: STARTTLS, then AUTH with the secret redacted, then the transaction.
  assert.match(out, /^C: STARTTLS$/m);
  assert.match(out, /TLS established/);
  assert.match(out, /^C: AUTH (PLAIN|LOGIN) <redacted>$/m);
  assert.match(out, /^S: 235 /m);
  assert.match(out, /^C: MAIL FROM:<alice@example\.com>/m);
  assert.match(out, /^C: RCPT TO:<bob@example\.com>$/m);
  assert.match(out, /^C: QUIT$/m);
  assert.not.match(out, /demo-password/);
  // The result.
  assert.match(out, /"outcome": "accepted"/);
  // The message as the server received it, composed with the high priority and UTF-8 text.
  assert.match(out, /message as the server received it/);
  assert.match(out, /^Subject: Hello from smtpwire$/m);
  assert.match(out, /^X-Priority: 1 \(Highest\)$/m);
  assert.match(out, /^Content-Type: text\/plain; charset=utf-8$/m);
  assert.match(out, /Grüße/);
  assert.is(r.stderr, '');
});

exitWhenDone(test);
test.run();
