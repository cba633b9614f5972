// Reading the wasm modules of build/ from disk: the Node side of loading the core (the rest of
// core/ is runtime-neutral and is handed the bytes).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { instantiateSync, type WasmIoExports, type WasmModule } from './wasm.js';

/** Read a file of build/ whether this code runs from source (core/) or compiled (build/js/core/). */
export function readBuildFile(name: string): Uint8Array {
  for (const rel of [`../build/${name}`, `../../${name}`]) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return readFileSync(path);
  }
  throw new Error(`build/${name} not found: run npm run build`);
}

export function loadWasmFile<E extends WasmIoExports>(name: string): WasmModule<E> {
  return instantiateSync<E>(readBuildFile(name));
}
