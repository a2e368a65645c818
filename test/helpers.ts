// Shared test helpers: run a core against a scripted server and collect what happened.
import { SmtpConnection, type ConnectionOptions } from '../core/full.ts';
import type { Envelope } from '../core/envelope.ts';
import { SmtpError } from '../core/errors.ts';
import type { SmtpEvent, TransactionResult } from '../core/events.ts';
import { ScriptedServer, drive, VirtualClock, type ScriptBuilder, type DriveResult, type DriveOptions } from '../transports/mock.ts';

export const enc = new TextEncoder();
export const dec = new TextDecoder();

export interface Session extends DriveResult {
  core: SmtpConnection;
  server: ScriptedServer;
  clock: VirtualClock;
  results: TransactionResult[];
  closedEvent: Extract<SmtpEvent, { type: 'closed' }> | undefined;
  /** Exactly what the client wrote, as text. */
  clientText: string;
}

export interface Mail {
  envelope: Envelope;
  body?: string | Uint8Array | (string | Uint8Array)[];
}

/** Queue each mail (body written whole), optionally QUIT, then drive the session to rest. */
export function run(
  options: ConnectionOptions,
  builder: ScriptBuilder,
  mails: Mail[] = [],
  opts: { quit?: boolean } & Pick<DriveOptions, 'onEvent' | 'onIdle'> = {},
): Session {
  const clock = new VirtualClock(1_000);
  const core = new SmtpConnection(options);
  const server = new ScriptedServer(builder);
  core.start(clock.now);
  for (const m of mails) {
    const id = core.send(m.envelope, clock.now);
    if (m.body !== undefined) {
      const parts = Array.isArray(m.body) ? m.body : [m.body];
      for (const p of parts) core.writeBody(id, typeof p === 'string' ? enc.encode(p) : p, clock.now);
      core.endBody(id, clock.now);
    }
  }
  if (opts.quit !== false) core.quit(clock.now);
  const result = drive(core, server, { clock, started: true, onEvent: opts.onEvent, onIdle: opts.onIdle });
  const results = result.events.flatMap((e) => (e.type === 'transaction' ? [e.result] : []));
  const closedEvent = result.events.find((e): e is Extract<SmtpEvent, { type: 'closed' }> => e.type === 'closed');
  const clientText = server.received.map((b) => dec.decode(b)).join('');
  return { ...result, core, server, clock, results, closedEvent, clientText };
}

/** CRLF-join lines, with a trailing CRLF. */
export function lines(...ls: string[]): string {
  return ls.map((l) => l + '\r\n').join('');
}

/** `p`, or a rejection once it has been pending `ms`: a hang fails the test instead of the run. */
export async function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`hung: ${what} did not settle within ${ms} ms`)), ms)),
  );
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** The SmtpError `p` rejects with; throws when it resolves or rejects with anything else. */
export async function rejection(p: Promise<unknown>): Promise<SmtpError> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof SmtpError)) throw new Error(`expected an SmtpError, got ${String(err)}`, { cause: err });
    return err;
  }
  throw new Error('expected a rejection');
}
