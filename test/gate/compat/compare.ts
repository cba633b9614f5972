// How the compatibility suite compares an exchange made through the gate with the same exchange
// made directly: status, reason phrase, informational answers, response header lines, trailers and
// the body's sha256 must be the same, except for what a proxy legitimately changes — listed below,
// each with its reason — and what one listener documents it cannot do.
import { expect } from 'vitest';
import type { HeaderPair, Informational, Seen } from './clients.js';

export type ListenerKind = 'uws' | 'node';

/** Response header names a proxy may change, and why: never compared. */
export const PROXY_MAY_CHANGE: Readonly<Record<string, string>> = {
  date: 'each answer is dated when it is sent (RFC 9110 §6.6.1); the direct and the gated answer are sent at different instants',
  connection: "hop-by-hop (RFC 9110 §7.6.1): it manages the client's connection to the gate, not the service's",
  'keep-alive': "hop-by-hop (RFC 9110 §7.6.1): the gate announces its own idle timeout (checked by expectKeepAliveAnnounced)",
  'proxy-connection': 'hop-by-hop (the pre-RFC 7230 name)',
  'transfer-encoding':
    "framing of one connection (RFC 9112 §6): the gate may send with a length what the service sent chunked; Content-Length is compared when the service sent one, and the body's hash shows the content is the same",
};

/** The listener's documented limits (what its binding cannot do), by listener. */
export const LISTENER_LIMITS: Readonly<Record<ListenerKind, Readonly<Record<string, string>>>> = {
  uws: {
    uwebsockets: 'the uWebSockets.js binding writes its own `uWebSockets: 20` line on every answer (a compile-time choice of the build, not switchable from JavaScript)',
    trailer: 'the binding cannot write trailers (its HttpResponse has no trailer call), so a Trailer line announcing them would announce nothing',
  },
  node: {},
};

/** The uws listener drops 1xx answers (the binding has no call to write one before the final head). */
export function relaysInformational(listener: ListenerKind): boolean {
  return listener === 'node';
}

/** The uws listener drops trailers (see LISTENER_LIMITS). */
export function relaysTrailers(listener: ListenerKind): boolean {
  return listener === 'node';
}

interface Comparable {
  status: number;
  reason: string;
  informational: Informational[];
  headers: Array<[string, string[]]>;
  trailers: HeaderPair[];
  bytes: number;
  sha256: string;
  error: string | null;
}

/** Header lines grouped by name (values in their order), names sorted, without those not compared. */
function grouped(lines: readonly HeaderPair[], skip: (name: string) => boolean): Array<[string, string[]]> {
  const byName = new Map<string, string[]>();
  for (const [k, v] of lines) if (!skip(k)) byName.set(k, [...(byName.get(k) ?? []), v]);
  return [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function comparable(seen: Seen, listener: ListenerKind, through: boolean): Comparable {
  const limits = LISTENER_LIMITS[listener];
  const skip = (k: string): boolean => k in PROXY_MAY_CHANGE || k === 'content-length' || k in limits;
  // A proxy answers Expect: 100-continue itself (RFC 9110 §10.1.1): a 100 is its own, never compared.
  const informational = seen.informational.filter((i) => i.status !== 100).map((i) => ({ status: i.status, headers: grouped(i.headers, skip).flatMap(([k, vs]) => vs.map((v) => [k, v] as HeaderPair)) }));
  return {
    status: seen.status,
    reason: seen.reason,
    informational: through || relaysInformational(listener) ? informational : [],
    headers: grouped(seen.headers, skip),
    trailers: through || relaysTrailers(listener) ? seen.trailers : [],
    bytes: seen.bytes,
    sha256: seen.sha256,
    error: seen.error,
  };
}

const valuesOf = (seen: Seen, name: string): string[] => seen.headers.filter(([k]) => k === name).map(([, v]) => v);

/**
 * The gated exchange is the direct one, as this client saw it. The direct exchange must have
 * succeeded (a case that fails without the gate shows nothing about the gate). On the uws listener
 * 1xx answers and trailers are expected dropped, the rest unchanged. Soft: every difference of a
 * scenario is reported, not only the first.
 */
export function expectSameExchange(direct: Seen, gated: Seen, listener: ListenerKind, what = ''): void {
  const label = `${direct.client}${what ? ` ${what}` : ''}`;
  expect.soft(direct.error, `${label}: the direct exchange failed, so the case shows nothing`).toBeNull();
  expect.soft(direct.status, `${label}: the direct exchange got no answer`).toBeGreaterThan(0);
  expect.soft(comparable(gated, listener, true), `${label}: through the gate (${listener} listener) vs direct`).toEqual(comparable(direct, listener, false));
  // Content-Length: the service's own must reach the client; a length the gate adds must be the body's.
  const directLength = valuesOf(direct, 'content-length');
  const gatedLength = valuesOf(gated, 'content-length');
  if (directLength.length > 0) expect.soft(gatedLength, `${label}: the service's Content-Length`).toEqual([directLength[0]]);
  else if (gatedLength.length > 0 && gated.status !== 304 && gated.status !== 204) expect.soft(gatedLength, `${label}: a Content-Length the gate added`).toEqual([String(gated.bytes)]);
}

/** A keep-alive answer of the gate announces how long it keeps the idle connection (RFC 9112 §9.3 practice, `Keep-Alive: timeout=N`). */
export function expectKeepAliveAnnounced(gated: Seen): void {
  const value = valuesOf(gated, 'keep-alive').join(', ');
  expect(value, `${gated.client}: Keep-Alive of the gate's keep-alive answer`).toMatch(/(^|,\s*)timeout=\d+/);
}
