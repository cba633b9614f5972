// GuardianSource: its resolution order and fail-static (difference 9 of docs/compatibility.md),
// with a stub Kubernetes store and a temporary GUARDIAN_FILE.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCore } from '../../core/index.js';
import { GuardianSource } from '../../gate/guardian-source.js';
import { StoreError, type GuardianSpecJson, type GuardianStore, type StoredGuardian } from '../../store/index.js';

const core = loadCore();
const NS = 'shop';
const SID = 'cart';

function spec(samples: number, block = true): GuardianSpecJson {
  return { configured: null, samples, control: { alert: true, block, learn: false, force: false, auto: false } };
}

/** A store whose get() answers from a map, or fails when `failing` is set. */
class StubStore {
  readonly kind = 'kube-crd' as const;
  readonly objects = new Map<string, GuardianSpecJson | 'invalid'>();
  failing = false;
  reads: string[] = [];
  async get(namespace: string, service: string): Promise<StoredGuardian | null> {
    this.reads.push(`${namespace}/${service}`);
    if (this.failing) throw new StoreError('GUARD_STORE_IO', 'the API server is down');
    const s = this.objects.get(service);
    if (s === undefined) return null;
    if (s === 'invalid') throw new StoreError('GUARD_STORE_INVALID', 'invalid Guardian');
    return { namespace, service, spec: s, resourceVersion: '1' };
  }
}

const dirs: string[] = [];
const sources: GuardianSource[] = [];
afterEach(async () => {
  for (const s of sources.splice(0)) s.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function guardianFile(content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'guard-gate-'));
  dirs.push(dir);
  const file = join(dir, 'guardian.json');
  await writeFile(file, content);
  return file;
}

function source(store: StubStore | null, file?: string): GuardianSource {
  const s = new GuardianSource({ core, namespace: NS, service: SID, store: store as unknown as GuardianStore, guardianFile: file });
  sources.push(s);
  return s;
}

const tick = () => new Promise((r) => setImmediate(r));

describe('GuardianSource resolution order', () => {
  it('is not ready before a load; current() still answers without awaiting', () => {
    const s = source(null);
    expect(s.ready).toBe(false);
    expect(s.origin).toBe('none');
    expect(s.current().control.block).toBe(false);
  });

  it('takes the service answer first', async () => {
    const store = new StubStore();
    store.objects.set(SID, spec(5));
    const s = source(store, await guardianFile(JSON.stringify(spec(6))));
    expect(s.offerFromService(spec(4))).toBe(true);
    expect(s.ready).toBe(true);
    expect(s.origin).toBe('service');
    expect(s.current().samples).toBe(4);
    expect(store.reads).toEqual([]);
  });

  it('falls back to the CRD <service>, then ns-<namespace>', async () => {
    const store = new StubStore();
    store.objects.set(`ns-${NS}`, spec(2));
    const s = source(store, await guardianFile(JSON.stringify(spec(6))));
    expect(await s.fallback()).toBe('kubernetes');
    expect(s.current().samples).toBe(2);
    expect(store.reads).toEqual([`${NS}/${SID}`, `${NS}/ns-${NS}`]);
    store.objects.set(SID, spec(3));
    expect(await s.fallback()).toBe('kubernetes');
    expect(s.current().samples).toBe(3);
  });

  it('then GUARDIAN_FILE, then the default', async () => {
    const store = new StubStore();
    const s = source(store, await guardianFile(JSON.stringify(spec(6))));
    expect(await s.fallback()).toBe('file');
    expect(s.current().samples).toBe(6);
    expect(s.current().control.block).toBe(true);

    const d = source(new StubStore(), join(tmpdir(), 'does-not-exist-guardian.json'));
    expect(await d.fallback()).toBe('default');
    expect(d.ready).toBe(true);
    expect(d.current().control).toEqual({ auto: true, learn: true, force: true, alert: true, block: false });
  });

  it('reads a GUARDIAN_FILE holding a ConfigMap', async () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `guardian.${SID}` }, data: { Guardian: JSON.stringify(spec(9)) } };
    const s = source(null, await guardianFile(JSON.stringify(cm)));
    expect(await s.fallback()).toBe('file');
    expect(s.current().samples).toBe(9);
  });
});

describe('GuardianSource fail-static', () => {
  it('an invalid service answer keeps the Guardian in force', async () => {
    const s = source(null);
    s.offerFromService(spec(4));
    const before = s.current();
    expect(s.offerFromService({ control: 5 })).toBe(false);
    expect(s.offerFromService('not json')).toBe(false);
    expect(s.offerFromService(null)).toBe(false);
    expect(s.current()).toBe(before);
    expect(s.current().samples).toBe(4);
  });

  it('a failed Kubernetes read keeps the Guardian in force and does not fall to the file or the default', async () => {
    const store = new StubStore();
    const s = source(store, await guardianFile(JSON.stringify(spec(6))));
    s.offerFromService(spec(4, true));
    store.failing = true;
    expect(await s.fallback()).toBe('service');
    expect(s.current().samples).toBe(4);
    store.failing = false;
    store.objects.set(SID, 'invalid');
    expect(await s.fallback()).toBe('service');
    expect(s.current().control.block).toBe(true);
  });

  it('absence everywhere never replaces a loaded Guardian by the default', async () => {
    const store = new StubStore();
    const file = await guardianFile('{"broken":');
    const s = source(store, file);
    store.objects.set(SID, spec(3));
    await s.fallback();
    store.objects.clear();
    expect(await s.fallback()).toBe('kubernetes');
    expect(s.current().samples).toBe(3);
    expect(s.current().control.block).toBe(true);
  });

  it('an invalid GUARDIAN_FILE with nothing loaded gives the default; a later load replaces it', async () => {
    const s = source(new StubStore(), await guardianFile('{"control": 5}'));
    expect(await s.fallback()).toBe('default');
    const d = s.current();
    expect(await s.fallback()).toBe('default');
    expect(s.current()).toBe(d); // not re-created
    expect(s.offerFromService(spec(1))).toBe(true);
    expect(s.origin).toBe('service');
  });

  it('a failed read with nothing loaded goes on to the file', async () => {
    const store = new StubStore();
    store.failing = true;
    const s = source(store, await guardianFile(JSON.stringify(spec(6))));
    expect(await s.fallback()).toBe('file');
  });
});

describe('GuardianSource disposal', () => {
  it('disposes a replaced Guardian only after its leases are released', async () => {
    const s = source(null);
    s.offerFromService(spec(1));
    const lease = s.acquire();
    const plain = s.current();
    s.offerFromService(spec(2));
    // Still usable in this macrotask and while leased.
    expect(plain.samples).toBe(1);
    await tick();
    await tick();
    expect(lease.guardian.samples).toBe(1);
    lease.release();
    lease.release(); // idempotent
    await tick();
    expect(() => lease.guardian.samples).toThrow(/dispose/);
    expect(s.current().samples).toBe(2);
  });

  it('disposes an unleased replaced Guardian after the current macrotask', async () => {
    const s = source(null);
    s.offerFromService(spec(1));
    const old = s.current();
    s.offerFromService(spec(2));
    expect(old.samples).toBe(1);
    await tick();
    expect(() => old.samples).toThrow(/dispose/);
  });
});

describe('GuardianSource after a core fault', () => {
  it('rebind() loads the Guardian in force again into the new instance: same origin, control and samples', async () => {
    const first = loadCore().fresh();
    const s = new GuardianSource({ core: first, namespace: NS, service: SID, guardianFile: await guardianFile(JSON.stringify(spec(7))) });
    sources.push(s);
    expect(await s.fallback()).toBe('file');
    const before = s.current();
    expect(() => first.debugTrap()).toThrow(/the core failed/);
    expect(s.control.block).toBe(true); // read on load: answers while the core is failing

    const next = first.fresh();
    s.rebind(next);
    expect(s.current()).not.toBe(before);
    expect(s.origin).toBe('file');
    expect(s.ready).toBe(true);
    expect(s.current().samples).toBe(7);
    expect(s.current().control).toEqual(spec(7).control);
    await tick();
    expect(s.current().samples).toBe(7);
  });

  it('rebind() before any load gives the new instance a default Guardian, still not ready', () => {
    const first = loadCore().fresh();
    const s = new GuardianSource({ core: first, namespace: NS, service: SID });
    sources.push(s);
    expect(() => first.debugTrap()).toThrow(/the core failed/);
    s.rebind(first.fresh());
    expect(s.ready).toBe(false);
    expect(s.current().control.learn).toBe(true);
  });
});
