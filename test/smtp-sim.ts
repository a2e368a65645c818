// A small scriptable SMTP server on node:net for the pool, credential and observability tests:
// it counts connections the way a server does (open from accept until it has closed its side),
// can refuse connections over a per-client limit, delay its QUIT reply, check XOAUTH2 /
// OAUTHBEARER tokens, turn a connection "stale" after an idle time, and decide each message.
// Written for these tests only; it is not an MTA (real MTAs are in test/interop).
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface SimMessage {
  readonly session: number;
  readonly from: string;
  readonly to: string[];
  readonly body: string;
}

export interface SimOptions {
  /** Refuse a connection (421 greeting, then close) while this many are already open. */
  limit?: number;
  /** Milliseconds between QUIT and the 221 (then the server closes). */
  quitDelay?: number;
  chunking?: boolean;
  /** Advertise AUTH with these mechanisms and accept only this token / password. */
  auth?: { mechanisms: string[]; token?: () => string; pass?: () => string; failure?: 'challenge-535' | '454' };
  /** After this many idle ms the server stops reading; the next command gets 421 and a close. */
  staleAfter?: number;
  /** With staleAfter: close without a word instead of the 421 (as if it had closed while idle). */
  staleSilently?: boolean;
  /** Answer every MAIL with 421 and close (a server that drops every link). */
  closeOnMail?: boolean;
  /** Decide a message: a reply line ("250 ..."), or 'drop' to destroy the link without a reply. */
  onMessage?: (m: SimMessage) => string | 'drop';
}

export interface Sim {
  readonly port: number;
  readonly stats: { connections: number; open: number; maxOpen: number; refused: number; authFailures: number; tokensSeen: string[] };
  readonly messages: SimMessage[];
  close(): Promise<void>;
}

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

export async function startSim(options: SimOptions = {}): Promise<Sim> {
  const stats = { connections: 0, open: 0, maxOpen: 0, refused: 0, authFailures: 0, tokensSeen: [] as string[] };
  const messages: SimMessage[] = [];
  const sockets = new Set<net.Socket>();
  let nextSession = 1;

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let counted = true;
    const uncount = (): void => {
      if (!counted) return;
      counted = false;
      stats.open--;
    };
    socket.on('close', () => {
      uncount();
      sockets.delete(socket);
    });
    socket.on('error', () => {});
    if (options.limit !== undefined && stats.open >= options.limit) {
      stats.refused++;
      counted = false;
      socket.end('421 4.7.0 too many connections from your address\r\n');
      return;
    }
    stats.connections++;
    stats.open++;
    stats.maxOpen = Math.max(stats.maxOpen, stats.open);
    const session = nextSession++;

    let buf = Buffer.alloc(0);
    let mode: 'cmd' | 'data' | 'bdat' | 'auth' | 'auth-fail' | 'dead' = 'cmd';
    let bdatLeft = 0;
    let bdatLast = false;
    let from = '';
    let to: string[] = [];
    let body: Buffer[] = [];
    let lastActive = Date.now();
    let authMech = '';
    const say = (line: string): void => {
      if (!socket.destroyed) socket.write(line + '\r\n');
    };
    const bye = (line: string): void => {
      mode = 'dead';
      uncount(); // the server is done with it once it has said so and closed its side
      socket.end(line + '\r\n');
    };
    const finish = (): void => {
      const m: SimMessage = { session, from, to, body: Buffer.concat(body).toString('utf8') };
      body = [];
      const verdict = options.onMessage ? options.onMessage(m) : '250 2.0.0 queued';
      if (verdict === 'drop') {
        mode = 'dead';
        socket.destroy();
        return;
      }
      if (verdict.startsWith('250')) messages.push(m);
      from = '';
      to = [];
      say(verdict);
    };
    const checkToken = (initial: string): void => {
      // XOAUTH2: user=U^Aauth=Bearer T^A^A; OAUTHBEARER: n,a=U,^Aauth=Bearer T^A^A
      const m = /auth=Bearer ([^\x01]*)/.exec(b64(initial));
      const token = m?.[1] ?? '';
      stats.tokensSeen.push(token);
      if (token === options.auth?.token?.()) return say('235 2.7.0 Authentication successful');
      stats.authFailures++;
      if (options.auth?.failure === '454') return say('454 4.7.0 Temporary authentication failure');
      mode = 'auth-fail';
      say('334 ' + Buffer.from('{"status":"401","schemes":"bearer","scope":"https://mail.example/"}').toString('base64'));
    };
    const command = (line: string): void => {
      const verb = line.slice(0, 4).toUpperCase();
      if (options.staleAfter !== undefined && Date.now() - lastActive > options.staleAfter) {
        if (!options.staleSilently) return bye('421 4.4.2 idle too long, closing');
        mode = 'dead';
        uncount();
        socket.end();
        return;
      }
      lastActive = Date.now();
      switch (verb) {
        case 'EHLO': {
          const ext = ['PIPELINING', '8BITMIME', 'ENHANCEDSTATUSCODES'];
          if (options.chunking !== false) ext.push('CHUNKING');
          if (options.auth) ext.push('AUTH ' + options.auth.mechanisms.join(' '));
          const all = ['sim.invalid', ...ext];
          return all.forEach((e, i) => say(`250${i < all.length - 1 ? '-' : ' '}${e}`));
        }
        case 'AUTH': {
          const [, mech, initial] = line.split(' ');
          authMech = (mech ?? '').toUpperCase();
          if (authMech === 'PLAIN') {
            const parts = b64(initial ?? '').split('\0');
            if (parts[2] === options.auth?.pass?.()) return say('235 2.7.0 ok');
            stats.authFailures++;
            return say('535 5.7.8 bad credentials');
          }
          if (initial === undefined) {
            mode = 'auth';
            return say('334 ');
          }
          return checkToken(initial);
        }
        case 'MAIL':
          if (options.closeOnMail) return bye('421 4.3.2 shutting down');
          from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          return say('250 2.1.0 ok');
        case 'RCPT':
          to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          return say('250 2.1.5 ok');
        case 'DATA':
          mode = 'data';
          return say('354 go ahead');
        case 'BDAT': {
          const [, n, last] = line.split(' ');
          bdatLeft = Number(n);
          bdatLast = (last ?? '').toUpperCase() === 'LAST';
          mode = 'bdat';
          return;
        }
        case 'RSET':
          from = '';
          to = [];
          return say('250 2.0.0 ok');
        case 'NOOP':
          return say('250 2.0.0 ok');
        case 'QUIT':
          mode = 'dead';
          setTimeout(() => bye('221 2.0.0 bye'), options.quitDelay ?? 0);
          return;
        default:
          return say('500 5.5.2 unknown command');
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (mode === 'dead') return;
        if (mode === 'bdat') {
          const take = Math.min(bdatLeft, buf.length);
          body.push(buf.subarray(0, take));
          buf = buf.subarray(take);
          bdatLeft -= take;
          if (bdatLeft > 0) return;
          mode = 'cmd';
          if (bdatLast) finish();
          else say('250 2.0.0 chunk ok');
          continue;
        }
        const eol = buf.indexOf('\r\n');
        if (eol < 0) return;
        const line = buf.subarray(0, eol).toString('latin1');
        buf = buf.subarray(eol + 2);
        if (mode === 'data') {
          if (line === '.') {
            mode = 'cmd';
            finish();
          } else body.push(Buffer.from((line.startsWith('.') ? line.slice(1) : line) + '\r\n', 'latin1'));
          continue;
        }
        if (mode === 'auth') {
          mode = 'cmd';
          checkToken(line);
          continue;
        }
        if (mode === 'auth-fail') {
          mode = 'cmd';
          say(authMech === 'XOAUTH2' ? '535 5.7.8 Username and Password not accepted' : '535 5.7.8 invalid token');
          continue;
        }
        command(line);
      }
    });
    say('220 sim.invalid ESMTP');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    stats,
    messages,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
