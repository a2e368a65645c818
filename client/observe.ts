// Observability hooks: plain callbacks for connection opened and closed, TLS, AUTH and every
// settled message, with the numbers a tracer or a metrics library wants (outcome, reply code,
// timings, octets). No dependency: docs/observability.md feeds them to OpenTelemetry. A hook
// that throws is ignored, so a broken exporter never breaks a session.
import type { Capabilities } from '../core/capabilities.ts';
import type { SmtpError } from '../core/errors.ts';
import type { Outcome, TransactionResult } from '../core/events.ts';

/** Which connection an event belongs to. `id` is unique within the process. */
export interface ConnectionInfo {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly transport: string;
}

export interface ConnectionOpenedEvent {
  readonly connection: ConnectionInfo;
  readonly secure: boolean;
  readonly authenticated: boolean;
  readonly capabilities: Capabilities;
  /** From the start of connect() to the ready session (link, greeting, EHLO, TLS, AUTH). */
  readonly setupMs: number;
}

export interface ConnectionClosedEvent {
  readonly connection: ConnectionInfo;
  /** Undefined after a clean QUIT; else why the session ended (or never started). */
  readonly error: SmtpError | undefined;
  /** False when the session never became ready (refused, TLS or AUTH failed, ...). */
  readonly opened: boolean;
  /** From the start of connect() to the end of the session. */
  readonly lifetimeMs: number;
  readonly messages: { readonly accepted: number; readonly rejected: number; readonly unknown: number };
}

export interface TlsEvent {
  readonly connection: ConnectionInfo;
  readonly mode: 'implicit' | 'starttls';
  readonly ok: boolean;
  /** implicit: the link and its handshake; starttls: the handshake after the 220. */
  readonly durationMs: number;
  readonly error: unknown;
}

export interface AuthEvent {
  readonly connection: ConnectionInfo;
  /** The SASL mechanism used, when known. */
  readonly mechanism: string | undefined;
  readonly ok: boolean;
  /** True for the attempt made with a refreshed token (see `auth.token` providers). */
  readonly refreshed: boolean;
  readonly error: SmtpError | undefined;
}

export interface MessageSettledEvent {
  readonly connection: ConnectionInfo;
  readonly id: number;
  readonly outcome: Outcome;
  /** The deciding reply's code and enhanced code, when a reply decided. */
  readonly code: number | undefined;
  readonly enhanced: string | undefined;
  readonly error: SmtpError | undefined;
  readonly accepted: number;
  readonly rejected: number;
  /** Body octets given by the caller (before dot-stuffing / line-ending repair). */
  readonly bytes: number;
  /** When send() was called (ms since the epoch) and how long until it settled. */
  readonly startedAt: number;
  readonly durationMs: number;
  /** The result itself, for anything not summarised above. */
  readonly result: TransactionResult;
}

export interface SmtpObserver {
  connectionOpened?(event: ConnectionOpenedEvent): void;
  connectionClosed?(event: ConnectionClosedEvent): void;
  tls?(event: TlsEvent): void;
  auth?(event: AuthEvent): void;
  messageSettled?(event: MessageSettledEvent): void;
}

let lastConnectionId = 0;

/** The client's side of the hooks: counts and clocks for one connection. */
export class Probe {
  readonly info: ConnectionInfo;
  readonly #observer: SmtpObserver | undefined;
  readonly #startedAt = Date.now();
  #opened = false;
  #closed = false;
  readonly #counts = { accepted: 0, rejected: 0, unknown: 0 };

  constructor(observer: SmtpObserver | undefined, host: string, port: number, transport: string) {
    this.#observer = observer;
    this.info = { id: ++lastConnectionId, host, port, transport };
  }

  /** connectionOpened has been reported. */
  get isOpen(): boolean {
    return this.#opened;
  }

  get active(): boolean {
    return this.#observer !== undefined;
  }

  opened(secure: boolean, authenticated: boolean, capabilities: Capabilities): void {
    this.#opened = true;
    this.#call('connectionOpened', { connection: this.info, secure, authenticated, capabilities, setupMs: Date.now() - this.#startedAt });
  }

  closed(error: SmtpError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#call('connectionClosed', {
      connection: this.info,
      error,
      opened: this.#opened,
      lifetimeMs: Date.now() - this.#startedAt,
      messages: { ...this.#counts },
    });
  }

  tls(mode: TlsEvent['mode'], startedAt: number, error?: unknown): void {
    this.#call('tls', { connection: this.info, mode, ok: error === undefined, durationMs: Date.now() - startedAt, error });
  }

  auth(mechanism: string | undefined, refreshed: boolean, error?: SmtpError): void {
    this.#call('auth', { connection: this.info, mechanism, ok: error === undefined, refreshed, error });
  }

  message(result: TransactionResult, bytes: number, startedAt: number): void {
    this.#counts[result.outcome]++;
    if (!this.#observer?.messageSettled) return;
    this.#call('messageSettled', {
      connection: this.info,
      id: result.id,
      outcome: result.outcome,
      code: result.reply?.code,
      enhanced: result.reply?.enhanced,
      error: result.error,
      accepted: result.accepted.length,
      rejected: result.rejected.length,
      bytes,
      startedAt,
      durationMs: Date.now() - startedAt,
      result,
    });
  }

  #call<K extends keyof SmtpObserver>(hook: K, event: Parameters<NonNullable<SmtpObserver[K]>>[0]): void {
    const f = this.#observer?.[hook] as ((e: typeof event) => void) | undefined;
    if (!f) return;
    try {
      f.call(this.#observer, event);
    } catch {
      // an observer's failure is not the session's
    }
  }
}
