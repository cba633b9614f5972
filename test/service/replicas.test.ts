// Several guard-service replicas on the Kubernetes stand-in, dividing the services with Leases,
// and many simulated gates syncing to whichever replica the Service's load balancing picks. Every
// sample a gate sends is counted, and so is every sample the Guardians hold at the end: they must
// be equal while replicas are drained, added and replaced one by one (a rolling update), with a
// person editing Guardians meanwhile, and when a replica is killed outright: a sync whose answer
// never came is sent again with its sync id, as the gate does, and learned once.
import { randomUUID } from 'node:crypto';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ConfigError, readServiceConfig, serviceConfig, startService, type RunningService } from '../../service/index.js';
import type { ReplicasConfig } from '../../service/replicas.js';
import { KubeCrdGuardianStore } from '../../store/kube-crd.js';
import { openGuardianStore, type GuardianStore } from '../../store/index.js';
import type { KubeStandin } from '../kube/standin.js';
import { call, core, eventually, pileText, replicaConfig, silent, standin } from './api-support.js';

const SERVICES = ['cart', 'shop', 'pay', 'ship', 'mail', 'auth'];
const PODS_PER_SERVICE = 4;
const NS = 'apps';
const LEASE_NS = 'guard-system';

interface Replica {
  name: string;
  service: RunningService;
  url: string;
}

class Cluster {
  readonly replicas: Replica[] = [];
  /** The Service's endpoints: replicas gates may reach (a drained one leaves first). */
  readonly endpoints: string[] = [];
  private next = 0;
  private counter = 0;
  constructor(readonly kube: KubeStandin) {}

  async add(extra: Partial<ReplicasConfig> = {}, alertEvents = { burst: 25, refillMs: 5000 }): Promise<Replica> {
    const name = `guard-service-${++this.counter}`;
    const service = await startService(
      replicaConfig(name, { alertEvents, replicas: extra }),
      { logger: silent, kubeConfig: this.kube.kubeConfig(), kubeTimeoutMs: 5000 },
    );
    const replica = { name, service, url: service.url };
    this.replicas.push(replica);
    this.endpoints.push(replica.url);
    return replica;
  }

  async drain(replica: Replica): Promise<void> {
    this.endpoints.splice(this.endpoints.indexOf(replica.url), 1);
    const report = await replica.service.close();
    expect(report.flushed).toBe(true);
    this.replicas.splice(this.replicas.indexOf(replica), 1);
  }

  kill(replica: Replica): void {
    replica.service.crash();
    // Kubernetes notices the dead pod only later: gates still reach for it meanwhile.
    setTimeout(() => {
      const i = this.endpoints.indexOf(replica.url);
      if (i >= 0) this.endpoints.splice(i, 1);
    }, 500).unref();
    this.replicas.splice(this.replicas.indexOf(replica), 1);
  }

  pick(): string {
    return this.endpoints[this.next++ % this.endpoints.length]!;
  }

  /** Every replica holds shards, and together all of them: the division has settled. */
  async settled(): Promise<void> {
    // A Lease expires a full duration after each replica first saw it unchanged, and a loaded
    // machine stretches every round: wait generously (an event, not a timing).
    const deadline = Date.now() + 40_000;
    for (;;) {
      const held = this.replicas.map((r) => r.service.replicas!.leases.heldShards());
      const all = held.flat().sort((a, b) => a - b);
      if (held.every((h) => h.length > 0) && all.length === 8 && new Set(all).size === 8) return;
      if (Date.now() > deadline) throw new Error(`shards did not settle: ${JSON.stringify(held)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async closeAll(): Promise<void> {
    for (const r of this.replicas.splice(0)) await r.service.close();
  }
}

/**
 * A gate, as gate/sync.ts syncs: samples pile up and go in units, each with the sync id
 * `<instance>:<sequence>`. A unit that gets no 200 may have been learned all the same: it is sent
 * again alone, with the same id, before anything newer, until it is answered.
 */
class SimulatedGate {
  pending = 0;
  sent = 0;
  acked = 0;
  /** Samples in syncs that got no HTTP answer after they may have arrived. */
  ambiguous = 0;
  refused = 0;
  /** What made syncs ambiguous (shown when the count is wrong). */
  readonly why: string[] = [];
  private unanswered: { id: string; n: number } | null = null;
  private sequence = 0;
  constructor(
    readonly token: string,
    readonly service: string,
    readonly instance: string,
  ) {}

  async round(cluster: Cluster, add: number): Promise<void> {
    this.pending += add;
    this.sent += add;
    if ((this.pending === 0 && this.unanswered === null) || cluster.endpoints.length === 0) return;
    const unit = this.unanswered ?? { id: `${this.instance}:${++this.sequence}`, n: this.pending };
    if (this.unanswered === null) this.pending = 0;
    this.unanswered = unit;
    const body = `{"pile":${pileText(unit.n)},"alerts":null,"compromised":false}`;
    try {
      const r = await call(`${cluster.pick()}/sync`, { method: 'POST', token: this.token, body, headers: { 'x-guard-sync-id': unit.id } });
      if (r.status === 200) {
        this.acked += unit.n;
        this.unanswered = null;
      } else if (r.status === 502) {
        // GUARD_API_FORWARD_BROKEN: the replica it was forwarded to may have learned it.
        this.ambiguous += unit.n;
        this.why.push(r.text);
      } else {
        // Refused, nothing learned (a shard changing hands, or the pod's sync limit): resent.
        expect([503, 429], r.text).toContain(r.status);
        this.refused++;
      }
    } catch (err) {
      const code = (err as { code?: string }).code;
      // Refused connections never carried the pile; a reset one may have.
      if (code !== 'ECONNREFUSED') {
        this.ambiguous += unit.n;
        this.why.push(String(code ?? err));
      }
    }
  }

  get held(): number {
    return this.pending + (this.unanswered?.n ?? 0);
  }
}

async function gates(kube: KubeStandin): Promise<SimulatedGate[]> {
  const all: SimulatedGate[] = [];
  for (const service of SERVICES) {
    for (let i = 0; i < PODS_PER_SERVICE; i++) {
      const pod = `${service}-${i}`;
      kube.state.addPod({ namespace: NS, name: pod, labels: { app: service } });
      all.push(new SimulatedGate(kube.state.mintServiceAccountToken({ namespace: NS, serviceAccount: 'default', podName: pod, audiences: ['guard-service'] }), service, `${pod}-${randomUUID().slice(0, 8)}`));
    }
  }
  return all;
}

/** Gates sync in rounds until `stop` says so; then every gate resends until its pile is empty. */
async function traffic(cluster: Cluster, all: SimulatedGate[], stop: () => boolean): Promise<void> {
  let round = 0;
  while (!stop()) {
    round++;
    await Promise.all(all.map((g, i) => g.round(cluster, 1 + ((round + i) % 5))));
  }
  for (let tries = 0; all.some((g) => g.held > 0); tries++) {
    if (tries > 200) throw new Error('gates could not deliver their piles');
    await Promise.all(all.map((g) => g.round(cluster, 0)));
  }
}

async function learnedSamples(store: GuardianStore): Promise<number> {
  let total = 0;
  for (const s of SERVICES) total += (await store.get(NS, s))?.spec.samples ?? 0;
  return total;
}

/**
 * A gate of every service sends two syncs to `url`, each with an alert of its own decision (count
 * 1, then 2); a sync answered 503 (the replica has not yet seen who holds the shard) is resent, as
 * a gate does. Returns each alert sent as `<service> <reason> <count>`.
 */
async function alertFromEveryService(kube: KubeStandin, url: string): Promise<string[]> {
  const sent: string[] = [];
  for (const service of SERVICES) {
    kube.state.addPod({ namespace: NS, name: `${service}-0`, labels: { app: service } });
    const token = kube.state.mintServiceAccountToken({ namespace: NS, serviceAccount: 'default', podName: `${service}-0`, audiences: ['guard-service'] });
    for (let i = 0; i < 2; i++) {
      const alerts = [{ decision: { children: {}, reasons: [`${service}-${i}`], result: 7 }, time: 1_700_000_000, level: 'Session', count: i + 1 }];
      const body = `{"pile":${pileText(1)},"alerts":${JSON.stringify(alerts)},"compromised":false}`;
      await eventually(async () => {
        const r = await call(`${url}/sync`, { method: 'POST', token, body });
        if (r.status !== 503) expect(r.status, r.text).toBe(200);
        return r.status === 200;
      }, 10_000);
      sent.push(`${service} ${service}-${i} ${i + 1}`);
    }
  }
  return sent;
}

/** A fresh stand-in and an empty cluster on it for `run`; every replica closed after, however it ended. */
async function inCluster(run: (kube: KubeStandin, cluster: Cluster) => Promise<void>): Promise<void> {
  const kube = await standin();
  const cluster = new Cluster(kube);
  try {
    await run(kube, cluster);
  } finally {
    await cluster.closeAll();
  }
}

describe('guard-service replicas on Leases', () => {
  it('learns every sample exactly once while replicas are drained, added and rolled, with a person editing', async () => {
    const kube = await standin();
    const cluster = new Cluster(kube);
    const reader = openGuardianStore({ kind: 'kube-crd', kubeConfig: kube.kubeConfig(), core, report: () => {} });
    const person = new KubeCrdGuardianStore({ kubeConfig: kube.kubeConfig(), core });
    try {
      for (let i = 0; i < 3; i++) await cluster.add();
      await cluster.settled();
      const all = await gates(kube);
      let done = false;
      const running = traffic(cluster, all, () => done);

      // A person edits the cart's configured rules while the replicas learn into it.
      let edits = 0;
      const editing = (async () => {
        while (!done) {
          const mark = `EDIT${edits}`;
          await person.update(NS, 'cart', (cur) => ({ ...(cur ?? { samples: 0, control: null }), configured: { req: { method: { set: [mark] } } } as never }));
          edits++;
          await new Promise((r) => setTimeout(r, 30));
        }
      })();

      // Drained, added, then a rolling update: each old replica replaced by a new one.
      await new Promise((r) => setTimeout(r, 300));
      await cluster.drain(cluster.replicas[0]!);
      await cluster.settled();
      await cluster.add();
      await cluster.settled();
      for (const old of [...cluster.replicas]) {
        await cluster.add();
        await cluster.drain(old);
        await cluster.settled();
      }
      done = true;
      await Promise.all([running, editing]);

      const sent = all.reduce((n, g) => n + g.sent, 0);
      const acked = all.reduce((n, g) => n + g.acked, 0);
      expect(all.flatMap((g) => g.why)).toEqual([]);
      expect(acked).toBe(sent);
      expect(await learnedSamples(await reader)).toBe(sent);
      const cart = await (await reader).get(NS, 'cart');
      expect(cart!.spec.configured).toMatchObject({ req: { method: { set: [`EDIT${edits - 1}`] } } });
      // Syncs did reach replicas that did not learn their service, and were forwarded.
      const forwarded = await Promise.all(cluster.replicas.map((r) => call(`${r.url}/metrics`)));
      expect(forwarded.some((m) => /^guard_service_syncs_forwarded_total\{outcome="ok"\} [1-9]/m.test(m.text))).toBe(true);
    } finally {
      await cluster.closeAll();
      await (await reader).close();
      await person.close();
    }
  }, 120_000);

  it('learns every sample exactly once when a replica is killed: syncs it never answered are sent again under their ids', async () => {
    const kube = await standin();
    const cluster = new Cluster(kube);
    const reader = await openGuardianStore({ kind: 'kube-crd', kubeConfig: kube.kubeConfig(), core, report: () => {} });
    try {
      for (let i = 0; i < 3; i++) await cluster.add();
      await cluster.settled();
      const all = await gates(kube);
      let done = false;
      const running = traffic(cluster, all, () => done);
      await new Promise((r) => setTimeout(r, 300));
      cluster.kill(cluster.replicas[1]!);
      // Its shards come back into service once its Leases expire (2 s here: long enough that a loaded test machine renews in time).
      await cluster.settled();
      await cluster.add();
      await cluster.settled();
      done = true;
      await running;

      const sent = all.reduce((n, g) => n + g.sent, 0);
      const acked = all.reduce((n, g) => n + g.acked, 0);
      expect(acked).toBe(sent);
      // Per service, what was sent, what the Guardian holds, and what made syncs ambiguous.
      const perService = await Promise.all(SERVICES.map(async (svc) => ({ svc, sent: all.filter((g) => g.service === svc).reduce((n, g) => n + g.sent, 0), learned: (await reader.get(NS, svc))?.spec.samples, ambiguous: all.filter((g) => g.service === svc).flatMap((g) => g.why) })));
      expect(await learnedSamples(reader), JSON.stringify(perService)).toBe(sent);
    } finally {
      await cluster.closeAll();
      await reader.close();
    }
  }, 120_000);

  it("shows one view of alerts and learning on every replica, names a replica that cannot answer, and moves a shard's alerts with the shard (a dead replica's, and those given to a new one)", () =>
    inCluster(async (kube, cluster) => {
      const a = await cluster.add();
      const b = await cluster.add();
      await cluster.settled();
      // Every service alerts with its own decision; each sync reaches replica a, which forwards
      // those it does not learn.
      const sent = await alertFromEveryService(kube, a.url);
      const held = (r: Replica) => SERVICES.filter((svc) => r.service.replicas!.learnsHere(NS, svc));
      expect(held(a).length + held(b).length).toBe(SERVICES.length);
      expect(held(a).length).toBeGreaterThan(0);
      expect(held(b).length).toBeGreaterThan(0);

      const seen = (items: Array<{ service: string; decision: { reasons: string[] }; count: number }>) => items.map((x) => `${x.service} ${x.decision.reasons[0]} ${x.count}`).sort();
      for (const r of [a, b]) {
        const listed = await call(`${r.url}/api/v1/alerts?namespace=${NS}&limit=1000`, { token: kube.token });
        expect(listed.status, listed.text).toBe(200);
        expect(listed.json.incomplete).toBeUndefined();
        expect(seen(listed.json.items)).toEqual([...sent].sort());
        // Newest first across replicas.
        const times = listed.json.items.map((x: { receivedAt: string }) => Date.parse(x.receivedAt));
        expect([...times].sort((x, y) => y - x)).toEqual(times);
        // The limit applies to the merged view.
        const two = await call(`${r.url}/api/v1/alerts?namespace=${NS}&limit=2`, { token: kube.token });
        expect(two.json.items).toEqual(listed.json.items.slice(0, 2));
      }
      // The overview: each service's alerts and learning from the replica that learns it, the same on both.
      const overviews = await Promise.all([a, b].map((r) => call(`${r.url}/api/v1/services?namespace=${NS}`, { token: kube.token })));
      const rows = overviews.map((o) => {
        expect(o.status, o.text).toBe(200);
        return Object.fromEntries(o.json.items.map((x: { service: string; alerts: { lastHour: { entries: number; occurrences: number } }; lastLearnedAt: string | null }) => [x.service, [x.alerts.lastHour.entries, x.alerts.lastHour.occurrences, x.lastLearnedAt !== null]]));
      });
      expect(rows[0]).toEqual(Object.fromEntries(SERVICES.map((svc) => [svc, [2, 3, true]])));
      expect(rows[1]).toEqual(rows[0]);
      // One replica's own part: only the services it learns.
      const part = await call(`${b.url}/api/v1/replica/alerts?namespace=${NS}&limit=1000`, { token: kube.token });
      expect([...new Set(part.json.items.map((x: { service: string }) => x.service))].sort()).toEqual(held(b).sort());
      // A person without rights is refused by the replica asked, before any other is.
      const stranger = await call(`${b.url}/api/v1/alerts?namespace=${NS}`, { token: 'not-a-token' });
      expect(stranger.status).toBe(401);

      // Every alert is recorded as an Event before a replica dies.
      await eventually(async () => kube.state.listObjects('events', NS).length >= sent.length);
      const gone = held(b);
      cluster.kill(b);
      // Until its Leases expire, a learns that b's part is missing, and says so.
      const partial = await call(`${a.url}/api/v1/alerts?namespace=${NS}&limit=1000`, { token: kube.token });
      expect(partial.status).toBe(200);
      expect(partial.json.incomplete?.map((m: { replica: string }) => m.replica)).toEqual([b.name]);
      expect(partial.json.incomplete[0].error).toMatch(/did not answer/);
      const metrics = (await call(`${a.url}/metrics`)).text;
      expect(metrics).toMatch(/^guard_service_view_parts_total\{outcome="missing"\} [1-9]/m);
      expect(metrics).toMatch(/^guard_service_view_parts_total\{outcome="answered"\} [1-9]/m);
      // Then a takes b's services over and reads their alerts back from the Events.
      await eventually(async () => gone.every((svc) => a.service.replicas!.learnsHere(NS, svc)), 20_000);
      const after = await eventually(async () => {
        const r = await call(`${a.url}/api/v1/alerts?namespace=${NS}&limit=1000`, { token: kube.token });
        return r.json.incomplete === undefined && seen(r.json.items).length === sent.length ? r : null;
      }, 10_000);
      expect(seen(after.json.items)).toEqual([...sent].sort());

      // A new replica: a gives it shards back (and forgets their alerts), c reads them back from
      // the Events; both still show one view.
      const c = await cluster.add();
      await cluster.settled();
      expect(held(c).length).toBeGreaterThan(0);
      for (const r of [a, c]) {
        const view = await eventually(async () => {
          const v = await call(`${r.url}/api/v1/alerts?namespace=${NS}&limit=1000`, { token: kube.token });
          return v.json.incomplete === undefined && seen(v.json.items).length === sent.length ? v : null;
        }, 10_000);
        expect(seen(view.json.items)).toEqual([...sent].sort());
        const own = await call(`${r.url}/api/v1/replica/alerts?namespace=${NS}&limit=1000`, { token: kube.token });
        expect([...new Set(own.json.items.map((x: { service: string }) => x.service))].sort()).toEqual(held(r).sort());
        // What each keeps is what it learns: two alerts a service (a forgot those of the shards it gave c).
        const stored = Number(/^guard_service_alerts_stored (\d+)/m.exec((await call(`${r.url}/metrics`)).text)?.[1]);
        expect(stored).toBe(2 * held(r).length);
      }
    }),
    60_000,
  );

  it('writes the alerts an Event rate limit held back before it gives their services to another replica, so that one shows them all', () =>
    inCluster(async (kube, cluster) => {
      // One Event write per Guardian, then none for an hour: each service's second alert waits.
      const limited = { burst: 1, refillMs: 3_600_000 };
      const a = await cluster.add({}, limited);
      await eventually(async () => a.service.replicas!.leases.heldShards().length === 8, 20_000);
      const sent = await alertFromEveryService(kube, a.url);
      const recorded = () => kube.state.listObjects('events', NS).map((e) => `${(e.involvedObject as { name?: string }).name} ${/"reasons":\["([^"]+)"/.exec(String(e.message))?.[1]} ${e.count}`).sort();
      await eventually(async () => recorded().length === SERVICES.length);
      expect(recorded()).toEqual(sent.filter((x) => x.endsWith(' 1')).sort());

      // A second replica: a gives it shards, writing first what waits of their services.
      const b = await cluster.add({}, limited);
      await cluster.settled();
      const held = (r: Replica) => SERVICES.filter((svc) => r.service.replicas!.learnsHere(NS, svc));
      const moved = held(b);
      expect(moved.length).toBeGreaterThan(0);
      const own = async (r: Replica) => {
        const part = await call(`${r.url}/api/v1/replica/alerts?namespace=${NS}&limit=1000`, { token: kube.token });
        expect(part.status, part.text).toBe(200);
        return part.json.items.map((x: { service: string; decision: { reasons: string[] }; count: number }) => `${x.service} ${x.decision.reasons[0]} ${x.count}`).sort();
      };
      const ofServices = (services: string[]) => sent.filter((x) => services.includes(x.split(' ')[0]!)).sort();
      await eventually(async () => JSON.stringify(await own(b)) === JSON.stringify(ofServices(moved)), 10_000);

      // Then a is drained: b takes the rest and shows every alert, each written once.
      await cluster.drain(a);
      await eventually(async () => held(b).length === SERVICES.length, 20_000);
      await eventually(async () => (await own(b)).length === sent.length, 10_000);
      expect(await own(b)).toEqual([...sent].sort());
      expect(recorded()).toEqual([...sent].sort());
    }),
    60_000,
  );

  it("sends no token, a gate's or a person's, to a replica its Lease names at a plain-HTTP URL when the replicas are to speak TLS", () =>
    inCluster(async (kube, cluster) => {
      const a = await cluster.add({ peersOverTls: true });
      const b = await cluster.add({ peersOverTls: true });
      await cluster.settled();
      // A service b learns, synced to a: a would forward it to b's http:// URL.
      const service = SERVICES.find((svc) => b.service.replicas!.learnsHere(NS, svc))!;
      kube.state.addPod({ namespace: NS, name: `${service}-0`, labels: { app: service } });
      const token = kube.state.mintServiceAccountToken({ namespace: NS, serviceAccount: 'default', podName: `${service}-0`, audiences: ['guard-service'] });
      const r = await eventually(async () => {
        const x = await call(`${a.url}/sync`, { method: 'POST', token, body: `{"pile":${pileText(1)},"alerts":null,"compromised":false}` });
        return x.text.includes('not https') ? x : null;
      }, 10_000);
      expect(r.status).toBe(503);
      expect(r.json.error.message).toMatch(/named at http:\/\/127\.0\.0\.1:\d+, which is not https: a gate's token is not forwarded there/);
      // Synced to b itself, it is learned.
      expect((await call(`${b.url}/sync`, { method: 'POST', token, body: `{"pile":${pileText(1)},"alerts":null,"compromised":false}` })).status).toBe(200);
      // Nor a person's: a's view names b's part as missing, b is not asked.
      const view = await call(`${a.url}/api/v1/alerts?namespace=${NS}`, { token: kube.token });
      expect(view.status).toBe(200);
      expect(view.json.incomplete).toEqual([{ replica: b.name, error: expect.stringMatching(/was not asked: its URL http:\/\/127\.0\.0\.1:\d+ is not https/) }]);
    }),
    30_000,
  );

  it('takes its replica settings from the environment, refusing ones that would send tokens unverified', async () => {
    const env = { GUARD_STORE: 'kube-crd', GUARD_SERVICE_SHARDS: '16', POD_NAMESPACE: 'guard', HOSTNAME: 'guard-service-0', GUARD_SERVICE_TLS: 'true' };
    const https = { ...env, GUARD_SERVICE_PEER_URL: 'https://10.0.0.7:8888/', GUARD_SERVICE_PEER_CA: '/ca.crt', GUARD_SERVICE_PEER_SERVER_NAME: 'guard-service.guard.svc' };
    expect(readServiceConfig(https).replicas).toEqual({ shards: 16, leaseSeconds: 15, namespace: 'guard', identity: 'guard-service-0', peerUrl: 'https://10.0.0.7:8888', peerCaFile: '/ca.crt', peerServerName: 'guard-service.guard.svc' });
    const refused = (e: Record<string, string>, variable: string, message: RegExp) => {
      expect(() => readServiceConfig(e)).toThrow(ConfigError);
      expect(() => readServiceConfig(e)).toThrow(message);
      try {
        readServiceConfig(e);
      } catch (err) {
        expect((err as ConfigError).variable).toBe(variable);
      }
    };
    refused({ ...https, GUARD_SERVICE_PEER_URL: 'http://10.0.0.7:8888' }, 'GUARD_SERVICE_PEER_URL', /must be https/);
    refused({ ...https, GUARD_SERVICE_PEER_CA: '' }, 'GUARD_SERVICE_PEER_CA', /verified with this CA/);
    refused({ ...https, GUARD_SERVICE_PEER_URL: '' }, 'GUARD_SERVICE_PEER_URL', /is required/);
    // A config built in code is held to the same rule.
    const inCode = serviceConfig({ store: 'kube-crd', tls: { certFile: '/tls.crt', keyFile: '/tls.key' }, replicas: { shards: 8, leaseSeconds: 2, namespace: LEASE_NS, identity: 'x', peerUrl: 'https://127.0.0.1:1', peerCaFile: null, peerServerName: null } });
    await expect(startService(inCode, { logger: silent })).rejects.toMatchObject({ code: 'GUARD_SERVICE_SETUP', message: expect.stringMatching(/^GUARD_SERVICE_PEER_CA: is required/) });
    // Plain HTTP (a local run): no CA needed.
    expect(readServiceConfig({ ...env, GUARD_SERVICE_TLS: 'false', GUARD_SERVICE_PEER_URL: 'http://127.0.0.1:8888' }).replicas).toMatchObject({ peerCaFile: null });
  });

  it('keeps Leases that a real API server accepts: MicroTime renewals, one holder per shard', () =>
    inCluster(async (kube, cluster) => {
      await cluster.add();
      await cluster.add();
      await cluster.settled();
      const leases = await kube.kubeConfig().makeApiClient(CoordinationV1Api).listNamespacedLease({ namespace: LEASE_NS });
      const shards = leases.items.filter((l) => l.metadata?.name?.startsWith('guard-service-shard-'));
      expect(shards).toHaveLength(8);
      const holders = new Set(shards.map((l) => l.spec?.holderIdentity));
      expect([...holders].sort()).toEqual(cluster.replicas.map((r) => r.name).sort());
      const raw = kube.state.getObject('leases', LEASE_NS, 'guard-service-shard-0')!;
      expect((raw.spec as { renewTime: string }).renewTime).toMatch(/\.\d{6}Z$/);
      // A milliseconds timestamp (a plain Date) is refused, as by a real API server.
      const api = kube.kubeConfig().makeApiClient(CoordinationV1Api);
      await expect(
        api.createNamespacedLease({ namespace: LEASE_NS, body: { metadata: { name: 'plain-date' }, spec: { renewTime: new Date() as never } } }),
      ).rejects.toMatchObject({ code: 400 });
    }),
    30_000,
  );
});
