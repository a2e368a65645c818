// The client's one timer, always at the core's next deadline (poll()'s `wait`): the core has no
// clock, so something must call handleTimeout() when that deadline comes.
//
// Each reply moves the deadline a little later, so it is re-armed after nearly every read.
// A later deadline keeps the timer already running (it fires early, sees the deadline has moved
// and sleeps again for the rest); only an earlier one, or none, clears it: a clearTimeout plus
// setTimeout per read was ~1% of a pipelined run.

const MAX_TIMER = 2 ** 31 - 1; // setTimeout's limit; a later deadline is re-armed on wake-up

export class DeadlineTimer {
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the running timer fires. */
  #firesAt = 0;
  /** The deadline asked for (epoch ms), at or after #firesAt; undefined: none. */
  #at: number | undefined;
  readonly #expired: () => void;
  readonly #fire = (): void => {
    this.#timer = undefined;
    const at = this.#at;
    if (at === undefined) return;
    if (at > Date.now()) {
      this.#start(at); // the deadline moved on since this timer was set
      return;
    }
    this.#at = undefined;
    this.#expired();
  };

  /** `expired` runs at (or after) the deadline armed last. */
  constructor(expired: () => void) {
    this.#expired = expired;
  }

  /** Move the timer to `deadline` (epoch ms); undefined stops it. */
  arm(deadline: number | undefined): void {
    if (deadline === this.#at) return;
    this.#at = deadline;
    if (this.#timer !== undefined) {
      if (deadline !== undefined && deadline >= this.#firesAt) return;
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (deadline !== undefined) this.#start(deadline);
  }

  #start(at: number): void {
    const now = Date.now();
    const delay = Math.min(MAX_TIMER, Math.max(0, at - now));
    this.#firesAt = now + delay;
    this.#timer = setTimeout(this.#fire, delay);
  }
}
