// `guard inject --network-policy`: beside each injected Deployment, StatefulSet, DaemonSet and Pod, a
// NetworkPolicy that admits the gate's ports and every other port the pod declares, and not the
// app's moved port. Each output is its golden file and validates offline (kubernetes-models); the
// policy selects the workload's pods that carry the gate; injecting twice writes one policy;
// --uninject gives the input back byte for byte and removes only the policies guard inject wrote.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { Pod } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { spawnGuard } from '../support/cli.js';
import { injectManifests, uninjectManifests, type ManifestOptions } from '../../inject/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const here = join(root, 'test', 'inject');
const built = existsSync(join(root, 'build', 'js', 'cli', 'index.js'));

type Obj = Record<string, any>;
const objects = (text: string): Obj[] => parseAllDocuments(text).map((d) => (d as { toJS(): Obj }).toJS()).filter((o) => o !== null);
const fixture = (name: string) => readFileSync(join(here, 'fixtures', `${name}.yaml`), 'utf8');

const MODELS: Record<string, new (o: any) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Pod': Pod,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

function validate(o: Obj): void {
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) throw new Error(`no model for ${o.apiVersion}/${o.kind}`);
  new Model(structuredClone(o)).validate();
}

const podSpec = (o: Obj): Obj => (o.kind === 'Pod' ? o.spec : o.spec.template.spec);
const podLabels = (o: Obj): Obj => (o.kind === 'Pod' ? o.metadata.labels : o.spec.template.metadata.labels);
const declared = (o: Obj): string[] =>
  [...(podSpec(o).initContainers ?? []), ...podSpec(o).containers].flatMap((c: Obj) => (c.ports ?? []).map((p: Obj) => `${p.protocol ?? 'TCP'}/${p.containerPort}`));
const admitted = (policy: Obj): string[] => policy.spec.ingress.flatMap((rule: Obj) => rule.ports.map((p: Obj) => `${p.protocol}/${p.port}`));
const appPort = (o: Obj): string => {
  const gate = podSpec(o).containers.find((c: Obj) => c.name === 'guard-gate');
  return `TCP/${/:(\d+)$/.exec(gate.env.find((e: Obj) => e.name === 'PROTECTED_SERVICE').value)![1]}`;
};

const WHOAMI_DEPLOYMENT = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: whoami}\nspec:\n  selector: {matchLabels: {app: whoami}}\n  template:\n    metadata: {labels: {app: whoami}}\n    spec:\n      containers: [{name: w, image: w, ports: [{name: web, containerPort: 80}]}]\n';

const CASES: Array<[fixture: string, options: ManifestOptions, policy: string]> = [
  ['deployment-several-ports', { port: 'http', networkPolicy: true }, 'orders-guard'],
  ['pod-network-policy', { port: 'web', networkPolicy: true }, 'whoami-guard'],
];

describe('guard inject --network-policy', () => {
  it.each(CASES)('%s: the golden output, valid for the schema, the policy after its workload', (name, options, policyName) => {
    const input = fixture(name);
    const out = injectManifests(input, options);
    const golden = join(here, 'golden', `${name}.yaml`);
    if (process.env.GUARD_UPDATE_GOLDEN === '1') writeFileSync(golden, out.text);
    expect(out.text).toBe(readFileSync(golden, 'utf8'));
    const [workload, policy, ...rest] = objects(out.text);
    expect(rest).toEqual([]);
    for (const o of [workload!, policy!]) validate(o);
    expect(policy!.kind).toBe('NetworkPolicy');
    expect(policy!.metadata.name).toBe(policyName);
    expect(policy!.metadata.namespace).toBe(workload!.metadata.namespace);
    expect(out.policies).toEqual([{ name: [workload!.metadata.namespace, policyName].filter(Boolean).join('/'), outcome: 'added' }]);
  });

  it.each(CASES)('%s: selects the pods that carry the gate, admits every declared port but the app\'s', (name, options) => {
    const [workload, policy] = objects(injectManifests(fixture(name), options).text);
    const selector = policy!.spec.podSelector.matchLabels as Obj;
    const labels = podLabels(workload!);
    // Every pod of the workload matches, and only pods with the gate (the service label).
    for (const [k, v] of Object.entries(selector)) expect(labels[k], k).toBe(v);
    expect(selector['guard.security.knative.dev/service']).toBe(labels['guard.security.knative.dev/service']);
    if (workload!.kind !== 'Pod') expect(Object.entries(selector).filter(([k]) => !k.startsWith('guard.'))).toEqual(Object.entries(workload!.spec.selector.matchLabels));
    expect(policy!.spec.policyTypes).toEqual(['Ingress']);
    // No `from`: the ports stay open to every source, as before.
    expect(policy!.spec.ingress.every((rule: Obj) => rule.from === undefined)).toBe(true);
    const app = appPort(workload!);
    expect(admitted(policy!)).not.toContain(app);
    expect(new Set(admitted(policy!))).toEqual(new Set(declared(workload!).filter((p) => p !== app)));
    expect(admitted(policy!).slice(0, 2)).toEqual([`TCP/${podSpec(workload!).containers.find((c: Obj) => c.name === 'guard-gate').ports[0].containerPort}`, 'TCP/22001']);
    // What the pod served before injection is all still admitted.
    for (const p of declared(objects(fixture(name))[0]!)) expect(admitted(policy!), p).toContain(p);
  });

  it('the Deployment: a port the app declared at 8081 stays open; the app moved to 8082, closed', () => {
    const [workload, policy] = objects(injectManifests(fixture('deployment-several-ports'), { port: 'http', networkPolicy: true }).text);
    expect(appPort(workload!)).toBe('TCP/8082');
    expect(admitted(policy!)).toEqual(['TCP/8080', 'TCP/22001', 'TCP/9901', 'TCP/8081', 'TCP/9090', 'UDP/7946', 'UDP/9125', 'TCP/9102']);
  });

  it.each(CASES)('%s: injecting twice writes one policy and changes nothing', (name, options) => {
    const out = injectManifests(fixture(name), options);
    const again = injectManifests(out.text, options);
    expect(again.text).toBe(out.text);
    expect(again.objects.map((r) => r.outcome)).toContain('already injected');
    expect(again.policies.map((p) => p.outcome)).toEqual(['unchanged']);
    expect(objects(again.text).filter((o) => o.kind === 'NetworkPolicy')).toHaveLength(1);
  });

  it.each(CASES)('%s: --uninject gives the input back byte for byte', (name, options) => {
    const input = fixture(name);
    const back = uninjectManifests(injectManifests(input, options).text);
    expect(back.text).toBe(input);
    expect(back.policies.map((p) => p.outcome)).toEqual(['removed']);
    expect(back.objects.filter((r) => r.outcome === 'uninjected')).toHaveLength(1);
  });

  it('adds the policy to a workload injected before without one, and brings a stale one up to date', () => {
    const injected = injectManifests(fixture('pod-network-policy'), { port: 'web' }).text;
    expect(objects(injected).map((o) => o.kind)).toEqual(['Pod']);
    const withPolicy = injectManifests(injected, { networkPolicy: true });
    expect(withPolicy.objects[0]!.outcome).toBe('already injected');
    expect(withPolicy.text).toBe(readFileSync(join(here, 'golden', 'pod-network-policy.yaml'), 'utf8'));
    // The policy as `kubectl get -o yaml` gives it, one port short: its spec is written anew, its metadata kept.
    const [pod, policy] = objects(withPolicy.text);
    policy!.metadata.resourceVersion = '4711';
    policy!.spec.ingress[0].ports.pop();
    const stale = [pod, policy].map((o) => JSON.stringify(o)).join('\n---\n');
    const updated = injectManifests(stale, { networkPolicy: true });
    expect(updated.policies).toEqual([{ name: 'whoami-guard', outcome: 'updated' }]);
    const [, fresh] = objects(updated.text);
    expect(fresh!.metadata.resourceVersion).toBe('4711');
    expect(fresh!.spec).toEqual(objects(withPolicy.text)[1]!.spec);
  });

  it('puts the policy after its workload inside a List, and --uninject gives the List back', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [...objects(fixture('deployment-several-ports')), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }] };
    const out = injectManifests(JSON.stringify(list), { port: 'http', networkPolicy: true });
    const [injected] = objects(out.text);
    expect(injected!.items.map((o: Obj) => o.kind)).toEqual(['Deployment', 'NetworkPolicy', 'ConfigMap']);
    expect(injectManifests(out.text, { port: 'http', networkPolicy: true }).text).toBe(out.text);
    expect(objects(uninjectManifests(out.text).text)).toEqual([list]);
    // A List injected before without the policy gets it too.
    const before = injectManifests(JSON.stringify(list), { port: 'http' }).text;
    expect(injectManifests(before, { port: 'http', networkPolicy: true }).text).toBe(out.text);
  });

  it('--uninject keeps NetworkPolicies it did not write, even one named like its own or carrying its label', () => {
    const theirs = [
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\n  namespace: shop\nspec:\n  podSelector: {}\n  policyTypes:\n    - Ingress\n',
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: whoami-guard\n  labels:\n    app.kubernetes.io/managed-by: guard-inject\nspec:\n  podSelector:\n    matchLabels:\n      app: whoami\n',
    ];
    const injected = injectManifests(fixture('pod-network-policy'), { port: 'web', networkPolicy: true }).text;
    const text = `${theirs[0]}---\n${injected}---\n${theirs[1]}`;
    const back = uninjectManifests(text);
    expect(back.text).toBe(`${theirs[0]}---\n${fixture('pod-network-policy')}---\n${theirs[1]}`);
    expect(back.policies).toEqual([{ name: 'whoami-guard', outcome: 'removed' }]);
  });

  it.each([
    ['a Deployment whose selector is empty', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  template:\n    metadata: {labels: {app: a}}\n    spec:\n      containers: [{name: a, image: a, ports: [{containerPort: 80}]}]\n', {}, 'GUARD_INJECT_NO_SELECTOR'],
    ['a Pod without labels', 'apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: a, image: a, ports: [{containerPort: 80}]}]\n', {}, 'GUARD_INJECT_NO_SELECTOR'],
    ['a NetworkPolicy of that name it did not write', `${fixture('pod-network-policy')}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: whoami-guard}\nspec: {podSelector: {}}\n`, { port: 'web' }, 'GUARD_INJECT_POLICY_CONFLICT'],
    ['a Pod and a Deployment both named whoami', `${fixture('pod-network-policy')}---\n${WHOAMI_DEPLOYMENT}`, { port: 'web' }, 'GUARD_INJECT_POLICY_CONFLICT'],
  ] as Array<[string, string, ManifestOptions, string]>)('refuses %s with a named error', (_what, text, options, code) => {
    expect(() => injectManifests(text, { ...options, networkPolicy: true })).toThrow(expect.objectContaining({ code }));
  });

  it('the same Deployment and Pod without --network-policy: no policy, so the refusal is only for it', () => {
    const text = 'apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: a, image: a, ports: [{containerPort: 80}]}]\n';
    expect(objects(injectManifests(text).text).map((o) => o.kind)).toEqual(['Pod']);
    expect(injectManifests(fixture('deployment-several-ports'), { port: 'http' }).policies).toEqual([]);
  });

  it('writes no policy for a Knative Service, and says why', () => {
    const out = injectManifests(fixture('knative-default-port'), { networkPolicy: true });
    expect(objects(out.text).map((o) => o.kind)).toEqual(['Service']);
    expect(out.policies).toEqual([]);
    expect(out.notes).toEqual([expect.stringMatching(/^Service demo\/helloworld-go: no NetworkPolicy: Knative .*activator .*queue-proxy/)]);
  });
});

function guard(args: string[], stdin: string) {
  return spawnGuard(args, { cwd: root, stdin });
}

describe.skipIf(!built)('the guard inject --network-policy command (needs `npm run build`)', () => {
  it('prints the workload and its policy, says so on stderr, and --uninject reads it back to the input', async () => {
    const input = fixture('deployment-several-ports');
    const r = await guard(['inject', '--network-policy', '--port', 'http'], input);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(here, 'golden', 'deployment-several-ports.yaml'), 'utf8'));
    expect(r.stderr).toBe('guard inject: Deployment orders: injected\nguard inject: NetworkPolicy shop/orders-guard: added\n');
    const back = await guard(['inject', '--uninject'], r.stdout);
    expect(back.code).toBe(0);
    expect(back.stdout).toBe(input);
    expect(back.stderr).toBe('guard inject: Deployment orders: uninjected\nguard inject: NetworkPolicy shop/orders-guard: removed\n');
  });

  it('notes on stderr that a Knative Service gets no policy; refuses a Pod without labels, printing nothing', async () => {
    const knative = await guard(['inject', '--network-policy'], fixture('knative-default-port'));
    expect(knative.code).toBe(0);
    expect(objects(knative.stdout).map((o) => o.kind)).toEqual(['Service']);
    expect(knative.stderr).toMatch(/^guard inject: Service helloworld-go: injected\nguard inject: note: Service demo\/helloworld-go: no NetworkPolicy: Knative .*docs\/operations\.md\)\n$/);
    const refused = await guard(['inject', '--network-policy'], 'apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: a, image: a, ports: [{containerPort: 80}]}]\n');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^guard inject: standard input: Pod a: --network-policy needs labels .*\(GUARD_INJECT_NO_SELECTOR\)\n$/);
  });

  it('refuses --network-policy with --uninject as a usage error', async () => {
    const r = await guard(['inject', '--uninject', '--network-policy'], '');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--uninject takes out the NetworkPolicies guard inject wrote without --network-policy/);
  });
});
