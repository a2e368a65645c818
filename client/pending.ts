// What the SmtpClient's callers wait for: the session being ready, each send and each NOOP, as
// promises settled from the core's events. The core settles every transaction before it says
// 'closed', so a send still waiting then is a core bug, reported as one.
import type { SmtpError } from '../core/errors.ts';
import type { TransactionResult } from '../core/events.ts';
import { IdTable } from '../core/id-table.ts';
import type { Reply } from '../core/reply.ts';

/** One send waiting for its result. Only `resolve` is kept (a send is rejected by resolving it
 *  with a rejected promise): every queued send holds one of these until it settles, and the
 *  promise's reject function alone was ~66 of the ~880 octets a queued send retained. */
export class PendingSend {
  readonly resolve: (result: TransactionResult | Promise<never>) => void;
  /** Body octets given so far (for the observer). */
  bytes: number;
  /** When send() was called (0 when no observer will read it). */
  readonly startedAt: number;
  /** Removes the abort listener, when there is one. */
  readonly cleanup: (() => void) | undefined;

  constructor(resolve: PendingSend['resolve'], bytes: number, startedAt: number, cleanup: (() => void) | undefined) {
    this.resolve = resolve;
    this.bytes = bytes;
    this.startedAt = startedAt;
    this.cleanup = cleanup;
  }
}

interface Settle<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

export class PendingCalls {
  /** Sends not yet settled, by transaction id. */
  readonly sends = new IdTable<PendingSend>();
  readonly #commands = new Map<number, Settle<Reply>>();
  #ready: Settle<void> | undefined;
  #captured: PendingSend['resolve'] | undefined;
  readonly #capture = (resolve: PendingSend['resolve']): void => {
    this.#captured = resolve;
  };

  /** Resolves when the core says the session is ready; rejects when it ends first. */
  ready(): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => (this.#ready = { resolve, reject }));
    ready.catch(() => {}); // awaited by the caller; a late rejection must not count as unhandled
    return ready;
  }

  isReady(): void {
    this.#ready?.resolve();
  }

  send(id: number, bytes: number, startedAt: number, cleanup: (() => void) | undefined): Promise<TransactionResult> {
    // One executor for every send (a closure per send, with its context, was ~120 octets a message).
    const promise = new Promise<TransactionResult>(this.#capture);
    this.sends.set(id, new PendingSend(this.#captured!, bytes, startedAt, cleanup));
    this.#captured = undefined;
    return promise;
  }

  command(id: number): Promise<Reply> {
    return new Promise((resolve, reject) => this.#commands.set(id, { resolve, reject }));
  }

  /** The core settled a transaction: its send resolves. Undefined when it is not waited for. */
  settled(result: TransactionResult): PendingSend | undefined {
    const pending = this.sends.get(result.id);
    if (!pending) return undefined;
    this.sends.delete(result.id);
    pending.cleanup?.();
    pending.resolve(result);
    return pending;
  }

  replied(id: number, reply: Reply): void {
    const pending = this.#commands.get(id);
    this.#commands.delete(id);
    pending?.resolve(reply);
  }

  /** The session ended (`why`): whatever still waits is rejected. */
  end(why: SmtpError): void {
    this.#ready?.reject(why);
    for (const c of this.#commands.values()) c.reject(why);
    this.#commands.clear();
    this.sends.forEach((s, id) => {
      s.cleanup?.();
      s.resolve(Promise.reject(new Error(`internal error: transaction ${id} was not settled before the session closed`)));
    });
    this.sends.clear();
  }
}
