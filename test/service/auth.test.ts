// Gate and people authentication against the Kubernetes stand-in through the real client-node:
// the identity comes from the TokenReview (not the JWT), the service from the pod's labels in
// order, the cache is bounded in time (and by the token's expiry), failures are 401 or 503.
import { describe, expect, it } from 'vitest';
import { KubeGateAuthenticator, TokenPeopleAuthenticator } from '../../service/auth.js';
import { TtlCache } from '../../service/ttl-cache.js';
import { kubeAccess } from '../../service/kube-access.js';
import type { KubeStandin } from '../kube/standin.js';
import { gate, refusal, standin, tokenReviews } from './api-support.js';


function authenticator(kube: KubeStandin, serviceLabels: string[] = [], now?: () => number) {
  return new KubeGateAuthenticator({ kube: kubeAccess(kube.kubeConfig(), 2000), serviceLabels, now });
}


describe('gate authentication (TokenReview)', () => {
  it('names the gate from the reviewed token and the pod\'s labels, in order', async () => {
    const kube = await standin();
    const auth = authenticator(kube, ['guard.example/service']);
    const cases: Array<[Record<string, string>, string]> = [
      [{ 'guard.example/service': 'basket', 'serving.knative.dev/service': 'knative', app: 'cart' }, 'basket'],
      // Guard's own label (guard inject's) comes after the configured ones, before Knative's.
      [{ 'guard.security.knative.dev/service': 'injected', 'serving.knative.dev/service': 'knative', app: 'cart' }, 'injected'],
      [{ 'guard.example/service': '', 'serving.knative.dev/service': 'knative', app: 'cart' }, 'knative'],
      [{ app: 'cart' }, 'cart'],
      [{}, 'pod-4'],
    ];
    for (const [i, [labels, service]] of cases.entries()) {
      const token = gate(kube, 'shop', `pod-${i}`, labels);
      const id = await auth.identify(`Bearer ${token}`);
      expect(id).toMatchObject({ namespace: 'shop', service, pod: `pod-${i}`, verified: true });
      expect(id.podUid).toBe(kube.state.getObject('pods', 'shop', `pod-${i}`)!.metadata.uid);
    }
  });

  it('refuses tokens that are unknown, for another audience, not a pod\'s or not a service account\'s', async () => {
    const kube = await standin();
    const auth = authenticator(kube);
    kube.state.addPod({ namespace: 'shop', name: 'cart-1' });
    const noPod = kube.state.mintServiceAccountToken({ namespace: 'shop', serviceAccount: 'cart', audiences: ['guard-service'] });
    kube.state.addToken('person.token.1234', { username: 'alice', audiences: ['guard-service'] });
    const wrongAudience = gate(kube, 'shop', 'cart-2', { app: 'cart' }, ['vault']);
    const expectations: Array<[string | undefined, string]> = [
      [undefined, 'missing_token'],
      ['Basic abc', 'missing_token'],
      ['Bearer short', 'missing_token'],
      ['Bearer unknown-token-123', 'not_jwt'],
      ['Bearer unknown.token.123', 'token_rejected'],
      [`Bearer ${wrongAudience}`, 'token_rejected'],
      [`Bearer ${noPod}`, 'no_pod'],
      ['Bearer person.token.1234', 'not_service_account'],
    ];
    for (const [header, reason] of expectations) {
      const e = await refusal(auth.identify(header));
      expect([e.status, e.reason], header).toEqual([401, reason]);
    }
  });

  it('caches an identity for its TTL only, and never past the token\'s expiry', async () => {
    const kube = await standin();
    let now = Date.now();
    const auth = authenticator(kube, [], () => now);
    const long = gate(kube, 'shop', 'cart-1', { app: 'cart' });
    const short = kube.state.mintServiceAccountToken({ namespace: 'shop', serviceAccount: 'cart', podName: 'cart-1', audiences: ['guard-service'], expiresInSeconds: 60 });

    await auth.identify(`Bearer ${long}`);
    await auth.identify(`Bearer ${long}`);
    await auth.identify(`Bearer ${short}`);
    expect(tokenReviews(kube)).toBe(2);
    now += 61_000;
    await auth.identify(`Bearer ${long}`);
    expect(tokenReviews(kube)).toBe(2);
    await auth.identify(`Bearer ${short}`);
    expect(tokenReviews(kube)).toBe(3);
    now += 5 * 60_000;
    await auth.identify(`Bearer ${long}`);
    expect(tokenReviews(kube)).toBe(4);
  });

  it('is 503, not 401, when Kubernetes fails, and 401 when the token\'s pod is gone', async () => {
    const kube = await standin();
    const auth = authenticator(kube);
    const token = gate(kube, 'shop', 'cart-1', { app: 'cart' });
    kube.state.failNext('POST /apis/authentication.k8s.io/v1/tokenreviews', 503);
    expect((await refusal(auth.identify(`Bearer ${token}`))).status).toBe(503);
    kube.state.failNext('GET /api/v1/namespaces/shop/pods/cart-1', 500);
    const e = await refusal(auth.identify(`Bearer ${token}`));
    expect([e.status, e.reason]).toEqual([503, 'kube_unavailable']);
    kube.state.removeObject('pods', 'shop', 'cart-1');
    const gone = await refusal(auth.identify(`Bearer ${token}`));
    expect([gone.status, gone.reason]).toEqual([401, 'pod_gone']);
  });
});

describe('people authentication in local mode', () => {
  it('accepts only the generated token', async () => {
    const people = new TokenPeopleAuthenticator();
    expect(people.token.length).toBeGreaterThanOrEqual(40);
    await expect(people.authenticate(`Bearer ${people.token}`)).resolves.toMatchObject({ name: 'local' });
    for (const header of [undefined, `Bearer ${people.token.slice(1)}`, `Bearer ${people.token}0`, people.token]) {
      expect((await refusal(people.authenticate(header))).status).toBe(401);
    }
  });
});

describe('TtlCache', () => {
  it('drops the oldest entry when full and expired entries on read', () => {
    let now = 0;
    const cache = new TtlCache<number>(2, () => now);
    cache.set('a', 1, 100);
    cache.set('b', 2, 100);
    cache.set('c', 3, 100);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([undefined, 2, 3]);
    now = 100;
    expect(cache.get('b')).toBeUndefined();
  });
});
