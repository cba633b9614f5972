// Decide-time settings of the Guardian being decided (its control, docs/routes.md): the slack on
// learned limits and the policies for an unknown route and for an unknown parameter name on a known
// route. The host call that decides sets them from the Guardian and resets them after
// (single-threaded), so that no decide function has to carry them.

/** An unknown route or parameter name raises an alert. */
export const POLICY_ALERT: u8 = 0;
/** … is accepted without a route-level check (the service-wide rules still apply). */
export const POLICY_IGNORE: u8 = 1;
/** … is judged by the service-wide names: it passes when some route of the service uses it. */
export const POLICY_SERVICE: u8 = 2;

/** Most slack steps a Guardian may give (16 Limit codes = one doubling of the raw count). */
export const MAX_SLACK: i32 = 16;

let slack: i32 = 0;
let unknownRoute: u8 = POLICY_ALERT;
let unknownParam: u8 = POLICY_ALERT;

export function useDecidePolicy(slackSteps: i32, routePolicy: u8, paramPolicy: u8): void {
  slack = slackSteps;
  unknownRoute = routePolicy;
  unknownParam = paramPolicy;
}

export function resetDecidePolicy(): void {
  slack = 0;
  unknownRoute = POLICY_ALERT;
  unknownParam = POLICY_ALERT;
}

/** Steps every learned limit (Limit codes, Count ranges) is widened by when deciding. */
// @ts-ignore: decorator
@inline export function slackSteps(): i32 {
  return slack;
}

export function unknownRoutePolicy(): u8 {
  return unknownRoute;
}

export function unknownParamPolicy(): u8 {
  return unknownParam;
}

export function policyName(p: u8): string {
  return p == POLICY_IGNORE ? "ignore" : p == POLICY_SERVICE ? "service-wide" : "alert";
}

/** The policy named `s`, or 255 when it names none. */
export function policyOf(s: string): u8 {
  if (s == "alert") return POLICY_ALERT;
  if (s == "ignore") return POLICY_IGNORE;
  if (s == "service-wide") return POLICY_SERVICE;
  return 255;
}
