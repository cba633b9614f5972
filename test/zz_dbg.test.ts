import { it } from 'vitest';
import { loadWasmFile } from '../core/wasm.js';
function rng(seed: number) { let s = seed >>> 0 || 1; return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; }; }
it('dbg', () => {
  let mod: any = loadWasmFile('test-primitives.wasm');
  const r = rng(12345);
  const dv = new DataView(new ArrayBuffer(8));
  let bad = 0;
  for (let i = 0; i < 200000 && bad < 5; i++) {
    let x: number;
    do { dv.setUint32(0, r()); dv.setUint32(4, r()); x = dv.getFloat64(0); } while (!Number.isFinite(x) || x === 0);
    const a = new Float64Array([x]);
    try { mod.exports.t_shortestBatch(mod.writeInputBytes(new Uint8Array(a.buffer)) / 8); } catch (e) { console.log(x, String(e)); bad++; mod = loadWasmFile('test-primitives.wasm'); }
  }
});
