// CoreHost: the restart on a real trap (the core's test-only debug_trap), a fault of the fresh
// instance while it is set up, and the bound (restarts per window) on a manual clock.
import { describe, expect, it } from 'vitest';
import { loadCore, type Core } from '../../core/index.js';
import { FakeClock } from '../../clock/index.js';
import { CoreHost } from '../../gate/core-host.js';
import { silentLogger } from '../../log/index.js';

function harness(rewire: (next: Core) => Record<string, unknown> = () => ({}), bound = { maxRestarts: 5, windowMs: 60_000 }) {
  const clock = new FakeClock(0);
  const errors: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const closed: string[] = [];
  const host = new CoreHost({
    core: loadCore().fresh(),
    log: { ...silentLogger, error: (obj, msg) => void errors.push({ obj: obj as Record<string, unknown>, msg }) },
    rewire,
    onFailClosed: (reason) => void closed.push(reason),
    clock,
    ...bound,
  });
  return { host, errors, closed, advance: (ms: number) => clock.advance(ms) };
}

describe('CoreHost', () => {
  it('puts a fresh instance in place before the failing caller sees GUARD_CORE_FAULT', () => {
    let seenByRewire: Core | null = null;
    const { host, errors } = harness((next) => {
      seenByRewire = next;
      return { lostSamples: 2 };
    });
    const first = host.core;
    let inCatch: Core | null = null;
    try {
      first.debugTrap();
    } catch {
      inCatch = host.core;
    }
    expect(inCatch).not.toBe(first);
    expect(inCatch).toBe(seenByRewire);
    expect(host.core.faulted).toBe(false);
    expect(host.restarts).toBe(1);
    expect(errors[0]?.obj).toMatchObject({ restarts: 1, lostSamples: 2 });
    expect(String(errors[0]?.obj.err)).toContain('unreachable');
  });

  it('tries another instance when the fresh one faults while it is set up (counted in the bound)', () => {
    let calls = 0;
    const { host } = harness((next) => {
      if (++calls === 1) next.debugTrap();
      return {};
    });
    expect(() => host.core.debugTrap()).toThrow(/the core failed/);
    expect(calls).toBe(2);
    expect(host.restarts).toBe(1);
    expect(host.core.faulted).toBe(false);
    expect(host.failedClosed).toBeNull();
  });

  it('fails closed beyond the bound within the window; faults spread wider do not accumulate', () => {
    const { host, closed, advance } = harness(() => ({}), { maxRestarts: 2, windowMs: 10_000 });
    for (let i = 0; i < 4; i++) {
      expect(() => host.core.debugTrap()).toThrow();
      advance(6_000);
    }
    expect(host.restarts).toBe(4);
    expect(host.failedClosed).toBeNull();

    expect(() => host.core.debugTrap()).toThrow();
    advance(1_000);
    const last = host.core;
    expect(() => last.debugTrap()).toThrow();
    expect(host.restarts).toBe(5);
    expect(host.core).toBe(last);
    expect(host.failedClosed).toBe('the core failed 3 times within 10 s; fail closed');
    expect(closed).toHaveLength(1);
  });
});
