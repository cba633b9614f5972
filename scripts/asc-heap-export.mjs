// An asc transform (asconfig.json "transform"): exports the minimal runtime's count of the bytes
// held by managed objects as the global `heap_bytes`, so that the host can tell when garbage has
// piled up and collect at the next call boundary (core/wasm.ts, docs/abi.md "Memory"). The runtime
// keeps the count for itself; without this the host could only see memory.grow, which comes late.
const TOTAL = '~lib/rt/tcms/total';

export default class HeapExport {
  /** @param {{ getGlobal(name: string): number, addGlobalExport(internal: string, external: string): unknown }} module */
  afterCompile(module) {
    // A module that allocates nothing managed, or one built with another runtime, has no count.
    if (module.getGlobal(TOTAL)) module.addGlobalExport(TOTAL, 'heap_bytes');
  }
}
