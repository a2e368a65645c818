// A real smtp-server (nodemailer's) in process on 127.0.0.1, port 0, with the fixture
// certificate (CN=localhost, IP:127.0.0.1), counting connections and keeping what it received.
// Shared by client-node-transport.test.ts and pool-retries.test.ts. No tests here.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import * as assert from 'uvu/assert';

export const fixtures = new URL('../../test/fixtures/', import.meta.url);
export const key = readFileSync(new URL('server.key', fixtures));
export const cert = readFileSync(new URL('server.crt', fixtures));
export const ca = cert.toString('utf8');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- the server

export interface Delivered {
  from: string;
  to: string[];
  body: Buffer;
  session: string;
}

export interface TestServer {
  server: SMTPServer;
  port: number;
  messages: Delivered[];
  stats: { connections: number; open: number; maxOpen: number };
  /** Destroy every client socket now (the server "crashes"). */
  dropAll(): void;
  close(): Promise<void>;
}

export type ServerOptions = NonNullable<ConstructorParameters<typeof SMTPServer>[0]>;

export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const messages: Delivered[] = [];
  const stats = { connections: 0, open: 0, maxOpen: 0 };
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disableReverseLookup: true,
    closeTimeout: 200,
    key,
    cert,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          body: Buffer.concat(chunks),
          session: session.id,
        });
        callback(null);
      });
    },
    ...options,
    onConnect(session, callback) {
      stats.connections++;
      stats.open++;
      stats.maxOpen = Math.max(stats.maxOpen, stats.open);
      if (options.onConnect) options.onConnect(session, callback);
      else callback();
    },
    onClose(session, callback) {
      stats.open--;
      if (options.onClose) options.onClose(session, callback);
      else callback?.();
    },
  });
  server.on('error', () => {}); // aborted clients show up here; the tests look at the client side
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    server,
    port,
    messages,
    stats,
    dropAll: () => {
      for (const c of server.connections) c._socket.destroy();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const plain = (port: number) => ({ host: '127.0.0.1', port, tls: 'none' as const });
export const body = (subject: string, text = 'Hello.') => `Subject: ${subject}\r\n\r\n${text}\r\n`;

export async function assert_rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.match(String(err), pattern);
    return;
  }
  assert.unreachable('expected a rejection');
}
