// guard-webhook over HTTPS with real AdmissionReview requests, as the API server sends them: the
// patch, applied, is the injection and keeps everything the object had; an unlabelled pod is
// untouched; a malformed review gets an error and no patch; the certificate is rotated while the
// webhook serves. Certificates are made with the openssl CLI.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { injectObject } from '../../inject/index.js';
import { readWebhookConfig, startWebhook, WebhookConfigError, type RunningWebhook } from '../../webhook/index.js';
import { applyJsonPatch } from '../kube/json-patch.js';
import { guardianSpec } from '../vectors/fixtures.js';

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
