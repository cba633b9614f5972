// The people API of guard-service, from the page: same origin, bearer token kept for this tab only
// (sessionStorage), every refusal turned into an ApiFailure with the service's code and message.
import type { Control } from './mode.js';

export interface GuardianSpec {
  configured: unknown;
  learned?: unknown;
  samples: number;
  control: Control | null;
  [other: string]: unknown;
}

export interface GuardianView {
  namespace: string;
  service: string;
  resourceVersion: string;
  spec: GuardianSpec;
}

export interface LearnedReadiness {
  ready: boolean;
  /** Samples learned since the rules last widened. */
  stable: number;
}

export interface ServiceSummary {
  namespace: string;
  service: string;
  resourceVersion: string;
  control: Control | null;
  samples: number;
  hasConfigured: boolean;
  hasLearned: boolean;
  /** Readiness of the learned rules (docs/tokens.md); null when they do not track it. */
  readiness?: LearnedReadiness | null;
  lastLearnedAt: string | null;
  pileSamples: number;
  alerts: { lastHour: { entries: number; occurrences: number }; lastDay: { entries: number; occurrences: number }; newestAt: string | null };
}

/** A guard-service replica whose part of a view is missing, and why. */
export interface MissingPart {
  replica: string;
  error: string;
}

export interface Overview {
  now: string;
  serviceStartedAt: string;
  items: ServiceSummary[];
  /** Replicas that did not answer: the alerts and learning of their services are not in the view. */
  incomplete?: MissingPart[];
}

export interface AlertItem {
  decision: unknown;
  time: number;
  level: string;
  count: number;
  seq: number;
  receivedAt: string;
  namespace: string;
  service: string;
  pod: string;
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'guard-ui-token';

export function savedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage refused (private mode): the token lives as long as the page.
  }
}

export class Api {
  constructor(private readonly token: string) {}

  private async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (err) {
      throw new ApiFailure(0, 'GUARD_UI_OFFLINE', `guard-service cannot be reached (${(err as Error).message})`);
    }
    const text = await response.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: reported below with the status.
    }
    if (!response.ok) {
      const e = (json as { error?: { code?: string; message?: string } } | null)?.error;
      throw new ApiFailure(response.status, e?.code ?? `HTTP_${response.status}`, e?.message ?? `guard-service answered ${response.status}`);
    }
    return json as T;
  }

  overview(): Promise<Overview> {
    return this.call('GET', '/api/v1/services');
  }

  guardian(namespace: string, service: string): Promise<GuardianView> {
    return this.call('GET', `/api/v1/guardians/${encodeURIComponent(namespace)}/${encodeURIComponent(service)}`);
  }

  /** Replace configured and control, if the Guardian is still at `resourceVersion`. */
  save(g: { namespace: string; service: string }, resourceVersion: string, change: { configured?: unknown; control?: Control | null }): Promise<GuardianView> {
    return this.call('PUT', `/api/v1/guardians/${encodeURIComponent(g.namespace)}/${encodeURIComponent(g.service)}`, change, { 'if-match': `"${resourceVersion}"` });
  }

  alerts(q: { namespace?: string; service?: string; limit?: number } = {}): Promise<{ items: AlertItem[]; incomplete?: MissingPart[] }> {
    const params = new URLSearchParams();
    if (q.namespace) params.set('namespace', q.namespace);
    if (q.service) params.set('service', q.service);
    params.set('limit', String(q.limit ?? 500));
    return this.call('GET', `/api/v1/alerts?${params}`);
  }
}
