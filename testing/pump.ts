// Carries out a session's actions in order on some link: each reply after its delay, later
// actions held behind a delayed one. Shared by the in-memory link and the capture server.
import type { SessionAction } from './session.ts';

export interface TestClock {
  setTimeout(fn: () => void, ms: number): unknown;
}

export interface PumpSink {
  send(bytes: Uint8Array): void;
  /** Close after what was sent (QUIT, 421). */
  close(): void;
  /** Drop at once, no reply (a rule: the link lost after the end of a message). */
  drop(): void;
}

const enc = new TextEncoder();

export class ActionPump {
  #queue: SessionAction[] = [];
  #waiting = false;
  #over = false;
  constructor(
    private readonly sink: PumpSink,
    private readonly clock: TestClock,
  ) {}

  get over(): boolean {
    return this.#over;
  }

  /** The link is gone: nothing more is sent. */
  stop(): void {
    this.#over = true;
    this.#queue = [];
  }

  run(actions: SessionAction[]): void {
    this.#queue.push(...actions);
    while (!this.#over && !this.#waiting && this.#queue.length > 0) {
      const a = this.#queue[0]!;
      if (a.type === 'reply' && a.delay > 0) {
        this.#waiting = true;
        this.clock.setTimeout(() => {
          this.#waiting = false;
          this.#queue[0] = { ...a, delay: 0 };
          this.run([]);
        }, a.delay);
        return;
      }
      this.#queue.shift();
      if (a.type === 'reply') this.sink.send(enc.encode(a.text));
      else if (a.type === 'close') {
        this.stop();
        this.sink.close();
      } else if (a.type === 'drop') {
        this.stop();
        this.sink.drop();
      }
      // 'starttls': the adapter reacts to it itself (the in-memory link when the client calls
      // startTls(); the capture server does not offer it).
    }
  }
}
