// What the two Kubernetes Guardian stores share: validation of every spec read and written, the
// read-modify-write loop with resourceVersion preconditions and jittered retries on conflict, and
// the list-then-watch. kube-crd.ts and kube-configmap.ts say only how a Guardian maps to an object.
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadCore, type Core } from '../core/index.js';
import { guardedCallback, StoreError } from './errors.js';
import { KubeApi, apiError, isConflict, isObjectNotFound } from './kube-client.js';
import { reflect, type KubeObjectLike } from './kube-watch.js';
import type { GuardianChange, GuardianSpecJson, GuardianStore, GuardianWatchEvent, LearnedExtras, StoredGuardian } from './types.js';
import { canonicalSpec, checkName, checkNames, defaultSpec, isDnsLabel, learnedSpec, specToWrite } from './validate.js';
import { serializeOn, tracked } from './queue.js';

export interface KubeGuardianStoreOptions {
  /** Default: the pod's in-cluster configuration (kube-client.ts). */
  kubeConfig?: KubeConfig;
  /**
   * The core that validates specs; the process-wide one by default. A function when the instance
   * can change (the gate replaces its core after a core fault).
   */
  core?: Core | (() => Core);
  /**
   * The namespace of list() without an argument and of watch() (a gate's service account may read
   * only its own); without it they span the cluster.
   */
  namespace?: string;
  /** Every API call is abandoned after this long (ms). */
  requestTimeoutMs?: number;
  /** Read-modify-write attempts before GUARD_STORE_CONFLICT. */
  maxAttempts?: number;
  /** Ceiling of the first back-off after a conflict, doubled on each further one (ms). */
  conflictBackoffMs?: number;
  maxConflictBackoffMs?: number;
  /** First and largest delay before a failed list or watch is tried again (ms). */
  watchBackoffMs?: number;
  maxWatchBackoffMs?: number;
  /** The server ends each watch after about this long (s), and it is opened again. */
  watchTimeoutSeconds?: number;
  /**
   * Problems met while listing or watching: an invalid Guardian skipped, a watch failure being
   * retried. Default: process.emitWarning.
   */
  report?: (problem: StoreError) => void;
}

interface Settings {
  maxAttempts: number;
  conflictBackoffMs: number;
  maxConflictBackoffMs: number;
  watchBackoffMs: number;
  maxWatchBackoffMs: number;
  watchTimeoutSeconds: number;
}

/** How Guardians of one store kind are kept as Kubernetes objects. */
export interface GuardianObjects<O extends KubeObjectLike> {
  /** `<service>` for the CRD, `guardian.<service>` for ConfigMaps. */
  objectName(service: string): string;
  /** The service an object holds the Guardian of; undefined for objects that hold none. */
  serviceOf(objectName: string): string | undefined;
  /** "Guardian shop/cart", "ConfigMap shop/guardian.cart": what errors name. */
  describe(namespace: string, objectName: string): string;
  /** The spec an object holds, unvalidated; throws GUARD_STORE_INVALID when it holds none. */
  specOf(object: O, where: string): string | object;
  /** An object holding `spec`: `current` with the spec swapped, or a new object. */
  withSpec(namespace: string, objectName: string, current: O | null, spec: GuardianSpecJson): O;
  /** The collection to watch. */
  watchPath(namespace: string | undefined): string;

  read(namespace: string, objectName: string): Promise<O>;
  list(namespace: string | undefined): Promise<{ items: O[]; resourceVersion: string }>;
  create(namespace: string, object: O): Promise<O>;
  /** A replace carrying the current object's resourceVersion: 409 when it is stale. */
  replace(namespace: string, objectName: string, object: O): Promise<O>;
  /**
   * Write only learned and samples of `current`, failing with 409 if it changed since it was read.
   * `spec` is the whole validated spec (current configured and control, new learned and samples).
   */
  writeLearned(namespace: string, objectName: string, current: O, spec: GuardianSpecJson): Promise<O>;
  remove(namespace: string, objectName: string): Promise<void>;
}

export abstract class KubeGuardianStore<O extends KubeObjectLike> implements GuardianStore {
  abstract readonly kind: 'kube-crd' | 'kube-configmap';
  readonly api: KubeApi;
  private readonly coreOf: () => Core;
  protected readonly namespace: string | undefined;
  private readonly settings: Settings;
  private readonly report: (problem: StoreError) => void;
  private readonly queues = new Map<string, Promise<void>>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly watches = new Set<{ close(): void }>();
  private closed = false;

  protected abstract readonly objects: GuardianObjects<O>;

  protected get core(): Core {
    return this.coreOf();
  }

  constructor(options: KubeGuardianStoreOptions = {}) {
    if (options.namespace !== undefined) checkName('namespace', options.namespace);
    this.api = new KubeApi({ kubeConfig: options.kubeConfig, requestTimeoutMs: options.requestTimeoutMs });
    const core = options.core ?? loadCore();
    this.coreOf = typeof core === 'function' ? core : () => core;
    this.namespace = options.namespace;
    this.settings = Object.freeze({
      maxAttempts: Math.max(1, options.maxAttempts ?? 10),
      conflictBackoffMs: options.conflictBackoffMs ?? 20,
      maxConflictBackoffMs: options.maxConflictBackoffMs ?? 1_000,
      watchBackoffMs: options.watchBackoffMs ?? 200,
      maxWatchBackoffMs: options.maxWatchBackoffMs ?? 30_000,
      watchTimeoutSeconds: options.watchTimeoutSeconds ?? 300,
    });
    this.report = options.report ?? ((problem) => process.emitWarning(problem.message, { code: problem.code }));
  }

  async get(namespace: string, service: string): Promise<StoredGuardian | null> {
    checkNames(namespace, service);
    return this.run(async () => {
      const object = await this.fetch(namespace, this.objects.objectName(service));
      return object ? this.stored(namespace, service, object) : null;
    });
  }

  async list(namespace?: string): Promise<StoredGuardian[]> {
    if (namespace !== undefined) checkName('namespace', namespace);
    const scope = namespace ?? this.namespace;
    return this.run(async () => {
      let listed;
      try {
        listed = await this.objects.list(scope);
      } catch (err) {
        throw apiError(err, `list Guardians${scope ? ` in ${scope}` : ''}`, this.objects.watchPath(scope));
      }
      const out: StoredGuardian[] = [];
      for (const object of listed.items) {
        const guardian = this.storedOrReport(object);
        if (guardian) out.push(guardian);
      }
      return out;
    });
  }

  async update(namespace: string, service: string, change: GuardianChange): Promise<StoredGuardian> {
    checkNames(namespace, service);
    return this.run(() => this.serialized(`${namespace}/${service}`, () => this.readModifyWrite(namespace, service, change, false)));
  }

  async updateLearned(namespace: string, service: string, learned: unknown, samples: number, extras?: LearnedExtras): Promise<StoredGuardian> {
    checkNames(namespace, service);
    const change = (current: GuardianSpecJson | null): GuardianSpecJson => {
      return learnedSpec(current ?? defaultSpec(this.core), learned, samples, extras);
    };
    return this.run(() => this.serialized(`${namespace}/${service}`, () => this.readModifyWrite(namespace, service, change, true)));
  }

  async delete(namespace: string, service: string): Promise<void> {
    checkNames(namespace, service);
    const name = this.objects.objectName(service);
    const where = this.objects.describe(namespace, name);
    return this.run(() =>
      this.serialized(`${namespace}/${service}`, async () => {
        try {
          await this.objects.remove(namespace, name);
        } catch (err) {
          if (isObjectNotFound(err, name)) throw new StoreError('GUARD_STORE_NOT_FOUND', `no ${where}`, { location: where });
          throw apiError(err, `delete ${where}`, where);
        }
      }),
    );
  }

  watch(onChange: (event: GuardianWatchEvent) => void): { close(): void } {
    this.assertOpen();
    /** Guardians a put went out for: only those get a delete, and an invalid change keeps them. */
    const emitted = new Set<string>();
    let stopped = false;
    const emit = guardedCallback(onChange, this.report, () => stopped);
    const reflector = reflect(
      this.api,
      {
        path: this.objects.watchPath(this.namespace),
        list: () => this.objects.list(this.namespace),
        accepts: (name) => this.objects.serviceOf(name) !== undefined,
      },
      {
        onPut: (object) => {
          // Invalid: reported and skipped; the watcher keeps the last good one it was given.
          const guardian = this.storedOrReport(object as O);
          if (!guardian) return;
          emitted.add(`${guardian.namespace}/${guardian.service}`);
          emit({ type: 'put', guardian });
        },
        onDelete: (namespace, name) => {
          const service = this.objects.serviceOf(name)!;
          if (!emitted.delete(`${namespace}/${service}`)) return;
          emit({ type: 'delete', guardian: { namespace, service } });
        },
        onProblem: (problem) => {
          if (!stopped) this.report(problem);
        },
      },
      { timeoutSeconds: this.settings.watchTimeoutSeconds, backoffMs: this.settings.watchBackoffMs, maxBackoffMs: this.settings.maxWatchBackoffMs },
    );
    const handle = {
      close: () => {
        stopped = true;
        reflector.close();
        this.watches.delete(handle);
      },
    };
    this.watches.add(handle);
    return handle;
  }

  /** Stops every watch and waits for the calls in flight (each bounded by the request timeout). */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of [...this.watches]) w.close();
    await Promise.allSettled([...this.inflight]);
  }

  // ---- reading ----------------------------------------------------------------------------------

  /** The object, null when it does not exist; any other failure throws. */
  private async fetch(namespace: string, name: string): Promise<O | null> {
    try {
      return await this.objects.read(namespace, name);
    } catch (err) {
      if (isObjectNotFound(err, name)) return null;
      const where = this.objects.describe(namespace, name);
      throw apiError(err, `read ${where}`, where);
    }
  }

  /** The validated Guardian an object holds; GUARD_STORE_INVALID naming the object if it is not one. */
  private stored(namespace: string, service: string, object: O): StoredGuardian {
    const name = this.objects.objectName(service);
    const where = this.objects.describe(namespace, name);
    const spec = canonicalSpec(this.core, this.objects.specOf(object, where), where);
    const uid = (object.metadata as { uid?: unknown } | undefined)?.uid;
    return { namespace, service, spec, resourceVersion: String(object.metadata?.resourceVersion ?? ''), ...(typeof uid === 'string' && uid ? { uid } : {}) };
  }

  private storedOrReport(object: O): StoredGuardian | null {
    const namespace = object.metadata?.namespace;
    const name = object.metadata?.name;
    if (!namespace || !name) return null;
    const service = this.objects.serviceOf(name);
    if (service === undefined) return null;
    try {
      if (!isDnsLabel(service)) {
        throw new StoreError('GUARD_STORE_INVALID_NAME', `${this.objects.describe(namespace, name)}: ${JSON.stringify(service)} is not a service name (a DNS-1123 label)`, { location: this.objects.describe(namespace, name) });
      }
      return this.stored(namespace, service, object);
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      this.report(err);
      return null;
    }
  }

  // ---- writing ----------------------------------------------------------------------------------

  private async readModifyWrite(namespace: string, service: string, change: GuardianChange, learnedOnly: boolean): Promise<StoredGuardian> {
    const name = this.objects.objectName(service);
    const where = this.objects.describe(namespace, name);
    for (let attempt = 1; ; attempt++) {
      // A store closed while this write waited its turn (or retried) writes nothing more.
      this.assertOpen();
      const object = await this.fetch(namespace, name);
      // An invalid stored Guardian is refused, never overwritten as if it were absent.
      const current = object ? this.stored(namespace, service, object) : null;
      const spec = specToWrite(this.core, change(current ? structuredClone(current.spec) : null, current?.resourceVersion ?? null), where);
      let written: O;
      try {
        if (!object) written = await this.objects.create(namespace, this.objects.withSpec(namespace, name, null, spec));
        else if (learnedOnly) written = await this.objects.writeLearned(namespace, name, object, spec);
        else written = await this.objects.replace(namespace, name, this.objects.withSpec(namespace, name, object, spec));
      } catch (err) {
        // 409: changed (or created) since read; 404: deleted since read. Both: read again.
        const raced = isConflict(err) || (object !== null && isObjectNotFound(err, name));
        if (!raced) throw apiError(err, `write ${where}`, where);
        if (attempt >= this.settings.maxAttempts) {
          throw new StoreError('GUARD_STORE_CONFLICT', `${where}: changed by another writer during each of ${attempt} attempts`, { location: where, cause: err });
        }
        // Full jitter: writers that collided do not collide again in lock-step.
        const ceiling = Math.min(this.settings.maxConflictBackoffMs, this.settings.conflictBackoffMs * 2 ** (attempt - 1));
        await sleep(Math.random() * ceiling);
        continue;
      }
      return this.stored(namespace, service, written);
    }
  }


  // ---- bookkeeping ------------------------------------------------------------------------------

  private run<T>(op: () => Promise<T>): Promise<T> {
    this.assertOpen();
    return tracked(this.inflight, op());
  }

  /** Run fn after every earlier write to the same Guardian through this store has finished. */
  private serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return serializeOn(this.queues, key, fn);
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('GUARD_STORE_CLOSED', `the ${this.kind} Guardian store is closed`);
  }
}

/** Drop top-level null members: the CRD's structural schema prunes them anyway. */
export function withoutNulls(spec: GuardianSpecJson): Record<string, unknown> {
  return Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== null && v !== undefined));
}
