// The command-line options of route-aware Guardians (docs/routes.md): the caps `guard learn` learns
// with (recorded by the Guardian) and the route policies and slack `guard check` may decide with
// instead of the Guardian's own. Each is validated here; a bad value is a usage error naming the
// option. (Their help is in help.ts.)
import { DEFAULT_LEARNING_CAPS, type LearningCaps, type NamePolicy, type RoutePolicy } from '../core/portable.js';
import { CliError } from './errors.js';

export const CAPS_OPTIONS = {
  'param-cap': { type: 'string' },
  'header-cap': { type: 'string' },
  'route-cap': { type: 'string' },
  'unknown-headers': { type: 'string' },
} as const;

export const POLICY_OPTIONS = {
  'unknown-route': { type: 'string' },
  'unknown-param': { type: 'string' },
  slack: { type: 'string' },
} as const;

type Values = Record<string, string | boolean | string[] | undefined>;

function integer(command: string, flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new CliError('GUARD_CLI_USAGE', `--${flag} must be an integer from ${min} to ${max}, got "${text}"\nRun \`guard ${command} --help\` for its options.`);
  }
  return n;
}

function oneOf<T extends string>(command: string, flag: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw new CliError('GUARD_CLI_USAGE', `--${flag} must be one of ${allowed.join(', ')}, got "${text}"\nRun \`guard ${command} --help\` for its options.`);
  }
  return text as T;
}

/** The caps given on the command line, the defaults for the others. */
export function capsOf(command: string, v: Values): Required<LearningCaps> {
  const caps = { ...DEFAULT_LEARNING_CAPS };
  if (typeof v['param-cap'] === 'string') caps.params = integer(command, 'param-cap', v['param-cap'], 1, 256);
  if (typeof v['header-cap'] === 'string') caps.headers = integer(command, 'header-cap', v['header-cap'], 1, 256);
  if (typeof v['route-cap'] === 'string') caps.routes = integer(command, 'route-cap', v['route-cap'], 0, 1024);
  if (typeof v['unknown-headers'] === 'string') caps.unknownHeaders = oneOf(command, 'unknown-headers', v['unknown-headers'], ['alert', 'shape'] as const);
  return caps;
}

const POLICIES: readonly NamePolicy[] = ['alert', 'ignore', 'service-wide'];

/** Policy overrides given on the command line (undefined: the Guardian's own). */
export function policyOf(command: string, v: Values): Partial<RoutePolicy> | undefined {
  const p: Partial<RoutePolicy> = {};
  if (typeof v['unknown-route'] === 'string') p.unknownRoute = oneOf(command, 'unknown-route', v['unknown-route'], POLICIES);
  if (typeof v['unknown-param'] === 'string') p.unknownParam = oneOf(command, 'unknown-param', v['unknown-param'], POLICIES);
  if (typeof v.slack === 'string') p.slack = integer(command, 'slack', v.slack, 0, 16);
  return Object.keys(p).length > 0 ? p : undefined;
}
