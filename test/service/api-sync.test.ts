// POST /sync against a real guard-service (file store in a temp dir) with gates authenticated by
// the Kubernetes stand-in: learning and the answer, identity from the token only, pod restarts,
// refusals that change nothing, Kubernetes outages, the original's example message, metrics.
import { describe, expect, it } from 'vitest';
import { syncMessage } from '../vectors/fixtures.js';
import { call, eventually, gate, methods, pileText, standin, start, sync, syncBody } from './api-support.js';
import { readServiceConfig } from '../../service/index.js';
import { scopedSyncId } from '../../service/sync-route.js';

describe('POST /sync with authenticated gates', () => {
  it('learns from a gate and answers its Guardian; the first learn is persisted at once', async () => {
    const kube = await standin();
    const { url, disk } = await start(kube);
    const token = gate(kube, 'shop', 'cart-1', { app: 'cart' });

    const r = await sync(url, token, syncBody(3));
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(r.json)).toEqual(['guardian']);
    expect(r.json.guardian.samples).toBe(3);
    expect(methods(r.json.guardian)).toEqual(['GET']);
    // The learner's text is spliced as it is: the answer is exactly {"guardian":<spec text>}.
    expect(r.text.startsWith('{"guardian":{')).toBe(true);

    const stored = await eventually(async () => {
      const g = await disk.get('shop', 'cart');
      return g && g.spec.samples === 3 ? g : undefined;
    });
    expect(methods(stored.spec)).toEqual(['GET']);
  });

  it('accepts the original gate\'s example message (test/vectors/fixtures.ts) and keeps its alert', async () => {
    const kube = await standin();
    const { url, service } = await start(kube);
    const token = gate(kube, 'shop', 'cart-1', { app: 'cart' });
    const r = await sync(url, token, JSON.stringify(syncMessage()));
    expect(r.status).toBe(200);
    expect(r.json.guardian.samples).toBe(1);
    expect(r.json.guardian.control).toEqual({ alert: true, block: false, learn: true, force: true, auto: true });

    const alerts = await call(`${url}/api/v1/alerts?namespace=shop`, { token: kube.token });
    expect(alerts.status).toBe(200);
    expect(alerts.json.items).toHaveLength(1);
    expect(alerts.json.items[0]).toMatchObject({ namespace: 'shop', service: 'cart', pod: 'cart-1', level: 'Session', time: 1700000000, count: 1 });
    void service;
  });

  it('takes a sync sent again with its X-Guard-Sync-Id once: samples and alerts; refuses a malformed id', async () => {
    const kube = await standin();
    const { url } = await start(kube);
    const token = gate(kube, 'shop', 'cart-1', { app: 'cart' });
    const body = JSON.stringify(syncMessage());
    const send = (id: string) => call(`${url}/sync`, { method: 'POST', token, body, headers: { 'x-guard-sync-id': id } });
    expect((await send('cart-1:0001')).json.guardian.samples).toBe(1);
    const again = await send('cart-1:0001');
    expect(again.status).toBe(200);
    expect(again.json.guardian.samples).toBe(1);
    const alerts = await call(`${url}/api/v1/alerts?namespace=shop`, { token: kube.token });
    expect(alerts.json.items).toHaveLength(1);
    expect(alerts.json.items[0].count).toBe(1);
    const metrics = await call(`${url}/metrics`);
    expect(metrics.text).toMatch(/^guard_service_syncs_repeated_total 1$/m);
    expect(metrics.text).toMatch(/^guard_service_samples_merged_total 1$/m);

    const bad = await send('has spaces');
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('GUARD_API_INVALID');
    expect(bad.json.error.message).toContain('x-guard-sync-id');
    expect((await send('cart-1:0002')).json.guardian.samples).toBe(2);

    // Another pod of the service sending the same instance and sequence (as a compromised pod that
    // read the ids in spec.syncs would) is not taken for a repeat: ids are bound to the token's pod.
    const other = gate(kube, 'shop', 'cart-2', { app: 'cart' });
    const fromOther = await call(`${url}/sync`, { method: 'POST', token: other, body, headers: { 'x-guard-sync-id': 'cart-1:0003' } });
    expect(fromOther.json.guardian.samples).toBe(3);
    expect((await send('cart-1:0003')).json.guardian.samples).toBe(4);
    expect((await call(`${url}/metrics`)).text).toMatch(/^guard_service_syncs_repeated_total 1$/m);
  });

  it('binds a sync id to the pod of the token: a digest of pod and instance, the sequence kept', () => {
    expect(scopedSyncId('cart-1', 'a1b2:7')).toMatch(/^[0-9a-f]{16}:7$/);
    expect(scopedSyncId('cart-1', 'a1b2:7')).toBe(scopedSyncId('cart-1', 'a1b2:7'));
    expect(scopedSyncId('cart-2', 'a1b2:7')).not.toBe(scopedSyncId('cart-1', 'a1b2:7'));
    expect(scopedSyncId('cart-1', 'a1b2:7').split(':')[0]).toBe(scopedSyncId('cart-1', 'a1b2:8').split(':')[0]);
    // The first 8 digits name the pod: the same for every instance of one pod.
    expect(scopedSyncId('cart-1', 'c3d4:1').slice(0, 8)).toBe(scopedSyncId('cart-1', 'a1b2:7').slice(0, 8));
    expect(scopedSyncId('cart-2', 'a1b2:7').slice(0, 8)).not.toBe(scopedSyncId('cart-1', 'a1b2:7').slice(0, 8));
    expect(scopedSyncId('cart-1', 'no-sequence')).toBe('no-sequence');
  });

  it('takes namespace and service from the token and the pod\'s labels; a gate that names others is refused, naming both (threat model H8)', async () => {
    const kube = await standin();
    const { url, disk } = await start(kube);
    const token = gate(kube, 'team-a', 'web-1', { app: 'web' });
    const otherNamespace = await sync(url, token, syncBody(2), '?ns=team-b&sid=web&pod=web-1');
    expect([otherNamespace.status, otherNamespace.json.error.code]).toEqual([403, 'GUARD_API_FORBIDDEN']);
    expect(otherNamespace.json.error.message).toMatch(/says it is in namespace "team-b" \(its NAMESPACE\), but its token is of namespace team-a: set NAMESPACE=team-a/);
    const otherService = await sync(url, token, syncBody(2), '?ns=team-a&sid=victim&pod=web-1');
    expect(otherService.status).toBe(403);
    expect(otherService.json.error.message).toMatch(/says it guards service "victim" \(its SERVICE_NAME\), but guard-service names the service of pod team-a\/web-1 web \(from label app\).*set SERVICE_NAME=web, or label the pod guard\.security\.knative\.dev\/service=victim/);
    // The pod a gate names is not checked (a pod's hostname may differ from its name): the token's is used.
    expect((await sync(url, token, syncBody(2), '?ns=team-a&sid=web&pod=someone-else')).status).toBe(200);
    // The original's gates name nothing when they have a token.
    expect((await sync(url, token, syncBody(1))).status).toBe(200);
    await eventually(() => disk.get('team-a', 'web'));
    expect((await disk.list()).map((g) => `${g.namespace}/${g.service}`)).toEqual(['team-a/web']);
    const metrics = await call(`${url}/metrics`);
    expect(metrics.text).toMatch(/guard_service_auth_failures_total\{api="sync",reason="identity_mismatch"\} 2/);
  });

  it('a compromised gate gets its own pod deleted once, and nothing it piled is learned', async () => {
    const kube = await standin();
    const { url } = await start(kube);
    const token = gate(kube, 'shop', 'cart-1', { app: 'cart' });
    kube.state.addPod({ namespace: 'shop', name: 'cart-2', labels: { app: 'cart' } });
    kube.state.addPod({ namespace: 'other', name: 'cart-1', labels: { app: 'cart' } });

    const first = await sync(url, token, syncBody(5, { compromised: true }), '?ns=shop&pod=cart-2&sid=cart');
    expect(first.status).toBe(200);
    expect(first.json.guardian.samples).toBe(0);
    await kube.state.waitFor(() => kube.state.podDeletions.length === 1);
    expect(kube.state.podDeletions.map((d) => `${d.namespace}/${d.name}`)).toEqual(['shop/cart-1']);
    expect(kube.state.getObject('pods', 'shop', 'cart-2')).toBeDefined();
    expect(kube.state.getObject('pods', 'other', 'cart-1')).toBeDefined();

    // The identity is cached: a repeat within the interval does not delete again (nor another pod).
    const again = await sync(url, token, syncBody(1, { compromised: true }));
    expect(again.status).toBe(200);
    expect(kube.state.podDeletions).toHaveLength(1);
    const metrics = await call(`${url}/metrics`);
    expect(metrics.text).toMatch(/^guard_service_pods_restarted_total 1$/m);
  });

  it('refuses unknown, wrong-audience and missing tokens with 401', async () => {
    const kube = await standin();
    const { url } = await start(kube);
    const wrongAudience = gate(kube, 'shop', 'cart-1', { app: 'cart' }, ['https://kubernetes.default.svc.cluster.local']);
    for (const token of ['not-a-token-at-all', wrongAudience]) {
      const r = await sync(url, token, syncBody(1));
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe('GUARD_API_UNAUTHENTICATED');
    }
    const none = await sync(url, undefined, syncBody(1));
    expect(none.status).toBe(401);
    expect(none.json.error.message).toMatch(/missing token/);
    const metrics = await call(`${url}/metrics`);
    // A token that is not even a JWT is refused without asking Kubernetes; the other one was reviewed.
    expect(metrics.text).toMatch(/guard_service_auth_failures_total\{api="sync",reason="not_jwt"\} 1/);
    expect(metrics.text).toMatch(/guard_service_auth_failures_total\{api="sync",reason="token_rejected"\} 1/);
    expect(metrics.text).toMatch(/guard_service_token_reviews_total\{api="sync",outcome="refused"\} 1/);
    expect(metrics.text).toMatch(/guard_service_auth_failures_total\{api="sync",reason="missing_token"\} 1/);
  });

  it('answers 503 with Retry-After when Kubernetes cannot review the token (threat model B-12)', async () => {
    const kube = await standin();
    const { url } = await start(kube);
    const token = gate(kube, 'shop', 'cart-1', { app: 'cart' });
    kube.state.failNext('POST /apis/authentication.k8s.io/v1/tokenreviews', 500);
    const r = await sync(url, token, syncBody(1));
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('5');
    expect(r.json.error.code).toBe('GUARD_API_UNAVAILABLE');
    kube.state.failNext('GET /api/v1/namespaces/shop/pods/cart-1', 500);
    expect((await sync(url, token, syncBody(1))).status).toBe(503);
    await kube.close();
    expect((await sync(url, token, syncBody(1))).status).toBe(503);
  });

  it('refuses a service named by labels that is not a Guardian name, or the namespace default (threat model B-11)', async () => {
    const kube = await standin();
    const { url } = await start(kube, { serviceLabels: ['guard/service'] });
    const dotted = gate(kube, 'shop', 'cart-1', { 'guard/service': 'Cart.v2', app: 'cart' });
    const r = await sync(url, dotted, syncBody(1));
    expect(r.status).toBe(403);
    expect(r.json.error.message).toMatch(/"Cart\.v2", which is not a DNS-1123 label/);
    const nsDefault = gate(kube, 'shop', 'cart-2', { app: 'ns-shop' });
    expect((await sync(url, nsDefault, syncBody(1))).status).toBe(403);
    // A present GUARD_SERVICE_LABELS key wins over app.
    const labelled = gate(kube, 'shop', 'cart-3', { 'guard/service': 'basket', app: 'cart' });
    expect((await sync(url, labelled, syncBody(1))).status).toBe(200);
  });

  it('refuses malformed, empty and oversized syncs with 4xx, and nothing changes', async () => {
    const kube = await standin();
    const { url, disk } = await start(kube, { maxBodyBytes: 4096 });
    const token = gate(kube, 'shop', 'cart-1', { app: 'cart' });
    expect((await sync(url, token, syncBody(2))).status).toBe(200);
    await eventually(async () => (await disk.get('shop', 'cart'))?.spec.samples === 2);

    const bad = await sync(url, token, '{"pile":{"count":"lots"}}');
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('GUARD_API_INVALID');
    expect(bad.json.error.message).toMatch(/invalid sync message/);
    expect((await sync(url, token, '[1,2')).status).toBe(400);
    expect((await sync(url, token, '')).status).toBe(400);
    const big = await sync(url, token, `{"pile":${pileText(1)},"alerts":null,"compromised":false,"pad":"${'x'.repeat(5000)}"}`);
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe('GUARD_API_TOO_LARGE');
    expect((await call(`${url}/sync`, { method: 'GET', token })).status).toBe(404);

    // {} is "just give me my Guardian": nothing merged, samples as before.
    const plain = await sync(url, token, '{}');
    expect(plain.status).toBe(200);
    expect(plain.json.guardian.samples).toBe(2);
    expect((await disk.get('shop', 'cart'))!.spec.samples).toBe(2);
  });

  it('learns on the policy the environment sets (GUARD_LEARN_SAMPLES, GUARD_LEARN_NEW_PERCENT, GUARD_LEARN_INTERVAL)', async () => {
    const kube = await standin();
    const limits = readServiceConfig({ GUARD_LEARN_SAMPLES: '5', GUARD_LEARN_NEW_PERCENT: '100', GUARD_LEARN_INTERVAL: '3600' }).learnerLimits;
    const { url } = await start(kube, { learnerLimits: limits });
    const token = gate(kube, 'shop', 'cart-1', { app: 'cart' });
    const pending = async () => (await call(`${url}/api/v1/guardians/shop/cart`, { token: kube.token })).json.learning;
    // Never learned: at once (and persisted right after the answer).
    expect((await sync(url, token, syncBody(2))).status).toBe(200);
    expect(await eventually(pending)).toMatchObject({ learns: 1, pileSamples: 0, samples: 2 });
    // 2 more: not more than 100 % of the 2 learned, under 5, within the hour: kept in the pile.
    expect((await sync(url, token, syncBody(2))).status).toBe(200);
    expect(await pending()).toMatchObject({ learns: 1, pileSamples: 2 });
    // 3 more: the pile holds 5.
    expect((await sync(url, token, syncBody(3))).status).toBe(200);
    expect(await pending()).toMatchObject({ learns: 2, pileSamples: 0, samples: 7 });
  });

  it("limits how often one pod syncs: Guard's gates get 429 with Retry-After and resend, the original's are answered with their alerts taken and their samples not learned, other pods go on", async () => {
    const kube = await standin();
    const limits = readServiceConfig({ KUBERNETES_SERVICE_HOST: '10.0.0.1', GUARD_SERVICE_TLS: 'false', GUARD_SERVICE_SYNC_BURST: '3', GUARD_SERVICE_SYNCS_PER_MINUTE: '60' }).syncLimit;
    expect(limits).toEqual({ burst: 3, perMinute: 60 });
    const { url } = await start(kube, { syncLimit: limits });
    const cart1 = gate(kube, 'shop', 'cart-1', { app: 'cart' });
    const cart2 = gate(kube, 'shop', 'cart-2', { app: 'cart' });
    const metric = async (line: RegExp) => Number(line.exec((await call(`${url}/metrics`)).text)?.[1] ?? 0);
    const merged = () => metric(/^guard_service_samples_merged_total (\d+)/m);
    const ours = (seq: number) => call(`${url}/sync`, { method: 'POST', token: cart1, body: syncBody(2), headers: { 'x-guard-sync-id': `cart1gate:${seq}` } });
    for (let seq = 1; seq <= 3; seq++) expect((await ours(seq)).status).toBe(200);
    const refused = await ours(4);
    expect(refused.status, refused.text).toBe(429);
    expect(refused.json.error.code).toBe('GUARD_API_RATE_LIMITED');
    expect(refused.json.error.message).toMatch(/GUARD_SERVICE_SYNCS_PER_MINUTE/);
    expect(refused.headers['retry-after']).toBe('1');
    expect(await merged()).toBe(6);
    // Another pod of the service has its own allowance.
    expect((await sync(url, cart2, syncBody(1))).status).toBe(200);
    // The original's gate (no sync id) over the limit: answered, so it clears its pile; its alert is
    // kept, its 5 samples are not learned.
    const alert = { decision: { children: {}, reasons: ['over the limit'], result: 7 }, time: 1_700_000_000, level: 'Session', count: 1 };
    const original = await sync(url, cart1, syncBody(5, { alerts: [alert] }));
    expect(original.status, original.text).toBe(200);
    expect(original.json.guardian.control).toBeDefined();
    expect(await merged()).toBe(7);
    expect(await metric(/^guard_service_samples_rate_limited_total (\d+)/m)).toBe(5);
    expect(await metric(/^guard_service_syncs_rate_limited_total\{answer="refused"\} (\d+)/m)).toBe(1);
    expect(await metric(/^guard_service_syncs_rate_limited_total\{answer="unlearned"\} (\d+)/m)).toBe(1);
    expect(await metric(/^guard_service_syncs_total\{outcome="rate_limited"\} (\d+)/m)).toBe(1);
    const alerts = await call(`${url}/api/v1/alerts?namespace=shop&service=cart`, { token: kube.token });
    expect(alerts.json.items.map((a: { decision: { reasons: string[] } }) => a.decision.reasons[0])).toEqual(['over the limit']);
    // Over the limit the pile is not even read (most of a sync's cost); the rest is checked as always.
    expect((await sync(url, cart1, '{"pile":{"count":3,"req":"not a profile"},"alerts":null,"compromised":false}')).status).toBe(200);
    const badAlert = await sync(url, cart1, '{"pile":null,"alerts":[{"decision":7}],"compromised":false}');
    expect(badAlert.status).toBe(400);
    expect(badAlert.json.error.code).toBe('GUARD_API_INVALID');
    expect((await sync(url, cart1, '{"pile":')).status).toBe(400);
    expect(await metric(/^guard_service_samples_rate_limited_total (\d+)/m)).toBe(8);
    // A token comes back within a second: the refused sync, sent again under its id, is learned once.
    await eventually(async () => (await ours(4)).status === 200, 5000);
    expect(await merged()).toBe(9);
    // Without authentication a caller names its own pod: there is no limit to set.
    expect(readServiceConfig({ GUARD_SERVICE_AUTH: 'false' }).syncLimit).toBeNull();
    expect(readServiceConfig({ KUBERNETES_SERVICE_HOST: '10.0.0.1', GUARD_SERVICE_TLS: 'false', GUARD_SERVICE_SYNCS_PER_MINUTE: '0' }).syncLimit).toBeNull();
    expect(() => readServiceConfig({ GUARD_SERVICE_SYNC_BURST: '0' })).toThrow(/GUARD_SERVICE_SYNC_BURST: expected an integer from 1 to 10000/);
    expect(() => readServiceConfig({ GUARD_SERVICE_SYNCS_PER_MINUTE: '1.5' })).toThrow(/GUARD_SERVICE_SYNCS_PER_MINUTE/);
  });

  it('exposes sync, learning and alert counters at /metrics, and health at /healthz and /readyz', async () => {
    const kube = await standin();
    const { url } = await start(kube);
    const token = gate(kube, 'shop', 'cart-1', { app: 'cart' });
    await sync(url, token, syncBody(4, { alerts: syncMessage().alerts }));
    await sync(url, token, '{"pile":"x"}');
    const m = await call(`${url}/metrics`);
    expect(m.status).toBe(200);
    expect(m.headers['content-type']).toMatch(/^text\/plain/);
    expect(m.text).toMatch(/^guard_service_syncs_total\{outcome="ok"\} 1$/m);
    expect(m.text).toMatch(/^guard_service_syncs_total\{outcome="invalid"\} 1$/m);
    expect(m.text).toMatch(/^guard_service_samples_merged_total 4$/m);
    expect(m.text).toMatch(/^guard_service_learns_total 1$/m);
    expect(m.text).toMatch(/^guard_service_alerts_received_total 1$/m);
    expect(m.text).toMatch(/^guard_service_live_services 1$/m);
    expect(m.text).toMatch(/^guard_service_sync_duration_seconds_count 2$/m);
    // The first learn's write is asynchronous: the counter moves when the store acknowledged it.
    await eventually(async () => /^guard_service_persists_total 1$/m.test((await call(`${url}/metrics`)).text));
    expect((await call(`${url}/healthz`)).status).toBe(200);
    expect((await call(`${url}/readyz`)).json).toEqual({ status: 'ready' });
  });
});

describe('POST /sync without authentication (file store only)', () => {
  it('takes the identity from the query, sanitised, and refuses ns-<ns> as a service', async () => {
    const { url, disk } = await start(null);
    const ok = await sync(url, undefined, syncBody(2), '?ns=shop&sid=cart&pod=cart-1');
    expect(ok.status).toBe(200);
    await eventually(() => disk.get('shop', 'cart'));
    for (const query of ['?ns=shop&sid=ns-shop&pod=p', '?ns=shop&sid=Cart&pod=p', '?ns=shop&pod=p', '?ns=shop&sid=a&sid=b&pod=p', '?ns=shop&sid=a&pod=p&cm=true&cm=false']) {
      const r = await sync(url, undefined, syncBody(1), query);
      expect(r.status, query).toBeGreaterThanOrEqual(400);
      expect(r.status, query).toBeLessThan(500);
    }
    // Compromised without authentication: never a pod deletion (threat model S-1); the sync is
    // still answered.
    expect((await sync(url, undefined, syncBody(1, { compromised: true }), '?ns=shop&sid=cart&pod=cart-1')).status).toBe(200);
  });
});
