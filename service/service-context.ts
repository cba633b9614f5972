// What the routes of guard-service share: configuration, the core, the learner and stores, the
// authenticators, metrics and the log. Built once by index.ts.
import type { Logger } from 'pino';
import type { Core } from '../core/index.js';
import type { AlertStore, SyncAlert } from './alerts.js';
import type { GateAuthenticator, PeopleAuthenticator } from './auth.js';
import type { Clock } from '../clock/index.js';
import type { ServiceConfig } from './config.js';
import type { Learner } from './learner.js';
import type { ServiceMetrics } from './metrics.js';
import type { PodRestarter } from './pod-restarts.js';
import type { Replicas } from './replicas.js';
import type { SyncLimit } from './sync-limit.js';
import type { GuardianStore } from '../store/index.js';

export interface ServiceContext {
  config: Readonly<ServiceConfig>;
  core: Core;
  store: GuardianStore;
  learner: Learner;
  alerts: AlertStore;
  /** Where alerts are recorded to survive a restart (Events, or the file store's log). */
  alertRecorders: ReadonlyArray<{ record(namespace: string, service: string, pod: string, alerts: readonly SyncAlert[]): void }>;
  gateAuth: GateAuthenticator;
  peopleAuth: PeopleAuthenticator;
  podRestarts: PodRestarter;
  /** How often one pod may sync (null: no limit). */
  syncLimit: SyncLimit | null;
  /** Several replicas divide the services (null: this one learns every service). */
  replicas: Replicas | null;
  metrics: ServiceMetrics;
  /**
   * pino's Logger, wider than the shared one (log/index.ts): fastify takes it as its loggerInstance,
   * which needs child loggers and levels. Routes call only what the shared Logger has.
   */
  log: Logger;
  /** The learner's clock (monotonic): learning times are on it. */
  clock: Clock;
  /** Wall-clock ms when this guard-service started: alerts and learning times are since then. */
  startedAt: number;
  /** The learner ticks (false once shutdown began). */
  learnerRunning(): boolean;
}
