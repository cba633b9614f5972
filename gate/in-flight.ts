// The exchanges in flight: one array of slots, each exchange knowing its own, so that adding and
// removing allocate nothing and leave nothing dead referenced. A JavaScript Set is not used on
// purpose: V8 replaces a Set's hash table every few dozen additions when entries come and go, and
// a replaced table keeps its entries and a link to its successor. Once one table had reached the old
// generation (any full collection promotes the one in use), that chain of dead tables kept every
// later exchange alive through two minor collections, so all of them were promoted: about 1 KB
// per request, a mark-compact every half second and the p99 it sets (docs/performance.md).

/** An item that can be in one InFlight list at a time: its slot there, -1 when in none. */
export interface Slotted {
  inFlightSlot: number;
}

export class InFlight<T extends Slotted> {
  private readonly items: (T | undefined)[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Add an item (nothing when it is in the list already). */
  add(item: T): void {
    if (item.inFlightSlot >= 0) return;
    item.inFlightSlot = this.count;
    this.items[this.count++] = item;
  }

  /** Remove an item: the last one takes its slot, and the last slot is cleared. False when it was not in the list. */
  delete(item: T): boolean {
    const i = item.inFlightSlot;
    if (i < 0 || i >= this.count || this.items[i] !== item) return false;
    const last = --this.count;
    const moved = this.items[last]!;
    this.items[i] = moved;
    moved.inFlightSlot = i;
    this.items[last] = undefined;
    item.inFlightSlot = -1;
    return true;
  }

  /** The items now, as a new array (safe to iterate while items are removed). */
  snapshot(): T[] {
    return this.items.slice(0, this.count) as T[];
  }
}
