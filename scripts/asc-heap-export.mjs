// An asc transform (named by scripts/build-wasm.mjs): exports the minimal runtime's count of the
// bytes held by managed objects as the global `heap_bytes`, so that the host can tell when garbage
// has piled up and collect at the next call boundary (core/wasm.ts, docs/abi.md "Memory"). The
// runtime keeps the count for itself; without it the host could only see memory.grow, which comes
// late. A build without the count would never be collected: it fails instead.
const TOTAL = '~lib/rt/tcms/total';

export default class HeapExport {
  /** @param {{ getGlobal(name: string): number, addGlobalExport(internal: string, external: string): unknown }} module */
  afterCompile(module) {
    if (!module.getGlobal(TOTAL)) {
      throw new Error(`asc-heap-export: no ${TOTAL} in this module — it is built for the minimal runtime (asconfig.json "runtime": "minimal"), whose count the host needs to collect its garbage`);
    }
    module.addGlobalExport(TOTAL, 'heap_bytes');
  }
}
