// The wasm core in the page: the same build/guard-core.wasm guard-service and the gates run,
// bundled as an asset and compiled once, off the main thread's critical path.
import { compileCore, type Core } from '../../core/portable.js';
import wasmUrl from '../../build/guard-core.wasm?url';

let loading: Promise<Core> | null = null;

export function browserCore(): Promise<Core> {
  loading ??= compileCore(fetch(wasmUrl));
  return loading;
}
