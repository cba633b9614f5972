// Shared helpers of the core host suites (test/core/*.test.ts): one core per worker, request
// builders, the original's example sync message and a seeded PRNG for the fuzz suite.
import { expect } from 'vitest';
import { CoreError, loadCore, type Core, type Guardian, type HttpRequestFields, type Pile } from '../../core/index.js';
import { syncAlerts, syncMessage, syncPile } from '../vectors/fixtures.js';

let cached: Core | undefined;

export function core(): Core {
  if (!cached) cached = loadCore();
  return cached;
}

/** Run fn and return the CoreError it throws; fails when it returns or throws anything else. */
export function coreError(fn: () => unknown): CoreError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) throw new Error('expected a CoreError, but the call returned');
  if (!(thrown instanceof CoreError)) throw thrown;
  return thrown;
}

/** A new pile with one session of each request (the caller disposes it). */
function pileOf(reqs: HttpRequestFields[]): Pile {
  const c = core();
  const pile = c.newPile();
  try {
    for (const req of reqs) {
      const s = c.newSession();
      try {
        s.profileRequest(req);
        pile.add(s);
      } finally {
        s.dispose();
      }
    }
    return pile;
  } catch (e) {
    pile.dispose();
    throw e;
  }
}

/** Profile one request into a fresh pile and return the pile's wire JSON (parsed). */
export function pileWire(...reqs: HttpRequestFields[]): any {
  const pile = pileOf(reqs);
  try {
    return JSON.parse(pile.toWire());
  } finally {
    pile.dispose();
  }
}

/** A default Guardian (control.auto) that learned one pile of these requests. */
export function learnedGuardian(reqs: HttpRequestFields[]): Guardian {
  const pile = pileOf(reqs);
  try {
    const g = core().defaultGuardian();
    g.learn(pile);
    return g;
  } finally {
    pile.dispose();
  }
}

/** The SimpleVal pile of one string, as the core piles it (for comparing header values). */
export function svPile(value: string): any {
  return core().introspect({ op: 'pile', type: 'SimpleVal', inputs: [value] });
}

// ---- the original's example SyncMessageReq (one copy, in test/vectors/fixtures.ts) ----------

export function syncExamplePile(): any {
  return syncPile();
}

export function syncExampleDecision(): any {
  return syncAlerts()[0].decision;
}

export function syncExampleText(): string {
  return JSON.stringify(syncMessage());
}

// ---- seeded PRNG -----------------------------------------------------------------------------

/** mulberry32: small, fast and good enough for test inputs. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  /** A string of random UTF-16 code units: ASCII, controls, Latin-1, BMP, lone surrogates, pairs. */
  string(maxLen: number): string {
    const n = this.int(maxLen + 1);
    let s = '';
    for (let i = 0; i < n; i++) {
      const k = this.int(10);
      if (k < 5) s += String.fromCharCode(32 + this.int(95));
      else if (k === 5) s += String.fromCharCode(this.int(32));
      else if (k === 6) s += String.fromCharCode(128 + this.int(128));
      else if (k === 7) s += String.fromCharCode(this.int(0x10000));
      else if (k === 8) s += String.fromCharCode(0xd800 + this.int(0x800));
      else s += String.fromCodePoint(0x10000 + this.int(0x100000));
    }
    return s;
  }
  /** A string drawn from an alphabet. */
  from(alphabet: string, maxLen: number): string {
    const n = this.int(maxLen + 1);
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
}

/** The seed of a suite: GUARD_FUZZ_SEED when set, else a fixed default (reproducible runs). */
export function suiteSeed(fallback: number): number {
  const env = process.env.GUARD_FUZZ_SEED;
  return env ? Number(env) >>> 0 : fallback;
}

/** Run a property with a seed; a failure is rethrown with the seed in its message. */
export function withSeed(seed: number, name: string, body: (rng: Rng) => void): void {
  try {
    body(new Rng(seed));
  } catch (e) {
    const err = e as Error;
    const msg = `[${name}] failed with seed ${seed} (rerun with GUARD_FUZZ_SEED=${seed}): ${err?.message ?? String(e)}`;
    // eslint-disable-next-line no-console
    console.error(msg);
    if (err && typeof err === 'object') {
      err.message = msg;
      throw err;
    }
    throw new Error(msg);
  }
}

/** Call fn; only a CoreError may escape it (anything else, a wasm trap included, fails). */
export function onlyCoreErrors(what: () => string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof CoreError) return;
    const kind = e instanceof WebAssembly.RuntimeError ? 'WebAssembly.RuntimeError' : (e as Error)?.name ?? typeof e;
    throw new Error(`${kind} (not a CoreError): ${(e as Error)?.message ?? String(e)}\n  input: ${what()}`);
  }
}

export function expectCode(fn: () => unknown, code: string): CoreError {
  const e = coreError(fn);
  expect(e.code).toBe(code);
  return e;
}
