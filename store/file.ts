// The file store: a directory with one JSON file per Guardian, `<namespace>.<service>.json`
// holding {namespace, service, resourceVersion, spec}; the embedded default when there is no cluster.
//
// Durability: a write goes to a private temp file in the same directory, is fsync'd, renamed over
// the Guardian file and the directory is fsync'd; only then does the write resolve. A reader sees
// the old or the new file, never a torn one, even after kill -9 or power loss.
//
// Concurrency: update() runs read-modify-write under two locks — a promise queue per Guardian
// inside this process (so one process never contends with itself), and the lock file of
// file-lock.ts across processes (and across store instances of one process). Holding it, the
// store reads the file, applies `change`, and just before the rename checks that it still holds
// the lock and that the file's identity (inode, mtime, size — every committed write is a new
// inode) is the one it read. A mismatch (a writer outside the protocol, e.g. a person's editor) is
// a conflict: the attempt is dropped and retried from a fresh read, at most maxAttempts times.
// resourceVersion is a per-file counter, +1 on every write; a file a person dropped in without
// our envelope (a bare GuardianSpec, a Guardian object or a ConfigMap as JSON) is read as
// resourceVersion "0".
import { promises as fs, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadCore, type Core } from '../core/index.js';
import { guardedCallback, StoreError } from './errors.js';
import { acquireFileLock, errno, ioError, isAbandoned, privateTempPath, type HeldLock } from './file-lock.js';
import { watchDirectory } from './file-watch.js';
import type { GuardianChange, GuardianSpecJson, GuardianStore, GuardianWatchEvent, LearnedExtras, StoredGuardian } from './types.js';
import { canonicalSpec, checkName, checkNames, defaultSpec, isDnsLabel, learnedSpec, specToWrite } from './validate.js';
import { serializeOn, tracked } from './queue.js';

export interface FileGuardianStoreOptions {
  /** The core that validates specs; the process-wide one by default. */
  core?: Core;
  /**
   * Problems found on disk that were skipped (a corrupt Guardian file, a failed fs.watch …),
   * each reported once until it changes. Default: process.emitWarning.
   */
  report?: (problem: StoreError) => void;
  /** Window in which fs.watch events are coalesced into one rescan (ms). */
  debounceMs?: number;
  /** Full rescan period of a watch, the fallback for missed fs.watch events (ms). */
  rescanMs?: number;
  /** How long an update waits for another writer's lock (ms). */
  lockTimeoutMs?: number;
  /** Age after which a lock is broken whatever its holder (ms). */
  staleLockMs?: number;
  /** Read-modify-write attempts before GUARD_STORE_CONFLICT. */
  maxAttempts?: number;
  /** Larger Guardian files are refused as invalid (bytes). */
  maxFileBytes?: number;
}

const DEFAULTS = {
  debounceMs: 50,
  rescanMs: 5_000,
  lockTimeoutMs: 10_000,
  staleLockMs: 60_000,
  maxAttempts: 8,
  maxFileBytes: 64 << 20,
};

const GUARDIAN_FILE = /^([^.]+)\.([^.]+)\.json$/;

interface Entry {
  stored: StoredGuardian;
  rv: number;
  /** inode:mtime:size of the file read: changes with every write, ours or anyone's. */
  identity: string;
}

/** A read-modify-write attempt lost a race; retried from a fresh read. */
class Conflict extends Error {}

export class FileGuardianStore implements GuardianStore {
  readonly kind = 'file' as const;
  readonly dir: string;
  private readonly core: Core;
  private readonly options: typeof DEFAULTS;
  private readonly report: (problem: StoreError) => void;
  private readonly queues = new Map<string, Promise<void>>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly watches = new Set<{ close(): void }>();
  /** file → message of the last problem reported about it. */
  private readonly reported = new Map<string, string>();
  private initialised?: Promise<void>;
  private closed = false;

  constructor(dir: string, options: FileGuardianStoreOptions = {}) {
    this.dir = dir;
    this.core = options.core ?? loadCore();
    this.options = {
      debounceMs: options.debounceMs ?? DEFAULTS.debounceMs,
      rescanMs: options.rescanMs ?? DEFAULTS.rescanMs,
      lockTimeoutMs: options.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs,
      staleLockMs: options.staleLockMs ?? DEFAULTS.staleLockMs,
      maxAttempts: Math.max(1, options.maxAttempts ?? DEFAULTS.maxAttempts),
      maxFileBytes: options.maxFileBytes ?? DEFAULTS.maxFileBytes,
    };
    this.report = options.report ?? ((problem) => process.emitWarning(problem.message, { code: problem.code }));
  }

  /** The file that holds (or would hold) a Guardian. */
  fileOf(namespace: string, service: string): string {
    checkNames(namespace, service);
    return join(this.dir, `${namespace}.${service}.json`);
  }

  async get(namespace: string, service: string): Promise<StoredGuardian | null> {
    checkNames(namespace, service);
    return this.run(async () => (await this.read(namespace, service))?.stored ?? null);
  }

  async list(namespace?: string): Promise<StoredGuardian[]> {
    if (namespace !== undefined) checkName('namespace', namespace);
    return this.run(async () => {
      const out: StoredGuardian[] = [];
      for (const { namespace: ns, service } of await this.guardianFiles()) {
        if (namespace !== undefined && ns !== namespace) continue;
        const entry = await this.readReporting(ns, service);
        if (entry) out.push(entry.stored);
      }
      return out;
    });
  }

  async update(namespace: string, service: string, change: GuardianChange): Promise<StoredGuardian> {
    checkNames(namespace, service);
    return this.run(() => this.serialized(`${namespace}.${service}`, () => this.readModifyWrite(namespace, service, change)));
  }

  async updateLearned(namespace: string, service: string, learned: unknown, samples: number, extras?: LearnedExtras): Promise<StoredGuardian> {
    return this.update(namespace, service, (current) => {
      return learnedSpec(current ?? defaultSpec(this.core), learned, samples, extras);
    });
  }

  async delete(namespace: string, service: string): Promise<void> {
    const file = this.fileOf(namespace, service);
    return this.run(() =>
      this.serialized(`${namespace}.${service}`, () =>
        this.locked(file, async () => {
          try {
            await fs.unlink(file);
          } catch (err) {
            if (errno(err) === 'ENOENT') throw new StoreError('GUARD_STORE_NOT_FOUND', `no Guardian ${namespace}/${service} (${file})`, { location: file });
            throw ioError(err, file);
          }
          this.reported.delete(file);
          await this.syncDir();
        }),
      ),
    );
  }

  watch(onChange: (event: GuardianWatchEvent) => void): { close(): void } {
    this.assertOpen();
    /** What this watcher has seen per file: the identity read, and whether a put went out. */
    const known = new Map<string, { namespace: string; service: string; identity: string; emitted: boolean }>();
    let stopped = false;
    let scanning = false;
    let again = false;

    const emit = guardedCallback(onChange, this.report, () => stopped);

    const diff = async (): Promise<void> => {
      const present = new Set<string>();
      for (const { name, namespace, service } of await this.guardianFiles()) {
        if (stopped) return;
        const file = join(this.dir, name);
        const st = await fs.stat(file, { bigint: true }).catch(() => null);
        if (!st) continue;
        present.add(name);
        const seen = known.get(name);
        if (seen?.identity === identityOf(st)) continue;
        const entry = await this.readReporting(namespace, service);
        if (!entry) {
          // Invalid: skipped, and the last good Guardian stays in force for the watcher.
          if (seen) seen.identity = identityOf(st);
          else known.set(name, { namespace, service, identity: identityOf(st), emitted: false });
          continue;
        }
        known.set(name, { namespace, service, identity: entry.identity, emitted: true });
        emit({ type: 'put', guardian: entry.stored });
      }
      for (const [name, seen] of known) {
        if (present.has(name)) continue;
        known.delete(name);
        if (seen.emitted) emit({ type: 'delete', guardian: { namespace: seen.namespace, service: seen.service } });
      }
    };

    const scan = async (): Promise<void> => {
      if (scanning) {
        again = true;
        return;
      }
      scanning = true;
      try {
        do {
          again = false;
          await diff();
        } while (again && !stopped);
      } catch (err) {
        if (!stopped) this.reportOnce(this.dir, ioError(err, this.dir));
      } finally {
        scanning = false;
      }
    };

    let signals: { close(): void } | undefined;
    const handle = {
      close: () => {
        stopped = true;
        signals?.close();
        this.watches.delete(handle);
      },
    };
    this.watches.add(handle);
    this.init()
      .then(() => {
        if (stopped) return;
        signals = watchDirectory(this.dir, {
          debounceMs: this.options.debounceMs,
          rescanMs: this.options.rescanMs,
          onSignal: () => void scan(),
          onWatchError: (err) => this.reportOnce(this.dir, new StoreError('GUARD_STORE_IO', `${this.dir}: fs.watch failed, rescanning every ${this.options.rescanMs} ms instead (${err.message})`, { location: this.dir, cause: err })),
        });
        return scan();
      })
      .catch((err) => this.reportOnce(this.dir, ioError(err, this.dir)));
    return handle;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of [...this.watches]) w.close();
    await Promise.allSettled([...this.inflight]);
  }

  // ---- reading ----------------------------------------------------------------------------------

  /** The Guardian files of the directory (temp, lock and other files are not). */
  private async guardianFiles(): Promise<Array<{ name: string; namespace: string; service: string }>> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (err) {
      if (errno(err) === 'ENOENT') return [];
      throw ioError(err, this.dir);
    }
    const out: Array<{ name: string; namespace: string; service: string }> = [];
    for (const name of names.sort()) {
      const m = GUARDIAN_FILE.exec(name);
      if (m && isDnsLabel(m[1]) && isDnsLabel(m[2])) out.push({ name, namespace: m[1], service: m[2] });
    }
    return out;
  }

  /** read(), with a bad file reported and skipped (null) instead of thrown. */
  private async readReporting(namespace: string, service: string): Promise<Entry | null> {
    const file = join(this.dir, `${namespace}.${service}.json`);
    try {
      const entry = await this.read(namespace, service);
      this.reported.delete(file);
      return entry;
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      this.reportOnce(file, err);
      return null;
    }
  }

  private async read(namespace: string, service: string): Promise<Entry | null> {
    const file = join(this.dir, `${namespace}.${service}.json`);
    let handle;
    try {
      handle = await fs.open(file, 'r');
    } catch (err) {
      if (errno(err) === 'ENOENT') return null;
      throw ioError(err, file);
    }
    let text: string;
    let identity: string;
    try {
      const st = await handle.stat({ bigint: true });
      if (st.size > BigInt(this.options.maxFileBytes)) {
        throw new StoreError('GUARD_STORE_INVALID', `${file}: ${st.size} bytes, more than the ${this.options.maxFileBytes} a Guardian file may have`, { location: file });
      }
      identity = identityOf(st);
      text = await handle.readFile('utf8');
    } catch (err) {
      throw ioError(err, file);
    } finally {
      await handle.close();
    }
    const { spec, rv } = this.parseFile(namespace, service, file, text);
    return { stored: { namespace, service, spec, resourceVersion: String(rv) }, rv, identity };
  }

  private parseFile(namespace: string, service: string, file: string, text: string): { spec: GuardianSpecJson; rv: number } {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new StoreError('GUARD_STORE_INVALID', `${file}: not JSON (${(err as Error).message})`, { location: file });
    }
    if (!isEnvelope(doc)) return { spec: canonicalSpec(this.core, text, file), rv: 0 };
    if ((doc.namespace !== undefined && doc.namespace !== namespace) || (doc.service !== undefined && doc.service !== service)) {
      throw new StoreError('GUARD_STORE_INVALID', `${file}: holds ${String(doc.namespace)}/${String(doc.service)}, but its name says ${namespace}/${service}`, { location: file });
    }
    const rv = parseResourceVersion(doc.resourceVersion);
    if (rv === null) throw new StoreError('GUARD_STORE_INVALID', `${file}: resourceVersion ${JSON.stringify(doc.resourceVersion)} is not a whole number`, { location: file });
    if (doc.spec === null || typeof doc.spec !== 'object') throw new StoreError('GUARD_STORE_INVALID', `${file}: spec is not an object`, { location: file });
    return { spec: canonicalSpec(this.core, doc.spec, file), rv };
  }

  // ---- writing ----------------------------------------------------------------------------------

  private async readModifyWrite(namespace: string, service: string, change: GuardianChange): Promise<StoredGuardian> {
    const file = join(this.dir, `${namespace}.${service}.json`);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.locked(file, async (lock) => {
          const current = await this.read(namespace, service);
          const spec = specToWrite(this.core, change(current ? structuredClone(current.stored.spec) : null, current?.stored.resourceVersion ?? null), file);
          const resourceVersion = String((current?.rv ?? 0) + 1);
          const text = `${JSON.stringify({ namespace, service, resourceVersion, spec }, null, 2)}\n`;
          await this.commit(file, text, current?.identity ?? null, lock);
          return { namespace, service, spec, resourceVersion };
        });
      } catch (err) {
        if (!(err instanceof Conflict)) throw err;
        if (attempt >= this.options.maxAttempts) {
          throw new StoreError('GUARD_STORE_CONFLICT', `${file}: changed by another writer during each of ${attempt} attempts (${err.message})`, { location: file });
        }
      }
      await sleep(Math.min(2 ** attempt, 50) * Math.random());
    }
  }

  /** Write `text` to `file` atomically, provided the file is still the one read (identity; null = absent). */
  private async commit(file: string, text: string, expected: string | null, lock: HeldLock): Promise<void> {
    const temp = privateTempPath(file);
    try {
      const handle = await fs.open(temp, 'wx', 0o644);
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (!(await lock.held())) throw new Conflict('the lock was taken over');
      const now = await fs.stat(file, { bigint: true }).then(identityOf, (err) => {
        if (errno(err) === 'ENOENT') return null;
        throw err;
      });
      if (now !== expected) throw new Conflict('the file changed after it was read');
      await fs.rename(temp, file);
    } catch (err) {
      await fs.unlink(temp).catch(() => {});
      throw err instanceof Conflict ? err : ioError(err, file);
    }
    await this.syncDir();
  }

  private async locked<T>(file: string, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
    const lock = await acquireFileLock(`${file}.lock`, { timeoutMs: this.options.lockTimeoutMs, staleMs: this.options.staleLockMs });
    try {
      return await fn(lock);
    } finally {
      await lock.release();
    }
  }

  /** Make renames and unlinks in the directory durable. */
  private async syncDir(): Promise<void> {
    let handle;
    try {
      handle = await fs.open(this.dir, 'r');
      await handle.sync();
    } catch (err) {
      throw ioError(err, this.dir);
    } finally {
      await handle?.close();
    }
  }


  // ---- bookkeeping ------------------------------------------------------------------------------

  /** Create the directory and clear what killed writers left behind, once. */
  private init(): Promise<void> {
    this.initialised ??= (async () => {
      try {
        await fs.mkdir(this.dir, { recursive: true });
      } catch (err) {
        throw ioError(err, this.dir);
      }
      const now = Date.now();
      for (const name of await fs.readdir(this.dir).catch(() => [] as string[])) {
        if (!name.startsWith('.') && !name.includes('.lock.break-')) continue;
        const st = await fs.stat(join(this.dir, name)).catch(() => null);
        if (st && isAbandoned(name, now - st.ctimeMs)) await fs.unlink(join(this.dir, name)).catch(() => {});
      }
    })();
    return this.initialised;
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    this.assertOpen();
    return tracked(this.inflight, this.init().then(op));
  }

  /** Run fn after every earlier operation on the same Guardian in this store has finished. */
  private serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return serializeOn(this.queues, key, fn);
  }

  private reportOnce(key: string, problem: StoreError): void {
    if (this.reported.get(key) === problem.message) return;
    this.reported.set(key, problem.message);
    this.report(problem);
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('GUARD_STORE_CLOSED', `the file store of ${this.dir} is closed`, { location: this.dir });
  }
}

interface Envelope {
  namespace?: unknown;
  service?: unknown;
  resourceVersion?: unknown;
  spec: unknown;
}

/** Our own format, as opposed to a bare spec, a Guardian object or a ConfigMap a person put there. */
function isEnvelope(doc: unknown): doc is Envelope {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return false;
  const d = doc as Record<string, unknown>;
  return 'spec' in d && !('kind' in d) && !('apiVersion' in d) && ('resourceVersion' in d || 'namespace' in d || 'service' in d);
}

function parseResourceVersion(v: unknown): number | null {
  if (v === undefined) return 0;
  const n = typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

function identityOf(st: BigIntStats): string {
  return `${st.ino}:${st.mtimeNs}:${st.size}`;
}
