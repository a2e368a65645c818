// The replies the session waits for, in order (RFC 2920 PIPELINING): every command written
// pushes one expectation, every reply is routed to the head one. What an expectation is for is
// a tagged union, so one switch (route) decides where each reply goes; the timer that bounds
// the wait is a field of its own.
import type { TimerKind, Timeouts } from './timeouts.ts';
import { Queue } from './queue.ts';
import type { Transaction, UserCommand } from './transaction.ts';

/** A session step: the table in states.ts takes its reply. */
export type SessionStep = 'greeting' | 'hello' | 'starttls' | 'auth' | 'quit';

interface Waiting<For extends string> {
  readonly for: For;
  /** The timer that bounds the wait for this reply. */
  readonly timer: TimerKind;
  /** A command that must end a pipelined group (RFC 2920 §3.1): nothing follows until its reply. */
  readonly barrier: boolean;
}

export type Expectation =
  | (Waiting<'session'> & { readonly step: SessionStep })
  /** One of a transaction's own commands: MAIL, a RCPT, DATA, a BDAT chunk, the end of data. */
  | (Waiting<'mail' | 'rcpt' | 'data' | 'bdat-chunk' | 'end-of-data'> & { readonly tx: Transaction })
  /** The lone dot that ends a DATA after a 354 when every recipient was refused (RFC 2920 §3.1). */
  | (Waiting<'empty-data-end'> & { readonly tx: Transaction })
  | (Waiting<'command'> & { readonly command: UserCommand })
  /** The RSET written before a MAIL when an earlier transaction may still be held. */
  | Waiting<'auto-rset'>;

export class ReplyQueue {
  private readonly fifo = new Queue<Expectation>();
  private barriers = 0;
  /** When the head's timer fires; undefined with nothing outstanding. */
  headDeadline: number | undefined;

  get length(): number {
    return this.fifo.length;
  }

  front(): Expectation | undefined {
    return this.fifo.front();
  }

  /** No group-ending command is outstanding. */
  get open(): boolean {
    return this.barriers === 0;
  }

  push(e: Expectation, now: number, timeouts: Timeouts): void {
    this.fifo.push(e);
    if (e.barrier) this.barriers++;
    if (this.fifo.length === 1) this.arm(now, timeouts);
  }

  /** The head was answered. */
  shift(): void {
    const head = this.fifo.shift();
    if (head?.barrier) this.barriers--;
  }

  arm(now: number, timeouts: Timeouts): void {
    const head = this.fifo.front();
    this.headDeadline = head ? now + timeouts[head.timer] : undefined;
  }

  clear(): void {
    this.fifo.clear();
    this.barriers = 0;
    this.headDeadline = undefined;
  }
}
