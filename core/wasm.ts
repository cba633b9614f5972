// Loads a Guard wasm module and moves bytes across its boundary (assembly/io.ts). The only code
// that reads or writes wasm memory; everything above it speaks strings, bytes and numbers.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface WasmIoExports {
  memory: WebAssembly.Memory;
  inputBuffer(n: number): number;
  outputPtr(): number;
  outputLen(): number;
  [name: string]: unknown;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

export class WasmModule<E extends WasmIoExports = WasmIoExports> {
  readonly exports: E;
  private bytes: Uint8Array;

  constructor(instance: WebAssembly.Instance) {
    this.exports = instance.exports as unknown as E;
    this.bytes = new Uint8Array(this.exports.memory.buffer);
  }

  /** A view of wasm memory, renewed after memory.grow detached the previous one. */
  memory(): Uint8Array {
    if (this.bytes.byteLength === 0 || this.bytes.buffer !== this.exports.memory.buffer) {
      this.bytes = new Uint8Array(this.exports.memory.buffer);
    }
    return this.bytes;
  }

  /** Copy a string into the input buffer as UTF-8; returns its byte length. */
  writeInputString(s: string): number {
    let ptr = this.exports.inputBuffer(s.length * 3);
    const { written } = encoder.encodeInto(s, this.memory().subarray(ptr, ptr + s.length * 3));
    return written;
  }

  writeInputBytes(b: Uint8Array): number {
    const ptr = this.exports.inputBuffer(b.byteLength);
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

function abort(msgPtr: number, filePtr: number, line: number, col: number): never {
  throw new WebAssembly.RuntimeError(`guard core aborted at ${line}:${col}`);
}

export function instantiateSync<E extends WasmIoExports>(wasm: Uint8Array): WasmModule<E> {
  const mod = new WebAssembly.Module(wasm as unknown as BufferSource);
  const instance = new WebAssembly.Instance(mod, { env: { abort, seed: () => 0x9e3779b9 } });
  return new WasmModule<E>(instance);
}

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
