// Alerts that survive a restart: recorded as Kubernetes Events on the Guardian (aggregated with
// counts, rate-limited per Guardian) with a Kubernetes store, and in an append-only rotated log with
// the file store; read back by the alerts API after guard-service starts again.
import { readdir, readFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { serviceConfig, startService } from '../../service/index.js';
import { call, gate, silent, standin, start, sync, syncBody, tempDir } from './api-support.js';

function alert(reason: string, count = 1, level = 'Session') {
  return { decision: { children: {}, reasons: [reason], result: 7 }, time: 1_700_000_000, level, count };
}

describe('alerts in the file store\'s log', () => {
  it('are appended, rotated by size, and read back after a restart, a torn last line skipped', async () => {
    const dir = await tempDir();
    const config = { auth: false, storeDir: dir, alertLog: { maxBytes: 4096, keep: 2 } } as const;
    const first = await start(null, config);
    const token = first.service.peopleToken!;
    for (let i = 0; i < 100; i++) {
      const r = await sync(first.url, undefined, syncBody(1, { alerts: [alert(`reason${i}`, i + 1)] }), `?ns=shop&sid=cart&pod=cart-${i % 3}`);
      expect(r.status).toBe(200);
    }
    await first.service.close();
    const files = (await readdir(dir)).filter((f) => f.startsWith('alerts.log')).sort();
    expect(files).toEqual(['alerts.log', 'alerts.log.1', 'alerts.log.2']);
    // A crash in the middle of an append: the torn line is skipped, the next append starts anew.
    await appendFile(join(dir, 'alerts.log'), '{"ns":"shop","svc":"cart","pod":"torn"');

    const again = await start(null, { ...config }, { peopleToken: token });
    const listed = await call(`${again.url}/api/v1/alerts?namespace=shop&service=cart&limit=1000`, { token });
    expect(listed.status).toBe(200);
    const counts: number[] = listed.json.items.map((a: { count: number }) => a.count);
    // Rotation dropped the oldest files: what is kept is the newest, in order, newest first.
    expect(counts.length).toBeGreaterThan(5);
    expect(counts).toEqual(Array.from({ length: counts.length }, (_, i) => 100 - i));
    expect(listed.json.items[0]).toMatchObject({ namespace: 'shop', service: 'cart', pod: 'cart-0', level: 'Session', decision: alert("reason99").decision });

    await sync(again.url, undefined, syncBody(1, { alerts: [alert('after')] }), '?ns=shop&sid=cart&pod=cart-9');
    await again.service.close();
    const tail = (await readFile(join(dir, 'alerts.log'), 'utf8')).split('\n');
    expect(JSON.parse(tail.at(-2)!)).toMatchObject({ pod: 'cart-9', alert: { decision: alert('after').decision } });
  });
});

describe('alerts as Kubernetes Events on the Guardian', () => {
  async function kubeService(kube: Awaited<ReturnType<typeof standin>>, alertEvents = { burst: 25, refillMs: 5000 }, logger = silent) {
    const service = await startService(
      serviceConfig({ port: 0, address: '127.0.0.1', auth: true, peopleAuth: 'kubernetes', store: 'kube-crd', tls: null, alertEvents }),
      { logger, kubeConfig: kube.kubeConfig() },
    );
    return service;
  }

  it('aggregates repeats into one Event with a count, which kubectl describe would list, and reads them back after a restart', async () => {
    const kube = await standin();
    const token = gate(kube, 'shop', 'cart-1', { app: 'cart' });
    const service = await kubeService(kube);
    for (let i = 0; i < 3; i++) expect((await sync(service.url, token, syncBody(1, { alerts: [alert('badHeader', 2)] }))).status).toBe(200);
    expect((await sync(service.url, token, syncBody(1, { alerts: [alert('podAlert', 1, 'Pod')] }))).status).toBe(200);
    await service.close();

    // What `kubectl describe guardian cart -n shop` asks for.
    const events = await kube
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .listNamespacedEvent({ namespace: 'shop', fieldSelector: 'involvedObject.kind=Guardian,involvedObject.name=cart' });
    const byReason = Object.fromEntries(events.items.map((e) => [e.reason, e]));
    expect(Object.keys(byReason).sort()).toEqual(['PodAlert', 'SessionAlert']);
    expect(byReason.SessionAlert).toMatchObject({ type: 'Warning', count: 6, source: { component: 'guard-service' }, involvedObject: { apiVersion: 'guard.security.knative.dev/v1alpha1', kind: 'Guardian', namespace: 'shop', name: 'cart' } });
    expect(byReason.SessionAlert!.message).toContain('badHeader');
    expect(byReason.SessionAlert!.message).toContain('cart-1');

    const again = await kubeService(kube);
    try {
      const listed = await call(`${again.url}/api/v1/alerts?namespace=shop&service=cart`, { token: kube.token });
      expect(listed.status).toBe(200);
      expect(listed.json.items.map((a: { level: string; count: number; pod: string }) => `${a.level} ${a.count} ${a.pod}`).sort()).toEqual(['Pod 1 cart-1', 'Session 6 cart-1']);
      // A repeat after the restart raises the same Event's count.
      await sync(again.url, token, syncBody(1, { alerts: [alert('badHeader', 1)] }));
    } finally {
      await again.close();
    }
    const after = kube.state.listObjects('events', 'shop').filter((e) => e.reason === 'SessionAlert');
    expect(after.map((e) => e.count)).toEqual([7]);
    // Written before the first learning created the Guardian, the Event had no uid; its next repeat
    // named the Guardian's, so `kubectl describe` (which selects by uid too) lists it now.
    const uid = kube.state.getObject('guardians', 'shop', 'cart')!.metadata.uid;
    expect((after[0]!.involvedObject as { uid?: string }).uid).toBe(uid);
  });

  it('names the Guardian by its uid, so the selector kubectl describe uses finds the alerts; a Guardian created again gets new Events', async () => {
    const kube = await standin();
    const token = gate(kube, 'shop', 'cart-1', { app: 'cart' });
    const control = { alert: true, block: false, learn: true, force: false, auto: false };
    const created = () => kube.state.putObject('guardians', { metadata: { name: 'cart', namespace: 'shop' }, spec: { samples: 0, control } }).metadata.uid!;
    const first = created();
    const events = kube.kubeConfig().makeApiClient(CoreV1Api);
    // `kubectl describe guardian cart -n shop`: the object's name, namespace, kind and, as it has one, uid.
    const described = async (uid: string) =>
      (await events.listNamespacedEvent({ namespace: 'shop', fieldSelector: `involvedObject.name=cart,involvedObject.namespace=shop,involvedObject.kind=Guardian,involvedObject.uid=${uid}` })).items.map(
        (e) => `${e.reason} ${e.count} ${e.involvedObject.uid}`,
      );

    const service = await kubeService(kube);
    expect((await sync(service.url, token, syncBody(1, { alerts: [alert('badHeader', 2)] }))).status).toBe(200);
    await service.close();
    expect(await described(first)).toEqual([`SessionAlert 2 ${first}`]);

    // Deleted and created again (another object, another uid) while guard-service was down.
    kube.state.removeObject('guardians', 'shop', 'cart');
    const second = created();
    expect(second).not.toBe(first);
    const again = await kubeService(kube);
    try {
      expect((await sync(again.url, token, syncBody(1, { alerts: [alert('badHeader', 1)] }))).status).toBe(200);
    } finally {
      await again.close();
    }
    // The same decision, but not aggregated into the old object's Event: describe shows each its own.
    expect(await described(second)).toEqual([`SessionAlert 1 ${second}`]);
    expect(await described(first)).toEqual([`SessionAlert 2 ${first}`]);
  });

  it('keeps an alert flood within the Event rate limit, the counts still adding up', async () => {
    const kube = await standin();
    const token = gate(kube, 'shop', 'cart-1', { app: 'cart' });
    const service = await kubeService(kube, { burst: 3, refillMs: 3_600_000 });
    try {
      const served = kube.state.requests.length;
      // 200 alerts, 50 different decisions, in 20 syncs.
      for (let s = 0; s < 20; s++) {
        const alerts = Array.from({ length: 10 }, (_, i) => alert(`reason${(s * 10 + i) % 50}`));
        expect((await sync(service.url, token, syncBody(1, { alerts }))).status).toBe(200);
      }
      const writes = () => kube.state.requests.slice(served).filter((r) => r.path.includes('/events') && (r.method === 'POST' || r.method === 'PATCH'));
      await kube.state.waitFor(() => writes().length === 3);
      const metrics = await call(`${service.url}/metrics`);
      expect(metrics.text).toMatch(/^guard_service_alert_events_total\{outcome="created"\} 3$/m);
      expect(metrics.text).toMatch(/^guard_service_alert_events_total\{outcome="deferred"\} [1-9]/m);
      // Every alert is in the API (memory) even though most wait for a token.
      const listed = await call(`${service.url}/api/v1/alerts?namespace=shop&service=cart&limit=1000`, { token: kube.token });
      expect(listed.json.items).toHaveLength(200);
      expect(writes()).toHaveLength(3);
    } finally {
      await service.close();
    }
  });

  it('writes what the rate limit held back before it stops — one more burst per Guardian, the most frequent first — and says what a flood left out', async () => {
    const kube = await standin();
    const cart = gate(kube, 'shop', 'cart-1', { app: 'cart' });
    const pay = gate(kube, 'shop', 'pay-1', { app: 'pay' });
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const service = await kubeService(kube, { burst: 2, refillMs: 3_600_000 }, logger);
    // cart: 2 alerts take its tokens, 3 more wait; pay: 2 take its tokens, 1 waits.
    expect((await sync(service.url, cart, syncBody(1, { alerts: [alert('a'), alert('b')] }))).status).toBe(200);
    expect((await sync(service.url, cart, syncBody(1, { alerts: [alert('c', 3), alert('d', 5), alert('e', 1)] }))).status).toBe(200);
    expect((await sync(service.url, pay, syncBody(1, { alerts: [alert('a'), alert('b'), alert('f', 4)] }))).status).toBe(200);
    const recorded = () =>
      kube.state
        .listObjects('events', 'shop')
        .map((e) => `${(e.involvedObject as { name?: string }).name} ${/"reasons":\["([^"]+)"/.exec(String(e.message))?.[1]} ${e.count}`)
        .sort();
    await kube.state.waitFor(() => recorded().length === 4);
    await service.close();
    // cart's last burst: d and c (5 and 3 occurrences); e (1) is left out, and said so. pay's f is written.
    expect(recorded()).toEqual(['cart a 1', 'cart b 1', 'cart c 3', 'cart d 5', 'pay a 1', 'pay b 1', 'pay f 4']);
    const warned = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ guardian: 'shop/cart', decisions: 1, occurrences: 1 });
    expect(warned[0].msg).toMatch(/rate limit/);
  });
});
