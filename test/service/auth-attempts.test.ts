// What a caller that is not authenticated can make guard-service ask of Kubernetes: one review per
// token (concurrent asks share it, a refusal is remembered for a minute), a limit on failed
// authentications per client address (429 without a review; tokens accepted before are spared),
// and a bound on reviews at once (503, Retry-After). Against the Kubernetes stand-in through the
// real client-node, a real guard-service and real clients from two loopback addresses.
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../clock/index.js';
import { ApiError } from '../../service/api-errors.js';
import { SERVICE_HELP } from '../../cli/help.js';
import { AuthAttempts, REFUSED_TTL_MS, TokenReviews, type Reviewed } from '../../service/auth-attempts.js';
import { ConfigError, DEFAULT_AUTH_ATTEMPTS, readServiceConfig } from '../../service/config.js';
import { call, gate, refusal, standin, start, syncBody, tokenReviews } from './api-support.js';

/** A token shaped like a service account's (a JWT) that Kubernetes has never issued. */
const madeUp = (i: number) => `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4${i}.c2lnbmF0dXJl${i}`;

// Clients from a second loopback address, to show the limit is per address.
const elsewhere = new Agent({ localAddress: '127.0.0.2' });
afterAll(() => elsewhere.close());

async function syncFrom(url: string, token: string, agent?: Agent): Promise<{ status: number; retryAfter: string | undefined; code: string | undefined }> {
  const res = await request(`${url}/sync`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: syncBody(1), dispatcher: agent });
  const json = (await res.body.json().catch(() => undefined)) as { error?: { code: string } } | undefined;
  const retryAfter = res.headers['retry-after'];
  return { status: res.statusCode, retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined, code: json?.error?.code };
}


describe('token reviews', () => {
  const limits = (clock: FakeClock, o: Partial<{ failureBurst: number; failuresPerMinute: number; maxReviews: number }> = {}) =>
    new AuthAttempts({ failureBurst: 3, failuresPerMinute: 6, maxReviews: 8, clock, ...o });

  it('review a token once however many ask at the same time, and remember a refusal for a minute only', async () => {
    const clock = new FakeClock(1_000_000);
    const reviews = new TokenReviews<string>(limits(clock), { maxEntries: 100, now: () => clock.now() });
    let runs = 0;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const accept = async (): Promise<Reviewed<string>> => {
      runs++;
      await held;
      return { value: 'gate', ttlMs: 60_000 };
    };
    const asks = Array.from({ length: 10 }, () => reviews.get('token-a', '10.0.0.1', accept));
    release();
    expect(await Promise.all(asks)).toEqual(Array(10).fill('gate'));
    expect(runs).toBe(1);

    const refuse = async (): Promise<Reviewed<string>> => {
      runs++;
      throw new ApiError('GUARD_API_UNAUTHENTICATED', 'the token was not accepted by Kubernetes', { reason: 'token_rejected' });
    };
    for (let i = 0; i < 3; i++) expect((await refusal(reviews.get('token-b', '10.0.0.1', refuse))).reason).toBe('token_rejected');
    expect(runs).toBe(2);
    clock.advance(REFUSED_TTL_MS);
    await refusal(reviews.get('token-b', '10.0.0.1', refuse));
    expect(runs).toBe(3);
  });

  it('keep no answer when Kubernetes could not be asked', async () => {
    const clock = new FakeClock(1_000_000);
    const reviews = new TokenReviews<string>(limits(clock), { maxEntries: 100, now: () => clock.now() });
    let runs = 0;
    const down = async (): Promise<Reviewed<string>> => {
      runs++;
      throw new ApiError('GUARD_API_UNAVAILABLE', 'Kubernetes could not be asked');
    };
    await refusal(reviews.get('token-c', '10.0.0.1', down));
    await refusal(reviews.get('token-c', '10.0.0.1', down));
    expect(runs).toBe(2);
  });

  it('refuse an address its new tokens once it failed a burst of times, until its failures come back; tokens accepted before pass', async () => {
    const clock = new FakeClock(1_000_000);
    const attempts = limits(clock);
    let reviewed = 0;
    // The accepted answer is kept for 1 s only: the token is reviewed again later, during the flood.
    const reviews = new TokenReviews<string>(attempts, { maxEntries: 100, now: () => clock.now() });
    const review = (token: string) => async (): Promise<Reviewed<string>> => {
      reviewed++;
      if (token.startsWith('good')) return { value: token, ttlMs: 1000 };
      throw new ApiError('GUARD_API_UNAUTHENTICATED', 'not accepted', { reason: 'token_rejected' });
    };
    expect(await reviews.get('good-1', '10.0.0.1', review('good-1'))).toBe('good-1');
    for (let i = 0; i < 3; i++) expect((await refusal(reviews.get(`bad-${i}`, '10.0.0.1', review(`bad-${i}`)))).status).toBe(401);
    const limited = await refusal(reviews.get('bad-3', '10.0.0.1', review('bad-3')));
    expect([limited.status, limited.reason, limited.retryAfterSeconds]).toEqual([429, 'auth_failures', 10]);
    expect(reviewed).toBe(4);
    // A new good token from that address waits too; from another address it is reviewed.
    expect((await refusal(reviews.get('good-2', '10.0.0.1', review('good-2')))).status).toBe(429);
    expect(await reviews.get('good-2', '10.0.0.2', review('good-2'))).toBe('good-2');
    // The token accepted before the flood is reviewed again when its answer expires, and passes.
    clock.advance(1000);
    expect(await reviews.get('good-1', '10.0.0.1', review('good-1'))).toBe('good-1');
    // One failure comes back every 10 s (6 a minute).
    clock.advance(9000);
    expect((await refusal(reviews.get('bad-4', '10.0.0.1', review('bad-4')))).status).toBe(401);
    expect((await refusal(reviews.get('bad-5', '10.0.0.1', review('bad-5')))).status).toBe(429);
  });

  it('let reviews that run at once hold the failures they may cost: a burst started together cannot overrun the limit', async () => {
    const clock = new FakeClock(1_000_000);
    const reviews = new TokenReviews<string>(limits(clock), { maxEntries: 100, now: () => clock.now() });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started = 0;
    const slowly = (token: string) => async (): Promise<Reviewed<string>> => {
      started++;
      await held;
      if (token.startsWith('good')) return { value: token, ttlMs: 60_000 };
      throw new ApiError('GUARD_API_UNAUTHENTICATED', 'not accepted', { reason: 'token_rejected' });
    };
    // Ten new tokens at once from one address with a burst of 3: three are reviewed, the rest wait.
    const asks = ['good-1', ...Array.from({ length: 9 }, (_, i) => `bad-${i}`)].map((t) => reviews.get(t, '10.0.0.1', slowly(t)).then(
      () => 200,
      (err: ApiError) => err.status,
    ));
    release();
    expect(await Promise.all(asks)).toEqual([200, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
    expect(started).toBe(3);
    // The accepted one gave its failure back: one more review, then none.
    expect((await refusal(reviews.get('bad-9', '10.0.0.1', slowly('bad-9')))).status).toBe(401);
    expect((await refusal(reviews.get('bad-10', '10.0.0.1', slowly('bad-10')))).status).toBe(429);
  });

  it('run so many reviews at once, and answer the others 503 with Retry-After', async () => {
    const clock = new FakeClock(1_000_000);
    const reviews = new TokenReviews<string>(limits(clock, { maxReviews: 2 }), { maxEntries: 100, now: () => clock.now() });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow = (token: string) => async (): Promise<Reviewed<string>> => {
      await held;
      return { value: token, ttlMs: 60_000 };
    };
    const first = [reviews.get('t1', 'a', slow('t1')), reviews.get('t2', 'b', slow('t2'))];
    const busy = await refusal(reviews.get('t3', 'c', slow('t3')));
    expect([busy.status, busy.reason, busy.retryAfterSeconds]).toEqual([503, 'reviews_busy', 1]);
    release();
    expect(await Promise.all(first)).toEqual(['t1', 't2']);
    expect(await reviews.get('t3', 'c', slow('t3'))).toBe('t3');
  });
});

describe('guard-service under made-up tokens', () => {
  it('reviews a burst of them per address, then answers 429 without asking Kubernetes; a gate elsewhere syncs', async () => {
    const kube = await standin();
    const { url } = await start(kube, { authAttempts: { failureBurst: 5, failuresPerMinute: 1, maxReviews: 32 } });
    const known = gate(kube, 'shop', 'cart-1', { app: 'cart' });
    expect((await syncFrom(url, known)).status).toBe(200);

    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await syncFrom(url, madeUp(i)));
    expect(answers.slice(0, 5).map((a) => a.status)).toEqual([401, 401, 401, 401, 401]);
    expect(new Set(answers.slice(5).map((a) => `${a.status} ${a.code}`))).toEqual(new Set(['429 GUARD_API_RATE_LIMITED']));
    expect(Number(answers[29]!.retryAfter)).toBeGreaterThan(0);
    // The same made-up token again is answered from memory, whatever the limit.
    expect((await syncFrom(url, madeUp(0))).status).toBe(401);
    // One review for the gate, five for the made-up tokens: the other 26 cost Kubernetes nothing.
    expect(tokenReviews(kube)).toBe(6);

    // The gate whose token was accepted goes on; a new gate from another address is reviewed.
    expect((await syncFrom(url, known)).status).toBe(200);
    const other = gate(kube, 'shop', 'pay-1', { app: 'pay' });
    expect((await syncFrom(url, other, elsewhere)).status).toBe(200);
    expect(tokenReviews(kube)).toBe(7);

    const metrics = (await call(`${url}/metrics`)).text;
    expect(metrics).toMatch(/guard_service_auth_failures_total\{api="sync",reason="auth_failures"\} 25/);
    expect(metrics).toMatch(/guard_service_token_reviews_total\{api="sync",outcome="refused"\} 5/);
    expect(metrics).toMatch(/guard_service_token_reviews_total\{api="sync",outcome="accepted"\} 2/);
  });

  it('reviews a new token once when many of its syncs arrive together', async () => {
    const kube = await standin();
    const { url } = await start(kube);
    kube.state.delay(100);
    const token = gate(kube, 'shop', 'cart-1', { app: 'cart' });
    const answers = await Promise.all(Array.from({ length: 8 }, () => syncFrom(url, token)));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(tokenReviews(kube)).toBe(1);
  });

  it('limits people\'s failed authentications per address too, with the generated token', async () => {
    const { url } = await start(null, { authAttempts: { failureBurst: 2, failuresPerMinute: 1, maxReviews: 32 } }, { peopleToken: 'the-people-token-1234' });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(`${url}/api/v1/guardians`, { token: `guessed-token-${i}` })).status);
    expect(statuses).toEqual([401, 401, 429, 429]);
    // The right token was never accepted from this address, so it waits too; from another it passes.
    expect((await call(`${url}/api/v1/guardians`, { token: 'the-people-token-1234' })).status).toBe(429);
    const res = await request(`${url}/api/v1/guardians`, { headers: { authorization: 'Bearer the-people-token-1234' }, dispatcher: elsewhere });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
  });
});

describe('the limits\' configuration', () => {
  it('GUARD_SERVICE_AUTH_FAILURE_BURST, _FAILURES_PER_MINUTE and GUARD_SERVICE_MAX_TOKEN_REVIEWS, with the defaults --help states', () => {
    expect(readServiceConfig({}).authAttempts).toEqual({ failureBurst: 20, failuresPerMinute: 10, maxReviews: 32 });
    expect(readServiceConfig({ GUARD_SERVICE_AUTH_FAILURE_BURST: '5', GUARD_SERVICE_AUTH_FAILURES_PER_MINUTE: '0', GUARD_SERVICE_MAX_TOKEN_REVIEWS: '4' }).authAttempts).toEqual({
      failureBurst: 5,
      failuresPerMinute: 0,
      maxReviews: 4,
    });
    const d = DEFAULT_AUTH_ATTEMPTS;
    for (const [name, value] of [['GUARD_SERVICE_AUTH_FAILURE_BURST', d.failureBurst], ['GUARD_SERVICE_AUTH_FAILURES_PER_MINUTE', d.failuresPerMinute], ['GUARD_SERVICE_MAX_TOKEN_REVIEWS', d.maxReviews]] as const) {
      expect(SERVICE_HELP).toMatch(new RegExp(`${name} [^\\n]*(\\n {29}[^\\n]*)*\\(default ${value}[;)]`));
    }
    for (const [name, value] of [['GUARD_SERVICE_AUTH_FAILURE_BURST', '0'], ['GUARD_SERVICE_AUTH_FAILURES_PER_MINUTE', 'ten'], ['GUARD_SERVICE_MAX_TOKEN_REVIEWS', '0']]) {
      expect(() => readServiceConfig({ [name]: value })).toThrow(ConfigError);
      expect(() => readServiceConfig({ [name]: value })).toThrow(new RegExp(`^${name}: `));
    }
  });
});
