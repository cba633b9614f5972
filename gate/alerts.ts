// Alerts of the gate (SPEC §5.5, reference §5.5 and §9.2): each alert is a structured JSON log event
// through pino, and is kept in a bounded in-memory list for the sync client to send to guard-service.
// De-duplication as the original: key = level + the decision's sorted string; a duplicate only
// counts up. At most 1000 distinct alerts are held; beyond that the newest is dropped (and counted).
import type { Logger } from 'pino';

export type AlertLevel = 'Session' | 'Gate';

/** The wire form the original gate sends in a sync message. */
export interface AlertEntry {
  decision: unknown;
  /** Unix seconds of the first occurrence. */
  time: number;
  level: AlertLevel;
  count: number;
}

export interface AlertEvent {
  level: AlertLevel;
  /** The decision tree as wire JSON ({children, reasons, result}). */
  decision: unknown;
  /** The decision's sorted rendering (the original's de-duplication text). */
  decisionText: string;
  requestId?: string;
  method?: string;
  path?: string;
  clientAddress?: string;
}

export const MAX_ALERTS = 1000;

export interface AlertsOptions {
  logger?: Pick<Logger, 'warn'>;
  /** Wall clock in ms (for the `time` of an entry). */
  now?: () => number;
  max?: number;
  /** Called once per reported alert (metrics). */
  onAlert?: (event: AlertEvent) => void;
}

export class Alerts {
  private readonly entries = new Map<string, AlertEntry>();
  private readonly logger: Pick<Logger, 'warn'> | undefined;
  private readonly now: () => number;
  private readonly max: number;
  private readonly onAlert: ((event: AlertEvent) => void) | undefined;
  private droppedCount = 0;
  /** Snapshot copies → their keys, for acknowledge(). */
  private readonly sentKeys = new WeakMap<AlertEntry, string>();

  constructor(options: AlertsOptions = {}) {
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.max = options.max ?? MAX_ALERTS;
    this.onAlert = options.onAlert;
  }

  /** Log the alert and hold it for the next sync. Returns true when it is new (not a duplicate). */
  report(event: AlertEvent): boolean {
    this.logger?.warn(
      {
        alert: true,
        alertLevel: event.level,
        requestId: event.requestId,
        method: event.method,
        path: event.path,
        clientAddress: event.clientAddress,
        decision: event.decision,
        decisionText: event.decisionText,
      },
      `SECURITY ALERT! ${event.level} ->${event.decisionText}`,
    );
    this.onAlert?.(event);
    const key = `${event.level}${event.decisionText}`;
    const known = this.entries.get(key);
    if (known) {
      known.count++;
      return false;
    }
    if (this.entries.size >= this.max) {
      this.droppedCount++;
      return false;
    }
    this.entries.set(key, { decision: event.decision, time: Math.floor(this.now() / 1000), level: event.level, count: 1 });
    return true;
  }

  /** Distinct alerts held. */
  get size(): number {
    return this.entries.size;
  }

  /** The list is at its cap (the original syncs at once when it is). */
  get full(): boolean {
    return this.entries.size >= this.max;
  }

  /** Alerts not held because the list was full. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** A copy of the held alerts, oldest first, for a sync message. */
  snapshot(): AlertEntry[] {
    const out: AlertEntry[] = [];
    for (const [key, e] of this.entries) {
      const copy = { ...e };
      this.sentKeys.set(copy, key);
      out.push(copy);
    }
    return out;
  }

  /**
   * After a successful sync: forget the alerts that were sent (by the snapshot taken for it);
   * occurrences counted since the snapshot stay held.
   */
  acknowledge(sent: readonly AlertEntry[]): void {
    for (const s of sent) {
      const key = this.sentKeys.get(s);
      const e = key === undefined ? undefined : this.entries.get(key);
      if (key === undefined || e === undefined) continue;
      if (e.count > s.count) e.count -= s.count;
      else this.entries.delete(key);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
