// Records keyed by ascending integer ids (transaction ids, which the core hands out in order),
// for the tables that can hold every message a caller queued at once: the core's live
// transactions and the client's pending sends. An array from the oldest id still present, so
// an entry costs one slot (a Map's ~50 octets and a hash per lookup), and values come in id order.
export class IdTable<T> {
  private items: (T | undefined)[] = [];
  private head = 0; // items[head] is the oldest slot still in use (or the end)
  private base = 0; // the id of items[0]
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(id: number): T | undefined {
    const i = id - this.base;
    return i >= this.head && i < this.items.length ? this.items[i] : undefined;
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Add `value` under `id`, which must be above every id added before (ids only grow). */
  set(id: number, value: T): void {
    if (this.count === 0) {
      this.items = [];
      this.head = 0;
      this.base = id;
    }
    const i = id - this.base;
    if (i < this.items.length) throw new RangeError(`IdTable: id ${id} is not above the ids added before`);
    while (this.items.length < i) this.items.push(undefined);
    this.items.push(value);
    this.count++;
  }

  delete(id: number): boolean {
    const i = id - this.base;
    if (i < this.head || i >= this.items.length || this.items[i] === undefined) return false;
    this.items[i] = undefined;
    this.count--;
    if (i === this.head) {
      const items = this.items;
      let h = this.head;
      while (h < items.length && items[h] === undefined) h++;
      this.head = h;
      // Drop the unused front now and then, so a long session does not keep a growing array.
      if (h >= 1024 && h * 2 >= items.length) {
        this.items = items.slice(h);
        this.base += h;
        this.head = 0;
      }
    }
    return true;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.count = 0;
  }

  /** The values in id order (a copy: the table may change while the caller goes through it). */
  values(): T[] {
    const out: T[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const v = this.items[i];
      if (v !== undefined) out.push(v);
    }
    return out;
  }

  /** Calls `each` with every value and its id, in id order, over a copy (see values()). */
  forEach(each: (value: T, id: number) => void): void {
    const base = this.base;
    const items = this.items.slice(this.head);
    const head = this.head;
    for (let i = 0; i < items.length; i++) if (items[i] !== undefined) each(items[i]!, base + head + i);
  }

  /** The first value in id order for which `stop` is true, calling it on each until then. */
  find(stop: (value: T) => boolean): T | undefined {
    for (let i = this.head; i < this.items.length; i++) {
      const v = this.items[i];
      if (v !== undefined && stop(v)) return v;
    }
    return undefined;
  }
}
