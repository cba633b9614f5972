// guard-service's Prometheus metrics (docs/operations.md): syncs by outcome and their latency, what
// the learner did (read from its counters at scrape time), alerts, authentication failures, pod
// restarts.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AlertEvents } from './alert-events.js';
import type { AlertLog } from './alert-log.js';
import type { AlertStore } from './alerts.js';
import type { Learner } from './learner.js';
import type { Replicas } from './replicas.js';

export type SyncOutcome = 'ok' | 'invalid' | 'unauthenticated' | 'forbidden' | 'rate_limited' | 'unavailable' | 'error';

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly syncs: Counter<'outcome'>;
  readonly syncSeconds: Histogram;
  readonly samplesMerged: Counter;
  /** Syncs over their pod's rate limit: refused (429, Guard's gates) or answered without learning their pile (the original's gates). */
  readonly syncsLimited: Counter<'answer'>;
  readonly samplesLimited: Counter;
  readonly alertsReceived: Counter;
  readonly authFailures: Counter<'reason' | 'api'>;
  /** Tokens reviewed with Kubernetes (TokenReview, and for a gate its pod read), by API and outcome. */
  readonly tokenReviews: Counter<'api' | 'outcome'>;
  readonly podsRestarted: Counter;
  /** Other replicas asked for their part of a people's view, by outcome (answered, missing). */
  readonly viewParts: Counter<'outcome'>;

  constructor(learner: Learner, alerts: AlertStore, replicas: Replicas | null = null, recorders: { events: AlertEvents | null; log: AlertLog | null } = { events: null, log: null }) {
    const registers = [this.registry];
    this.syncs = new Counter({ name: 'guard_service_syncs_total', help: 'Syncs from gates, by outcome', labelNames: ['outcome'], registers });
    this.syncSeconds = new Histogram({
      name: 'guard_service_sync_duration_seconds',
      help: 'Time to answer a sync, authentication included',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.samplesMerged = new Counter({ name: 'guard_service_samples_merged_total', help: 'Samples of gates\' piles merged for learning', registers });
    this.syncsLimited = new Counter({
      name: 'guard_service_syncs_rate_limited_total',
      help: "Syncs over their pod's rate limit, by answer: refused (429; the gate keeps its pile and retries) or unlearned (200 without learning the pile: the original's gates, which would otherwise fall back to the Kubernetes API)",
      labelNames: ['answer'],
      registers,
    });
    this.samplesLimited = new Counter({ name: 'guard_service_samples_rate_limited_total', help: "Samples of the original's gates not learned because their pod synced over its rate limit", registers });
    this.alertsReceived = new Counter({ name: 'guard_service_alerts_received_total', help: 'Alert entries gates reported', registers });
    this.authFailures = new Counter({ name: 'guard_service_auth_failures_total', help: 'Refused callers, by API (sync, people) and reason', labelNames: ['api', 'reason'], registers });
    this.tokenReviews = new Counter({
      name: 'guard_service_token_reviews_total',
      help: 'Tokens not seen before, reviewed with Kubernetes, by API (sync, people) and outcome: accepted, refused, or unavailable (Kubernetes did not answer)',
      labelNames: ['api', 'outcome'],
      registers,
    });
    this.podsRestarted = new Counter({ name: 'guard_service_pods_restarted_total', help: 'Pods deleted because their gate reported them compromised', registers });
    this.viewParts = new Counter({
      name: 'guard_service_view_parts_total',
      help: "Other replicas asked for their part of a people's view (alerts, the overview), by outcome: answered, or missing from the view",
      labelNames: ['outcome'],
      registers,
    });
    // The learner keeps its own totals; these read them at scrape time.
    const fromLearner = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    fromLearner('guard_service_learns_total', 'Piles learned into Guardians', () => learner.stats().learns);
    fromLearner('guard_service_syncs_repeated_total', 'Syncs a gate sent again (same sync id) after they were merged: answered, not learned twice', () => learner.stats().repeats);
    fromLearner('guard_service_persists_total', 'Learned rules written to the store', () => learner.stats().persists);
    fromLearner('guard_service_persist_failures_total', 'Failed writes of learned rules (retried)', () => learner.stats().persistFailures);
    fromLearner('guard_service_services_forgotten_total', 'Idle services the learner forgot (no sync for an hour, nothing pending): their next sync reads the store', () => learner.stats().forgotten);
    new Gauge({
      name: 'guard_service_live_services',
      help: 'Services the learner holds (those that synced within the last hour, or have learning pending)',
      registers,
      collect() {
        this.set(learner.stats().services);
      },
    });
    new Gauge({
      name: 'guard_service_pile_samples',
      help: 'Samples merged and not learned yet',
      registers,
      collect() {
        this.set(learner.stats().pileSamples);
      },
    });
    new Gauge({
      name: 'guard_service_guardians_ready',
      help: 'Services whose learned rules are ready (auto blocks), and not ready yet (auto only alerts)',
      labelNames: ['ready'],
      registers,
      collect() {
        const s = learner.stats();
        this.set({ ready: 'true' }, s.ready);
        this.set({ ready: 'false' }, s.notReady);
      },
    });
    new Gauge({
      name: 'guard_service_alerts_stored',
      help: 'Alerts kept for the API',
      registers,
      collect() {
        this.set(alerts.counts().stored);
      },
    });
    const { events, log } = recorders;
    if (events) {
      new Counter({
        name: 'guard_service_alert_events_total',
        help: 'Alerts recorded as Kubernetes Events: created, aggregated (count raised), deferred (rate limit: waiting for a token), dropped (waiting beyond the bound), failed',
        labelNames: ['outcome'],
        registers,
        collect() {
          this.reset();
          for (const [outcome, n] of Object.entries(events.counts)) this.inc({ outcome }, n);
        },
      });
    }
    if (log) {
      fromLearner('guard_service_alert_log_lines_total', 'Alerts appended to the file store\'s alert log', () => log.counts.written);
      fromLearner('guard_service_alert_log_failures_total', 'Appends to the alert log that failed (the alerts stay in memory)', () => log.counts.failed);
    }
    if (replicas) {
      new Counter({
        name: 'guard_service_syncs_forwarded_total',
        help: 'Syncs for services another replica learns, sent on to it: ok (answered), failed (unreachable), no_owner (no live holder; 503)',
        labelNames: ['outcome'],
        registers,
        collect() {
          this.reset();
          this.inc({ outcome: 'ok' }, replicas.forwarded.ok);
          this.inc({ outcome: 'failed' }, replicas.forwarded.failed);
          this.inc({ outcome: 'no_owner' }, replicas.forwarded.noOwner);
        },
      });
      new Gauge({
        name: 'guard_service_shards_held',
        help: 'Shards of services this replica learns now',
        registers,
        collect() {
          this.set(replicas.leases.heldShards().length);
        },
      });
      fromLearner('guard_service_lease_calls_total', 'Kubernetes API calls made for Leases', () => replicas.leases.apiCalls);
    }
    collectDefaultMetrics({ register: this.registry });
  }
}
