// A FIFO with O(1) push and shift (an array plus a head index), for the transaction queue that
// can hold every message a caller queued at once.
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
    else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Remove `item` wherever it is (rare: a cancelled or failed transaction). */
  remove(item: T): void {
    if (this.items[this.head] === item) {
      this.shift();
      return;
    }
    const at = this.items.indexOf(item, this.head);
    if (at >= 0) this.items.splice(at, 1);
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
