// The client's one timer, always at the core's next deadline (poll()'s `wait`): the core has no
// clock, so something must call handleTimeout() when that deadline comes.

const MAX_TIMER = 2 ** 31 - 1; // setTimeout's limit; a later deadline is re-armed on wake-up

export class DeadlineTimer {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #at: number | undefined;
  readonly #expired: () => void;

  /** `expired` runs at (or after) the deadline armed last. */
  constructor(expired: () => void) {
    this.#expired = expired;
  }

  /** Move the timer to `deadline` (epoch ms); undefined stops it. */
  arm(deadline: number | undefined): void {
    if (deadline === this.#at) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = deadline;
    if (deadline === undefined) return;
    const delay = Math.min(MAX_TIMER, Math.max(0, deadline - Date.now()));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#at = undefined;
      this.#expired();
    }, delay);
  }
}
