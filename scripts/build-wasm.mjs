// Builds every wasm module of Guard: the core, and the small test harness modules under
// assembly/testing/ that unit tests load. One asc invocation per entry, run in parallel.
import { spawn } from 'node:child_process';
import { readdirSync, mkdirSync, existsSync } from 'node:fs';
import { join, basename } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const asc = join(root, 'node_modules', '.bin', 'asc');
mkdirSync(join(root, 'build'), { recursive: true });

const entries = [{ entry: 'assembly/index.ts', out: 'build/guard-core.wasm' }];
const testingDir = join(root, 'assembly', 'testing');
if (process.env.GUARD_SKIP_TEST_WASM !== '1' && existsSync(testingDir)) {
  for (const f of readdirSync(testingDir)) {
    if (f.endsWith('.ts')) entries.push({ entry: `assembly/testing/${f}`, out: `build/test-${basename(f, '.ts')}.wasm` });
  }
}

function build({ entry, out }) {
  return new Promise((resolve, reject) => {
    const child = spawn(asc, [entry, '--config', 'asconfig.json', '--target', 'release', '--outFile', out], { cwd: root, stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`asc failed for ${entry} (exit ${code})`))));
  });
}

try {
  await Promise.all(entries.map(build));
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
