// Builds every wasm module of Guard: the core, and the small test harness modules under
// assembly/testing/ that unit tests load. One asc invocation per entry, run in parallel.
//
//   node scripts/build-wasm.mjs            the release build (asconfig.json target "release")
//   node scripts/build-wasm.mjs --debug    the core with function names and a source map, still
//                                          optimised (target "debug"): for profiles that name the
//                                          core's functions (npm run build:wasm:debug)
//
// asc's INFO diagnostics (hints such as "expression is never null") are dropped; warnings and
// errors are printed in full. GUARD_BUILD_VERBOSE=1 prints everything.
import { spawn } from 'node:child_process';
import { readdirSync, mkdirSync, existsSync, rmSync } from 'node:fs';
import { join, basename } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const asc = join(root, 'node_modules', '.bin', 'asc');
const debug = process.argv.includes('--debug');
const heapExport = join(root, 'scripts', 'asc-heap-export.mjs');
const verbose = process.env.GUARD_BUILD_VERBOSE === '1';
mkdirSync(join(root, 'build'), { recursive: true });

const entries = [{ entry: 'assembly/index.ts', out: 'build/guard-core.wasm' }];
const testingDir = join(root, 'assembly', 'testing');
if (!debug && process.env.GUARD_SKIP_TEST_WASM !== '1' && existsSync(testingDir)) {
  for (const f of readdirSync(testingDir)) {
    if (f.endsWith('.ts')) entries.push({ entry: `assembly/testing/${f}`, out: `build/test-${basename(f, '.ts')}.wasm` });
  }
}

/**
 * asc's diagnostics without the INFO ones. A diagnostic starts with its level at the start of a
 * line and runs up to the next blank line.
 * @param {string} text
 */
function withoutInfo(text) {
  if (verbose) return text;
  const blocks = text.split(/\n(?=\S)/);
  return blocks.filter((b) => !/^(\u001b\[\d+m)*INFO\b/.test(b)).join('\n');
}

function build({ entry, out }) {
  return new Promise((/** @type {(v?: unknown) => void} */ resolve, reject) => {
    // The transform is named by its absolute path: asc resolves a relative one as a package name.
    const args = [entry, '--config', 'asconfig.json', '--target', debug ? 'debug' : 'release', '--transform', heapExport, '--outFile', out];
    const child = spawn(asc, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('exit', (code) => {
      const shown = withoutInfo(output).trim();
      if (shown) process.stderr.write(`${shown}\n`);
      if (code === 0) resolve();
      else reject(new Error(`asc failed for ${entry} (exit ${code})`));
    });
  });
}

try {
  // A source map left by a debug build would describe another binary.
  if (!debug) rmSync(join(root, 'build', 'guard-core.wasm.map'), { force: true });
  await Promise.all(entries.map(build));
  if (debug) console.log('build/guard-core.wasm: debug build (function names, source map build/guard-core.wasm.map); `npm run build:wasm` restores the release build');
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
