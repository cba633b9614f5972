// guard-webhook over HTTPS with real AdmissionReview requests, as the API server sends them: the
// patch, applied, is the injection and keeps everything the object had; an unlabelled pod is
// untouched; a malformed review gets an error and no patch; the certificate is rotated while the
// webhook serves. Certificates are made with the openssl CLI.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { injectManifests, injectObject } from '../../inject/index.js';
import { readWebhookConfig, startWebhook, WebhookConfigError, type RunningWebhook } from '../../webhook/index.js';
import { applyJsonPatch } from '../kube/json-patch.js';
import { guardianSpec } from '../vectors/fixtures.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const OPENSSL = '/usr/bin/openssl';
const hasOpenssl = existsSync(OPENSSL);
const run = promisify(execFile);
type Obj = Record<string, any>;

/** A CA and two leaves it signed for localhost (the second one for the rotation). */
async function makePki(dir: string): Promise<void> {
  const openssl = (...args: string[]) => run(OPENSSL, args, { cwd: dir, timeout: 10_000 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=guard-webhook test CA', '-keyout', 'ca.key', '-out', 'ca.crt', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  await writeFile(join(dir, 'leaf.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  for (const leaf of ['a', 'b']) {
    await openssl('req', '-new', ...ec, '-subj', `/CN=guard-webhook ${leaf}`, '-keyout', `${leaf}.key`, '-out', `${leaf}.csr`);
    await openssl('x509', '-req', '-in', `${leaf}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', leaf === 'a' ? '0xa1' : '0xb2', '-days', '2', '-extfile', 'leaf.ext', '-out', `${leaf}.crt`);
  }
}

const review = (object: Obj, extra: Obj = {}) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: { uid: `uid-${Math.random().toString(36).slice(2)}`, kind: { group: '', version: 'v1', kind: object.kind }, operation: 'CREATE', namespace: 'shop', object, ...extra },
});

const objects = (text: string): Obj[] => parseAllDocuments(text).map((d) => (d as { toJS(): Obj }).toJS()).filter((o) => o !== null);
const manifest = (path: string): Obj[] => objects(readFileSync(join(root, path), 'utf8'));
const enabled = (o: Obj): Obj => ({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, 'guard.security.knative.dev/inject': 'enabled' } } });
const patchOf = (r: { json: Obj }): Obj[] => JSON.parse(Buffer.from(r.json.response.patch, 'base64').toString('utf8')) as Obj[];
const containerOf = (o: Obj, name: string): Obj => (o.spec.template ?? o).spec.containers.find((c: Obj) => c.name === name);
const envOf = (c: Obj): Record<string, string> => Object.fromEntries((c.env ?? []).map((e: Obj) => [e.name, e.value]));

/**
 * Where the examples' images listen, by what their programs do: hello-app and helloworld-go read
 * PORT (8080 without it); nginx-unprivileged listens on 8080 whatever PORT says. An example with an
 * image not listed here fails until someone says how it picks its port.
 */
const LISTENS: Record<string, (env: Record<string, string>) => number> = {
  'us-docker.pkg.dev/google-samples/containers/gke/hello-app': (env) => Number(env.PORT ?? 8080),
  'ghcr.io/knative/helloworld-go': (env) => Number(env.PORT ?? 8080),
  'nginxinc/nginx-unprivileged': () => 8080,
};

const pod = (labels: Obj = {}, spec: Obj = {}): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { generateName: 'shop-7c9f-', namespace: 'shop', labels: { app: 'shop', ...labels }, annotations: { 'prometheus.io/scrape': 'true' } },
  spec: { containers: [{ name: 'shop', image: 'shop:1', ports: [{ name: 'http', containerPort: 8080 }], env: [{ name: 'DB', value: 'pg' }] }], ...spec },
});

describe.skipIf(!hasOpenssl)('guard-webhook over HTTPS', () => {
  let dir: string;
  let webhook: RunningWebhook;
  let agent: Agent;
  let url: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'guard-webhook-'));
    await makePki(dir);
    await copyFile(join(dir, 'a.crt'), join(dir, 'tls.crt'));
    await copyFile(join(dir, 'a.key'), join(dir, 'tls.key'));
    const config = readWebhookConfig({ GUARD_WEBHOOK_PORT: '1', GUARD_WEBHOOK_TLS_CERT: join(dir, 'tls.crt'), GUARD_WEBHOOK_TLS_KEY: join(dir, 'tls.key'), GUARD_WEBHOOK_GATE_IMAGE: 'guard:test' });
    webhook = await startWebhook({ ...config, port: 0, address: '127.0.0.1' }, { certCheckMs: 3_600_000 });
    url = `https://localhost:${webhook.port}`;
    agent = new Agent({ connect: { ca: await readFile(join(dir, 'ca.crt')) } });
  });
  afterAll(async () => {
    await agent?.close();
    await webhook?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function post(path: string, body: unknown, contentType = 'application/json', dispatcher = agent) {
    const r = await request(`${url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': contentType }, dispatcher });
    return { status: r.statusCode, json: (await r.body.json()) as Obj };
  }

  it('patches a labelled pod: the patch applied is the injection, and keeps everything the pod had', async () => {
    const object = pod({ 'guard.security.knative.dev/inject': 'enabled' });
    const sent = review(object);
    const r = await post('/inject', sent);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: sent.request.uid, allowed: true, patchType: 'JSONPatch' } });
    const patch = JSON.parse(Buffer.from(r.json.response.patch, 'base64').toString('utf8')) as Obj[];
    const patched = applyJsonPatch(structuredClone(object), patch) as Obj;
    const expected = structuredClone(object);
    injectObject(expected, { image: 'guard:test', namespace: 'shop' });
    expect(patched).toEqual(expected);
    // Nothing of the pod's is lost: its labels, annotations, containers and variables are all there.
    expect(patched.metadata.labels).toMatchObject(object.metadata.labels);
    expect(patched.metadata.annotations).toMatchObject(object.metadata.annotations);
    expect(patched.spec.containers.map((c: Obj) => c.name)).toEqual(['shop', 'guard-gate']);
    expect(patched.spec.containers[0].env).toContainEqual({ name: 'DB', value: 'pg' });
    // The only member removed is the app's port, which moved to the gate.
    expect(patch.filter((op) => op.op === 'remove').map((op) => op.path)).toEqual(['/spec/containers/0/ports']);
    expect(patched.spec.containers[1].ports[0]).toEqual({ name: 'http', containerPort: 8080 });
    // A pod made from an injected template is not injected twice.
    const again = await post('/inject', review(patched));
    expect(again.json.response).toEqual({ uid: expect.any(String), allowed: true });
  });

  it('leaves an unlabelled pod untouched, and one opted out of an opted-in namespace', async () => {
    for (const [path, object] of [['/inject', pod()], ['/inject-namespace', pod({ 'guard.security.knative.dev/inject': 'disabled' })]] as const) {
      const sent = review(object);
      const r = await post(path, sent);
      expect(r.status).toBe(200);
      expect(r.json.response).toEqual({ uid: sent.request.uid, allowed: true });
    }
    const r = await post('/inject-namespace', review(pod()));
    expect(r.json.response.patchType).toBe('JSONPatch');
  });

  it('honours the original\'s activation annotation on a Knative Service', async () => {
    const ksvc = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hello', namespace: 'shop' }, spec: { template: { metadata: { annotations: { 'qpoption.knative.dev/guard-activate': 'enable', 'autoscaling.knative.dev/min-scale': '1' } }, spec: { containers: [{ image: 'hello:1' }] } } } };
    const r = await post('/inject', review(ksvc));
    const patched = applyJsonPatch(structuredClone(ksvc), JSON.parse(Buffer.from(r.json.response.patch, 'base64').toString())) as Obj;
    expect(patched.spec.template.spec.containers.map((c: Obj) => c.name ?? c.image)).toEqual(['hello:1', 'guard-gate']);
    // Other annotations are kept (the original's webhook replaced the whole map).
    expect(patched.spec.template.metadata.annotations['autoscaling.knative.dev/min-scale']).toBe('1');
  });

  it.each([
    ['Deployment', 'test/inject/fixtures/deployment-probes-two-containers.yaml'],
    ['StatefulSet', 'test/inject/fixtures/statefulset.yaml'],
    ['DaemonSet', 'test/inject/fixtures/daemonset.yaml'],
  ])('patches a labelled %s to what `guard inject` makes of it', async (kind, path) => {
    const object = enabled(manifest(path).find((o) => o.kind === kind)!);
    const sent = review(object, { kind: { group: 'apps', version: 'v1', kind }, namespace: object.metadata.namespace ?? 'shop' });
    const r = await post('/inject', sent);
    expect(r.json.response).toMatchObject({ uid: sent.request.uid, allowed: true, patchType: 'JSONPatch' });
    const patched = applyJsonPatch(structuredClone(object), patchOf(r)) as Obj;
    const [cli] = objects(injectManifests(JSON.stringify(object), { image: 'guard:test' }).text);
    expect(patched).toEqual(cli);
    expect(containerOf(patched, 'guard-gate')).toBeDefined();
    // An object already injected, created or updated again, gets no patch.
    for (const operation of ['CREATE', 'UPDATE']) {
      const again = await post('/inject', review(patched, { operation, oldObject: operation === 'UPDATE' ? patched : undefined }));
      expect(again.json.response).toEqual({ uid: expect.any(String), allowed: true });
    }
  });

  it.each([
    ['a Deployment', () => enabled(manifest('deploy/examples/deployment.yaml')[0]!)],
    ['a Knative Service', () => manifest('deploy/examples/knative-service.yaml')[0]!],
  ])('injects again %s whose update dropped the gate but kept the record (client-side kubectl apply)', async (_what, source) => {
    const original = source();
    const injected = structuredClone(original);
    injectObject(injected, { image: 'guard:test', namespace: 'default' });
    // The update: the source's containers, with a new image, and everything else as it was.
    const updated = structuredClone(injected);
    updated.spec.template.spec.containers = structuredClone(original.spec.template.spec.containers);
    updated.spec.template.spec.containers[0].image += '-next';
    expect(updated.spec.template.metadata.annotations['guard.security.knative.dev/injected']).toBeTypeOf('string');
    const sent = review(updated, { operation: 'UPDATE', namespace: 'default', oldObject: injected });
    const r = await post('/inject', sent);
    expect(r.json.response).toMatchObject({ uid: sent.request.uid, allowed: true, patchType: 'JSONPatch' });
    const patched = applyJsonPatch(structuredClone(updated), patchOf(r)) as Obj;
    // The same as a fresh injection of the updated source: the gate is back, and one of each.
    const expected = structuredClone(original);
    expected.spec.template.spec.containers[0].image += '-next';
    injectObject(expected, { image: 'guard:test', namespace: 'default' });
    expect(patched).toEqual(expected);
    expect(patched.spec.template.spec.containers.filter((c: Obj) => c.name === 'guard-gate')).toHaveLength(1);
    expect(patched.spec.template.spec.volumes.filter((v: Obj) => v.name === 'guard-service-token')).toHaveLength(1);
  });

  it('refuses an update that dropped the gate when it cannot be added again, naming why, with no patch', async () => {
    const injected = enabled(manifest('deploy/examples/deployment.yaml')[0]!);
    injectObject(injected, { image: 'guard:test' });
    // `kubectl get -o yaml`, the gate deleted by hand, applied: the app's port had moved to the gate.
    const updated = structuredClone(injected);
    updated.spec.template.spec.containers = updated.spec.template.spec.containers.filter((c: Obj) => c.name !== 'guard-gate');
    const r = await post('/inject', review(updated, { operation: 'UPDATE', namespace: 'default', oldObject: injected }));
    expect(r.json.response).toMatchObject({ allowed: false, status: { code: 403, message: expect.stringMatching(/guard-gate, but the container is gone.*GUARD_INJECT_NO_PORT.*\(GUARD_INJECT_GATE_MISSING\)/) } });
    expect(r.json.response.patch).toBeUndefined();
  });

  it('refuses a Knative Service served in h2c, which the gate cannot proxy, with the reason and no patch', async () => {
    const ksvc = manifest('deploy/examples/knative-service.yaml')[0]!;
    ksvc.spec.template.spec.containers[0].ports = [{ name: 'h2c', containerPort: 8080 }];
    // Opted in by itself or with its namespace: a serving workload left unguarded is a choice made
    // with the label guard.security.knative.dev/inject=disabled, not one the webhook makes for it.
    for (const path of ['/inject', '/inject-namespace']) {
      const r = await post(path, review(ksvc, { namespace: 'default' }));
      expect(r.json.response, path).toMatchObject({ allowed: false, status: { code: 403, message: expect.stringMatching(/named h2c.*HTTP\/1\.1 only.*\(GUARD_INJECT_H2C\); label it guard\.security\.knative\.dev\/inject=disabled/) } });
      expect(r.json.response.patch, path).toBeUndefined();
    }
  });

  it.each([
    ['deploy/examples/deployment.yaml', {}],
    ['deploy/examples/knative-service.yaml', {}],
    // A fixed-port app (nginx listens on 8080 whatever PORT says) tells where it listens, and gives clients another port.
    ['deploy/examples/deployment.yaml', { image: 'nginxinc/nginx-unprivileged:1.27-alpine', annotations: { 'guard.security.knative.dev/app-port': '8080' }, port: 8000 }],
  ] as Array<[string, { image?: string; annotations?: Obj; port?: number }]>)('%s %j, injected by the webhook: the gate forwards where the app listens', async (path, change) => {
    const [source, service] = manifest(path);
    const app = source!.spec.template.spec.containers[0];
    if (change.image) app.image = change.image;
    if (change.port) app.ports[0].containerPort = change.port;
    if (change.annotations) source!.spec.template.metadata.annotations = change.annotations;
    const r = await post('/inject', review(source!, { namespace: 'default' }));
    expect(r.json.response.allowed).toBe(true);
    const patched = applyJsonPatch(structuredClone(source), patchOf(r)) as Obj;
    const injectedApp = containerOf(patched, app.name);
    const gate = containerOf(patched, 'guard-gate');
    const listens = LISTENS[injectedApp.image.replace(/:[^/]*$/, '')];
    expect(listens, `how ${injectedApp.image} picks its port`).toBeDefined();
    const appPort = listens!(envOf(injectedApp));
    expect(envOf(gate).PROTECTED_SERVICE).toBe(`http://127.0.0.1:${appPort}`);
    expect(injectedApp.readinessProbe.httpGet.port).toBe(appPort);
    // The gate holds the port clients reach — the Service's target, by name — and the app no longer declares it.
    expect(gate.ports[0].containerPort).not.toBe(appPort);
    expect(injectedApp.ports ?? []).toEqual([]);
    if (service) expect(gate.ports[0].name).toBe(service.spec.ports[0].targetPort);
  });

  it('refuses an opted-in pod it cannot guard, saying why, rather than admitting it unprotected', async () => {
    const r = await post('/inject', review(pod({ 'guard.security.knative.dev/inject': 'enabled' }, { hostNetwork: true })));
    expect(r.json.response).toMatchObject({ allowed: false, status: { code: 403, message: expect.stringMatching(/hostNetwork.*GUARD_INJECT_HOST_NETWORK/) } });
    expect(r.json.response.patch).toBeUndefined();
  });

  it('admits, with a warning, what serves nothing in an opted-in namespace; refuses it when opted in by itself', async () => {
    const job = pod({}, { containers: [{ name: 'migrate', image: 'migrate:1' }], restartPolicy: 'Never' });
    const inNamespace = await post('/inject-namespace', review(job));
    expect(inNamespace.json.response).toMatchObject({ allowed: true, warnings: [expect.stringMatching(/not guarded: .*no container declares .*GUARD_INJECT_NO_PORT/)] });
    expect(inNamespace.json.response.patch).toBeUndefined();
    const labelled = await post('/inject', review({ ...job, metadata: { ...job.metadata, labels: { ...job.metadata.labels, 'guard.security.knative.dev/inject': 'enabled' } } }));
    expect(labelled.json.response).toMatchObject({ allowed: false, status: { message: expect.stringMatching(/GUARD_INJECT_NO_PORT/) } });
  });

  it('refuses a Guardian that Guard could not load, with the core\'s reason; admits the original\'s and Guard\'s own', async () => {
    const guardian = (spec: unknown) => ({ apiVersion: 'guard.security.knative.dev/v1alpha1', kind: 'Guardian', metadata: { name: 'shop', namespace: 'shop' }, spec });
    const asked = (object: Obj, operation = 'CREATE') => review(object, { kind: { group: 'guard.security.knative.dev', version: 'v1alpha1', kind: 'Guardian' }, operation, name: 'shop' });
    // The original's example Guardian, and one with Guard's own members (learning time, sync ids).
    for (const spec of [guardianSpec(), { ...guardianSpec(), learnedAt: '2026-12-07T17:30:00.000Z', syncs: ['cart-1:7'] }]) {
      const sent = asked(guardian(spec));
      const r = await post('/validate-guardian', sent);
      expect(r.json.response).toEqual({ uid: sent.request.uid, allowed: true });
    }
    // What the core refuses, with its reason, and the store's forms; on update as on create.
    const broken = guardianSpec();
    broken.learned.req.method = { set: 5 };
    for (const [spec, reason] of [
      [broken, /Guardian shop\/shop: .*method/i],
      [{ ...guardianSpec(), samples: -3 }, /samples must be an integer from 0 to 1000000, got -3/],
      [{ ...guardianSpec(), learnedAt: 'yesterday' }, /learnedAt must be a UTC date-time/],
      [{ ...guardianSpec(), control: { block: 'yes' } }, /Guardian shop\/shop: .*block/],
    ] as const) {
      for (const operation of ['CREATE', 'UPDATE']) {
        const r = await post('/validate-guardian', asked(guardian(spec), operation));
        expect(r.json.response, JSON.stringify(spec).slice(0, 80)).toMatchObject({ allowed: false, status: { code: 422, message: expect.stringMatching(reason) } });
        expect(r.json.response.status.message).toMatch(/would not load it and would keep the Guardian they have$/);
      }
    }
    const noSpec = await post('/validate-guardian', asked({ apiVersion: 'guard.security.knative.dev/v1alpha1', kind: 'Guardian', metadata: { name: 'shop' } }));
    expect(noSpec.json.response).toMatchObject({ allowed: false, status: { message: expect.stringMatching(/has no spec/) } });
    // A deletion is not the webhook's to judge.
    const gone = await post('/validate-guardian', asked(guardian(broken), 'DELETE'));
    expect(gone.json.response.allowed).toBe(true);
    // A malformed review is an error, as on the other routes.
    expect((await post('/validate-guardian', '{"kind":"AdmissionReview"}')).status).toBe(400);
  });

  it('judges the ConfigMap store\'s Guardians the same way: the spec under data.Guardian', async () => {
    const configMap = (data: Obj) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'guardian.shop', namespace: 'shop' }, data });
    const asked = (object: Obj) => review(object, { kind: { group: '', version: 'v1', kind: 'ConfigMap' }, operation: 'UPDATE', name: 'guardian.shop' });
    const good = await post('/validate-guardian', asked(configMap({ Guardian: JSON.stringify(guardianSpec()), other: 'kept' })));
    expect(good.json.response.allowed).toBe(true);
    const broken = guardianSpec();
    broken.learned.req.method = { set: 5 };
    for (const [data, reason] of [
      [{ Guardian: JSON.stringify(broken) }, /ConfigMap shop\/guardian\.shop: .*method/],
      [{ Guardian: '{"configured": ' }, /ConfigMap shop\/guardian\.shop: data\.Guardian is not JSON/],
    ] as const) {
      const r = await post('/validate-guardian', asked(configMap(data)));
      expect(r.json.response).toMatchObject({ allowed: false, status: { code: 422, message: expect.stringMatching(reason) } });
    }
    // A ConfigMap without a Guardian is not the webhook's to judge.
    expect((await post('/validate-guardian', asked(configMap({ unrelated: 'x' })))).json.response.allowed).toBe(true);
  });

  it('answers a malformed review with an error and no patch', async () => {
    for (const [body, type, status] of [
      ['{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1"}', 'application/json', 400],
      ['{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"object":{}}}', 'application/json', 400],
      ['{not json', 'application/json', 400],
      [JSON.stringify(review(pod())), 'text/plain', 415],
    ] as const) {
      const r = await post('/inject', body, type);
      expect(r.status, body).toBe(status);
      expect(r.json.error.code).toBe('GUARD_WEBHOOK_REVIEW');
      expect(r.json.response).toBeUndefined();
    }
  });

  it('rotates its certificate while serving: new connections get the new one, open ones keep working', async () => {
    const serial = () =>
      new Promise<string>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: webhook.port, servername: 'localhost', rejectUnauthorized: false }, () => {
          resolve(s.getPeerCertificate().serialNumber);
          s.end();
        });
        s.on('error', reject);
      });
    // An open keep-alive connection, made with the first certificate.
    const open = new Agent({ connect: { ca: await readFile(join(dir, 'ca.crt')) }, connections: 1 });
    expect((await post('/inject', review(pod()), 'application/json', open)).status).toBe(200);
    expect((await serial()).toUpperCase()).toBe('A1');
    // A broken pair is refused and the one in use stays.
    await writeFile(join(dir, 'tls.crt'), 'garbage');
    await webhook.reloadCertificate();
    expect((await serial()).toUpperCase()).toBe('A1');
    await copyFile(join(dir, 'b.key'), join(dir, 'tls.key'));
    await copyFile(join(dir, 'b.crt'), join(dir, 'tls.crt'));
    await webhook.reloadCertificate();
    expect((await serial()).toUpperCase()).toBe('B2');
    expect((await post('/inject', review(pod()))).status).toBe(200);
    expect((await post('/inject', review(pod()), 'application/json', open)).status).toBe(200);
    await open.close();
  });

  it('reads its configuration strictly', () => {
    expect(() => readWebhookConfig({ GUARD_WEBHOOK_PORT: '70000' })).toThrow(WebhookConfigError);
    expect(() => readWebhookConfig({ GUARD_WEBHOOK_GUARD_SERVICE_CA: join(dir, 'missing.pem') })).toThrow(/GUARD_WEBHOOK_GUARD_SERVICE_CA: cannot read/);
    expect(readWebhookConfig({})).toMatchObject({ port: 8443, certFile: '/secrets/tls.crt', gateImage: 'guard:0.1.0', guardServiceUrl: null, guardServiceCa: null });
  });
});
