// A bounded map whose entries expire: what guard-service remembers of callers (reviewed tokens,
// access decisions, pods restarted) without growing with them.
import { wallClock, type Clock, type WallClock } from '../clock/index.js';

/** A bounded map whose entries expire: least recently stored go first when it is full. */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  constructor(
    private readonly maxEntries: number,
    // Expiry compares readings of one scale only, so either clock's reading fits: the wall clock's
    // where a ttl is cut to a token's expiry (a date), a Clock's now elsewhere.
    private readonly now: WallClock | Clock['now'] = wallClock,
  ) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
