// Named errors of the core host: every failure a caller can act on carries a stable code.

export type CoreErrorCode =
  | 'GUARD_INVALID_GUARDIAN'
  | 'GUARD_INVALID_PILE'
  | 'GUARD_INVALID_SYNC'
  | 'GUARD_INVALID_REQUEST'
  | 'GUARD_INVALID_ARGUMENT'
  | 'GUARD_CORE_FAULT'
  | 'GUARD_DISPOSED';

/**
 * The part of a request that made it invalid, when the core names one: `host` for a malformed Host
 * value or several Host lines (a gate answers 400, as RFC 9112 §3.2 asks).
 */
export type CoreErrorField = 'host';

export class CoreError extends Error {
  readonly code: CoreErrorCode;
  readonly field: CoreErrorField | undefined;
  constructor(code: CoreErrorCode, message: string, field?: CoreErrorField) {
    super(message);
    this.name = 'CoreError';
    this.code = code;
    this.field = field;
  }
}
