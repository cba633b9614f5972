// Named errors of guard-service's HTTP API. Every refusal is answered as
// {"error":{"code","message"}} with the status its code implies, so a gate, a person or the UI can
// tell a bad request (fix it) from an outage (retry later).

export type ApiErrorCode =
  /** No usable credentials: missing, unknown, expired or wrong-audience token. */
  | 'GUARD_API_UNAUTHENTICATED'
  /** Authenticated, but not allowed (another namespace, an illegal service name). */
  | 'GUARD_API_FORBIDDEN'
  | 'GUARD_API_NOT_FOUND'
  /** A malformed request: parameters, body, or a Guardian the core refuses. */
  | 'GUARD_API_INVALID'
  | 'GUARD_API_TOO_LARGE'
  /** A Guardian changed under the write too many times. */
  | 'GUARD_API_CONFLICT'
  /** A conditional write (If-Match, resourceVersion): the Guardian changed since it was read. */
  | 'GUARD_API_STALE'
  /** Kubernetes or the store cannot answer now; retry after Retry-After seconds. */
  | 'GUARD_API_UNAVAILABLE'
  /**
   * A sync forwarded to the replica that learns its service got no answer after it was sent: it
   * may have been learned there. The gate resends, as after any failure (docs/operations.md, Replicas).
   */
  | 'GUARD_API_FORWARD_BROKEN'
  /** A pod synced more often than GUARD_SERVICE_SYNC_BURST / GUARD_SERVICE_SYNCS_PER_MINUTE allow; retry after Retry-After seconds. */
  | 'GUARD_API_RATE_LIMITED'
  | 'GUARD_API_INTERNAL';

const STATUS: Record<ApiErrorCode, number> = {
  GUARD_API_UNAUTHENTICATED: 401,
  GUARD_API_FORBIDDEN: 403,
  GUARD_API_NOT_FOUND: 404,
  GUARD_API_INVALID: 400,
  GUARD_API_TOO_LARGE: 413,
  GUARD_API_CONFLICT: 409,
  GUARD_API_STALE: 412,
  GUARD_API_UNAVAILABLE: 503,
  GUARD_API_FORWARD_BROKEN: 502,
  GUARD_API_RATE_LIMITED: 429,
  GUARD_API_INTERNAL: 500,
};

/** Seconds a client is told to wait after a 503. */
export const RETRY_AFTER_SECONDS = 5;

export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  /** A short machine-readable why, for metrics (auth failures by reason). */
  readonly reason: string;
  /** Seconds the client should wait before it retries (sent as Retry-After), when the code implies one. */
  readonly retryAfterSeconds: number | undefined;
  constructor(code: ApiErrorCode, message: string, options?: { reason?: string; cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = STATUS[code];
    this.reason = options?.reason ?? code.slice('GUARD_API_'.length).toLowerCase();
    this.retryAfterSeconds = options?.retryAfterSeconds ?? (this.status === 503 ? RETRY_AFTER_SECONDS : undefined);
  }

  toJSON(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}
