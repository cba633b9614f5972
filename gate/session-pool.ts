// Sessions of the core reused across exchanges: a session is reset, not freed and made again, and
// sessions of a core instance that failed are dropped with it.
import type { Core, Session } from '../core/index.js';

/** A small pool of reusable sessions of the current core instance. */
export class SessionPool {
  private free: Session[] = [];
  private all = new Set<Session>();
  constructor(private core: Core, private readonly max = 64) {}
  get(): Session {
    const s = this.free.pop() ?? this.core.newSession();
    this.all.add(s);
    return s;
  }
  /** A session of a core instance replaced since (unusable: its instance failed). */
  stale(s: Session): boolean {
    return !this.all.has(s);
  }
  /** Sessions of the old instance are dropped (not freed: a faulted instance frees nothing). */
  replaceCore(core: Core): void {
    this.core = core;
    this.free = [];
    this.all = new Set();
  }
  put(s: Session): void {
    if (this.stale(s)) return;
    try {
      s.reset();
    } catch {
      // Only a faulted core refuses a reset: the session is gone with it.
      this.all.delete(s);
      return;
    }
    if (this.free.length < this.max) this.free.push(s);
    else {
      this.all.delete(s);
      s.dispose();
    }
  }
  dispose(): void {
    for (const s of this.all) s.dispose();
    this.all.clear();
    this.free = [];
  }
}
