// The README's first command runs dist/bin/demo.js: it must work, finish fast, and show what
// it promises (the transcript, the result, the message as the server received it).
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import { exitWhenDone } from './exit-when-done.ts';
import { runNode, type ProcessRun } from './node-process.ts';
import * as assert from 'uvu/assert';

const DEMO = fileURLToPath(new URL('../bin/demo.js', import.meta.url));

function runDemo(timeout = 15_000): Promise<ProcessRun> {
  return runNode(DEMO, [], { timeout });
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
