// Named errors of the Guardian stores: every failure carries a stable code, and a file or object
// name where one is involved, so an operator can find what to fix.

export type StoreErrorCode =
  /** The Guardian changed under an update too many times in a row (retries exhausted). */
  | 'GUARD_STORE_CONFLICT'
  /** Another writer held the Guardian's lock for longer than the lock timeout. */
  | 'GUARD_STORE_LOCKED'
  /** A spec to write, or one read back, is not a Guardian the core loads. */
  | 'GUARD_STORE_INVALID'
  /** A namespace or service name that is not a DNS-1123 label. */
  | 'GUARD_STORE_INVALID_NAME'
  /** The file system or API failed (permissions, disk full, connection refused …). */
  | 'GUARD_STORE_IO'
  | 'GUARD_STORE_NOT_FOUND'
  /** The store was closed. */
  | 'GUARD_STORE_CLOSED';

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  /** The file (file store) or object name (Kubernetes stores) the error is about, if any. */
  readonly location?: string;

  constructor(code: StoreErrorCode, message: string, options?: { location?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreError';
    this.code = code;
    if (options?.location !== undefined) this.location = options.location;
  }
}

export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}

/**
 * A watcher's callback that never throws into the store: an exception is reported as a StoreError
 * and the watch goes on; once `stopped()` nothing more is delivered.
 */
export function guardedCallback<E>(onChange: (event: E) => void, report: (problem: StoreError) => void, stopped: () => boolean): (event: E) => void {
  return (event) => {
    if (stopped()) return;
    try {
      onChange(event);
    } catch (err) {
      report(new StoreError('GUARD_STORE_IO', `a Guardian watch callback failed: ${(err as Error).message}`, { cause: err }));
    }
  };
}
