// The command-line options of issue 15: the caps `guard learn` learns with (recorded by the
// Guardian) and the route policies and slack `guard check` may decide with instead of the
// Guardian's own. Each is validated here; a bad value is a usage error naming the option.
import { DEFAULT_LEARNING_CAPS, type LearningCaps, type NamePolicy, type RoutePolicy } from '../core/index.js';
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

export const CAPS_HELP = `  --param-cap N    query, form and JSON body fields learned by name per table, 1–256
                   (default ${DEFAULT_LEARNING_CAPS.params}); beyond, the original's catch-all
  --header-cap N   header names learned by name per table, 1–256 (default ${DEFAULT_LEARNING_CAPS.headers})
  --route-cap N    routes (method + path template) in the route table, 0–1024 (default
                   ${DEFAULT_LEARNING_CAPS.routes}); beyond, a catch-all per method; 0: no route table
  --unknown-headers alert|shape
                   a header name not learned alerts (alert, default), or passes when it fits the
                   shape of all learned headers (shape)`;

export const POLICY_HELP = `  --unknown-route alert|ignore|service-wide
  --unknown-param alert|ignore|service-wide
  --slack N        decide with these route policies and this slack (0–16 steps on learned
                   limits) instead of the Guardian's control`;

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
