// The errors the learner's syncs and flush fail with (service/learner.ts); sync-route.ts answers
// them to the gate, which keeps its pile and resends.

export type LearnerErrorCode =
  /** The service's Guardian could not be read; the gate keeps its pile and Guardian and retries. */
  | 'GUARD_LEARNER_STORE_UNAVAILABLE'
  /** flush() could not persist some services (named in the message) after its attempts. */
  | 'GUARD_LEARNER_FLUSH_FAILED'
  | 'GUARD_LEARNER_CLOSED';

export class LearnerError extends Error {
  readonly code: LearnerErrorCode;
  constructor(code: LearnerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LearnerError';
    this.code = code;
  }
}
