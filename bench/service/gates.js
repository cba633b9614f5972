// The simulated gates of the guard-service benchmarks: who they are and the sync message each
// sends, a pile of sessions of the core benchmark's realistic mix built once with the core.
import { mixedPile } from '../core/traffic.js';

/**
 * `gates` gates, `podsPerService` per service, spread over `namespaces`; each pile holds `sessions`
 * sessions. Each gate: ns, sid, pod, wire (the pile), body (the sync message), path (the original's
 * query naming it).
 */
export function buildGates(core, { gates, podsPerService, namespaces, sessions }) {
  const out = [];
  for (let g = 0; g < gates; g++) {
    const service = Math.floor(g / podsPerService);
    const pile = mixedPile(core, 1000 + g, sessions);
    const wire = pile.toWire();
    pile.dispose();
    const ns = `bench-ns-${service % namespaces}`;
    const sid = `svc-${service}`;
    const pod = `${sid}-pod-${g % podsPerService}`;
    out.push({ ns, sid, pod, wire, body: `{"pile":${wire},"alerts":[],"compromised":false}`, path: `/sync?sid=${sid}&ns=${ns}&pod=${pod}` });
  }
  return out;
}
