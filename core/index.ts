// The core for Node: everything of the runtime-neutral core/portable.ts, plus loadCore(), which
// reads build/guard-core.wasm from disk. Browsers, Deno and other hosts import core/portable.ts
// and hand it the module's bytes (docs/abi.md, "Embedding the core").
import { readBuildFile } from './build-file.js';
import { createCore, type Core } from './portable.js';

export * from './portable.js';

let shared: Core | undefined;

/** The process-wide core, loaded from build/guard-core.wasm on first use. */
export function loadCore(): Core {
  if (!shared) shared = createCore(readBuildFile('guard-core.wasm'));
  return shared;
}
