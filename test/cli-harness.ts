// Shared harness for the CLI tests of sendmail mode, the msmtp configuration and the spool: the
// built CLI in a child process against a real smtp-server on 127.0.0.1 that records every
// envelope and message it accepted.
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { test } from 'uvu';
import { runNode, type ProcessRun } from './node-process.ts';

// The published bin (package.json): the single-file build of bin/smtpwire.ts (scripts/bundle-cli.mjs).
export const CLI = fileURLToPath(new URL('../bin/smtpwire-cli.cjs', import.meta.url));

export interface Received {
  from: string;
  to: string[];
  /** MAIL FROM parameters (upper-case keys) and RCPT parameters per recipient. */
  mailArgs: Record<string, string>;
  rcptArgs: Record<string, string>[];
  data: Buffer;
}

export interface TestServer {
  port: number;
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** A plain-text smtp-server (no STARTTLS, AUTH optional) that keeps what it got. */
export async function testServer(options: SMTPServerOptions = {}): Promise<TestServer> {
  const received: Received[] = [];
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    closeTimeout: 200,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const env = session.envelope as unknown as {
          mailFrom: { address: string; args?: Record<string, string> };
          rcptTo: { address: string; args?: Record<string, string> }[];
        };
        received.push({
          from: env.mailFrom ? env.mailFrom.address : '',
          to: env.rcptTo.map((r) => r.address),
          mailArgs: env.mailFrom?.args || {},
          rcptArgs: env.rcptTo.map((r) => r.args || {}),
          data: Buffer.concat(chunks),
        });
        callback();
      });
    },
    ...options,
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, url: `smtp+plain://127.0.0.1:${port}`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A port on 127.0.0.1 that was free a moment ago (nothing listens there now). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** How a scripted server (`unansweredServer`) behaves where smtp-server cannot be staged. */
export interface UnansweredScript {
  /** Host name in the greeting and the EHLO reply. */
  name: string;
  /** Text of the 354 reply. */
  go: string;
  /** DATA came in: false drops the link instead of answering 354. */
  onData?(sock: net.Socket): boolean;
  /** A message's final dot came in (it is never answered): true reads the next command. */
  onDot(sock: net.Socket): boolean;
  /** QUIT gets 221 and the link ends (otherwise 250, as every other command). */
  quit?: boolean;
}

/** A scripted server: 250 to every command (354 to DATA), never a reply to the final dot. No
 *  PIPELINING, so the client waits for each reply. */
export async function unansweredServer(script: UnansweredScript): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    let inData = false;
    sock.write(`220 ${script.name} ESMTP\r\n`);
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (;;) {
        if (inData) {
          if (buf.includes('\r\n.\r\n') && script.onDot(sock)) {
            buf = '';
            inData = false;
          }
          return;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const verb = buf.slice(0, 4).toUpperCase();
        buf = buf.slice(nl + 2);
        if (verb === 'DATA') {
          if (script.onData && !script.onData(sock)) return void sock.destroy();
          sock.write(`354 ${script.go}\r\n`);
          inData = true;
          buf = '\r\n' + buf; // so an empty body's lone dot matches too
        } else if (verb === 'QUIT' && script.quit) {
          return void sock.end('221 bye\r\n');
        } else {
          sock.write(verb === 'EHLO' ? `250 ${script.name}\r\n` : '250 ok\r\n');
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A temporary directory, removed by the returned function. */
export function tempDir(tag: string): { dir: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), `smtpwire-${tag}-`));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

export type CliRun = ProcessRun;

/** An empty HOME and no system file: a developer's own ~/.msmtprc or /etc/msmtprc must not leak in. */
let hermeticHome: string | undefined;
export function hermeticEnv(): Record<string, string> {
  if (hermeticHome === undefined) {
    const home = (hermeticHome = mkdtempSync(join(tmpdir(), 'smtpwire-home-')));
    process.once('exit', () => rmSync(home, { recursive: true, force: true }));
  }
  return {
    HOME: hermeticHome,
    XDG_CONFIG_HOME: join(hermeticHome, '.config'),
    XDG_STATE_HOME: join(hermeticHome, '.state'),
    SMTPWIRE_SYSTEM_MSMTPRC: join(hermeticHome, 'no-system-msmtprc'),
  };
}

export function cli(
  args: string[],
  opts: {
    stdin?: string | Uint8Array;
    stdinFile?: string;
    env?: Record<string, string | undefined>;
    timeout?: number;
    script?: string;
  } = {},
): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...hermeticEnv() };
  delete env.SMTPWIRE_PASSWORD;
  delete env.SMTPWIRE_QUEUE_DIR;
  delete env.SMTPWIRE_TEST_CRASH_AT;
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return runNode(opts.script ?? CLI, args, { stdin: opts.stdin, stdinFile: opts.stdinFile, env, timeout: opts.timeout ?? 15_000 });
}

/** Every test is bounded: a hang fails it instead of stalling the whole run. */
export function it(name: string, fn: () => Promise<void> | void, ms = 20_000): void {
  test(name, async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)));
    try {
      await Promise.race([Promise.resolve().then(fn), limit]);
    } finally {
      clearTimeout(timer);
    }
  });
}
