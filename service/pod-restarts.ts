// Restarting compromised pods, as the original service does: a gate that reports its pod
// compromised gets that pod deleted (its controller makes a new one). Only the caller's own pod,
// known from its reviewed token, conditioned on the pod's uid; at most once per pod per interval
// (the gate repeats `compromised` on every sync); never for an identity the caller named
// (docs/threat-model.md, S-1).
import type { Logger } from '../log/index.js';
import type { GateIdentity } from './auth.js';
import { TtlCache } from './ttl-cache.js';
import type { KubeAccess } from './kube-access.js';
import { httpStatus } from '../store/kube.js';

export interface PodRestarterOptions {
  /** null: no Kubernetes (auth off); restarts are refused and logged. */
  kube: KubeAccess | null;
  log: Logger;
  /** A pod is deleted at most once per this interval (ms). */
  intervalMs?: number;
  onRestart?: () => void;
}

export class PodRestarter {
  private readonly recent: TtlCache<true>;
  private readonly inflight = new Set<Promise<void>>();
  private readonly intervalMs: number;

  constructor(private readonly options: PodRestarterOptions) {
    this.intervalMs = options.intervalMs ?? 60_000;
    this.recent = new TtlCache(10_000);
  }

  /** Start the deletion of the caller's pod; never rejects and never delays the sync. */
  restart(gate: GateIdentity): void {
    const { log, kube } = this.options;
    const where = { namespace: gate.namespace, service: gate.service, pod: gate.pod };
    if (!gate.verified || !kube) {
      log.warn(where, 'a gate reported its pod compromised; not restarted: without authentication the caller\'s pod is not known');
      return;
    }
    const key = `${gate.namespace}/${gate.pod}`;
    if (this.recent.get(key)) return;
    this.recent.set(key, true, this.intervalMs);
    log.warn(where, 'a gate reported its pod compromised: deleting the pod');
    const p = kube.core
      .deleteNamespacedPod({ namespace: gate.namespace, name: gate.pod, body: gate.podUid ? { preconditions: { uid: gate.podUid } } : undefined })
      .then(
        () => this.options.onRestart?.(),
        (err: unknown) => {
          const status = httpStatus(err);
          // Gone already, or replaced by a new pod of the same name (uid precondition): nothing to do.
          if (status === 404 || status === 409) return;
          this.recent.delete(key);
          log.error({ ...where, err }, 'could not delete the compromised pod; the next sync retries');
        },
      )
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  /** Resolves when no deletion is in flight. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }
}
