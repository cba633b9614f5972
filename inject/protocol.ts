// The gate speaks HTTP/1.1 only: HTTP/2 in cleartext (h2c) — gRPC among it — sent to it fails.
// A serving port clients reach with h2c is refused (GUARD_INJECT_H2C) rather than injected into
// a pod that would then answer nobody. The signs: Knative's port name `h2c` (it then speaks h2c
// to the serving container), the port names meshes read a protocol from (`grpc`, `h2c`, `http2`,
// alone or before `-suffix`), and an `appProtocol` of a Service in the same manifest that targets
// the port (the webhook sees one object at a time, and only its port names).
// The gate has no TLS either (the mesh's or the ingress's job): a serving port that clients reach
// with TLS — named `https`, `tls` or `wss`, or a Service's `appProtocol` saying so — is refused
// too (GUARD_INJECT_TLS): the gate would read a TLS handshake as a malformed request.
import { get, isObject, type JsonObject } from './changes.js';
import { InjectError } from './errors.js';

/** Service `appProtocol` values that mean HTTP/2 without TLS (Kubernetes' own, and gRPC's). */
const H2C_APP_PROTOCOLS = new Set(['kubernetes.io/h2c', 'h2c', 'http2', 'grpc']);
/** Port names meshes take a protocol from; `grpc-web` is HTTP/1.1 and stays allowed. */
const H2C_NAME = /^(?:h2c|http2|grpc)(?:-|$)/;
/** Port names and Service `appProtocol` values that mean TLS. */
const TLS_NAME = /^(?:https|tls|wss)(?:-|$)/;
const TLS_APP_PROTOCOLS = new Set(['https', 'tls', 'kubernetes.io/wss', 'wss']);
const TLS_WHAT_TO_DO = 'the gate has no TLS (it is the mesh\'s or the ingress\'s job): serve plain HTTP/1.1 on this port behind a TLS-terminating mesh or ingress, or leave this workload unguarded (label it guard.security.knative.dev/inject=disabled)';

const WHAT_TO_DO = 'the gate speaks HTTP/1.1 only and cannot proxy HTTP/2 cleartext or gRPC; leave this workload unguarded (label it guard.security.knative.dev/inject=disabled), or, if it really serves HTTP/1.1, name the port otherwise';

export interface ServedPort {
  port: number;
  name: string | null;
  /** Not a field of a container port; honoured when a manifest copied it from its Service. */
  appProtocol?: string | null;
}

/** Refuse a serving port that clients reach with h2c. */
export function refuseH2c(p: ServedPort, knative: boolean, where: string): void {
  const name = p.name ?? '';
  if (knative && name === 'h2c') {
    throw new InjectError('GUARD_INJECT_H2C', `${where}: the port is named h2c, so Knative would speak HTTP/2 cleartext to the gate; ${WHAT_TO_DO} (http1, or no name)`);
  }
  if (H2C_NAME.test(name) && name !== 'grpc-web') {
    throw new InjectError('GUARD_INJECT_H2C', `${where}: the serving port ${name} (${p.port}) is named for HTTP/2 or gRPC; ${WHAT_TO_DO}`);
  }
  const protocol = (p.appProtocol ?? '').toLowerCase();
  if (H2C_APP_PROTOCOLS.has(protocol)) {
    throw new InjectError('GUARD_INJECT_H2C', `${where}: the serving port ${p.name ?? p.port} has appProtocol ${protocol}; ${WHAT_TO_DO}`);
  }
  if (TLS_NAME.test(name)) throw new InjectError('GUARD_INJECT_TLS', `${where}: the serving port ${name} (${p.port}) is named for TLS; ${TLS_WHAT_TO_DO}`);
  if (TLS_APP_PROTOCOLS.has(protocol)) throw new InjectError('GUARD_INJECT_TLS', `${where}: the serving port ${p.name ?? p.port} has appProtocol ${protocol}; ${TLS_WHAT_TO_DO}`);
}

function labelsOf(o: JsonObject, path: string[]): JsonObject {
  const v = get(o, path);
  return isObject(v) ? v : {};
}

function namespaceOf(o: JsonObject): string {
  const ns = get(o, ['metadata', 'namespace']);
  return typeof ns === 'string' ? ns : '';
}

/**
 * Refuse a workload whose gate port a Service of the same manifest reaches with h2c: a Service in
 * its namespace whose selector its pods match, with a port of such an appProtocol targeting the
 * gate's port by number or name.
 */
export function refuseH2cServices(services: readonly JsonObject[], workload: JsonObject, template: JsonObject, gate: ServedPort, where: string): void {
  const podLabels = labelsOf(template, ['metadata', 'labels']);
  for (const s of services) {
    const selector = labelsOf(s, ['spec', 'selector']);
    const keys = Object.keys(selector);
    // A manifest often leaves the namespace to `kubectl -n`: only two different names tell apart.
    const [a, b] = [namespaceOf(s), namespaceOf(workload)];
    if (keys.length === 0 || (a !== '' && b !== '' && a !== b)) continue;
    if (!keys.every((k) => podLabels[k] === selector[k])) continue;
    const ports = get(s, ['spec', 'ports']);
    for (const sp of Array.isArray(ports) ? ports.filter(isObject) : []) {
      const target = sp.targetPort ?? sp.port;
      const aimed = target === gate.port || (gate.name !== null && target === gate.name) || (typeof target === 'string' && target === String(gate.port));
      if (!aimed || typeof sp.appProtocol !== 'string') continue;
      const protocol = sp.appProtocol.toLowerCase();
      if (H2C_APP_PROTOCOLS.has(protocol)) {
        throw new InjectError('GUARD_INJECT_H2C', `${where}: Service ${String(get(s, ['metadata', 'name']) ?? '')} reaches its port ${gate.name ?? gate.port} with appProtocol ${protocol}; ${WHAT_TO_DO}`);
      }
      if (TLS_APP_PROTOCOLS.has(protocol)) {
        throw new InjectError('GUARD_INJECT_TLS', `${where}: Service ${String(get(s, ['metadata', 'name']) ?? '')} reaches its port ${gate.name ?? gate.port} with appProtocol ${protocol}; ${TLS_WHAT_TO_DO}`);
      }
    }
  }
}
