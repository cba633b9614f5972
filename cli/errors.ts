// Named errors of the `guard` command. Each carries a code, a message a person can act on, and the
// exit status the command ends with when it reaches the top level.

export type CliErrorCode =
  | 'GUARD_CLI_USAGE'
  | 'GUARD_TRAFFIC_UNREADABLE'
  | 'GUARD_GUARDIAN_UNREADABLE'
  | 'GUARD_MANIFEST_UNREADABLE'
  | 'GUARD_OUTPUT_UNWRITABLE'
  | 'GUARD_CORE_UNAVAILABLE'
  | 'GUARD_CORE_FAULT';

/** Exit statuses: 1 = an input or output file failed, 2 = usage, 3 = the core failed. */
const EXIT_STATUS: Record<CliErrorCode, number> = {
  GUARD_CLI_USAGE: 2,
  GUARD_TRAFFIC_UNREADABLE: 1,
  GUARD_GUARDIAN_UNREADABLE: 1,
  GUARD_MANIFEST_UNREADABLE: 1,
  GUARD_OUTPUT_UNWRITABLE: 1,
  GUARD_CORE_UNAVAILABLE: 3,
  GUARD_CORE_FAULT: 3,
};

export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly exitStatus: number;
  constructor(code: CliErrorCode, message: string) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    this.exitStatus = EXIT_STATUS[code];
  }
}

/** Text of an operating-system error without the noise of `Error: ENOENT: …, open '/x'`. */
export function describeSystemError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files';
    case 'Z_DATA_ERROR':
    case 'Z_BUF_ERROR':
      return `corrupt gzip data (${e.message})`;
    default:
      return e?.message ?? String(err);
  }
}
