// The file store against real files in a temporary directory: round trips, the people/learner
// split of a spec, validation on write and on read, names, conflicts, locks and watch.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StoreError, type GuardianWatchEvent, type StoredGuardian } from '../../store/index.js';
import { FileGuardianStore } from '../../store/file.js';
import { canonical, defaultSpec, exampleSpec, filesIn, storeError, tempDir } from './support.js';

function quietStore(dir: string, problems: StoreError[] = [], options = {}): FileGuardianStore {
  return new FileGuardianStore(dir, { report: (p) => problems.push(p), ...options });
}

describe('FileGuardianStore round trips', () => {
  it('writes one file per Guardian and reads back the canonical spec', async () => {
    const dir = await tempDir();
    const store = quietStore(dir);
    expect(await store.get('default', 'shop')).toBeNull();
    expect(await store.list()).toEqual([]);

    const written = await store.update('default', 'shop', (current) => {
      expect(current).toBeNull();
      return exampleSpec();
    });
    expect(written).toEqual({ namespace: 'default', service: 'shop', resourceVersion: '1', spec: canonical(exampleSpec()) });
    expect(await filesIn(dir)).toEqual(['default.shop.json']);

    const onDisk = JSON.parse(await readFile(join(dir, 'default.shop.json'), 'utf8'));
    expect(onDisk).toEqual({ namespace: 'default', service: 'shop', resourceVersion: '1', spec: canonical(exampleSpec()) });

    expect(await store.get('default', 'shop')).toEqual(written);
    const again = await store.update('default', 'shop', (current) => ({ ...current!, control: { ...current!.control!, block: true } }));
    expect(again.resourceVersion).toBe('2');
    expect(again.spec.control?.block).toBe(true);
    expect(again.spec.learned).toEqual(written.spec.learned);

    // A new instance (a restart) reads the same.
    expect(await quietStore(dir).get('default', 'shop')).toEqual(again);
    await store.close();
  });

  it('lists all Guardians or one namespace, sorted', async () => {
    const dir = await tempDir();
    const store = quietStore(dir);
    for (const [ns, svc] of [['prod', 'b'], ['default', 'a'], ['prod', 'a']]) await store.update(ns, svc, () => defaultSpec());
    expect((await store.list()).map((g) => `${g.namespace}/${g.service}`)).toEqual(['default/a', 'prod/a', 'prod/b']);
    expect((await store.list('prod')).map((g) => g.service)).toEqual(['a', 'b']);
    expect(await store.list('nothing-here')).toEqual([]);
  });

  it('updateLearned replaces learned and samples and leaves configured and control alone', async () => {
    const dir = await tempDir();
    const store = quietStore(dir);
    const people = { ...exampleSpec(), learned: null, samples: 0, control: { alert: true, block: true, learn: false, force: false, auto: false } };
    people.configured = { ...(people.configured as object), active: true };
    const before = await store.update('default', 'shop', () => people);

    const learned = exampleSpec().learned;
    const after = await store.updateLearned('default', 'shop', learned, 42);
    expect(after.resourceVersion).toBe('2');
    expect(after.spec.configured).toEqual(before.spec.configured);
    expect(after.spec.control).toEqual(before.spec.control);
    expect(after.spec.learned).toEqual(canonical({ learned, samples: 0, configured: null, control: null }).learned);
    expect(after.spec.samples).toBe(42);
    expect(await store.get('default', 'shop')).toEqual(after);
  });

  it('keeps the sync ids of the learned rules on disk, through a restart and a person\'s edit', async () => {
    const dir = await tempDir();
    const store = quietStore(dir);
    await store.updateLearned('default', 'shop', exampleSpec().learned, 7, { syncs: ['a.1', 'b:2'] });
    await store.update('default', 'shop', (cur) => ({ ...cur!, control: { alert: true, block: false, learn: true, force: false, auto: true } }));
    const again = quietStore(dir);
    expect((await again.get('default', 'shop'))!.spec.syncs).toEqual(['a.1', 'b:2']);
    await storeError(again.updateLearned('default', 'shop', exampleSpec().learned, 8, { syncs: ['has space'] }), 'GUARD_STORE_INVALID');
  });

  it('updateLearned creates a missing Guardian from the default Guardian', async () => {
    const store = quietStore(await tempDir());
    const created = await store.updateLearned('default', 'new', exampleSpec().learned, 7);
    expect(created.resourceVersion).toBe('1');
    expect(created.spec.control).toEqual(defaultSpec().control);
    expect(created.spec.configured).toBeNull();
    expect(created.spec.samples).toBe(7);
  });

  it('deletes, and says NOT_FOUND for a Guardian that is not there', async () => {
    const dir = await tempDir();
    const store = quietStore(dir);
    await store.update('default', 'shop', () => defaultSpec());
    await store.delete('default', 'shop');
    expect(await store.get('default', 'shop')).toBeNull();
    expect(await filesIn(dir)).toEqual([]);
    const err = await storeError(store.delete('default', 'shop'), 'GUARD_STORE_NOT_FOUND');
    expect(err.message).toContain('default/shop');
    // Re-created after a delete, the counter starts again.
    expect((await store.update('default', 'shop', () => defaultSpec())).resourceVersion).toBe('1');
  });

  it('reads a Guardian object, a ConfigMap or a bare spec a person put in the directory', async () => {
    const dir = await tempDir();
    const spec = exampleSpec();
    await writeFile(join(dir, 'default.crd.json'), JSON.stringify({ apiVersion: 'guard.security.knative.dev/v1alpha1', kind: 'Guardian', metadata: { name: 'crd' }, spec }));
    await writeFile(join(dir, 'default.cm.json'), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'guardian.cm' }, data: { Guardian: JSON.stringify(spec) } }));
    await writeFile(join(dir, 'default.bare.json'), JSON.stringify(spec));
    const store = quietStore(dir);
    const all = await store.list();
    expect(all.map((g) => [g.service, g.resourceVersion])).toEqual([['bare', '0'], ['cm', '0'], ['crd', '0']]);
    for (const g of all) expect(g.spec).toEqual(canonical(spec));
    const updated = await store.updateLearned('default', 'crd', null, 0);
    expect(updated.resourceVersion).toBe('1');
    expect(JSON.parse(await readFile(join(dir, 'default.crd.json'), 'utf8')).namespace).toBe('default');
  });
});

describe('FileGuardianStore validation', () => {
  it('refuses an invalid spec and writes nothing', async () => {
    const dir = await tempDir();
    const store = quietStore(dir);
    const bad: unknown[] = [
      { ...defaultSpec(), samples: -1 },
      { ...defaultSpec(), samples: 1_000_001 },
      { ...defaultSpec(), samples: 1.5 },
      { ...defaultSpec(), control: { ...defaultSpec().control!, block: 'yes' } },
      { ...defaultSpec(), configured: { req: { cip: 'everyone' } } },
      { kind: 'Guardian', spec: defaultSpec() },
      null,
      [],
      'text',
    ];
    for (const spec of bad) {
      const err = await storeError(store.update('default', 'shop', () => spec as never), 'GUARD_STORE_INVALID');
      expect(err.location).toBe(join(dir, 'default.shop.json'));
    }
    // A Promise (an async change function) is not a spec either.
    await storeError(store.update('default', 'shop', (async () => defaultSpec()) as never), 'GUARD_STORE_INVALID');
    expect(await filesIn(dir)).toEqual([]);

    // An existing Guardian is left as it was, byte for byte.
    await store.update('default', 'shop', () => exampleSpec());
    const before = await readFile(join(dir, 'default.shop.json'), 'utf8');
    await storeError(store.updateLearned('default', 'shop', { req: { cip: 7 } }, 3), 'GUARD_STORE_INVALID');
    expect(await readFile(join(dir, 'default.shop.json'), 'utf8')).toBe(before);
    expect(await filesIn(dir)).toEqual(['default.shop.json']);
  });

  it('refuses names that are not DNS-1123 labels, before touching the disk', async () => {
    const root = await tempDir();
    const dir = join(root, 'store');
    const store = quietStore(dir);
    for (const [ns, svc] of [['..', 'x'], ['default', '../../escape'], ['Default', 'x'], ['default', 'a.b'], ['', 'x'], ['default', 'a'.repeat(64)], ['default', '-x'], ['default', 'x/y']]) {
      await storeError(store.update(ns, svc, () => defaultSpec()), 'GUARD_STORE_INVALID_NAME');
      await storeError(store.get(ns, svc), 'GUARD_STORE_INVALID_NAME');
      await storeError(store.delete(ns, svc), 'GUARD_STORE_INVALID_NAME');
    }
    await storeError(store.list('../x'), 'GUARD_STORE_INVALID_NAME');
    expect(await filesIn(root)).toEqual([]);
    expect((await store.update('a'.repeat(63), 'ns-default', () => defaultSpec())).namespace).toHaveLength(63);
  });

  it('reports a corrupt or invalid file by name, skips it in list and refuses it in get and update', async () => {
    const dir = await tempDir();
    const problems: StoreError[] = [];
    const store = quietStore(dir, problems);
    await store.update('default', 'good', () => exampleSpec());
    const broken = {
      'default.torn.json': '{"namespace":"default","service":"torn","resourceVersion":"3","spec":{"configured":nu',
      'default.negative.json': JSON.stringify({ namespace: 'default', service: 'negative', resourceVersion: '1', spec: { ...defaultSpec(), samples: -1 } }),
      'default.elsewhere.json': JSON.stringify({ namespace: 'other', service: 'elsewhere', resourceVersion: '1', spec: defaultSpec() }),
      'default.badrv.json': JSON.stringify({ namespace: 'default', service: 'badrv', resourceVersion: 'seven', spec: defaultSpec() }),
      'default.empty.json': '',
    };
    for (const [name, text] of Object.entries(broken)) await writeFile(join(dir, name), text);
    // Not Guardian files at all: ignored without a report.
    await writeFile(join(dir, 'README.txt'), 'notes');
    await writeFile(join(dir, 'single.json'), '{}');
    await writeFile(join(dir, '.default.hidden.json'), '{}');
    await mkdir(join(dir, 'default.adir.json'));

    expect((await store.list()).map((g) => g.service)).toEqual(['good']);
    const reported = problems.map((p) => [p.code, p.location]);
    for (const name of [...Object.keys(broken), 'default.adir.json']) {
      expect(reported).toContainEqual([expect.stringMatching(/^GUARD_STORE_(INVALID|IO)$/), join(dir, name)]);
    }
    expect(problems.find((p) => p.location?.endsWith('default.elsewhere.json'))?.message).toContain('other/elsewhere');
    expect(problems.find((p) => p.location?.endsWith('default.negative.json'))?.message).toContain('-1');

    // Reported once, not on every scan.
    const count = problems.length;
    await store.list();
    expect(problems.length).toBe(count);

    const err = await storeError(store.get('default', 'torn'), 'GUARD_STORE_INVALID');
    expect(err.location).toBe(join(dir, 'default.torn.json'));
    await storeError(store.updateLearned('default', 'torn', null, 1), 'GUARD_STORE_INVALID');
    expect(await readFile(join(dir, 'default.torn.json'), 'utf8')).toBe(broken['default.torn.json']);
    // A person fixes it by deleting it.
    await store.delete('default', 'torn');
    expect(await store.get('default', 'torn')).toBeNull();
  });
});

describe('FileGuardianStore concurrency within one process', () => {
  it('retries when another writer changes the file between read and rename', async () => {
    const dir = await tempDir();
    const store = quietStore(dir);
    await store.update('default', 'shop', () => defaultSpec());
    const file = join(dir, 'default.shop.json');
    let calls = 0;
    const result = await store.update('default', 'shop', (current) => {
      calls++;
      if (calls === 1) {
        // A person's editor rewrites the file in place while our update is under way.
        const edited = { namespace: 'default', service: 'shop', resourceVersion: '1', spec: { ...defaultSpec(), control: { ...defaultSpec().control!, block: true } } };
        writeFileSync(file, JSON.stringify(edited));
      }
      return { ...current!, samples: current!.samples + 5 };
    });
    expect(calls).toBe(2);
    expect(result.spec.control?.block).toBe(true); // the edit was not lost
    expect(result.spec.samples).toBe(5);
  });

  it('gives up with GUARD_STORE_CONFLICT after the last attempt', async () => {
    const dir = await tempDir();
    const store = quietStore(dir, [], { maxAttempts: 3 });
    await store.update('default', 'shop', () => defaultSpec());
    const file = join(dir, 'default.shop.json');
    let calls = 0;
    const err = await storeError(
      store.update('default', 'shop', (current) => {
        calls++;
        writeFileSync(file, JSON.stringify({ namespace: 'default', service: 'shop', resourceVersion: String(10 + calls), spec: defaultSpec() }));
        return current!;
      }),
      'GUARD_STORE_CONFLICT',
    );
    expect(calls).toBe(3);
    expect(err.location).toBe(file);
  });

  it('serialises updates of one Guardian and loses none', async () => {
    const store = quietStore(await tempDir());
    await Promise.all(Array.from({ length: 50 }, () => store.update('default', 'shop', (c) => ({ ...(c ?? defaultSpec()), samples: (c?.samples ?? 0) + 1 }))));
    const g = await store.get('default', 'shop');
    expect(g?.spec.samples).toBe(50);
    expect(g?.resourceVersion).toBe('50');
  });

  it('waits for a live writer’s lock and gives up with GUARD_STORE_LOCKED', async () => {
    const dir = await tempDir();
    const store = quietStore(dir, [], { lockTimeoutMs: 150 });
    // The lock of a process that is alive: the test runner's parent.
    await writeFile(join(dir, 'default.shop.json.lock'), JSON.stringify({ pid: process.ppid, host: hostname(), nonce: 'live', at: Date.now() }));
    const err = await storeError(store.update('default', 'shop', () => defaultSpec()), 'GUARD_STORE_LOCKED');
    expect(err.message).toContain(`pid ${process.ppid}`);
    expect(await filesIn(dir)).toEqual(['default.shop.json.lock']);
  });

  it('breaks the lock of a process that is gone', async () => {
    const dir = await tempDir();
    const store = quietStore(dir, [], { lockTimeoutMs: 2_000 });
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(gone.stdout);
    await writeFile(join(dir, 'default.shop.json.lock'), JSON.stringify({ pid: deadPid, host: hostname(), nonce: 'dead', at: Date.now() }));
    // And temp files it left behind (named with a hash of the host and the pid), cleaned when a
    // store opens the directory; one of another host is left to its owner.
    const hostTag = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
    const otherTag = hostTag === '00000000' ? '11111111' : '00000000';
    await writeFile(join(dir, `.default.shop.json.${hostTag}.${deadPid}.abcdef.tmp`), 'partial');
    await writeFile(join(dir, `.default.shop.json.${otherTag}.${deadPid}.abcdef.tmp`), 'partial');
    expect((await store.update('default', 'shop', () => defaultSpec())).resourceVersion).toBe('1');
    expect(await filesIn(dir)).toEqual([`.default.shop.json.${otherTag}.${deadPid}.abcdef.tmp`, 'default.shop.json']);
  });

  it('refuses calls after close, and close waits for writes under way', async () => {
    const dir = await tempDir();
    const store = quietStore(dir);
    const pending = store.update('default', 'shop', () => exampleSpec());
    await store.close();
    expect((await pending).resourceVersion).toBe('1');
    await storeError(store.get('default', 'shop'), 'GUARD_STORE_CLOSED');
    expect(() => store.watch(() => {})).toThrow(StoreError);
  });
});

/** Collects watch events and lets a test await the next one matching a predicate. */
function recorder() {
  const events: GuardianWatchEvent[] = [];
  const waiters: Array<{ match: (e: GuardianWatchEvent) => boolean; resolve: (e: GuardianWatchEvent) => void }> = [];
  return {
    events,
    onChange(e: GuardianWatchEvent) {
      events.push(e);
      for (const w of waiters.splice(0)) if (w.match(e)) w.resolve(e); else waiters.push(w);
    },
    next(match: (e: GuardianWatchEvent) => boolean): Promise<GuardianWatchEvent> {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}

const isPut = (service: string, rv: string) => (e: GuardianWatchEvent) => e.type === 'put' && e.guardian.service === service && (e.guardian as StoredGuardian).resourceVersion === rv;

describe('FileGuardianStore watch', () => {
  it('starts with every Guardian, then reports changes made by other store instances', async () => {
    const dir = await tempDir();
    const problems: StoreError[] = [];
    const writer = quietStore(dir);
    await writer.update('default', 'one', () => defaultSpec());
    await writer.update('default', 'two', () => exampleSpec());

    const reader = quietStore(dir, problems, { debounceMs: 10 });
    const rec = recorder();
    const handle = reader.watch((e) => rec.onChange(e));
    await rec.next(isPut('one', '1'));
    await rec.next(isPut('two', '1'));

    const updated = await writer.updateLearned('default', 'one', exampleSpec().learned, 9);
    expect((await rec.next(isPut('one', '2'))).guardian).toEqual(updated);

    await writer.delete('default', 'two');
    await rec.next((e) => e.type === 'delete' && e.guardian.service === 'two');

    // A corrupt file is reported, not delivered; the last good Guardian stays.
    await writeFile(join(dir, 'default.one.json'), '{"torn');
    await writeFile(join(dir, 'default.three.json'), JSON.stringify({ namespace: 'default', service: 'three', resourceVersion: '4', spec: defaultSpec() }));
    await rec.next(isPut('three', '4'));
    expect(problems.map((p) => p.location)).toContain(join(dir, 'default.one.json'));
    expect(rec.events.filter((e) => e.guardian.service === 'one').map((e) => e.type)).toEqual(['put', 'put']);

    handle.close();
    await reader.close();
  });

  it('falls back to the periodic rescan when fs.watch events are missed', async () => {
    const dir = await tempDir();
    // debounce far longer than the rescan period: only the rescan can deliver in time.
    const reader = quietStore(dir, [], { debounceMs: 60_000, rescanMs: 30 });
    const rec = recorder();
    const handle = reader.watch((e) => rec.onChange(e));
    await quietStore(dir).update('default', 'late', () => defaultSpec());
    await rec.next(isPut('late', '1'));
    handle.close();
  });
});
