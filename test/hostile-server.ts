// The scripted hostile server shared by client-hostile-servers.test.ts and
// rfc3207-starttls-hostile.test.ts: raw node:net / node:tls servers on 127.0.0.1 (port 0) that
// play a well-behaved SMTP session with hooks for the attack under test, plus the client-side
// helpers (fast timeouts, the credential and raw-control checks). No tests here.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as assert from 'uvu/assert';
import type { SendResult } from '../client/client.ts';
import type { ClientOptions } from '../transports/node.ts';

/** Unhandled rejections seen while the suite ran: its last test asserts there were none. */
export const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

export const fixtures = new URL('../../test/fixtures/', import.meta.url);
export const key = readFileSync(new URL('server.key', fixtures));
export const cert = readFileSync(new URL('server.crt', fixtures));
export const ca = cert.toString('utf8');
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const USER = 'alice';
export const PASS = 'pa55-w0rd-secret';
/** Every form the credentials could take on the wire: plain, and base64 of each SASL shape. */
export const SECRETS = [
  PASS,
  USER + '\0',
  Buffer.from(`\0${USER}\0${PASS}`).toString('base64'),
  Buffer.from(USER).toString('base64'),
  Buffer.from(PASS).toString('base64'),
  Buffer.from(`${USER}\0${PASS}`).toString('base64').slice(0, 12),
];

// Raw controls that must never reach a log line, an error message or a result: C0 (except TAB),
// DEL, C1, line/paragraph separators and bidi overrides (the same set core/text.ts escapes).
export const RAW_CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

// ---------------------------------------------------------------- the scripted server

export interface Received {
  from: string;
  to: string[];
  body: Buffer;
}

/** One server-side connection: a byte reader over a socket that can be upgraded to TLS. */
export class Peer {
  socket: net.Socket;
  /** Every byte the client sent in clear (before TLS). */
  readonly clear: Buffer[] = [];
  /** Every command line (bodies excluded), before and after TLS. */
  readonly lines: string[] = [];
  readonly messages: Received[] = [];
  secure = false;
  ended = false;
  /** Set when the client closed (or reset) the link. */
  readonly gone: Promise<void>;
  private buf: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private markGone!: () => void;

  constructor(socket: net.Socket) {
    this.socket = socket;
    this.gone = new Promise((r) => (this.markGone = r));
    this.attach(socket);
  }

  private onData = (b: Buffer): void => {
    if (!this.secure) this.clear.push(b);
    this.buf = this.buf.length ? Buffer.concat([this.buf, b]) : b;
    this.wake();
  };

  private onEnd = (): void => {
    this.ended = true;
    this.markGone();
    this.wake();
  };

  private attach(s: net.Socket): void {
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('close', this.onEnd);
    s.on('error', this.onEnd);
  }

  private detach(s: net.Socket): void {
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('close', this.onEnd);
    s.off('error', this.onEnd);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private wait(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  /** The next client line without its line ending; undefined once the client is gone. */
  async line(): Promise<string | undefined> {
    for (;;) {
      const lf = this.buf.indexOf(0x0a);
      if (lf >= 0) {
        const text = this.buf.subarray(0, lf).toString('utf8').replace(/\r$/, '');
        this.buf = this.buf.subarray(lf + 1);
        this.lines.push(text);
        return text;
      }
      if (this.ended) return undefined;
      await this.wait();
    }
  }

  /** Exactly n bytes (fewer if the client went away). */
  async bytes(n: number): Promise<Buffer> {
    while (this.buf.length < n && !this.ended) await this.wait();
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(out.length);
    return Buffer.from(out);
  }

  /** A DATA body up to the lone dot, un-stuffed; undefined if the client went away first. */
  async dataBody(): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    for (;;) {
      const lf = this.buf.indexOf(0x0a);
      if (lf < 0) {
        if (this.ended) return undefined;
        await this.wait();
        continue;
      }
      const raw = this.buf.subarray(0, lf + 1);
      this.buf = this.buf.subarray(lf + 1);
      if (raw.equals(Buffer.from('.\r\n'))) return Buffer.concat(parts);
      parts.push(raw[0] === 0x2e ? raw.subarray(1) : raw);
    }
  }

  /** Write and wait until the bytes are handed to the kernel (or the link failed). */
  send(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || !this.socket.writable) return resolve();
      this.socket.write(data, () => resolve());
    });
  }

  /** Answer STARTTLS: write the reply and take the link over with a TLS server socket in the
   *  same tick, so no byte of the ClientHello is read as clear text. */
  async startTls(reply = '220 2.0.0 go ahead\r\n', options: tls.TlsOptions = {}): Promise<boolean> {
    const raw = this.socket;
    raw.write(reply);
    this.detach(raw);
    this.buf = Buffer.alloc(0);
    this.secure = true;
    const secure = new tls.TLSSocket(raw, { isServer: true, key, cert, ...options });
    this.socket = secure;
    this.attach(secure);
    const ok = await Promise.race([once(secure, 'secure').then(() => true), this.gone.then(() => false)]);
    return ok;
  }

  end(data?: string): void {
    if (this.socket.destroyed) return;
    if (data === undefined) this.socket.end();
    else this.socket.end(data);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Did any credential, in any encoding, ever cross the link in clear? */
  leakedInClear(): boolean {
    const text = Buffer.concat(this.clear).toString('latin1');
    return SECRETS.some((s) => text.includes(s));
  }

  /** Client commands of a kind (AUTH, MAIL, ...). */
  saw(verb: string): boolean {
    return this.lines.some((l) => l.toUpperCase().startsWith(verb));
  }
}

export interface Script {
  (peer: Peer): Promise<void>;
}

export interface Served {
  port: number;
  peers: Peer[];
  /** Rejections from the script itself (a bug in the test, reported loudly). */
  errors: unknown[];
  close(): Promise<void>;
}

/** Every server started, so a failed test cannot leave one listening (and hang the process). */
export const allServers: Served[] = [];
/** Close every server started (a test.after hook of each suite). */
export async function closeAllServers(): Promise<void> {
  for (const s of allServers) await s.close();
}

export async function serve(script: Script): Promise<Served> {
  const peers: Peer[] = [];
  const errors: unknown[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    const peer = new Peer(socket);
    peers.push(peer);
    script(peer).catch((err) => errors.push(err));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const served: Served = {
    port,
    peers,
    errors,
    close: async () => {
      for (const p of peers) p.destroy();
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
    },
  };
  allServers.push(served);
  return served;
}

export interface SessionOptions {
  greeting?: string;
  /** EHLO keywords before TLS (without the 250 prefix). */
  caps?: string[];
  /** EHLO keywords after TLS (default: caps without STARTTLS). */
  tlsCaps?: string[];
  /** Answer a command line; return undefined for the default behaviour. */
  hook?: (line: string, peer: Peer) => Promise<string | 'handled' | undefined> | string | 'handled' | undefined;
  /** Answer for the final reply of each message (default 250). */
  final?: (index: number) => string;
}

export function ehloReply(caps: string[]): string {
  const lines = ['mx.hostile.test', ...caps];
  return lines.map((l, i) => `250${i < lines.length - 1 ? '-' : ' '}${l}\r\n`).join('');
}

/** A well-behaved SMTP server loop with hooks for the attack under test. */
export function session(o: SessionOptions = {}): Script {
  return async (peer) => {
    await peer.send(o.greeting ?? '220 mx.hostile.test ESMTP\r\n');
    let from = '';
    let to: string[] = [];
    let bdat: Buffer[] = [];
    for (;;) {
      const line = await peer.line();
      if (line === undefined) return;
      const hooked = await o.hook?.(line, peer);
      if (hooked === 'handled') continue;
      if (hooked !== undefined) {
        await peer.send(hooked);
        continue;
      }
      const verb = line.split(' ')[0]!.toUpperCase();
      switch (verb) {
        case 'EHLO':
          await peer.send(ehloReply(peer.secure ? (o.tlsCaps ?? (o.caps ?? []).filter((c) => c !== 'STARTTLS')) : (o.caps ?? [])));
          break;
        case 'HELO':
          await peer.send('250 mx.hostile.test\r\n');
          break;
        case 'STARTTLS':
          if (!(await peer.startTls())) return;
          break;
        case 'AUTH': {
          const mech = line.split(' ')[1]?.toUpperCase();
          if (mech === 'LOGIN') {
            await peer.send('334 VXNlcm5hbWU6\r\n');
            await peer.line();
            await peer.send('334 UGFzc3dvcmQ6\r\n');
            await peer.line();
          } else if (line.split(' ').length < 3) {
            await peer.send('334 \r\n');
            await peer.line();
          }
          await peer.send('235 2.7.0 ok\r\n');
          break;
        }
        case 'MAIL':
          from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          to = [];
          await peer.send('250 2.1.0 ok\r\n');
          break;
        case 'RCPT':
          to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          await peer.send('250 2.1.5 ok\r\n');
          break;
        case 'DATA': {
          await peer.send('354 go\r\n');
          const body = await peer.dataBody();
          if (body === undefined) return;
          peer.messages.push({ from, to, body });
          await peer.send(o.final?.(peer.messages.length - 1) ?? '250 2.0.0 queued\r\n');
          break;
        }
        case 'BDAT': {
          const [, size, last] = line.split(' ');
          bdat.push(await peer.bytes(Number(size)));
          if (last?.toUpperCase() === 'LAST') {
            peer.messages.push({ from, to, body: Buffer.concat(bdat) });
            bdat = [];
            await peer.send(o.final?.(peer.messages.length - 1) ?? '250 2.0.0 queued\r\n');
          } else {
            await peer.send('250 2.0.0 chunk ok\r\n');
          }
          break;
        }
        case 'RSET':
        case 'NOOP':
          await peer.send('250 2.0.0 ok\r\n');
          break;
        case 'QUIT':
          await peer.send('221 2.0.0 bye\r\n');
          peer.end();
          return;
        default:
          await peer.send('502 5.5.2 what\r\n');
      }
    }
  };
}

// ---------------------------------------------------------------- client-side helpers

/** Every core timeout at `ms` (the defaults are minutes), so a broken case fails fast. */
export function quick(ms = 3000): ClientOptions['timeouts'] {
  return {
    greeting: ms,
    hello: ms,
    starttls: ms,
    tlsHandshake: ms,
    auth: ms,
    mail: ms,
    rcpt: ms,
    data: ms,
    dataBlock: ms,
    dataEnd: ms,
    command: ms,
    quit: ms,
    connect: ms,
    close: ms,
  };
}

export function base(port: number, extra: Partial<ClientOptions> = {}): ClientOptions {
  return { host: '127.0.0.1', port, tls: 'none', timeouts: quick(), ...extra };
}

export const withAuth = { auth: { user: USER, pass: PASS } };

export const mail = (subject: string, text = 'hello') => `Subject: ${subject}\r\n\r\n${text}\r\n`;

export function assertClean(text: string, where: string): void {
  const m = RAW_CONTROL.exec(text);
  assert.not.ok(m, `raw control ${JSON.stringify(m?.[0])} in ${where}: ${JSON.stringify(text)}`);
}

export function assertResultClean(r: SendResult, where: string): void {
  for (const line of r.reply?.lines ?? []) assertClean(line, `${where} reply`);
  for (const x of [...r.accepted, ...r.rejected]) for (const line of x.reply.lines) assertClean(line, `${where} recipient reply`);
  if (r.error) assertClean(r.error.message, `${where} error`);
  for (const line of r.error?.reply?.lines ?? []) assertClean(line, `${where} error reply`);
}
