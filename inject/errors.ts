// Named refusals of `guard inject` and the admission webhook: each has a code (docs/errors.md) and
// a message that says which object and what to do.

export type InjectErrorCode =
  | 'GUARD_INJECT_YAML'
  | 'GUARD_INJECT_UNSUPPORTED'
  | 'GUARD_INJECT_HOST_NETWORK'
  | 'GUARD_INJECT_PORT'
  | 'GUARD_INJECT_NO_PORT'
  | 'GUARD_INJECT_NAME'
  | 'GUARD_INJECT_CONFLICT'
  | 'GUARD_INJECT_RECORD'
  | 'GUARD_INJECT_H2C'
  | 'GUARD_INJECT_TLS'
  | 'GUARD_INJECT_GATE_MISSING'
  | 'GUARD_INJECT_NO_SELECTOR'
  | 'GUARD_INJECT_POLICY_CONFLICT';

export class InjectError extends Error {
  readonly code: InjectErrorCode;
  constructor(code: InjectErrorCode, message: string) {
    super(message);
    this.name = 'InjectError';
    this.code = code;
  }
}
