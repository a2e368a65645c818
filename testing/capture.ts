// The loopback capture server (Node): a real SMTP listener for integration tests of programs in
// any language. Each message is written to `dir` as NNNNNN.eml (the bytes as sent) plus
// NNNNNN.json (the envelope), and reported through onMessage. The protocol is the same
// SmtpServerSession the in-memory server uses; this file only moves bytes and writes files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { SmtpUsageError } from '../core/errors.ts';
import { ActionPump } from './pump.ts';
import type { ServerRules } from './rules.ts';
import { SharedState, SmtpServerSession, type RecordedMessage } from './session.ts';

export interface CaptureOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** Default 127.0.0.1: this is a test tool, never listen on every interface by accident. */
  readonly host?: string;
  /** Where .eml and .json files go (created if missing). Absent: record in memory only. */
  readonly dir?: string;
  readonly rules?: ServerRules;
  readonly hostname?: string;
  readonly maxSize?: number;
  /** At most this many links at once (default 64); more are answered 421 and closed. */
  readonly maxConnections?: number;
  readonly onMessage?: (message: RecordedMessage, files: CapturedFiles | undefined) => void;
}

export interface CapturedFiles {
  readonly eml: string;
  readonly json: string;
}

export interface CaptureServer {
  readonly port: number;
  readonly host: string;
  readonly messages: readonly RecordedMessage[];
  close(): Promise<void>;
}

/** The JSON written next to each .eml. */
export function envelopeJson(m: RecordedMessage, remote: string | undefined): Record<string, unknown> {
  return {
    seq: m.seq,
    from: m.envelope.from,
    to: m.envelope.to,
    mailParams: m.envelope.mailParams,
    via: m.envelope.via,
    size: m.raw.length,
    fate: m.fate,
    user: m.user ?? null,
    remote: remote ?? null,
    subject: m.header('subject') ?? null,
    messageId: m.header('message-id') ?? null,
    receivedAt: new Date().toISOString(),
  };
}

export function startCaptureServer(options: CaptureOptions): Promise<CaptureServer> {
  const host = options.host ?? '127.0.0.1';
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    return Promise.reject(new SmtpUsageError(`port must be an integer from 0 to 65535, not ${String(options.port)}`));
  }
  if (options.dir !== undefined) mkdirSync(options.dir, { recursive: true });
  const shared = new SharedState();
  const messages: RecordedMessage[] = [];
  const sockets = new Set<Socket>();
  const maxConnections = options.maxConnections ?? 64;

  const save = (m: RecordedMessage, remote: string | undefined): void => {
    messages.push(m);
    let files: CapturedFiles | undefined;
    if (options.dir !== undefined) {
      const base = join(options.dir, String(m.seq).padStart(6, '0'));
      files = { eml: base + '.eml', json: base + '.json' };
      writeFileSync(files.eml, m.raw);
      writeFileSync(files.json, JSON.stringify(envelopeJson(m, remote), null, 2) + '\n');
    }
    options.onMessage?.(m, files);
  };

  const server: Server = createServer((socket) => {
    if (sockets.size >= maxConnections) {
      socket.end('421 4.3.2 too many connections\r\n');
      return;
    }
    sockets.add(socket);
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const session = new SmtpServerSession({
      hostname: options.hostname,
      rules: options.rules,
      maxSize: options.maxSize,
      shared,
      onMessage: (m) => save(m, remote),
    });
    const pump = new ActionPump(
      { send: (b) => socket.write(b), close: () => socket.end(), drop: () => socket.destroy() },
      { setTimeout: (fn, ms) => setTimeout(fn, ms) },
    );
    socket.on('data', (b: Buffer) => pump.run(session.receive(new Uint8Array(b.buffer, b.byteOffset, b.length))));
    socket.on('error', () => pump.stop());
    socket.on('close', () => {
      pump.stop();
      sockets.delete(socket);
    });
    pump.run(session.start());
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      resolve({
        port,
        host,
        messages,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
