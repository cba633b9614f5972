// What one sync to guard-service carries and what its answer means: the unit (a pile and alerts
// under one sync id), the POST body in the original's wire format ({pile, alerts, compromised}),
// and the answer read into a SyncResult. No I/O: gate/sync-transport.ts sends, gate/sync.ts decides.
import type { Core, Pile } from '../core/index.js';
import type { AlertLevel } from './alerts.js';

/** One alert as guard-service receives it: held here, de-duplicated, until a sync delivers it. */
export interface SyncAlert {
  decision: unknown;
  /** Unix seconds of the first occurrence. */
  time: number;
  level: AlertLevel;
  count: number;
}

export type SyncOutcome = 'ok' | 'transport' | 'status' | 'invalid' | 'skipped' | 'fault';

export interface SyncResult {
  outcome: SyncOutcome;
  /** Samples and alerts delivered (on 'ok'). */
  samples: number;
  alerts: number;
  status?: number;
  error?: string;
  /** guard-service's Retry-After on a refusal (429, 503), in ms: the back-off is at least this. */
  retryAfterMs?: number;
  ms: number;
}

/**
 * What one sync sends: a pile (null when its core failed) and alerts under one id, kept when the
 * same unit is sent again (guard-service learns a repeated id once: X-Guard-Sync-Id).
 */
export interface SyncUnit {
  id: string;
  pile: Pile | null;
  /** The core instance the pile belongs to. */
  core: Core;
  alerts: SyncAlert[];
  samples: number;
}

/** guard-service's answer to one POST /sync, as the transport read it. */
export interface SyncAnswer {
  status: number;
  text: string;
  /** Its Retry-After in ms, when it sent delay-seconds. */
  retryAfterMs?: number;
}

/** Answers that refuse the sync message itself: sending it again cannot succeed. */
export const REFUSED: ReadonlySet<number> = new Set([400, 413]);

/** The POST body: the pile's wire JSON as the core writes it, the alerts, the pod's compromised state. */
export function syncBody(unit: SyncUnit, compromised: boolean): string {
  return `{"pile":${unit.pile ? unit.pile.toWire() : 'null'},"alerts":${unit.alerts.length > 0 ? JSON.stringify(unit.alerts) : 'null'},"compromised":${compromised}}`;
}

/**
 * What an answer means for the unit sent: 'ok' with the Guardian it carries (null when none) on a
 * 200 with a JSON object; 'status' on any other status; 'invalid' on a 200 that is not a JSON object.
 */
export function readAnswer(answer: SyncAnswer, unit: SyncUnit): { result: SyncResult; guardian: unknown } {
  if (answer.status !== 200) {
    const why = refusalText(answer.text);
    const result: SyncResult = { outcome: 'status', samples: 0, alerts: 0, status: answer.status, error: `guard-service did not respond with 200 OK (${answer.status})${why ? `: ${why}` : ''}`, ms: 0 };
    if (answer.retryAfterMs !== undefined) result.retryAfterMs = answer.retryAfterMs;
    return { result, guardian: null };
  }
  let parsed: unknown;
  try {
    parsed = answer.text.trim() === '' ? undefined : JSON.parse(answer.text);
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { result: { outcome: 'invalid', samples: 0, alerts: 0, status: 200, error: 'guard-service did not accept sync - the response is not a JSON object', ms: 0 }, guardian: null };
  }
  const guardian = (parsed as { guardian?: unknown }).guardian ?? null;
  return { result: { outcome: 'ok', samples: unit.samples, alerts: unit.alerts.length, status: 200, ms: 0 }, guardian };
}

/**
 * What a refusal says, for the log: guard-service's `{"error":{"code","message"}}` as `CODE: message`
 * (whole: its messages name the fix), anything else (the original's text, a proxy's page) cut short.
 */
function refusalText(text: string): string {
  const t = text.trim();
  if (t.startsWith('{')) {
    try {
      const e = (JSON.parse(t) as { error?: { code?: unknown; message?: unknown } }).error;
      if (e && typeof e.code === 'string' && typeof e.message === 'string') return `${e.code}: ${e.message.slice(0, 1000)}`;
    } catch {
      // not guard-service's JSON: shown as text
    }
  }
  return t.slice(0, 300);
}

export function skipped(): SyncResult {
  return { outcome: 'skipped', samples: 0, alerts: 0, ms: 0 };
}

/** An error's message with its code (a system error's ECONNREFUSED, a TLS error's), for results and logs. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
