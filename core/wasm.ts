// Instantiates a Guard wasm module and moves bytes across its boundary (assembly/io.ts). The only
// code that reads or writes wasm memory; everything above it speaks strings, bytes and numbers.
// Runtime-neutral: reading the module from build/ is core/build-file.ts's job (Node only).
import { CoreError } from './errors.js';

export interface WasmIoExports {
  memory: WebAssembly.Memory;
  inputBuffer(n: number): number;
  outputPtr(): number;
  outputLen(): number;
  [name: string]: unknown;
}

const encoder = new TextEncoder();
/**
 * Garbage the core may hold before the host collects it: as much as it held alive after the last
 * collection, and at least this (docs/abi.md, "Memory").
 */
const MIN_HEAP_GROWTH = 1 << 20;
/**
 * The core's largest memory (asconfig.json maximumMemory, 16,384 pages). Near it, garbage is
 * collected sooner: an allocation the memory cannot grow for traps the core.
 */
const MAX_MEMORY = 16384 * 65536;
/** The core's MAX_IO_BYTES (assembly/io.ts). */
const MAX_INPUT = 512 << 20;
const decoder = new TextDecoder('utf-8', { fatal: false });

export class WasmModule<E extends WasmIoExports = WasmIoExports> {
  readonly exports: E;
  /** The compiled module: a fresh instance of it costs an instantiation, not a compilation. */
  readonly module: WebAssembly.Module;
  private bytes: Uint8Array;

  /** Set once the core trapped: its memory may be inconsistent, so every later call refuses. */
  faulted: Error | null = null;

  /**
   * Called once, synchronously, when a call traps, before the caller sees GUARD_CORE_FAULT: the
   * owner of the instance can replace it before the caller's error handling runs.
   */
  onFault: ((err: Error) => void) | null = null;

  // The core's runtime collects only when asked (assembly/index.ts heap_collect): the host asks
  // after a call returns, once the bytes held by its objects (`heap_bytes`) passed collectAt.
  private heap: WebAssembly.Global | null = null;
  private heapCollect: (() => void) | null = null;
  private collectAt = MIN_HEAP_GROWTH;
  /** Calls into the module under way: a collection runs only when none is. */
  private depth = 0;
  /** Collections run so far (tests, metrics). */
  collections = 0;

  constructor(instance: WebAssembly.Instance, module: WebAssembly.Module) {
    this.module = module;
    const raw = instance.exports as Record<string, unknown>;
    if (raw.heap_bytes instanceof WebAssembly.Global && typeof raw.heap_collect === 'function') {
      this.heap = raw.heap_bytes;
      this.heapCollect = raw.heap_collect as () => void;
    }
    const wrapped: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(raw)) {
      wrapped[name] = typeof value === 'function' ? this.guard(value as (...a: number[]) => unknown) : value;
    }
    // A direct call may move the input buffer: forget what inputBuffer() remembers of it.
    const rawInputBuffer = wrapped.inputBuffer as ((n: number) => number) | undefined;
    if (rawInputBuffer) {
      wrapped.inputBuffer = (n: number): number => {
        this.inputSize = 0;
        return rawInputBuffer(n);
      };
      this.rawInputBuffer = rawInputBuffer;
    }
    this.exports = wrapped as unknown as E;
    this.bytes = new Uint8Array(this.exports.memory.buffer);
  }

  private guard(fn: (...a: number[]) => unknown): (...a: number[]) => unknown {
    const fail = (err: unknown): never => {
      // A trap, or a stack overflow inside the core (V8 raises a RangeError for it): either way the
      // call stopped half-way and the instance's state cannot be trusted. Exports take numbers only,
      // so no other RangeError comes out of a call.
      if (err instanceof WebAssembly.RuntimeError || err instanceof RangeError) {
        this.faulted = err;
        try {
          this.onFault?.(err);
        } catch {
          // The owner's recovery failed; the caller still learns of the fault below.
        }
        throw new CoreError('GUARD_CORE_FAULT', `the core failed: ${err.message}`);
      }
      throw err;
    };
    const refuse = (): never => {
      throw new CoreError('GUARD_CORE_FAULT', `the core failed earlier and must be reloaded: ${this.faulted?.message}`);
    };
    // Fixed arities keep the wrapper as cheap as a direct call on the request path.
    switch (fn.length) {
      case 0:
        return () => {
          if (this.faulted) refuse();
          let r: unknown;
          this.depth++;
          try { r = fn(); } catch (err) { this.depth--; return fail(err); }
          this.returned();
          return r;
        };
      case 1:
        return (a: number) => {
          if (this.faulted) refuse();
          let r: unknown;
          this.depth++;
          try { r = fn(a); } catch (err) { this.depth--; return fail(err); }
          this.returned();
          return r;
        };
      case 2:
        return (a: number, b: number) => {
          if (this.faulted) refuse();
          let r: unknown;
          this.depth++;
          try { r = fn(a, b); } catch (err) { this.depth--; return fail(err); }
          this.returned();
          return r;
        };
      case 3:
        return (a: number, b: number, c: number) => {
          if (this.faulted) refuse();
          let r: unknown;
          this.depth++;
          try { r = fn(a, b, c); } catch (err) { this.depth--; return fail(err); }
          this.returned();
          return r;
        };
      case 6:
        return (a: number, b: number, c: number, d: number, e: number, f: number) => {
          if (this.faulted) refuse();
          let r: unknown;
          this.depth++;
          try { r = fn(a, b, c, d, e, f); } catch (err) { this.depth--; return fail(err); }
          this.returned();
          return r;
        };
      default:
        return (...args: number[]) => {
          if (this.faulted) refuse();
          let r: unknown;
          this.depth++;
          try { r = fn(...args); } catch (err) { this.depth--; return fail(err); }
          this.returned();
          return r;
        };
    }
  }

  /** A call returned: once no other is under way, collect if the heap passed collectAt. */
  private returned(): void {
    if (--this.depth === 0 && this.heap !== null && this.heap.value >>> 0 > this.collectAt) this.collect();
  }

  /**
   * Free the core's garbage now (between calls only). The next collection comes once the core
   * holds as much again as it held alive after this one (half the room left below MAX_MEMORY when
   * that is less), and at least MIN_HEAP_GROWTH more.
   */
  collect(): void {
    if (this.heap === null || this.heapCollect === null || this.depth !== 0 || this.faulted) return;
    this.depth++;
    try {
      this.heapCollect();
    } catch (err) {
      // A trap while collecting leaves the heap as inconsistent as any other trap.
      this.faulted = err instanceof Error ? err : new Error(String(err));
      try {
        this.onFault?.(this.faulted);
      } catch {
        // The owner's recovery failed; the next call reports the fault.
      }
      return;
    } finally {
      this.depth--;
    }
    this.collections++;
    const live = this.heap.value >>> 0;
    this.collectAt = live + Math.max(Math.min(live, (MAX_MEMORY - live) / 2), MIN_HEAP_GROWTH);
  }

  /** Bytes held by the core's managed objects, garbage included until the next collection. */
  heapBytes(): number {
    return this.heap === null ? 0 : this.heap.value >>> 0;
  }

  /** A view of wasm memory, renewed after memory.grow detached the previous one. */
  memory(): Uint8Array {
    if (this.bytes.byteLength === 0 || this.bytes.buffer !== this.exports.memory.buffer) {
      this.bytes = new Uint8Array(this.exports.memory.buffer);
    }
    return this.bytes;
  }

  // The input buffer moves only when a call asks for more than it holds (assembly/io.ts): the
  // largest size asked for at the current pointer needs no call into the module.
  private inputPtr = 0;
  private inputSize = 0;
  private rawInputBuffer: ((n: number) => number) | null = null;

  /** An input buffer of at least n bytes, or a CoreError when the input is too large. */
  inputBuffer(n: number): number {
    if (n <= this.inputSize && n >= 0) return this.inputPtr;
    const ptr = this.rawInputBuffer ? this.rawInputBuffer(n) : this.exports.inputBuffer(n);
    if (ptr === 0) throw new CoreError('GUARD_INVALID_ARGUMENT', `input of ${n} bytes is larger than the core accepts (512 MiB)`);
    if (ptr !== this.inputPtr) this.inputSize = 0;
    this.inputPtr = ptr;
    if (n > this.inputSize) this.inputSize = n;
    return ptr;
  }

  /** Copy a string into the input buffer as UTF-8; returns its byte length. */
  writeInputString(s: string): number {
    const NodeBuffer = (globalThis as { Buffer?: { byteLength(s: string): number } }).Buffer;
    const bound = s.length * 3 > MAX_INPUT && NodeBuffer ? NodeBuffer.byteLength(s) : s.length * 3;
    const ptr = this.inputBuffer(bound);
    const { written } = encoder.encodeInto(s, this.memory().subarray(ptr, ptr + bound));
    return written;
  }

  writeInputBytes(b: Uint8Array): number {
    const ptr = this.inputBuffer(b.byteLength);
    this.memory().set(b, ptr);
    return b.byteLength;
  }

  readOutputString(): string {
    const ptr = this.exports.outputPtr();
    const len = this.exports.outputLen();
    return decoder.decode(this.memory().subarray(ptr, ptr + len));
  }

  readOutputBytes(): Uint8Array {
    const ptr = this.exports.outputPtr();
    const len = this.exports.outputLen();
    return this.memory().slice(ptr, ptr + len);
  }
}

/** An AssemblyScript string (UTF-16, length before the pointer) read from wasm memory. */
function readAsString(memory: WebAssembly.Memory | undefined, ptr: number): string {
  if (!memory || !ptr) return '';
  const bytes = new Uint8Array(memory.buffer);
  const len = new Uint32Array(memory.buffer, ptr - 4, 1)[0] >>> 1;
  let out = '';
  for (let i = 0; i < len && i < 1000; i++) out += String.fromCharCode(bytes[ptr + 2 * i] | (bytes[ptr + 2 * i + 1] << 8));
  return out;
}

export function instantiateSync<E extends WasmIoExports>(wasm: Uint8Array): WasmModule<E> {
  return instantiateModule<E>(new WebAssembly.Module(wasm as unknown as BufferSource));
}

/** A new instance (its own memory and state) of a compiled module. */
export function instantiateModule<E extends WasmIoExports>(mod: WebAssembly.Module): WasmModule<E> {
  let memory: WebAssembly.Memory | undefined;
  // A failed internal check of the core (an AssemblyScript abort): name where, for the report.
  const abort = (msgPtr: number, filePtr: number, line: number, col: number): never => {
    const msg = readAsString(memory, msgPtr);
    const file = readAsString(memory, filePtr);
    throw new WebAssembly.RuntimeError(`guard core aborted: ${msg || 'internal error'} (${file}:${line}:${col})`);
  };
  // Shortest round-trip digits of x > 0 (finite), for the core's Go %v of floats: the digit values
  // at `out`, and (decimal point + 1024) × 32 + digit count returned (0 = not handled).
  let view = new Uint8Array(0);
  const shortestDigits = (x: number, out: number): number => {
    if (!(x > 0) || !Number.isFinite(x) || memory === undefined) return 0;
    const t = x.toExponential(); // "d.ddde±n": as many digits as needed to round-trip, closest
    const e = t.indexOf('e');
    if (view.byteLength === 0 || view.buffer !== memory.buffer) view = new Uint8Array(memory.buffer);
    let n = 0;
    for (let i = 0; i < e; i++) {
      const c = t.charCodeAt(i);
      if (c !== 46) view[out + n++] = c - 48;
    }
    while (n > 1 && view[out + n - 1] === 0) n--;
    const point = Number(t.slice(e + 1)) + 1;
    return n > 0 && n <= 17 ? (point + 1024) * 32 + n : 0;
  };
  const instance = new WebAssembly.Instance(mod, { env: { abort, seed: () => 0x9e3779b9, shortestDigits } });
  memory = instance.exports.memory as WebAssembly.Memory;
  return new WasmModule<E>(instance, mod);
}
