// Named errors of the core host: every failure a caller can act on carries a stable code.

export type CoreErrorCode =
  | 'GUARD_INVALID_GUARDIAN'
  | 'GUARD_INVALID_PILE'
  | 'GUARD_INVALID_SYNC'
  | 'GUARD_INVALID_REQUEST'
  | 'GUARD_INVALID_ARGUMENT'
  | 'GUARD_CORE_FAULT'
  | 'GUARD_DISPOSED';

export class CoreError extends Error {
  readonly code: CoreErrorCode;
  constructor(code: CoreErrorCode, message: string) {
    super(message);
    this.name = 'CoreError';
    this.code = code;
  }
}
