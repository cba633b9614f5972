// Handle tables: the host names wasm-side objects by small integers; freed slots are reused.

export class Table<T> {
  private items: Array<T | null> = new Array<T | null>();
  private free: Array<i32> = new Array<i32>();

  add(item: T): i32 {
    if (this.free.length > 0) {
      const id = this.free.pop();
      this.items[id] = item;
      return id;
    }
    this.items.push(item);
    return this.items.length - 1;
  }

  get(id: i32): T | null {
    if (id < 0 || id >= this.items.length) return null;
    return unchecked(this.items[id]);
  }

  release(id: i32): void {
    if (id < 0 || id >= this.items.length || this.items[id] == null) return;
    this.items[id] = null;
    this.free.push(id);
  }

  live(): i32 {
    return this.items.length - this.free.length;
  }
}
