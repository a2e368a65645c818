// Shared by run-deno.mjs, run-bun.mjs and run-workers.mjs: which core test files run in every
// runtime, how to read uvu's totals, and the closing "N passed, N failed" line CI reads.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The core's test files (pure core + the scripted mock server; no sockets, no Node API), and
 *  client-ring, scram-async, proxy-link, diagnostics: the client's body streaming, SCRAM's
 *  asynchronous key derivation, proxy tunnels and connect diagnostics over the mock transport. */
export const CORE_TESTS = [
  'rfc5321-session',
  'rfc2920-pipelining',
  'rfc3030-chunking',
  'rfc2033-lmtp',
  'rfc5321-esmtp-parameters',
  'rfc3207-starttls',
  'rfc4954-auth',
  'core-session-properties',
  'core-errors',
  'core-transaction-states',
  'core-utf8-codec',
  'core-output',
  'core-output-buffer',
  'rfc5321-ehlo-capabilities',
  'rfc5321-envelope',
  'client-buffer-ring',
  'rfc5321-body',
  'rfc5321-body-simd',
  'rfc5321-address',
  'rfc5322-compose',
  'rfc4422-sasl-mechanisms',
  'core-sasl-hash',
  'client-ring',
  'client-scram-async',
  'core-proxy-handshakes',
  'client-proxy-link',
  'client-diagnostics',
  'rfc6531-smtputf8-envelope',
  'rfc3492-idn',
  'message-header',
  'message-address',
  'message-dkim',
  'message-build',
  'testing-memory-server',
];

const ANSI = /\x1b\[[0-9;]*m/g;

/** uvu's summary: "Total: N / Passed: N / Skipped: N". */
export function parseUvu(output) {
  const text = output.replace(ANSI, '');
  const num = (label) => {
    const m = new RegExp(`${label}:\\s+(\\d+)`).exec(text);
    return m ? Number(m[1]) : undefined;
  };
  return { total: num('Total'), passed: num('Passed'), skipped: num('Skipped') ?? 0, text };
}

export class Tally {
  passed = 0;
  failed = 0;
  skipped = 0;

  /** Count one file's run; `ok` is false when the process/request itself failed. */
  add(name, output, ok = true, seconds) {
    const { total, passed, skipped, text } = parseUvu(output);
    const time = seconds === undefined ? '' : ` (${seconds.toFixed(1)} s)`;
    if (total === undefined || passed === undefined) {
      this.failed++;
      process.stdout.write(`FAIL ${name}: no uvu summary${time}\n${text}\n`);
      return;
    }
    const bad = total - passed - skipped;
    this.passed += passed;
    this.skipped += skipped;
    this.failed += bad;
    if (!ok && bad === 0) this.failed++;
    if (bad > 0 || !ok) process.stdout.write(`FAIL ${name}: ${passed} passed, ${bad} failed${time}\n${text}\n`);
    else process.stdout.write(`ok   ${name}: ${passed} passed${skipped ? `, ${skipped} skipped` : ''}${time}\n`);
  }

  /** Count a step that is not a uvu file (a type check): one pass or one failure. */
  step(name, ok, output, seconds) {
    const time = seconds === undefined ? '' : ` (${seconds.toFixed(1)} s)`;
    if (ok) this.passed++;
    else this.failed++;
    process.stdout.write(ok ? `ok   ${name}${time}\n` : `FAIL ${name}${time}\n${output.replace(ANSI, '')}\n`);
  }

  /** Print the closing line and exit with its verdict. */
  finish() {
    console.log(`${this.passed} passed, ${this.failed} failed, ${this.skipped} skipped`);
    process.exit(this.failed > 0 || this.passed === 0 ? 1 : 0);
  }
}

/** Run a command to completion, collecting stdout+stderr; never rejects. */
export function run(cmd, args, { timeoutMs = 10 * 60_000, env = {} } = {}) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n[killed after ${timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, output: `${output}\n${err.stack ?? err}`, seconds: (performance.now() - started) / 1000 });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        ok: code === 0,
        output: code === 0 ? output : `${output}\n[exit ${code}${signal ? ' ' + signal : ''}]`,
        seconds: (performance.now() - started) / 1000,
      });
    });
  });
}
