// How long a dead replica's services go unlearned, measured: two replicas on the stand-in with
// short Leases, the one that holds a service's shard killed (no Lease given back), and the
// survivor's syncs of that service timed until one is learned (answered 200) again.
//
// The bound, from service/shard-leases.ts: the survivor sees the dead replica's last renewal at its
// next round (within one renewal period R, a third of the duration D), takes the shard at the first
// round at which that renewal is more than D old (rounds every R), so at most R + D + R after the
// renewal — and the kill can come right after a renewal: D + 2R from the kill (25 s for the default
// 15 s Leases). And no sooner than D − R after the kill: the Lease was renewed at most R before it.
// Each round's own API calls (a list and two writes) stretch its period; the margin allows for them.
import { describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../../service/index.js';
import type { KubeStandin } from '../kube/standin.js';
import { call, eventually, pileText, replicaConfig, silent, standin } from './api-support.js';

const NS = 'apps';
const LEASE_NS = 'guard-system';
const LEASE_SECONDS = 2;
const D = LEASE_SECONDS * 1000;
const R = Math.floor(D / 3);
/** The API calls of the rounds between the kill and the take-over (a list and two writes each, about five rounds). */
const ROUND_CALLS_MARGIN_MS = 500;

async function replica(kube: KubeStandin, name: string): Promise<RunningService> {
  return startService(
    replicaConfig(name, { replicas: { leaseSeconds: LEASE_SECONDS, namespace: LEASE_NS } }),
    { logger: silent, kubeConfig: kube.kubeConfig(), kubeTimeoutMs: 5000 },
  );
}

/** Both replicas hold shards, 8 in all, each once. */
async function settled(all: RunningService[]): Promise<void> {
  const deadline = Date.now() + 40_000;
  for (;;) {
    const held = all.map((r) => r.replicas!.leases.heldShards());
    const flat = held.flat();
    if (held.every((h) => h.length > 0) && flat.length === 8 && new Set(flat).size === 8) return;
    if (Date.now() > deadline) throw new Error(`shards did not settle: ${JSON.stringify(held)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('guard-service replicas: failover', () => {
  it(`learns a killed replica's services again within the Lease duration and two renewal periods (${D} + 2 × ${R} ms here)`, async () => {
    const kube = await standin();
    const survivor = await replica(kube, 'guard-service-a');
    const measured: number[] = [];
    try {
      for (let run = 0; run < 3; run++) {
        const doomed = await replica(kube, `guard-service-doomed-${run}`);
        await settled([survivor, doomed]);
        // A service whose shard the doomed replica holds, and a gate of it.
        let service = '';
        for (let i = 0; !service; i++) if (doomed.replicas!.learnsHere(NS, `svc-${run}-${i}`)) service = `svc-${run}-${i}`;
        kube.state.addPod({ namespace: NS, name: `${service}-0`, labels: { app: service } });
        const token = kube.state.mintServiceAccountToken({ namespace: NS, serviceAccount: 'default', podName: `${service}-0`, audiences: ['guard-service'] });
        const syncOnce = () => call(`${survivor.url}/sync`, { method: 'POST', token, body: `{"pile":${pileText(1)},"alerts":null,"compromised":false}` });
        // Before the kill the survivor forwards the service's syncs to the doomed replica (once it
        // has seen in a round of its own that the doomed one holds the shard).
        await eventually(async () => (await syncOnce()).status === 200, 10_000);

        doomed.crash();
        const killedAt = performance.now();
        let learnedAt = 0;
        while (!learnedAt) {
          const r = await syncOnce();
          if (r.status === 200) learnedAt = performance.now();
          // Meanwhile: the dead owner cannot be reached, or no live replica holds the shard yet; the gate resends.
          else expect(r.status, r.text).toBe(503);
          if (performance.now() - killedAt > 20_000) throw new Error('the service was not learned again within 20 s');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(survivor.replicas!.learnsHere(NS, service)).toBe(true);
        measured.push(Math.round(learnedAt - killedAt));
      }
      for (const ms of measured) {
        expect(ms, `measured ${measured.join(", ")} ms`).toBeLessThanOrEqual(D + 2 * R + ROUND_CALLS_MARGIN_MS);
        // Not taken before the Lease could have expired: one replica per shard.
        expect(ms, `measured ${measured.join(', ')} ms`).toBeGreaterThanOrEqual(D - R - ROUND_CALLS_MARGIN_MS);
      }
    } finally {
      await survivor.close();
    }
  }, 120_000);
});
