// Alerts grouped by what they say (the sorted decision, as the gates de-duplicate them), newest
// group first. Alerts come from every guard-service replica, so they are ordered by when they were
// received; a replica's own sequence numbers order only its alerts.
import type { AlertItem } from './api.js';
import { canonical } from './rules-model.js';

export interface AlertGroup {
  key: string;
  namespace: string;
  service: string;
  level: string;
  decision: unknown;
  occurrences: number;
  entries: number;
  firstAt: string;
  lastAt: string;
  /** When the newest alert of the group was received (ms): alerts come from every replica, so their order is by time. */
  lastMs: number;
  pods: string[];
}

/** Newer first: by the time received, then (one replica's alerts received at once) by its order of receipt. */
function newer(a: AlertItem, b: { ms: number; seq: number }): boolean {
  const ms = Date.parse(a.receivedAt);
  return ms > b.ms || (ms === b.ms && a.seq > b.seq);
}

export function groupAlerts(items: AlertItem[]): AlertGroup[] {
  const groups = new Map<string, AlertGroup>();
  const last = new Map<AlertGroup, { ms: number; seq: number }>();
  for (const a of items) {
    const key = `${a.namespace}/${a.service}|${a.level}|${canonical(a.decision)}`;
    let g = groups.get(key);
    if (!g) {
      g = { key, namespace: a.namespace, service: a.service, level: a.level, decision: a.decision, occurrences: 0, entries: 0, firstAt: a.receivedAt, lastAt: a.receivedAt, lastMs: Date.parse(a.receivedAt), pods: [] };
      groups.set(key, g);
      last.set(g, { ms: g.lastMs, seq: a.seq });
    }
    g.occurrences += a.count;
    g.entries++;
    if (Date.parse(a.receivedAt) < Date.parse(g.firstAt)) g.firstAt = a.receivedAt;
    if (newer(a, last.get(g)!)) {
      last.set(g, { ms: Date.parse(a.receivedAt), seq: a.seq });
      g.lastMs = Date.parse(a.receivedAt);
      g.lastAt = a.receivedAt;
    }
    if (!g.pods.includes(a.pod)) g.pods.push(a.pod);
  }
  return [...groups.values()].sort((a, b) => b.lastMs - a.lastMs || last.get(b)!.seq - last.get(a)!.seq);
}
