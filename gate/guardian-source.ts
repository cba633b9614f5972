// The Guardian in force for this gate (difference 9 of docs/compatibility.md). Resolution order:
// guard-service's /sync answer (handed in by the SyncClient); else Kubernetes (CRD `<service>` then
// `ns-<namespace>`, or ConfigMaps) through the stores' resolveGuardian; else a local GUARDIAN_FILE;
// else the default Guardian. Fail-static: a failed or invalid load never replaces the Guardian in
// force; the default applies only when no Guardian was ever loaded.
//
// current() is O(1) and never awaits. A replaced core Guardian is disposed only once nobody uses it:
// holders of a lease (acquire()) keep it alive; plain current() callers may use it until the end of
// the current macrotask (disposal always waits for a setImmediate after the last lease is gone).
//
// The source of the Guardian in force (its text or object) is kept, so that after a core fault the
// same Guardian is loaded again into the new core instance (rebind()).
import { readFile } from 'node:fs/promises';
import type { Control, Core, Guardian } from '../core/index.js';
import { silentLogger, type Logger } from '../log/index.js';
import { openGuardianStore, resolveGuardian, type GuardianStore, type KubeGuardianStoreOptions } from '../store/index.js';

/** Where the Guardian in force came from. */
export type GuardianOrigin = 'service' | 'kubernetes' | 'file' | 'default' | 'none';

export interface GuardianSourceOptions {
  core: Core;
  namespace: string;
  service: string;
  /** The Kubernetes store (CRD or ConfigMaps); null/undefined when not in a cluster. */
  store?: GuardianStore | null;
  /** GUARDIAN_FILE: a GuardianSpec (or Guardian / ConfigMap object) as JSON. */
  guardianFile?: string;
  log?: Logger;
  /** Called after every replacement (metrics, pod re-decision). */
  onChange?: (origin: GuardianOrigin, guardian: Guardian) => void;
}

/** A Guardian held across awaits; release() exactly once when done. */
export interface GuardianLease {
  readonly guardian: Guardian;
  release(): void;
}

interface Entry {
  guardian: Guardian;
  origin: GuardianOrigin;
  /** What it was loaded from (null: the default Guardian); loaded again by rebind(). */
  spec: string | object | null;
  /** Its control, read once on load: usable while the core is failing. */
  control: Control;
  refs: number;
  retired: boolean;
  disposed: boolean;
}

export class GuardianSource {
  private core: Core;
  private readonly namespace: string;
  private readonly service: string;
  private readonly store: GuardianStore | null;
  private readonly guardianFile: string | undefined;
  private readonly log: Logger;
  private readonly onChange: GuardianSourceOptions['onChange'];
  private entry: Entry;
  private loaded = false;
  private isReady = false;
  private closed = false;
  private fallbackFlight: Promise<GuardianOrigin> | null = null;

  constructor(options: GuardianSourceOptions) {
    this.core = options.core;
    this.namespace = options.namespace;
    this.service = options.service;
    this.store = options.store ?? null;
    this.guardianFile = options.guardianFile || undefined;
    this.log = options.log ?? silentLogger;
    this.onChange = options.onChange;
    // Until something is loaded current() answers with a default Guardian, but ready stays false.
    const guardian = this.core.defaultGuardian();
    this.entry = { guardian, origin: 'none', spec: null, control: guardian.control, refs: 0, retired: false, disposed: false };
  }

  /** The Guardian in force (before `ready`: a default Guardian that is not yet "in force"). */
  current(): Guardian {
    return this.entry.guardian;
  }

  /**
   * The control of the Guardian in force, read when it was loaded: needs no call into the core, so
   * it answers while the core is failing (what a request that could not be evaluated is subject to).
   */
  get control(): Control {
    return this.entry.control;
  }

  /**
   * After a core fault: load the Guardian in force again, from its source, into the new core
   * instance `core` (the default Guardian when none was loaded). Origin and readiness are kept;
   * handles of the old instance (leases too) are dropped, not disposed. Throws when the new core
   * refuses it — the old core accepted it, so that is another core fault.
   */
  rebind(core: Core): void {
    this.core = core;
    const old = this.entry;
    const guardian = old.spec === null ? core.defaultGuardian() : core.parseGuardian(old.spec);
    old.retired = true;
    old.disposed = true;
    this.entry = { guardian, origin: old.origin, spec: old.spec, control: guardian.control, refs: 0, retired: false, disposed: false };
    this.log.info({ origin: old.origin }, 'guardian: loaded again into the new core instance');
  }

  /** Where the Guardian in force came from ('none' before the first load). */
  get origin(): GuardianOrigin {
    return this.entry.origin;
  }

  /** True once any Guardian (the default too, after every source was tried) is in force. */
  get ready(): boolean {
    return this.isReady;
  }

  /** The Guardian in force, kept alive (not disposed on replacement) until release(). */
  acquire(): GuardianLease {
    const entry = this.entry;
    entry.refs++;
    let released = false;
    return {
      guardian: entry.guardian,
      release: () => {
        if (released) return;
        released = true;
        entry.refs--;
        if (entry.retired && entry.refs === 0) this.disposeLater(entry);
      },
    };
  }

  /**
   * guard-service's answer: the value of its "guardian" field (a GuardianSpec object or its JSON
   * text). Returns true when it is now in force; an invalid one is logged and the old one kept.
   */
  offerFromService(spec: unknown): boolean {
    return this.offer(spec, 'service');
  }

  /**
   * Try the sources after guard-service: Kubernetes, then GUARDIAN_FILE, then (only when no
   * Guardian was ever loaded) the default. Single-flight. Resolves with the origin now in force.
   */
  fallback(): Promise<GuardianOrigin> {
    if (!this.fallbackFlight) {
      this.fallbackFlight = this.runFallback().finally(() => {
        this.fallbackFlight = null;
      });
    }
    return this.fallbackFlight;
  }

  /** Dispose the Guardian in force (after leases are released). current() must not be used after. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.retire(this.entry);
  }

  private async runFallback(): Promise<GuardianOrigin> {
    if (this.store) {
      try {
        const found = await resolveGuardian(this.store, this.namespace, this.service);
        if (found) {
          if (this.offer(found.spec, 'kubernetes')) return 'kubernetes';
          // Invalid: fail-static, do not go on to weaker sources when something is in force.
          if (this.loaded) return this.entry.origin;
        }
      } catch (err) {
        // A failed read is not absence: keep what is in force (fail-static); without anything, go
        // on.
        this.log.warn({ err: messageOf(err), namespace: this.namespace, service: this.service }, 'guardian: Kubernetes read failed - keeping the Guardian in force');
        if (this.loaded) return this.entry.origin;
      }
    }
    if (this.guardianFile) {
      let text: string | null = null;
      try {
        text = await readFile(this.guardianFile, 'utf8');
      } catch (err) {
        this.log.warn({ err: messageOf(err), file: this.guardianFile }, 'guardian: GUARDIAN_FILE cannot be read');
      }
      if (text !== null && this.offer(text, 'file')) return 'file';
    }
    if (!this.loaded && !this.closed && this.entry.origin !== 'default') {
      this.install(this.core.defaultGuardian(), 'default', null);
      return 'default';
    }
    return this.entry.origin;
  }

  private offer(spec: unknown, origin: GuardianOrigin): boolean {
    if (this.closed) return false;
    if (spec === null || spec === undefined || (typeof spec !== 'string' && typeof spec !== 'object')) {
      this.log.warn({ origin }, 'guardian: no Guardian given - keeping the Guardian in force');
      return false;
    }
    let guardian: Guardian;
    try {
      guardian = this.core.parseGuardian(spec as string | object);
    } catch (err) {
      this.log.warn({ origin, err: messageOf(err) }, 'guardian: invalid Guardian - keeping the Guardian in force');
      return false;
    }
    this.install(guardian, origin, spec as string | object);
    return true;
  }

  private install(guardian: Guardian, origin: GuardianOrigin, spec: string | object | null): void {
    const old = this.entry;
    const c = guardian.control;
    this.entry = { guardian, origin, spec, control: c, refs: 0, retired: false, disposed: false };
    if (origin !== 'default') this.loaded = true;
    this.isReady = true;
    this.retire(old);
    this.log.info({ origin, samples: guardian.samples, auto: c.auto, learn: c.learn, block: c.block, alert: c.alert }, 'guardian: loaded');
    this.onChange?.(origin, guardian);
  }

  private retire(entry: Entry): void {
    entry.retired = true;
    if (entry.refs === 0) this.disposeLater(entry);
  }

  private disposeLater(entry: Entry): void {
    setImmediate(() => {
      if (entry.disposed || entry.refs > 0) return;
      entry.disposed = true;
      entry.guardian.dispose();
    });
  }
}

/**
 * The Kubernetes store of a gate (Guardian CRDs or ConfigMaps in its namespace), or null outside a
 * cluster or without a usable in-cluster configuration. The store's module, and with it the
 * Kubernetes client (most of a gate's memory), is loaded only in a cluster.
 */
export async function gateKubeStore(options: {
  useCrd: boolean;
  namespace: string;
  /** Running in a pod (KUBERNETES_SERVICE_HOST set); ignored when a kubeConfig is given. */
  inCluster?: boolean;
  kubeConfig?: KubeGuardianStoreOptions['kubeConfig'];
  requestTimeoutMs?: number;
  log?: Logger;
  /** The gate's core instance (it changes after a core fault); default the process-wide core. */
  core?: () => Core;
}): Promise<GuardianStore | null> {
  const log = options.log ?? silentLogger;
  if (!options.kubeConfig && !options.inCluster) {
    log.info({}, 'guardian: not in a Kubernetes pod - Kubernetes Guardians are not read');
    return null;
  }
  try {
    return await openGuardianStore({
      kind: options.useCrd ? 'kube-crd' : 'kube-configmap',
      kubeConfig: options.kubeConfig,
      namespace: options.namespace,
      requestTimeoutMs: options.requestTimeoutMs ?? 5000,
      core: options.core,
    });
  } catch (err) {
    log.info({ err: messageOf(err) }, 'guardian: no Kubernetes configuration - Kubernetes Guardians are not read');
    return null;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
