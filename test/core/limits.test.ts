// Limits and failures of the core as a caller meets them: oversized input, a bad client address,
// and a core that failed refusing further work instead of answering from a broken state.
import { describe, expect, it } from 'vitest';
import { CoreError, loadCore } from '../../core/index.js';
import { instantiateSync, type WasmIoExports } from '../../core/wasm.js';

describe('core limits', () => {
  it('refuses an input above 512 MiB with a named error before copying it', () => {
    const core = loadCore();
    let err: unknown;
    try {
      core.wasm.inputBuffer(600 << 20);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CoreError);
    expect((err as CoreError).code).toBe('GUARD_INVALID_ARGUMENT');
    // The core still serves.
    expect(core.defaultGuardian().control.auto).toBe(true);
  });

  it('refuses a client address that is not an IP address', () => {
    const core = loadCore();
    const s = core.newSession();
    for (const remote of ['1.2.3.4:5678', 'example.com', '[::1]']) {
      let err: unknown;
      try {
        s.profileRequest({ method: 'GET', path: '/', headers: [], remote });
      } catch (e) {
        err = e;
      }
      expect((err as CoreError).code, remote).toBe('GUARD_INVALID_REQUEST');
      expect((err as CoreError).message).toContain('not an IP address');
    }
    s.profileRequest({ method: 'GET', path: '/', headers: [], remote: '2001:db8::1' });
    s.dispose();
  });

  it('turns a trap into GUARD_CORE_FAULT and refuses every later call', () => {
    // (module (memory (export "memory") 1) (func (export "boom") unreachable)
    //         (func (export "fine") (result i32) i32.const 7))
    const bytes = new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      0x01, 0x08, 0x02, 0x60, 0x00, 0x00, 0x60, 0x00, 0x01, 0x7f,
      0x03, 0x03, 0x02, 0x00, 0x01,
      0x05, 0x03, 0x01, 0x00, 0x01,
      0x07, 0x18, 0x03, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x04, 0x62, 0x6f, 0x6f, 0x6d, 0x00, 0x00,
      0x04, 0x66, 0x69, 0x6e, 0x65, 0x00, 0x01,
      0x0a, 0x0a, 0x02, 0x03, 0x00, 0x00, 0x0b, 0x04, 0x00, 0x41, 0x07, 0x0b,
    ]);
    const mod = instantiateSync<WasmIoExports & { boom(): void; fine(): number }>(bytes);
    expect(mod.exports.fine()).toBe(7);
    expect(() => mod.exports.boom()).toThrow(CoreError);
    expect(mod.faulted).toBeInstanceOf(WebAssembly.RuntimeError);
    let err: unknown;
    try {
      mod.exports.fine();
    } catch (e) {
      err = e;
    }
    expect((err as CoreError).code).toBe('GUARD_CORE_FAULT');
    expect((err as CoreError).message).toContain('must be reloaded');
  });
});

describe('session reuse', () => {
  it('reset forgets the previous exchange entirely', () => {
    const core = loadCore();
    const guardian = core.parseGuardian({
      learned: null,
      control: { alert: true, block: true, learn: true, force: false, auto: true },
    });
    const learned = core.defaultGuardian();
    const pile = core.newPile();
    const s = core.newSession();
    s.profileRequest({ method: 'GET', path: '/a', headers: [['Accept', '*/*']], remote: '8.8.8.8' });
    pile.add(s);
    learned.learn(core.parsePile(pile.toWire()));
    s.reset();
    s.profileRequest({ method: 'POST', path: '/x/y/z', headers: [['X-Odd', "'; drop"]], remote: '8.8.8.8', body: 'hello' });
    expect(s.decide(learned, 63)).toBeGreaterThan(0);
    s.reset();
    expect(s.decisionString()).toBe('');
    s.profileRequest({ method: 'GET', path: '/a', headers: [['Accept', '*/*']], remote: '8.8.8.8' });
    expect(s.decide(learned, 63)).toBe(0);
    // A reset session piles only what it profiled since the reset: no body of the earlier POST.
    const after = core.newPile();
    after.add(s);
    expect(JSON.parse(after.toWire()).reqbody.unstructured).toBeNull();
    expect(guardian.control.block).toBe(true);
  });
});

describe('bounded piles', () => {
  it('keeps a pile bounded however many distinct values arrive', () => {
    const core = loadCore();
    const pile = core.newPile();
    const s = core.newSession();
    for (let i = 0; i < 3000; i++) {
      s.reset();
      s.profileRequest({ method: `M${i}`, path: `/p${i}`, query: `k${i}=${i}`, headers: [[`X-H${i}`, String(i)]], remote: `8.${i % 250}.${(i >> 8) % 250}.${i % 7}` });
      pile.add(s);
    }
    s.dispose();
    const wire = JSON.parse(pile.toWire());
    expect(wire.count).toBe(3000);
    expect(wire.req.method.set.length).toBe(1024);
    expect(Object.keys(wire.req.qs.kv).length).toBe(1024);
    expect(Object.keys(wire.req.headers.kv).length).toBeLessThanOrEqual(1024);
    // Merging a pile into another many times does not grow it: codes are kept as sets.
    const merged = core.newPile();
    const before = core.wasm.exports.memory.buffer.byteLength;
    for (let i = 0; i < 200; i++) merged.merge(pile);
    expect(merged.toWire().length).toBeLessThan(pile.toWire().length * 1.01);
    expect(core.wasm.exports.memory.buffer.byteLength - before).toBeLessThan(64 << 20);
    pile.dispose();
    merged.dispose();
  });
});

describe('request records', () => {
  it('carries long ASCII and non-ASCII values exactly (each copy path of the record writer)', () => {
    const core = loadCore();
    const values = ['a'.repeat(300) + '/*x*/', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 ' + 'é€😀'.repeat(20), 'x'.repeat(49), 'ü'.repeat(49)];
    for (const value of values) {
      const s = core.newSession();
      s.profileRequest({ method: 'GET', path: '/', headers: [['X-Long', value]] });
      const pile = core.newPile();
      pile.add(s);
      const got = JSON.parse(pile.toWire()).req.headers.kv['X-Long'];
      expect(got, value.slice(0, 20)).toEqual(core.introspect({ op: 'pile', type: 'SimpleVal', inputs: [value] }));
      s.dispose();
      pile.dispose();
    }
  });
});
