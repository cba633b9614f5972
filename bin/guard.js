#!/usr/bin/env node
// The `guard` command: runs the compiled CLI (build/js/cli/index.js, made by `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../build/js/cli/index.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  process.stderr.write(`guard: the command is not built yet: run \`npm run build\` in ${root}\n`);
  process.exit(1);
}
const { main } = await import(entry.href);
// exitCode, not exit(): let buffered output to a pipe drain before the process ends.
process.exitCode = await main(process.argv.slice(2));
