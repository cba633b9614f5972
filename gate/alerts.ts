// Alerts of the gate: each alert is a structured JSON log event (request id, method, path, client
// address, the decision tree and its sorted string) and is handed on (metrics, and the sync client,
// which alone holds alerts until guard-service has them: de-duplication and the cap live there).
import type { Logger } from '../log/index.js';

export type AlertLevel = 'Session' | 'Gate';

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

export interface AlertsOptions {
  logger?: Pick<Logger, 'warn'>;
  /** Called once per reported alert (metrics, the sync client). */
  onAlert?: (event: AlertEvent) => void;
}

export class Alerts {
  private readonly logger: Pick<Logger, 'warn'> | undefined;
  private readonly onAlert: ((event: AlertEvent) => void) | undefined;

  constructor(options: AlertsOptions = {}) {
    this.logger = options.logger;
    this.onAlert = options.onAlert;
  }

  /** Log the alert and hand it on. */
  report(event: AlertEvent): void {
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
  }
}
