// FIFOs with O(1) push and shift (an array plus a head index). `Queue` is for FIFOs that are
// only ever taken from the front; `SlotQueue` also removes an item from anywhere in O(1), for
// the transaction queue, which can hold every message a caller queued at once and from which a
// cancelled or refused transaction leaves where it stands (one AbortSignal shared by 100,000
// sends cancels them all: a search per removal made that cost the square of the queue).

const COMPACT_AFTER = 1024;

export class Queue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  front(): T | undefined {
    return this.items[this.head];
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined as T; // let it be collected
    if (this.head === this.items.length) this.clear();
    else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/** An item of a SlotQueue: `slot` is its position there (kept by the queue), -1 when not in one. */
export interface Slotted {
  slot: number;
}

export class SlotQueue<T extends Slotted> {
  // A removed item leaves a hole (undefined) that front() and shift() step over.
  private items: (T | undefined)[] = [];
  private head = 0;
  private base = 0; // the slot of items[0]: slots stay valid when the array is compacted
  private count = 0;

  get length(): number {
    return this.count;
  }

  front(): T | undefined {
    const item = this.items[this.head];
    if (item !== undefined || this.count === 0) return item;
    this.skipHoles();
    return this.items[this.head];
  }

  push(item: T): void {
    item.slot = this.base + this.items.length;
    this.items.push(item);
    this.count++;
  }

  shift(): T | undefined {
    const item = this.front();
    if (item) this.remove(item);
    return item;
  }

  /** Take `item` out wherever it stands; nothing when it is not in this queue. */
  remove(item: T): void {
    const at = item.slot - this.base;
    if (item.slot < 0 || at < this.head || this.items[at] !== item) return;
    this.items[at] = undefined;
    item.slot = -1;
    this.count--;
    if (this.count === 0) this.clear();
    else if (at === this.head) this.skipHoles();
    else if (this.items.length - this.head - this.count > Math.max(this.count, COMPACT_AFTER)) this.dropHoles();
  }

  clear(): void {
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i];
      if (item) item.slot = -1;
    }
    this.base += this.items.length;
    this.items = [];
    this.head = 0;
    this.count = 0;
  }

  /** Holes behind a head that does not move (a transaction still being written while later
   *  ones are cancelled) would make the array grow for as long as it stays: once they outnumber
   *  the items, copy the items to a new range of slots. O(1) per removal over time. */
  private dropHoles(): void {
    const items: T[] = [];
    const base = this.base + this.items.length;
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i];
      if (item === undefined) continue;
      item.slot = base + items.length;
      items.push(item);
    }
    this.items = items;
    this.base = base;
    this.head = 0;
  }

  private skipHoles(): void {
    const items = this.items;
    let head = this.head;
    while (head < items.length && items[head] === undefined) head++;
    this.head = head;
    if (head >= COMPACT_AFTER && head * 2 >= items.length) {
      this.items = items.slice(head);
      this.base += head;
      this.head = 0;
    }
  }
}
