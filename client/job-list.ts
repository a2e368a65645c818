// The pool's waiting sends, in order: push at either end (a requeued send goes back to the
// front), take from the front, and remove any send where it stands (a cancelled one, or one
// whose connect attempts ran out). Each is O(1): with maxQueued: Infinity a caller may queue
// hundreds of thousands of sends, and a search per removal made a failing server cost the
// square of that.
import { SmtpInternalError } from '../core/errors.ts';

/** What an item carries to be listed: its neighbours and the list it is in (at most one). */
export interface Listed<T> {
  prev: T | undefined;
  next: T | undefined;
  list: { remove(item: T): boolean } | undefined;
}

export class JobList<T extends Listed<T>> {
  #head: T | undefined;
  #tail: T | undefined;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  get first(): T | undefined {
    return this.#head;
  }

  push(item: T): void {
    this.#adopt(item);
    item.prev = this.#tail;
    item.next = undefined;
    if (this.#tail) this.#tail.next = item;
    else this.#head = item;
    this.#tail = item;
  }

  unshift(item: T): void {
    this.#adopt(item);
    item.prev = undefined;
    item.next = this.#head;
    if (this.#head) this.#head.prev = item;
    else this.#tail = item;
    this.#head = item;
  }

  shift(): T | undefined {
    const item = this.#head;
    if (item) this.remove(item);
    return item;
  }

  /** Take `item` out; false when it is not in this list. */
  remove(item: T): boolean {
    if (item.list !== this) return false;
    if (item.prev) item.prev.next = item.next;
    else this.#head = item.next;
    if (item.next) item.next.prev = item.prev;
    else this.#tail = item.prev;
    item.prev = item.next = item.list = undefined;
    this.#length--;
    return true;
  }

  /** The items in order; the loop body may remove the item it is at (and no other). */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let item = this.#head; item;) {
      const next = item.next;
      yield item;
      item = next;
    }
  }

  #adopt(item: T): void {
    // An item in two lists would corrupt both: a pool bug, not a user's.
    if (item.list !== undefined) throw new SmtpInternalError('a pool job was queued twice');
    item.list = this;
    this.#length++;
  }
}
