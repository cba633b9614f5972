// Loaded with `--import` into a `guard gate` process by bench:gate's ablation run (bench/gate/run.js,
// BENCH_GATE_ABLATE=1) and nowhere else: it takes one part out of the gate, so that the run can
// measure what the gate costs without it. GUARD_BENCH_ABLATE names the parts (comma-separated):
//
// * `peer`: the client's address is not asked of uWS per request (a getpeername system call); the
//   first answer is kept and given again. The benchmark's clients are all 127.0.0.1, so nothing the
//   gate decides changes.
// * `core`: no call into the core per exchange — the request and the response are neither written
//   into wasm memory nor profiled nor decided (everything is allowed), nothing is piled. The gate's
//   own JavaScript around the core runs as it does.
//
// GUARD_BENCH_CORE_WASM=PATH (BENCH_GATE_TRY_WASM of the try mode) loads the core from another
// build instead of build/guard-core.wasm, to compare core builds in the gate.
//
// The gate's code is not changed: the uWS module and the core's Session and Pile classes are the
// same objects the gate loads, patched before it starts.
import fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';

const parts = new Set((process.env.GUARD_BENCH_ABLATE ?? '').split(',').filter(Boolean));
for (const p of parts) if (p !== 'peer' && p !== 'core') throw new Error(`GUARD_BENCH_ABLATE: unknown part ${JSON.stringify(p)} (peer, core)`);

if (parts.has('peer')) {
  const require = createRequire(new URL('../../gate/', import.meta.url));
  const uws = require('uWebSockets.js');
  const realApp = uws.App;
  let patched = false;
  uws.App = (...args) => {
    const app = realApp(...args);
    const realAny = app.any.bind(app);
    app.any = (pattern, handler) =>
      realAny(pattern, (res, req) => {
        if (!patched) {
          // The first request's address, copied (uWS's buffer is valid only during the call).
          const kept = res.getRemoteAddress().slice(0);
          const proto = Object.getPrototypeOf(res);
          if (typeof proto.getRemoteAddress !== 'function') throw new Error('ablate-preload: getRemoteAddress is not on the HttpResponse prototype');
          proto.getRemoteAddress = () => kept;
          patched = true;
          process.stderr.write('guard gate (benchmark ablation): the peer address is read once from now on\n');
        }
        handler(res, req);
      });
    return app;
  };
}

if (parts.has('core')) {
  const core = await import(new URL('../../build/js/core/portable.js', import.meta.url).href);
  const S = core.Session.prototype;
  S.profileRequest = () => {};
  S.profileResponse = () => {};
  S.profileEnvelop = () => {};
  S.decide = () => 0;
  S.finish = () => 0;
  S.reset = () => {};
  core.Pile.prototype.add = () => {};
}

const otherCore = process.env.GUARD_BENCH_CORE_WASM;
if (otherCore) {
  const bytes = fs.readFileSync(otherCore);
  const read = fs.readFileSync;
  /** @type {any} */ (fs).readFileSync = (/** @type {any} */ path, /** @type {any[]} */ ...rest) =>
    String(path).endsWith('/guard-core.wasm') ? bytes : read(path, ...rest);
  syncBuiltinESMExports();
  process.stderr.write(`guard gate (benchmark): the core from ${otherCore}\n`);
}

if (parts.size > 0) process.stderr.write(`guard gate (benchmark ablation): without ${[...parts].join(' and ')}\n`);
