// What the route-aware parts of a Guardian mean to a person (docs/routes.md, docs/compatibility.md
// "Host"): routes and their parameter names, the policies and slack of its control, the caps it was
// learned with, and the Host criterion — each in words. Pure (no DOM).
import { isObject, same } from './rules-model.js';

/** A route's names as the wire form holds them (`criteria.routes["GET /items/{id}"]`). */
export interface RouteNames {
  query: string[];
  body: string[];
  anyQuery?: boolean;
  anyBody?: boolean;
}

/** What each placeholder of a path template stands for (the templating table of docs/routes.md). */
export const PLACEHOLDERS: Record<string, string> = {
  id: 'a number, or an id that is mostly digits (ORD-2024-000123)',
  uuid: 'a UUID',
  hex: 'a hexadecimal hash or commit id',
  date: 'a date, perhaps with a time',
  version: 'a version such as v2 or 1.2.3',
  email: 'an e-mail address',
  token: 'a token of 16 or more letters and digits (base64url, JWT)',
  long: 'a value of more than 64 bytes',
  text: 'a value containing { or }',
};

const CATCH_ALL = '{*}';

/** "GET /items/{id}" → method and template; a key without a space is all template. */
export function splitRouteKey(key: string): { method: string; template: string } {
  const i = key.indexOf(' ');
  return i < 0 ? { method: '', template: key } : { method: key.slice(0, i), template: key.slice(i + 1) };
}

/** What the placeholders of a template stand for: "id: a number, …"; "" when it has none. */
export function describePlaceholders(template: string): string {
  const seen: string[] = [];
  for (const m of template.matchAll(/\{([a-z]+)\}/g)) if (PLACEHOLDERS[m[1]] && !seen.includes(m[1])) seen.push(m[1]);
  return seen.map((p) => `${p}: ${PLACEHOLDERS[p]}`).join('; ');
}

/** "/items/{id}" → "/items/{id} — id: a number …"; the catch-all in words. */
export function describeTemplate(template: string): string {
  if (template === CATCH_ALL) return 'any other path';
  const words = describePlaceholders(template);
  return words ? `${template} — ${words}` : template;
}

/** A catch-all route in words ("any other GET path …"), or null for a route of its own. */
export function describeCatchAll(key: string): string | null {
  const { method, template } = splitRouteKey(key);
  if (template !== CATCH_ALL) return null;
  if (method === '*') return 'any other route of another method (catch-all: routes beyond the bound)';
  return `any other ${method === '{method}' ? 'unusual-method' : method} path (catch-all: routes beyond the bound)`;
}

/** A route key for people: "GET /items/{id} — id: a number …", "any other GET path (catch-all …)". */
export function describeRoute(key: string): string {
  const { method, template } = splitRouteKey(key);
  return describeCatchAll(key) ?? `${method} ${describeTemplate(template)}`;
}

/** The names of one place of a route: "lang, page", "none", "any (more than the cap were seen)". */
export function describeNames(names: unknown, any: unknown): string {
  if (any === true) return 'any name (more than the cap were seen)';
  if (!Array.isArray(names) || names.length === 0) return 'none';
  return names.join(', ');
}

/** A route's names in one line: "query: lang · body: none". */
export function describeRouteNames(route: unknown): string {
  if (route === undefined) return '—';
  if (!isObject(route)) return 'not readable';
  return `query: ${describeNames(route.query, route.anyQuery)} · body: ${describeNames(route.body, route.anyBody)}`;
}

export interface RouteRow {
  key: string;
  method: string;
  template: string;
  learned: RouteNames | undefined;
  configured: RouteNames | undefined;
  differs: boolean;
}

/** The routes of learned and configured criteria, side by side, sorted by template then method. */
export function routeRows(learned: unknown, configured: unknown): RouteRow[] {
  const l = routesOf(learned);
  const c = routesOf(configured);
  const keys = new Set([...Object.keys(l ?? {}), ...Object.keys(c ?? {})]);
  return [...keys]
    .map((key) => {
      const { method, template } = splitRouteKey(key);
      const lv = l?.[key] as RouteNames | undefined;
      const cv = c?.[key] as RouteNames | undefined;
      return { key, method, template, learned: lv, configured: cv, differs: !same(lv, cv) };
    })
    .sort((a, b) => a.template.localeCompare(b.template) || a.method.localeCompare(b.method));
}

/** The route table of criteria, or null when it has none (no route checks). */
export function routesOf(criteria: unknown): Record<string, unknown> | null {
  if (!isObject(criteria)) return null;
  return isObject(criteria.routes) ? criteria.routes : null;
}

// ---- policies and slack (the Guardian's control) ----

export type NamePolicy = 'alert' | 'ignore' | 'service-wide';

export interface PolicyChoice {
  value: NamePolicy;
  label: string;
  route: string;
  param: string;
}

export const POLICY_CHOICES: readonly PolicyChoice[] = [
  {
    value: 'alert',
    label: 'Alert',
    route: 'A request on a route that was never learned alerts (and is refused when blocking).',
    param: 'A parameter name this route never used alerts, even when another route uses it.',
  },
  {
    value: 'ignore',
    label: 'Ignore',
    route: 'The route table says nothing about an unknown route; only the service-wide rules judge it.',
    param: 'The route table says nothing about an unknown name; only the service-wide rules judge its value.',
  },
  {
    value: 'service-wide',
    label: 'Fall back to the service',
    route: 'An unknown route is accepted, but each of its parameter names must be used by some route of the service.',
    param: 'An unknown name passes when some route of the service uses it at the same place (query or body).',
  },
];

/** A policy in a few words, inside a sentence: "unknown routes alert". */
export const POLICY_WORDS: Record<NamePolicy, string> = { alert: 'alert', ignore: 'are ignored', 'service-wide': 'are judged service-wide' };

export const POLICY_KEYS = [
  { key: 'unknownRoute', label: 'Unknown route', what: 'route' },
  { key: 'unknownParam', label: 'Unknown parameter name on a known route', what: 'param' },
] as const;

export const MAX_SLACK = 16;

/** The policy in force for a control member (absent = alert, as the core reads it). */
export function policyOf(control: unknown, key: 'unknownRoute' | 'unknownParam'): NamePolicy {
  const v = isObject(control) ? control[key] : undefined;
  return v === 'ignore' || v === 'service-wide' ? v : 'alert';
}

export function slackOf(control: unknown): number {
  const v = isObject(control) ? control.slack : undefined;
  return typeof v === 'number' ? v : 0;
}

/** Why a typed slack cannot be saved, or null: a whole number from 0 to 16. */
export function slackProblem(text: string): string | null {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return `Slack must be a whole number from 0 to ${MAX_SLACK}.`;
  const n = Number(t);
  return n > MAX_SLACK ? `Slack must be at most ${MAX_SLACK} (16 steps already double every learned count).` : null;
}

export function describeSlack(n: number): string {
  if (n === 0) return 'No slack: the learned limits are applied as they were learned.';
  return `Every learned limit (character counts, times, path segments, body sizes) is widened by ${n} step${n === 1 ? '' : 's'} when deciding (16 steps double a count); the learned rules themselves do not change.`;
}

/**
 * The control with one policy member set, written as the core writes it: a member at its default
 * is left out, so that saving the default leaves the control as the service returns it.
 */
export function withPolicy<T>(control: T, key: 'unknownRoute' | 'unknownParam' | 'slack', value: string | number): T {
  const base: Record<string, unknown> = isObject(control) ? { ...control } : { alert: false, block: false, learn: false, force: false, auto: false };
  if (value === 'alert' || value === 0) delete base[key];
  else base[key] = value;
  return base as T;
}

// ---- caps ----

/** The caps a criteria was learned with, one sentence each (docs/routes.md "Key caps"). */
export function describeCaps(criteria: unknown): string[] {
  if (!isObject(criteria)) return [];
  const c = criteria.caps;
  if (!isObject(c)) {
    return [
      'Learned without recorded caps, as the original learns: up to 7 names per table (query parameters, headers, body fields); beyond, the catch-all applies.',
      'No route table.',
    ];
  }
  const out: string[] = [];
  if (typeof c.params === 'number') out.push(`Up to ${c.params} parameter names per table (query, form and JSON body fields); beyond, the catch-all applies.`);
  if (typeof c.headers === 'number') out.push(`Up to ${c.headers} header names per table; beyond, the catch-all applies.`);
  if (typeof c.routes === 'number') {
    out.push(c.routes === 0 ? 'No route table (route cap 0).' : `Up to ${c.routes} routes in the route table; beyond, one catch-all route per method.`);
  }
  if (c.unknownHeaders === 'shape') out.push('A header name never learned passes when its name and value look like the headers seen.');
  else if (c.unknownHeaders === 'alert') out.push('A header name never learned alerts, unless the header table overflowed its cap (then the catch-all judges it by its shape).');
  return out;
}
