// The guard-gate container, its token volume and the ports it needs, as `guard inject` and the
// webhook add them to a pod template. What each setting is for: docs/operations.md.
import type { JsonObject } from './changes.js';

export const GATE_CONTAINER = 'guard-gate';
export const TOKEN_VOLUME = 'guard-service-token';
export const CA_VOLUME = 'guard-service-ca';
export const CA_CONFIGMAP = 'guard-service-ca';
export const DEFAULT_GATE_IMAGE = 'guard:0.1.0';
export const DEFAULT_ADMIN_PORT = 22001;
/** After SIGTERM: serving, not ready (GUARD_SHUTDOWN_DELAY), then the drain (GUARD_DRAIN_TIMEOUT), then the final sync (5 s). */
export const SHUTDOWN_DELAY_SECONDS = 5;
export const DRAIN_TIMEOUT_SECONDS = 10;
export const FINAL_SYNC_SECONDS = 5;
/** What the pod's terminationGracePeriodSeconds must cover, with a margin. */
export const MIN_GRACE_SECONDS = SHUTDOWN_DELAY_SECONDS + DRAIN_TIMEOUT_SECONDS + FINAL_SYNC_SECONDS + 5;
export const GATE_USER = 65532;

export interface GateSpec {
  image: string;
  serviceName: string;
  /** A literal namespace, or null for the pod's own (downward API). */
  namespace: string | null;
  /** The port clients use: the gate listens there. */
  port: number;
  portName: string | null;
  protocol: string | null;
  appPort: number;
  adminPort: number;
  /** Knative: the serving container gets PORT from Knative and may carry one port and no probes. */
  knative: boolean;
  guardServiceUrl: string | null;
  /** guard-service's CA as PEM (GUARD_SERVICE_CA), or null to mount the ConfigMap guard-service-ca. */
  guardServiceCa: string | null;
  /** Further gate variables (the original's qpoption guard-config-* annotations, translated). */
  extraEnv: ReadonlyArray<[string, string]>;
}

const value = (name: string, v: string): JsonObject => ({ name, value: v });

export function gateContainer(g: GateSpec): JsonObject & { name: string } {
  const env: JsonObject[] = [
    value('SERVICE_NAME', g.serviceName),
    g.namespace === null ? { name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } } : value('NAMESPACE', g.namespace),
    value('PROTECTED_SERVICE', `http://127.0.0.1:${g.appPort}`),
  ];
  // Knative sets PORT on the serving container itself (and refuses it in the spec).
  if (!g.knative) env.push(value('PORT', String(g.port)));
  if (g.adminPort !== DEFAULT_ADMIN_PORT) env.push(value('GUARD_ADMIN_PORT', String(g.adminPort)));
  if (g.guardServiceUrl !== null) env.push(value('GUARD_SERVICE_URL', g.guardServiceUrl));
  env.push(g.guardServiceCa !== null ? value('GUARD_SERVICE_CA', g.guardServiceCa) : value('GUARD_SERVICE_CA_FILE', '/var/run/secrets/guard-service-ca/ca.crt'));
  env.push(value('GUARD_SHUTDOWN_DELAY', `${SHUTDOWN_DELAY_SECONDS}s`), value('GUARD_DRAIN_TIMEOUT', `${DRAIN_TIMEOUT_SECONDS}s`));
  // The memory settings of docs/performance.md: the sidecar stays under 100 MB under load.
  env.push(value('NODE_OPTIONS', '--max-semi-space-size=4 --max-old-space-size=128'), value('MALLOC_TRIM_THRESHOLD_', '131072'));
  for (const [k, v] of g.extraEnv) env.push(value(k, v));

  const servingPort: JsonObject = { containerPort: g.port };
  if (g.portName !== null) servingPort.name = g.portName;
  if (g.protocol !== null) servingPort.protocol = g.protocol;
  const ports: JsonObject[] = g.knative ? [servingPort] : [{ name: g.portName ?? 'http', containerPort: g.port, ...(g.protocol ? { protocol: g.protocol } : {}) }, { name: 'guard-admin', containerPort: g.adminPort }];

  const mounts: JsonObject[] = [{ name: TOKEN_VOLUME, mountPath: '/var/run/secrets/tokens', readOnly: true }];
  if (g.guardServiceCa === null) mounts.push({ name: CA_VOLUME, mountPath: '/var/run/secrets/guard-service-ca', readOnly: true });

  const container: JsonObject & { name: string } = {
    name: GATE_CONTAINER,
    image: g.image,
    args: ['gate'],
    ports,
    env,
    volumeMounts: mounts,
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: GATE_USER,
      capabilities: { drop: ['ALL'] },
    },
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
  };
  // Knative probes the serving container through queue-proxy (a TCP connect to the port, open once
  // a Guardian is in force); elsewhere the kubelet asks the admin port.
  if (!g.knative) {
    container.readinessProbe = { httpGet: { path: '/readyz', port: 'guard-admin' }, periodSeconds: 5 };
    container.livenessProbe = { httpGet: { path: '/healthz', port: 'guard-admin' }, periodSeconds: 10 };
  }
  return container;
}

/** The projected token the gate shows guard-service: audience guard-service, renewed by the kubelet. */
export function tokenVolume(): JsonObject & { name: string } {
  return {
    name: TOKEN_VOLUME,
    projected: { sources: [{ serviceAccountToken: { audience: 'guard-service', expirationSeconds: 3600, path: 'guard-service' } }] },
  };
}

export function caVolume(): JsonObject & { name: string } {
  return { name: CA_VOLUME, configMap: { name: CA_CONFIGMAP, items: [{ key: 'ca.crt', path: 'ca.crt' }] } };
}
