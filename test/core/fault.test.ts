// Recovering from a trapped core instance (docs/abi.md, Failures): the test-only debug_trap export
// traps for real, onFault is told before the caller sees GUARD_CORE_FAULT, a fresh instance of the
// compiled module works while the old one refuses, and the old instance's handles are dropped safely.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { CoreError, loadCore, Section } from '../../core/index.js';
import { instantiateSync, type WasmIoExports } from '../../core/wasm.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('a trapped core instance', () => {
  it('debug_trap traps; onFault runs before the caller sees GUARD_CORE_FAULT; the instance then refuses', () => {
    const core = loadCore().fresh();
    const g = core.defaultGuardian();
    const order: string[] = [];
    core.onFault = (err) => order.push(`onFault: ${err instanceof WebAssembly.RuntimeError}`);
    let caught: unknown;
    try {
      core.debugTrap();
    } catch (err) {
      order.push('caller');
      caught = err;
    }
    expect(order).toEqual(['onFault: true', 'caller']);
    expect((caught as CoreError).code).toBe('GUARD_CORE_FAULT');
    expect(core.faulted).toBe(true);
    expect(() => g.control).toThrow(/must be reloaded/);
    expect(() => core.newSession()).toThrow(CoreError);
  });

  it('fresh() is an independent instance of the same module: the Guardian is loaded again from its text', () => {
    const core = loadCore().fresh();
    const spec = { learned: null, control: { alert: true, block: true, learn: false, force: false, auto: true } };
    const g = core.parseGuardian(spec);
    const session = core.newSession();
    const pile = core.newPile();
    expect(() => core.debugTrap()).toThrow(CoreError);

    const next = core.fresh();
    expect(next.faulted).toBe(false);
    expect(next).toBeInstanceOf(core.constructor);
    const again = next.parseGuardian(spec);
    expect(again.control).toEqual(spec.control);
    const s = next.newSession();
    s.profileRequest({ method: 'GET', path: '/a', query: '', headers: [], remote: '10.0.0.1' });
    expect(s.decide(again, Section.Req | Section.ReqBody)).toBe(0);

    // Handles of the failed instance: dispose() is a no-op, never a throw (nothing to free there).
    expect(() => {
      g.dispose();
      session.dispose();
      pile.dispose();
    }).not.toThrow();
  });

  it('handles of a failed instance are reclaimed without a throwing finalizer', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => void uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    const core = loadCore().fresh();
    (() => {
      for (let i = 0; i < 200; i++) core.newSession();
    })();
    expect(() => core.debugTrap()).toThrow(CoreError);
    // A throwing FinalizationRegistry callback would be an uncaught exception (the process exits).
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    process.off('uncaughtException', onUncaught);
    expect(uncaught).toEqual([]);
  });

  it('a stack overflow inside the module (a RangeError in V8) is a fault too', () => {
    // (module (memory (export "memory") 1) (func $f (export "f") call $f))
    const bytes = new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
      0x03, 0x02, 0x01, 0x00,
      0x05, 0x03, 0x01, 0x00, 0x01,
      0x07, 0x0e, 0x02, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x01, 0x66, 0x00, 0x00,
      0x0a, 0x06, 0x01, 0x04, 0x00, 0x10, 0x00, 0x0b,
    ]);
    const mod = instantiateSync<WasmIoExports & { f(): void }>(bytes);
    let seen: Error | null = null;
    mod.onFault = (err) => void (seen = err);
    expect(() => mod.exports.f()).toThrow(expect.objectContaining({ code: 'GUARD_CORE_FAULT' }));
    expect(seen).toBeInstanceOf(RangeError);
    expect(() => mod.exports.f()).toThrow(/must be reloaded/);
  });
});

describe('handles of two instances', () => {
  it('a Guardian, Pile, Session or pod of another instance is refused, never taken for one of this', () => {
    const a = loadCore().fresh();
    const b = a.fresh();
    const [ga, pa, sa] = [a.defaultGuardian(), a.newPile(), a.newSession()];
    const [gb, pb, sb] = [b.defaultGuardian(), b.newPile(), b.newSession()];
    const other = expect.objectContaining({ code: 'GUARD_INVALID_ARGUMENT', message: expect.stringMatching(/of another core instance/) });
    sb.profileRequest({ method: 'GET', path: '/a', query: '', headers: [], remote: '10.0.0.1' });
    expect(() => pa.add(sb)).toThrow(other);
    expect(() => pa.merge(pb)).toThrow(other);
    expect(() => ga.learn(pb)).toThrow(other);
    expect(() => ga.learn(pb, {})).toThrow(other);
    expect(() => sb.decide(ga, Section.Req)).toThrow(other);
    expect(() => sb.finish(gb, true, 1, 2, pa)).toThrow(other);
    expect(() => sb.finish(ga, true, 1, 2)).toThrow(other);
    // Within one instance, as always.
    sa.profileRequest({ method: 'GET', path: '/a', query: '', headers: [], remote: '10.0.0.1' });
    pa.add(sa);
    ga.learn(pa);
    expect(sb.decide(gb, Section.Req)).toBe(0);
    expect(ga.samples).toBe(1);
    for (const h of [ga, pa, sa, gb, pb, sb]) h.dispose();
  });
});
