// A GuardianStore in memory for the learner's tests: the contract's semantics (canonical specs,
// resourceVersion per write, learned-only writes, watch starting with the present Guardians) plus
// levers a test needs: hold writes, fail the next reads or writes, and a log of learned writes.
import type { Core } from '../../core/index.js';
import {
  canonicalSpec,
  checkNames,
  learnedSpec,
  specToWrite,
  StoreError,
  type GuardianChange,
  type GuardianSpecJson,
  type GuardianStore,
  type GuardianWatchEvent,
  type LearnedExtras,
  type StoredGuardian,
} from '../../store/index.js';

export interface LearnedWrite {
  namespace: string;
  service: string;
  samples: number;
  learned: unknown;
}

export class MemoryGuardianStore implements GuardianStore {
  readonly kind = 'file' as const;
  /** Every updateLearned that reached the store, in order. */
  readonly learnedWrites: LearnedWrite[] = [];
  /** Fail this many of the next writes (update/updateLearned) with GUARD_STORE_IO. */
  failWrites = 0;
  /** Fail this many of the next get() calls with GUARD_STORE_IO. */
  failReads = 0;
  private readonly guardians = new Map<string, StoredGuardian>();
  private readonly watchers = new Set<(event: GuardianWatchEvent) => void>();
  private version = 0;
  private held: Promise<void> | null = null;
  private heldGets: Promise<void> | null = null;

  constructor(private readonly core: Core) {}

  /** Writes wait until the returned function is called. */
  holdWrites(): () => void {
    const [held, release] = barrier(() => (this.held = null));
    this.held = held;
    return release;
  }

  /** get() waits until the returned function is called. */
  holdReads(): () => void {
    const [held, release] = barrier(() => (this.heldGets = null));
    this.heldGets = held;
    return release;
  }

  async get(namespace: string, service: string): Promise<StoredGuardian | null> {
    checkNames(namespace, service);
    await this.heldGets;
    if (this.failReads > 0) {
      this.failReads--;
      throw new StoreError('GUARD_STORE_IO', `read of ${namespace}/${service} failed (test)`);
    }
    return structuredClone(this.guardians.get(`${namespace}/${service}`) ?? null);
  }

  async list(namespace?: string): Promise<StoredGuardian[]> {
    return [...this.guardians.values()].filter((g) => namespace === undefined || g.namespace === namespace).map((g) => structuredClone(g));
  }

  async update(namespace: string, service: string, change: GuardianChange): Promise<StoredGuardian> {
    checkNames(namespace, service);
    await this.held;
    if (this.failWrites > 0) {
      this.failWrites--;
      throw new StoreError('GUARD_STORE_IO', `write of ${namespace}/${service} failed (test)`);
    }
    const key = `${namespace}/${service}`;
    const current = this.guardians.get(key);
    const spec = specToWrite(this.core, change(current ? structuredClone(current.spec) : null, current?.resourceVersion ?? null), key);
    const stored: StoredGuardian = { namespace, service, spec, resourceVersion: String(++this.version) };
    this.guardians.set(key, stored);
    this.emit({ type: 'put', guardian: structuredClone(stored) });
    return structuredClone(stored);
  }

  async updateLearned(namespace: string, service: string, learned: unknown, samples: number, extras?: LearnedExtras): Promise<StoredGuardian> {
    const stored = await this.update(namespace, service, (current) => {
      return learnedSpec(current ?? this.defaults(), learned, samples, extras);
    });
    this.learnedWrites.push({ namespace, service, samples, learned: structuredClone(learned) });
    return stored;
  }

  private defaults(): GuardianSpecJson {
    const g = this.core.defaultGuardian();
    try {
      return canonicalSpec(this.core, g.toWire(), 'the default Guardian');
    } finally {
      g.dispose();
    }
  }

  async delete(namespace: string, service: string): Promise<void> {
    const key = `${namespace}/${service}`;
    if (!this.guardians.delete(key)) throw new StoreError('GUARD_STORE_NOT_FOUND', `no Guardian ${key}`);
    this.emit({ type: 'delete', guardian: { namespace, service } });
  }

  watch(onChange: (event: GuardianWatchEvent) => void): { close(): void } {
    for (const g of this.guardians.values()) {
      const event: GuardianWatchEvent = { type: 'put', guardian: structuredClone(g) };
      queueMicrotask(() => onChange(event));
    }
    this.watchers.add(onChange);
    return { close: () => void this.watchers.delete(onChange) };
  }

  async close(): Promise<void> {
    this.watchers.clear();
  }

  /** Watch events go out after the write returned, as a real store's would. */
  private emit(event: GuardianWatchEvent): void {
    for (const w of this.watchers) queueMicrotask(() => w(structuredClone(event)));
  }
}

/** A promise and the function that first runs `onRelease`, then resolves it. */
function barrier(onRelease: () => void): [Promise<void>, () => void] {
  let resolve!: () => void;
  const held = new Promise<void>((r) => (resolve = r));
  return [
    held,
    () => {
      onRelease();
      resolve();
    },
  ];
}
