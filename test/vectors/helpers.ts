// Shared helpers of the data-model vector suite (test/vectors/*.test.ts): vectors of the original
// (named V-…) and our own, each driven through core.introspect(); the
// helpers only build commands and compare results — all expectations live in the test files.
import { expect } from 'vitest';
import { loadCore, type Core } from '../../core/index.js';

let cached: Core | undefined;

/** The process-wide core, loaded lazily so that a missing build fails tests, not collection. */
export function core(): Core {
  if (!cached) cached = loadCore();
  return cached;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** One introspect call as run in Node: what test/core/second-runtime.test.ts replays elsewhere. */
export interface RecordedCall {
  command: string;
  output?: string;
  error?: string;
}

// Set (before this module loads) by the second-runtime test; absent otherwise.
const recorder = (globalThis as { guardVectorLog?: RecordedCall[] }).guardVectorLog;

export function introspect(command: Record<string, unknown>): any {
  if (!recorder) return core().introspect(command);
  const text = JSON.stringify(command);
  try {
    const out = core().introspect(command);
    recorder.push({ command: text, output: JSON.stringify(out) });
    return out;
  } catch (err) {
    recorder.push({ command: text, error: (err as Error).message });
    throw err;
  }
}

export function profile(type: string, input: unknown): any {
  return introspect({ op: 'profile', type, input });
}

export interface PileOpts {
  merge?: unknown[];
  clear?: boolean;
}

export function pile(type: string, inputs: unknown[], opts: PileOpts = {}): any {
  return introspect({ op: 'pile', type, inputs, ...opts });
}

export interface LearnOpts {
  pile?: unknown;
  config?: unknown;
  times?: number;
}

/** Learn a config from profiles of `inputs` (one pile), optionally starting from `config`. */
export function learn(type: string, inputs: unknown[] | undefined, opts: LearnOpts = {}): any {
  const cmd: Record<string, unknown> = { op: 'learn', type, ...opts };
  if (inputs !== undefined) cmd.inputs = inputs;
  return introspect(cmd);
}

export interface DecideResult {
  result: number;
  decision: string;
}

export function decideRaw(type: string, config: unknown, input: unknown, prepare?: boolean): DecideResult {
  const cmd: Record<string, unknown> = { op: 'decide', type, config, input };
  if (prepare !== undefined) cmd.prepare = prepare;
  return introspect(cmd) as DecideResult;
}

/**
 * Number of leaf reasons in a sorted decision string: every reason ends with "," and every
 * child ends with "],". Valid when no child tag was overwritten and no reason contains "],"
 * or ends with "]" (true for every vector here). Upstream Result = number of failing leaf checks.
 */
export function countReasons(sorted: string): number {
  let n = 0;
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === ',' && sorted[i - 1] !== ']') n++;
  return n;
}

/**
 * Decide and compare with the original's SortedString("") (`""` = accepted).
 * `result` defaults to the number of leaf reasons in the expected string.
 */
export function expectDecide(
  type: string,
  config: unknown,
  input: unknown,
  expected: string,
  opts: { result?: number; prepare?: boolean } = {},
): DecideResult {
  const got = decideRaw(type, config, input, opts.prepare);
  expect(got.decision).toBe(expected);
  const result = opts.result ?? countReasons(expected);
  expect(got.result).toBe(result);
  return got;
}

/** SimpleVal profile / pile keys (capitalised, as Go writes them). */
export function svProfile(
  D: number,
  L: number,
  Sp: number,
  Sc: number,
  NR: number,
  U: number,
  Seq: number,
  Flags: number,
  UnicodeFlags: number[] | null = null,
): Json {
  return {
    Digits: D,
    Letters: L,
    Spaces: Sp,
    SpecialChars: Sc,
    NonReadables: NR,
    Unicodes: U,
    Sequences: Seq,
    Flags,
    UnicodeFlags,
  };
}

/** SimpleVal config (lower-case keys, as Go writes them). */
export function svConfig(
  D: number,
  L: number,
  Sp: number,
  Sc: number,
  NR: number,
  U: number,
  Seq: number,
  flags: number,
  unicodeFlags: number[] | null = null,
): Json {
  return {
    digits: D,
    letters: L,
    spaces: Sp,
    schars: Sc,
    nonreadables: NR,
    unicodes: U,
    sequences: Seq,
    flags,
    unicodeFlags,
  };
}

export const ZERO_SV_PROFILE = svProfile(0, 0, 0, 0, 0, 0, 0, 0, null);
export const ZERO_SV_CONFIG = svConfig(0, 0, 0, 0, 0, 0, 0, 0, null);
export const EMPTY_KV_CONFIG: Json = { vals: null, otherVals: null, otherKeynames: null };

/** Deep-equal and, recursively, the same key order in every object (Go's declaration order). */
export function expectSameJson(actual: unknown, expected: unknown, path = '$'): void {
  expect(actual, path).toEqual(expected);
  expectKeyOrder(actual, expected, path);
}

function expectKeyOrder(actual: unknown, expected: unknown, path: string): void {
  if (Array.isArray(expected) && Array.isArray(actual)) {
    expected.forEach((e, i) => expectKeyOrder(actual[i], e, `${path}[${i}]`));
    return;
  }
  if (expected && typeof expected === 'object' && actual && typeof actual === 'object') {
    expect(Object.keys(actual as object), `key order at ${path}`).toEqual(Object.keys(expected as object));
    for (const k of Object.keys(expected as object)) {
      expectKeyOrder((actual as any)[k], (expected as any)[k], `${path}.${k}`);
    }
  }
}

/** The Limit encoding computed independently (BigInt), for building inputs with a given code. */
export function limitCode(v: bigint): number {
  let base = 0n;
  while (v >= 16n) {
    base += 16n;
    v = (v - 16n) >> 1n;
  }
  const c = v + base;
  return c > 255n ? 255 : Number(c);
}
