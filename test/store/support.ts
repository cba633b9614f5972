// Shared helpers of the Guardian store suites: a fresh temporary directory per test, the core, the
// original's example Guardians (test/vectors/fixtures.ts), and a way to await a StoreError.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, expect } from 'vitest';
import { loadCore } from '../../core/index.js';
import { StoreError, type GuardianSpecJson, type StoreErrorCode } from '../../store/index.js';
import { DEFAULT_GUARDIAN_SPEC_TEXT, guardianSpec } from '../vectors/fixtures.js';

export const core = loadCore;

const made: string[] = [];
afterEach(async () => {
  for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

/** A new empty directory, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'guard-store-'));
  made.push(dir);
  return dir;
}

export async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** The original's example GuardianSpec (test/vectors/fixtures.ts): zero configured, a learned tree, 1 sample. */
export function exampleSpec(): GuardianSpecJson {
  return guardianSpec() as GuardianSpecJson;
}

/** The service's default Guardian. */
export function defaultSpec(): GuardianSpecJson {
  return JSON.parse(DEFAULT_GUARDIAN_SPEC_TEXT) as GuardianSpecJson;
}

/** The spec as the core writes it back: what the store returns. */
export function canonical(spec: unknown): GuardianSpecJson {
  const g = core().parseGuardian(spec as object);
  try {
    return JSON.parse(g.toWire()) as GuardianSpecJson;
  } finally {
    g.dispose();
  }
}

/** Await `p` and return the StoreError it rejects with; fails on anything else. */
export async function storeError(p: Promise<unknown>, code: StoreErrorCode): Promise<StoreError> {
  let thrown: unknown;
  try {
    await p;
  } catch (err) {
    thrown = err;
  }
  if (thrown === undefined) throw new Error(`expected a StoreError ${code}, but the call resolved`);
  if (!(thrown instanceof StoreError)) throw thrown;
  expect(thrown.code).toBe(code);
  return thrown;
}

/** The compiled store, for child processes (plain node cannot load the TypeScript source). */
export const COMPILED_STORE = fileURLToPath(new URL('../../build/js/store/file.js', import.meta.url));
export const compiledStoreMissing = !existsSync(COMPILED_STORE);
export const COMPILED_MISSING_MESSAGE = `${COMPILED_STORE} is missing: run \`npm run build\` first (tsconfig must include store/**/*.ts)`;
