// `guard inject` on real-world manifests: each output is its golden file, validates offline against
// the Kubernetes and Knative schemas (kubernetes-models), injects idempotently, and goes back to
// the input through --uninject. Then the refusals, and the command itself (files, stdin, exit).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Service as KnativeService } from '@kubernetes-models/knative/serving.knative.dev/v1/Service';
import { DaemonSet, Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Pod } from 'kubernetes-models/v1';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { spawnGuard } from '../support/cli.js';
import { injectManifests, uninjectManifests, type InjectOptions } from '../../inject/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const here = join(root, 'test', 'inject');
const built = existsSync(join(root, 'build', 'js', 'cli', 'index.js'));
const dir = mkdtempSync(join(tmpdir(), 'guard-inject-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Obj = Record<string, any>;
const objects = (text: string): Obj[] => parseAllDocuments(text).map((d) => (d as { toJS(): Obj }).toJS()).filter((o) => o !== null);

const MODELS: Record<string, new (o: any) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'apps/v1/DaemonSet': DaemonSet,
  'v1/Pod': Pod,
  'serving.knative.dev/v1/Service': KnativeService,
};

/**
 * Validates a workload against its published schema. Knative's schema takes the core Container,
 * whose `name` is required; Knative itself defaults a missing name (user-container, or
 * user-container-<i> with several), so the validator is given the names Knative would give.
 */
function validate(o: Obj): void {
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) return;
  const copy = structuredClone(o);
  if (o.apiVersion === 'serving.knative.dev/v1') {
    const cs = copy.spec.template.spec.containers as Obj[];
    cs.forEach((c, i) => (c.name ??= cs.length === 1 ? 'user-container' : `user-container-${i}`));
  }
  new Model(copy).validate();
}

/** Knative's own rules a schema cannot say: exactly one container declares exactly one port, no PORT on it, no probes port-less on the others. */
function knativeRules(o: Obj): void {
  const cs = o.spec.template.spec.containers as Obj[];
  const declaring = cs.filter((c) => (c.ports ?? []).length > 0);
  expect(declaring).toHaveLength(1);
  expect(declaring[0].ports).toHaveLength(1);
  expect((declaring[0].env ?? []).map((e: Obj) => e.name)).not.toContain('PORT');
  for (const c of cs.filter((x) => x !== declaring[0])) {
    for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe']) if (c[p]?.httpGet) expect(c[p].httpGet.port, `${c.name} ${p}`).toBeTypeOf('number');
  }
}

/** A one-container Deployment `api` (labels app: api) whose container has `ports` (YAML of its members). */
const deployment = (ports: string, annotations: Obj = {}) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}, annotations: ${JSON.stringify(annotations)}}\n    spec:\n      containers:\n        - name: api\n          image: api:1\n          ${ports}\n`;
const service = (port: string, app = 'api') => `apiVersion: v1\nkind: Service\nmetadata: {name: ${app}}\nspec:\n  selector: {app: ${app}}\n  ports: [${port}]\n`;

const CASES: Array<[fixture: string, options: InjectOptions]> = [
  ['deployment-probes-two-containers', {}],
  ['statefulset', {}],
  ['daemonset', { guardServiceUrl: 'https://guard-service.guard-system.svc' }],
  ['knative-explicit-port', {}],
  ['knative-default-port', {}],
  ['pod-named-ports', { port: 'api' }],
];

describe('guard inject on real-world manifests', () => {
  it.each(CASES)('%s: the golden output, valid for the schema, idempotent, and --uninject gives the input back', (name, options) => {
    const input = readFileSync(join(here, 'fixtures', `${name}.yaml`), 'utf8');
    const out = injectManifests(input, options);
    const golden = join(here, 'golden', `${name}.yaml`);
    if (process.env.GUARD_UPDATE_GOLDEN === '1') writeFileSync(golden, out.text);
    expect(out.text).toBe(readFileSync(golden, 'utf8'));
    expect(out.objects.filter((r) => r.outcome === 'injected')).toHaveLength(1);
    for (const o of objects(out.text)) {
      validate(o);
      if (o.apiVersion === 'serving.knative.dev/v1') knativeRules(o);
    }
    // Idempotent: a second injection changes nothing.
    const again = injectManifests(out.text, options);
    expect(again.text).toBe(out.text);
    expect(again.objects.some((r) => r.outcome === 'already injected')).toBe(true);
    // Exact reversal: the same objects, keys in the same order.
    const back = uninjectManifests(out.text);
    expect(back.objects.filter((r) => r.outcome === 'uninjected')).toHaveLength(1);
    expect(JSON.stringify(objects(back.text))).toBe(JSON.stringify(objects(input)));
    // Uninjecting what is not injected changes nothing either.
    expect(JSON.stringify(objects(uninjectManifests(back.text).text))).toBe(JSON.stringify(objects(input)));
  });

  it('the gate takes the port clients use; the app moves, told by PORT; its probes follow it', () => {
    const [d] = objects(injectManifests(readFileSync(join(here, 'fixtures', 'deployment-probes-two-containers.yaml'), 'utf8')).text);
    const pod = d!.spec.template.spec;
    const [app, , gate] = pod.containers;
    expect(gate.name).toBe('guard-gate');
    expect(gate.ports).toEqual([{ name: 'http', containerPort: 8080 }, { name: 'guard-admin', containerPort: 22001 }]);
    expect(app.ports).toEqual([{ name: 'metrics', containerPort: 9100, protocol: 'UDP' }]);
    expect(app.env.find((e: Obj) => e.name === 'PORT').value).toBe('8081');
    expect(app.livenessProbe.httpGet.port).toBe(8081);
    expect(app.readinessProbe.httpGet.port).toBe(8081);
    const env = Object.fromEntries(gate.env.map((e: Obj) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({ SERVICE_NAME: 'shop', PROTECTED_SERVICE: 'http://127.0.0.1:8081', PORT: '8080', NAMESPACE: { fieldRef: { fieldPath: 'metadata.namespace' } } });
    // The projected token of audience guard-service, where the gate reads it by default.
    const token = pod.volumes.find((v: Obj) => v.name === 'guard-service-token').projected.sources[0].serviceAccountToken;
    expect(token).toMatchObject({ audience: 'guard-service', path: 'guard-service' });
    expect(gate.volumeMounts.find((m: Obj) => m.name === 'guard-service-token').mountPath).toBe('/var/run/secrets/tokens');
    // A grace period below the gate's shutdown delay + drain + final sync is raised.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(25);
    expect(d!.spec.template.metadata.labels['guard.security.knative.dev/service']).toBe('shop');
  });

  it('a Knative Service becomes multi-container with the gate as the one container declaring the port; the original\'s settings come along', () => {
    const [k] = objects(injectManifests(readFileSync(join(here, 'fixtures', 'knative-explicit-port.yaml'), 'utf8')).text);
    const [app, gate] = k!.spec.template.spec.containers;
    expect(gate.ports).toEqual([{ name: 'http1', containerPort: 9000 }]);
    expect(app.ports).toBeUndefined();
    expect(app.env.find((e: Obj) => e.name === 'PORT').value).toBe('8081');
    expect(app.readinessProbe.httpGet).toEqual({ path: '/', port: 8081 });
    const env = Object.fromEntries(gate.env.map((e: Obj) => [e.name, e.value]));
    expect(env).toMatchObject({ NAMESPACE: 'default', SERVICE_NAME: 'httptest1', MONITOR_POD: 'false' });
    expect(env.PORT).toBeUndefined();
    expect(gate.readinessProbe).toBeUndefined();
    const [dflt] = objects(injectManifests(readFileSync(join(here, 'fixtures', 'knative-default-port.yaml'), 'utf8')).text);
    expect(dflt!.spec.template.spec.containers[1].ports).toEqual([{ containerPort: 8080 }]);
  });

  it.each([
    ['hostNetwork', 'apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  hostNetwork: true\n  containers: [{name: a, image: a, ports: [{containerPort: 80}]}]\n', {}, 'GUARD_INJECT_HOST_NETWORK'],
    ['several ports', readFileSync(join(here, 'fixtures', 'pod-named-ports.yaml'), 'utf8'), {}, 'GUARD_INJECT_PORT'],
    ['no port', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: a}]\n', {}, 'GUARD_INJECT_NO_PORT'],
    ['a port nobody declares', readFileSync(join(here, 'fixtures', 'pod-named-ports.yaml'), 'utf8'), { port: 'grpc' }, 'GUARD_INJECT_PORT'],
    ['a guard-gate it did not add', 'apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: a, image: a, ports: [{containerPort: 80}]}, {name: guard-gate, image: x}]\n', {}, 'GUARD_INJECT_CONFLICT'],
    ['a Knative Service without namespace', 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: a}\nspec:\n  template:\n    spec:\n      containers: [{image: a}]\n', {}, 'GUARD_INJECT_NAME'],
    ['a Deployment name that is no DNS label', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: shop.v2}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: a, ports: [{containerPort: 80}]}]\n', {}, 'GUARD_INJECT_NAME'],
    ['a CronJob', 'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: a}\nspec: {}\n', {}, 'GUARD_INJECT_UNSUPPORTED'],
    ['broken YAML', 'kind: Pod\n  spec: [\n', {}, 'GUARD_INJECT_YAML'],
    ['a Knative Service served in h2c', readFileSync(join(here, 'fixtures', 'knative-explicit-port.yaml'), 'utf8').replace('name: http1', 'name: h2c'), {}, 'GUARD_INJECT_H2C'],
    ['a gRPC port', deployment('ports: [{name: grpc, containerPort: 50051}]'), {}, 'GUARD_INJECT_H2C'],
    ['an http2- port chosen with --port', deployment('ports: [{name: metrics, containerPort: 9100}, {name: http2-api, containerPort: 8080}]'), { port: 'http2-api' }, 'GUARD_INJECT_H2C'],
    ['a Service of the manifest that speaks h2c to it', `${deployment('ports: [{name: web, containerPort: 8080}]')}---\n${service('{port: 80, targetPort: web, appProtocol: kubernetes.io/h2c}')}`, {}, 'GUARD_INJECT_H2C'],
    ['a Service of the manifest that speaks gRPC to its port number', `${service('{port: 80, targetPort: 8080, appProtocol: grpc}')}---\n${deployment('ports: [{name: web, containerPort: 8080}]')}`, {}, 'GUARD_INJECT_H2C'],
    ['an https port', deployment('ports: [{name: https, containerPort: 8443}]'), {}, 'GUARD_INJECT_TLS'],
    ['a tls- port chosen with --port', deployment('ports: [{name: metrics, containerPort: 9100}, {name: tls-api, containerPort: 8443}]'), { port: 'tls-api' }, 'GUARD_INJECT_TLS'],
    ['a Service of the manifest that speaks https to it', `${deployment('ports: [{name: web, containerPort: 8080}]')}---\n${service('{port: 443, targetPort: web, appProtocol: https}')}`, {}, 'GUARD_INJECT_TLS'],
    ['an app port that is not a number', deployment('ports: [{containerPort: 8080}]', { 'guard.security.knative.dev/app-port': 'eighty' }), {}, 'GUARD_INJECT_PORT'],
    ['an app port that is the serving port', deployment('ports: [{containerPort: 8080}]', { 'guard.security.knative.dev/app-port': '8080' }), {}, 'GUARD_INJECT_PORT'],
  ])('refuses %s with a named error', (_what, text, options, code) => {
    expect(() => injectManifests(text, options)).toThrow(expect.objectContaining({ code }));
  });

  it('admits HTTP/1.1 beside h2c: grpc-web, an h2c Service of other pods, Knative\'s http1', () => {
    const text = `${deployment('ports: [{name: grpc-web, containerPort: 8080}]')}---\n${service('{port: 80, targetPort: grpc-web, appProtocol: kubernetes.io/h2c}', 'other')}---\n${service('{port: 81, targetPort: grpc-web, appProtocol: http}')}`;
    expect(injectManifests(text).objects.map((r) => r.outcome)).toEqual(['injected', 'no pod template', 'no pod template']);
    expect(injectManifests(readFileSync(join(here, 'fixtures', 'knative-explicit-port.yaml'), 'utf8')).objects[0]!.outcome).toBe('injected');
  });

  it('takes the app\'s port from the annotation guard.security.knative.dev/app-port, as from --app-port (which wins)', () => {
    const text = deployment('ports: [{name: http, containerPort: 8080}]\n          readinessProbe: {httpGet: {path: /, port: http}}', { 'guard.security.knative.dev/app-port': '9000' });
    for (const [options, port] of [[{}, 9000], [{ appPort: 9100 }, 9100]] as const) {
      const [d] = objects(injectManifests(text, options).text);
      const [app, gate] = d!.spec.template.spec.containers;
      expect(app.env).toEqual([{ name: 'PORT', value: String(port) }]);
      expect(app.readinessProbe.httpGet.port).toBe(port);
      expect(gate.env.find((e: Obj) => e.name === 'PROTECTED_SERVICE').value).toBe(`http://127.0.0.1:${port}`);
      expect(gate.ports[0]).toEqual({ name: 'http', containerPort: 8080 });
    }
  });

  it('injects again, as new, a template whose gate an update took out but whose record it kept; and refuses, named, when it cannot', () => {
    for (const name of ['statefulset', 'knative-default-port', 'deployment-probes-two-containers']) {
      const input = readFileSync(join(here, 'fixtures', `${name}.yaml`), 'utf8');
      const out = injectManifests(input).text;
      const source = objects(input);
      // A client-side `kubectl apply` of the source with a container changed (a JSON merge patch for
      // a Knative Service) sets the containers list whole, and leaves what it did not touch —
      // annotations, labels, the grace period, the volumes; `kubectl replace` sets the volumes too.
      for (const volumes of ['kept', 'replaced']) {
        const updated = objects(out);
        const template = updated[0]!.spec.template;
        template.spec.containers = structuredClone(source[0]!.spec.template.spec.containers);
        if (volumes === 'replaced') {
          if (source[0]!.spec.template.spec.volumes === undefined) delete template.spec.volumes;
          else template.spec.volumes = structuredClone(source[0]!.spec.template.spec.volumes);
        }
        const again = injectManifests(updated.map((o) => JSON.stringify(o)).join('\n---\n'));
        expect(again.objects[0]!.outcome, `${name}, volumes ${volumes}`).toBe('injected');
        expect(objects(again.text), `${name}, volumes ${volumes}`).toEqual(objects(out));
        expect(JSON.stringify(objects(uninjectManifests(again.text).text)), `${name}, volumes ${volumes}`).toBe(JSON.stringify(source));
      }
    }
    // `kubectl get -o yaml`, the gate deleted by hand, applied: the app's port went to the gate.
    const [d] = objects(injectManifests(readFileSync(join(here, 'fixtures', 'deployment-probes-two-containers.yaml'), 'utf8')).text);
    d!.spec.template.spec.containers = d!.spec.template.spec.containers.filter((c: Obj) => c.name !== 'guard-gate');
    d!.spec.template.spec.containers[0].ports = d!.spec.template.spec.containers[0].ports.filter((p: Obj) => p.protocol === 'UDP');
    expect(() => injectManifests(JSON.stringify(d))).toThrow(expect.objectContaining({ code: 'GUARD_INJECT_GATE_MISSING', message: expect.stringMatching(/guard-gate, but the container is gone .*GUARD_INJECT_NO_PORT/) }));
  });

  it('refuses to uninject a record someone edited, and changes nothing', () => {
    const out = injectManifests(readFileSync(join(here, 'fixtures', 'statefulset.yaml'), 'utf8')).text;
    expect(() => uninjectManifests(out.replace('"v":1', '"v":7'))).toThrow(expect.objectContaining({ code: 'GUARD_INJECT_RECORD' }));
    const gateless = objects(out)[0]!;
    gateless.spec.template.spec.containers = gateless.spec.template.spec.containers.filter((c: Obj) => c.name !== 'guard-gate');
    expect(() => uninjectManifests(JSON.stringify(gateless))).toThrow(expect.objectContaining({ code: 'GUARD_INJECT_RECORD' }));
  });

  it('passes Services, ConfigMaps and Lists through and injects the workloads of a List', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: objects(readFileSync(join(here, 'fixtures', 'deployment-probes-two-containers.yaml'), 'utf8')) };
    const out = injectManifests(JSON.stringify(list));
    expect(out.objects.map((r) => `${r.kind}:${r.outcome}`)).toEqual(['Deployment:injected', 'Service:no pod template']);
    expect(objects(uninjectManifests(out.text).text)[0]).toEqual(list);
  });
});

function guard(args: string[], stdin?: string) {
  return spawnGuard(args, { cwd: dir, stdin });
}

describe.skipIf(!built)('the guard inject command (needs `npm run build`)', () => {
  const deployment = join(here, 'fixtures', 'deployment-probes-two-containers.yaml');
  const knative = join(here, 'fixtures', 'knative-default-port.yaml');

  it('reads several files, prints every document, and reports each workload on stderr', async () => {
    const r = await guard(['inject', '-f', deployment, '-f', knative]);
    expect(r.code).toBe(0);
    expect(objects(r.stdout).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Deployment/shop', 'Service/shop', 'Service/helloworld-go']);
    expect(r.stderr).toBe('guard inject: Deployment shop: injected\nguard inject: Service helloworld-go: injected\n');
  });

  it('reads standard input and writes a file; --uninject reads it back to the input', async () => {
    const out = join(dir, 'injected.yaml');
    const r = await guard(['inject', '-o', out], readFileSync(deployment, 'utf8'));
    expect(r.code).toBe(0);
    const back = await guard(['inject', '--uninject', '-f', out]);
    expect(back.code).toBe(0);
    expect(objects(back.stdout)).toEqual(objects(readFileSync(deployment, 'utf8')));
  });

  it('exits 1 with the reason and prints nothing when an object is refused; 1 for a missing file; 2 for a bad option', async () => {
    const refused = await guard(['inject', '-f', join(here, 'fixtures', 'pod-named-ports.yaml')]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/several serving ports .* choose the one clients use with --port .*GUARD_INJECT_PORT/);
    const missing = await guard(['inject', '-f', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*nope\.yaml: no such file/);
    expect((await guard(['inject', '--app-port', 'x'])).code).toBe(2);
  });

  it('refuses a Knative Service served in h2c, saying what to do, and prints nothing', async () => {
    const h2c = readFileSync(join(here, 'fixtures', 'knative-explicit-port.yaml'), 'utf8').replace('name: http1', 'name: h2c');
    const r = await guard(['inject'], h2c);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^guard inject: standard input: Service default\/httptest1: the port is named h2c, .*HTTP\/1\.1 only .*\(GUARD_INJECT_H2C\)\n$/);
  });
});
