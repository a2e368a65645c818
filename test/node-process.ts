// Runs a built script in a fresh Node process and collects its output, for the tests of the
// CLI and the demo. A process that does not exit in time is killed and fails the test.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ProcessOptions {
  /** Written to a stdin pipe (nothing when absent). */
  stdin?: string | Uint8Array;
  /** Stdin is this file (as `< file` in a shell), not a pipe. */
  stdinFile?: string;
  env?: NodeJS.ProcessEnv;
  timeout: number;
}

export function runNode(script: string, args: string[], opts: ProcessOptions): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const fd = opts.stdinFile === undefined ? undefined : openSync(opts.stdinFile, 'r');
    const child = spawn(process.execPath, [script, ...args], { env: opts.env ?? process.env, stdio: [fd ?? 'pipe', 'pipe', 'pipe'] });
    if (fd !== undefined) closeSync(fd); // the child has its own copy
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not exit within ${opts.timeout} ms; stdout:\n${stdout}\nstderr:\n${stderr}`));
    }, opts.timeout);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (child.stdin) {
      child.stdin.on('error', () => {}); // EPIPE when the process exits without reading stdin
      child.stdin.end(opts.stdin ?? '');
    }
  });
}
