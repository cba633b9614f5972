// Shared setup of the guard-service API tests: a service on port 0 over a file store in a temporary
// directory, the Kubernetes stand-in for authentication, piles and sync messages built with the
// real core, and a real undici client.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { request } from 'undici';
import { afterEach } from 'vitest';
import { loadCore } from '../../core/index.js';
import { ApiError } from '../../service/api-errors.js';
import { serviceConfig, startService, type RunningService, type ServiceConfig, type ServiceOptions } from '../../service/index.js';
import type { ReplicasConfig } from '../../service/replicas.js';
import { FileGuardianStore } from '../../store/file.js';
import { startKubeStandin, type KubeStandin } from '../kube/standin.js';

export const core = loadCore();
export const silent = pino({ level: 'silent' });

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'guard-service-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true, maxRetries: 5 }));
  return dir;
}

export async function standin(): Promise<KubeStandin> {
  const kube = await startKubeStandin();
  cleanups.push(() => kube.close());
  return kube;
}

export interface Started {
  service: RunningService;
  url: string;
  dir: string;
  /** A second store on the same directory: what is on disk. */
  disk: FileGuardianStore;
}

/** guard-service with the file store; with `kube`, gates and people authenticate through it. */
export async function start(kube: KubeStandin | null, config: Partial<ServiceConfig> = {}, options: ServiceOptions = {}): Promise<Started> {
  const dir = await tempDir();
  const service = await startService(
    serviceConfig({
      port: 0,
      address: '127.0.0.1',
      auth: kube !== null,
      peopleAuth: kube ? 'kubernetes' : 'token',
      store: 'file',
      storeDir: dir,
      ...config,
    }),
    { logger: silent, kubeConfig: kube?.kubeConfig(), ...options },
  );
  let closed = false;
  const disk = new FileGuardianStore(dir, { report: () => {} });
  cleanups.push(async () => {
    if (!closed) await service.close();
    await disk.close();
  });
  return {
    service: { ...service, close: () => ((closed = true), service.close()) },
    url: service.url,
    dir,
    disk,
  };
}

/** A gate of pod `pod` (labels given) in `namespace`, with its projected token. */
export function gate(kube: KubeStandin, namespace: string, pod: string, labels: Record<string, string>, audiences = ['guard-service']): string {
  kube.state.addPod({ namespace, name: pod, labels });
  return kube.state.mintServiceAccountToken({ namespace, serviceAccount: 'default', podName: pod, audiences });
}

/** The wire JSON of a pile of `n` sessions `METHOD /path`. */
export function pileText(n: number, method = 'GET', path = '/a'): string {
  const pile = core.newPile();
  const s = core.newSession();
  s.profileRequest({ method, path, headers: [['Accept', '*/*']], remote: '8.8.8.8' });
  for (let i = 0; i < n; i++) pile.add(s);
  s.dispose();
  try {
    return pile.toWire();
  } finally {
    pile.dispose();
  }
}

export function syncBody(n: number, extra: { method?: string; alerts?: unknown[]; compromised?: boolean } = {}): string {
  return `{"pile":${pileText(n, extra.method)},"alerts":${JSON.stringify(extra.alerts ?? null)},"compromised":${extra.compromised ?? false}}`;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export async function call(url: string, init: { method?: string; token?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  const res = await request(url, { method: (init.method ?? (init.body !== undefined ? 'POST' : 'GET')) as 'GET', headers, body: init.body });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

export function sync(url: string, token: string | undefined, body: string, query = ''): Promise<Answer> {
  return call(`${url}/sync${query}`, { method: 'POST', token, body });
}

/** Re-check `check` until it holds (state another process or a background write changes). */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('the condition did not hold in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function methods(spec: any): string[] {
  return [...(spec?.learned?.req?.method?.set ?? [])].sort();
}

/** The ApiError `p` rejects with (any other outcome fails the test). */
export async function refusal(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected an ApiError, but the call resolved');
}

/** TokenReviews the stand-in has answered so far. */
export function tokenReviews(kube: KubeStandin): number {
  return kube.state.requests.filter((r) => r.path.endsWith('/tokenreviews')).length;
}

/**
 * A guard-service replica as the replica tests run it: authenticated, on the CRD store, one of the
 * replicas dividing 8 shards with Leases in `guard-system`, its sync limit out of the way (the
 * simulated gates sync as fast as they are answered, not every 5 s as a gate does); plain HTTP
 * unless `tls` is given.
 */
export function replicaConfig(identity: string, o: { replicas?: Partial<ReplicasConfig>; tls?: ServiceConfig['tls']; alertEvents?: ServiceConfig['alertEvents'] } = {}): ServiceConfig {
  return serviceConfig({
    port: 0,
    address: '127.0.0.1',
    auth: true,
    peopleAuth: 'kubernetes',
    store: 'kube-crd',
    tls: o.tls ?? null,
    ...(o.alertEvents ? { alertEvents: o.alertEvents } : {}),
    syncLimit: { burst: 1000, perMinute: 600_000 },
    replicas: { shards: 8, leaseSeconds: 2, namespace: 'guard-system', identity, peerUrl: '', peerCaFile: null, peerServerName: null, ...o.replicas },
  });
}
