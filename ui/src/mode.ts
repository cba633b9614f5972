// A Guardian's control flags in words: the mode, one sentence per flag, and how ready the service
// is to block. Pure (no DOM).
import type { Control } from '../../core/portable.js';

export type { Control };

export const CONTROL_FLAGS: ReadonlyArray<{ key: keyof Control; label: string; on: string; off: string }> = [
  { key: 'alert', label: 'Alert', on: 'Every request and response is decided against the rules in force; what is out of pattern is reported as an alert.', off: 'Nothing is decided: no alerts and no blocks, whatever the rules say.' },
  { key: 'block', label: 'Block', on: 'What alerts is also refused (403) before it reaches the service or the client.', off: 'Alerts are only reported; every request still reaches the service.' },
  { key: 'learn', label: 'Learn', on: 'The gates send what they see to guard-service, which widens the learned rules with it.', off: 'The learned rules stay as they are.' },
  { key: 'force', label: 'Learn from alerts too', on: 'Requests that alerted are learned as well (for trusted traffic only; turn it off before blocking).', off: 'Only requests that passed the rules are learned.' },
  { key: 'auto', label: 'Enforce the learned rules', on: 'The learned rules are in force and follow the traffic as it is learned.', off: 'The configured rules are in force; they change only when a person edits or promotes them.' },
];

/** The mode in words: "learning", "alerting only", "blocking", "off". */
export function modeOf(c: Control | null | undefined): string {
  if (!c) return 'off (no control)';
  if (!c.alert) return c.learn ? 'learning only' : 'off';
  return c.block ? 'blocking' : 'alerting only';
}

export function rulesInForce(c: Control | null | undefined): string {
  return c?.auto ? 'learned rules' : 'configured rules';
}

export interface Readiness {
  level: 'nothing' | 'learning' | 'not-ready' | 'ready' | 'blocking' | 'off';
  text: string;
}

/** The samples below which learned rules are too young to block with. */
export const SAMPLES_TO_BLOCK = 1000;

export interface ServiceFacts {
  control: Control | null;
  samples: number;
  hasLearned: boolean;
  hasConfigured: boolean;
  /** Alert occurrences (sum of counts) in the last 24 h. */
  alertsLastDay: number;
  /** How long guard-service has been watching, in ms (alerts are since then). */
  observedMs: number;
  /** Readiness of the learned rules (docs/tokens.md); null or absent when they do not track it. */
  learnedReadiness?: { ready: boolean; stable: number } | null;
}

/** Samples in a row that must widen nothing before learned rules are ready (the core's). */
export const READY_STABLE_SAMPLES = 1000;

/**
 * The least watching, without an alert, before the page calls a service ready: a few seconds with
 * no alert say nothing about the traffic of a day (a nightly job, a weekly report).
 */
export const MIN_WATCH_MS = 3600_000;

export function readiness(f: ServiceFacts): Readiness {
  const c = f.control;
  const span = f.observedMs >= 24 * 3600_000 ? '24 h' : `the ${duration(f.observedMs)} guard-service has been running`;
  const rulesExist = c?.auto ? f.hasLearned : f.hasConfigured;
  const unsettled = c?.auto && f.learnedReadiness && !f.learnedReadiness.ready ? f.learnedReadiness : null;
  const settling = unsettled ? `the learned rules still widen (${count(unsettled.stable, 'sample')} of ${READY_STABLE_SAMPLES.toLocaleString('en')} since they last did)` : '';
  if (c?.alert && c.block && unsettled) return { level: 'learning', text: `Block is on, but ${settling}: refusals are alerts until they are ready.` };
  if (c?.alert && c.block) return { level: 'blocking', text: `Blocking: ${count(f.alertsLastDay, 'request')} refused in ${span}.` };
  if (!rulesExist) return { level: 'nothing', text: `No ${rulesInForce(c)} yet: nothing to enforce. Keep learning (${count(f.samples, 'sample')} so far).` };
  if (!c?.alert) return { level: 'learning', text: `Learning only (${count(f.samples, 'sample')}): turn on Alert to see what would be refused.` };
  if (unsettled) return { level: 'learning', text: `Keep learning: ${settling}.` };
  if (c.auto && f.samples < SAMPLES_TO_BLOCK) return { level: 'learning', text: `Keep learning: ${count(f.samples, 'sample')}, block after at least ${SAMPLES_TO_BLOCK.toLocaleString('en')} without alerts.` };
  if (f.alertsLastDay > 0) return { level: 'not-ready', text: `Alerting only: ${count(f.alertsLastDay, 'alert')} in ${span} would have been blocks. Review them before blocking.` };
  if (c.force && c.learn) return { level: 'not-ready', text: `No alerts in ${span}, but alerting requests are being learned (force): turn that off first.` };
  if (f.observedMs < MIN_WATCH_MS) return { level: 'not-ready', text: `No alert in ${span}: too short to judge. Watch at least an hour of normal traffic before blocking.` };
  return { level: 'ready', text: `Ready to block: no alert in ${span}.` };
}

export function count(n: number, noun: string): string {
  return `${n.toLocaleString('en')} ${noun}${n === 1 ? '' : 's'}`;
}

export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h`;
  return `${Math.round(h / 24)} days`;
}

/** "5 min ago" from an ISO time and now (ms). */
export function ago(iso: string | null | undefined, now: number): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return 'unknown';
  return `${duration(now - t)} ago`;
}

/**
 * When a service last learned, in words. guard-service writes the time with the learned rules; a
 * Guardian learned by the original (or by a guard-service before it kept the time) has samples but
 * no time: it learned 'earlier'.
 */
export function lastLearned(iso: string | null | undefined, samples: number, now: number): string {
  if (!iso && samples > 0) return 'earlier';
  return ago(iso, now);
}

/** What 'earlier' means, for its tooltip. */
export const EARLIER =
  'Learned by a guard-service that kept no time with the rules (the original security-guard, or an older Guard): the time shows after the next learn';
