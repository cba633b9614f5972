import { it } from 'vitest';
import { loadWasmFile } from '../core/wasm.js';
function rng(seed: number) { let s = seed >>> 0 || 1; return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; }; }
it('dbg', () => {
  let mod: any = loadWasmFile('test-primitives.wasm');
  const r = rng(12345);
  let bad = 0;
  for (let i = 0; i < 200000 && bad < 5; i++) {
    const nd = 1 + (r() % 17);
    let s = String(1 + (r() % 9));
    for (let i = 1; i < nd; i++) s += String(r() % 10);
    const e = (r() % 640) - 330;
    const x = Number(s + 'e' + e);
    if (x === 0 || !Number.isFinite(x)) continue;
    for (const w of [0, 1]) {
    const a = new Float64Array([x]);
    try { if (w == 0) mod.exports.t_shortestBatch(mod.writeInputBytes(new Uint8Array(a.buffer)) / 8); else mod.exports.t_formatBatch(mod.writeInputBytes(new Uint8Array(a.buffer)) / 8, 0); } catch (e) { console.log(x, w, String(e)); bad++; mod = loadWasmFile('test-primitives.wasm'); }
    }
  }
});
