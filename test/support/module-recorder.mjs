// Preloaded with `node --import` by test/cli/modules.test.ts: records every module the process
// really loads, one URL a line, in the file named by GUARD_TEST_MODULE_LOG — ES modules through a
// resolve hook (module-recorder-hooks.mjs), CommonJS ones from the require cache at exit.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const log = process.env.GUARD_TEST_MODULE_LOG;
if (log) {
  register('./module-recorder-hooks.mjs', import.meta.url, { data: { log } });
  const require = createRequire(import.meta.url);
  process.on('exit', () => {
    const loaded = Object.keys(require.cache).map((file) => pathToFileURL(file).href);
    if (loaded.length > 0) appendFileSync(log, `${loaded.join('\n')}\n`);
  });
}
