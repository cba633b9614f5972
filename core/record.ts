// Encodes requests, responses and /proc/net snapshots into the core's binary input record, written
// straight into the wasm input buffer: one copy of each string, no intermediate objects.
// Layout (little-endian) is documented in docs/abi.md; assembly/ingest/record.ts reads it.
import type { HttpRequestFields, HttpResponseFields, ResponseHeaderLine } from './types.js';
import type { WasmModule, WasmIoExports } from './wasm.js';
import type { ProcNetFiles } from './portable.js';

const encoder = new TextEncoder();
const BODY_NONE = 0;
const BODY_BYTES = 1;
const BODY_FAULT = 2;
const POD_FILES = ['tcp', 'udp', 'udplite', 'tcp6', 'udp6', 'udplite6'] as const;

// Node's Buffer writes UTF-8 at an offset without a subarray per string; browsers use encodeInto.
type Utf8Target = Uint8Array & {
  utf8Write?: (s: string, offset: number, length: number) => number;
};
const NodeBuffer = (globalThis as { Buffer?: { from(b: ArrayBufferLike): Uint8Array } }).Buffer;

/** Strings up to this many characters are copied by a loop, longer ones by one native call. */
const TEXT_LOOP_MAX = 32;
/** A header name sent as the index of a well-known name (top bit of its length word). */
const NAME_REF = 0x80000000;
/** Request records of version 2: header lines as a table of lengths, then their bytes. */
const REQUEST_VERSION = 2;

function put32(m: Uint8Array, p: number, v: number): void {
  m[p] = v & 255;
  m[p + 1] = (v >>> 8) & 255;
  m[p + 2] = (v >>> 16) & 255;
  m[p + 3] = v >>> 24;
}

export class RecordWriter {
  private readonly wasm: WasmModule<WasmIoExports>;
  private mem: Utf8Target = new Uint8Array(0);
  private pos = 0;
  /** Well-known header names (canonical and lower-case spellings) → their index in the core. */
  private readonly known = new Map<string, number>();

  constructor(wasm: WasmModule<WasmIoExports>, wellKnownNames: readonly string[] = []) {
    this.wasm = wasm;
    wellKnownNames.forEach((name, i) => {
      if (!name) return;
      this.known.set(name, i);
      this.known.set(name.toLowerCase(), i);
    });
  }

  request(req: HttpRequestFields): number {
    let bound = 64 + strBound(req.method) + strBound(req.proto) + strBound(req.path) + strBound(req.query) + strBound(req.remote);
    bound += headersBound(req.headers) + bodyBound(req.body, req.bodyFault);
    this.begin(bound);
    this.u32(REQUEST_VERSION);
    this.str(req.method);
    this.str(req.proto ?? 'HTTP/1.1');
    this.str(req.path);
    this.str(req.query);
    this.str(req.remote);
    this.headers(req.headers);
    this.body(req.body, req.bodyFault);
    return this.pos - this.base;
  }

  response(resp: HttpResponseFields): number {
    const bound = 64 + headersBound(resp.headers) + bodyBound(resp.body, resp.bodyFault);
    this.begin(bound);
    this.u32(resp.status >>> 0);
    this.headers(resp.headers);
    this.body(resp.body, resp.bodyFault);
    return this.pos - this.base;
  }

  pod(files: ProcNetFiles): number {
    let bound = 64;
    for (const name of POD_FILES) bound += 5 + dataBound(files[name]);
    this.begin(bound);
    for (const name of POD_FILES) {
      const data = files[name];
      if (data === undefined) {
        this.u8(0);
      } else {
        this.u8(1);
        this.data(data);
      }
    }
    return this.pos - this.base;
  }

  private base = 0;

  private begin(bound: number): void {
    this.base = this.wasm.inputBuffer(bound);
    // memory.grow detaches the old buffer (its views read as empty): only then is a new view
    // needed, and reading memory.buffer on every record is not free.
    if (this.mem.byteLength === 0) {
      const buffer = this.wasm.exports.memory.buffer;
      this.mem = NodeBuffer ? NodeBuffer.from(buffer) : new Uint8Array(buffer);
    }
    this.pos = this.base;
  }

  private u8(v: number): void {
    this.mem[this.pos++] = v;
  }

  private u32(v: number): void {
    const m = this.mem;
    let p = this.pos;
    m[p++] = v & 255;
    m[p++] = (v >>> 8) & 255;
    m[p++] = (v >>> 16) & 255;
    m[p++] = (v >>> 24) & 255;
    this.pos = p;
  }

  private str(s: string | undefined): void {
    this.pos = this.strAt(s, this.pos);
  }

  /** Write `s` as a str (length, then UTF-8) at p; returns the position after it. */
  private strAt(s: string | undefined, p: number): number {
    const end = s ? this.textAt(s, p + 4) : p + 4;
    put32(this.mem, p, end - p - 4);
    return end;
  }

  private data(d: string | Uint8Array): void {
    if (typeof d === 'string') {
      this.str(d);
      return;
    }
    this.u32(d.byteLength);
    this.mem.set(d, this.pos);
    this.pos += d.byteLength;
  }

  /**
   * Header lines: a table of (name tag, value length) pairs, then the bytes of every line in
   * order (docs/abi.md). Text as UTF-8, bytes as they are.
   */
  private headers(list: ResponseHeaderLine[]): void {
    const n = list.length;
    const m = this.mem;
    const known = this.known;
    const table = this.pos + 4;
    this.u32(n);
    const bytesAt = table + n * 8;
    // Text only (requests, nearly always ASCII): the table with character counts, and every line's
    // text in one native copy of their concatenation.
    let blob = '';
    let text = true;
    for (let i = 0; i < n && text; i++) {
      const name = list[i]![0];
      const value = list[i]![1];
      if (typeof value !== 'string') {
        text = false;
        break;
      }
      const id = known.get(name);
      let tag: number;
      if (id === undefined) {
        tag = name.length;
        blob += name;
      } else tag = (NAME_REF | id) >>> 0;
      put32(m, table + i * 8, tag);
      put32(m, table + i * 8 + 4, value.length);
      blob += value;
    }
    if (text && this.utf8At(blob, bytesAt) === blob.length) {
      this.pos = bytesAt + blob.length;
      return;
    }
    // Values given as bytes (the gate's responses), or text that is not ASCII: line by line.
    let p = bytesAt;
    for (let i = 0; i < n; i++) {
      const name = list[i]![0];
      const value = list[i]![1];
      const id = known.get(name);
      if (id === undefined) {
        const q = this.textAt(name, p);
        put32(m, table + i * 8, q - p);
        p = q;
      } else put32(m, table + i * 8, (NAME_REF | id) >>> 0);
      let q: number;
      if (typeof value === 'string') q = this.textAt(value, p);
      else {
        m.set(value, p);
        q = p + value.byteLength;
      }
      put32(m, table + i * 8 + 4, q - p);
      p = q;
    }
    this.pos = p;
  }

  /** Write s at p as UTF-8 (no length prefix); returns the position after it. */
  private textAt(s: string, p: number): number {
    const m = this.mem;
    const n = s.length;
    // Longer strings: one native UTF-8 copy (a memcpy for ASCII), no scan first. Short ones (names,
    // methods, most header values): a plain loop beats a native call.
    if (n > TEXT_LOOP_MAX && m.utf8Write) return p + m.utf8Write(s, p, n * 3);
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return p - i + this.utf8At(s, p - i);
      m[p++] = c;
    }
    return p;
  }

  /** Write s as UTF-8 at p (no length prefix); returns the byte count. */
  private utf8At(s: string, p: number): number {
    const m = this.mem;
    return m.utf8Write ? m.utf8Write(s, p, s.length * 3) : encoder.encodeInto(s, m.subarray(p, p + s.length * 3)).written;
  }

  private body(body: string | Uint8Array | undefined, fault: string | undefined): void {
    if (fault) {
      this.u8(BODY_FAULT);
      this.str(fault);
    } else if (body !== undefined && body !== null) {
      this.u8(BODY_BYTES);
      this.data(body);
    } else {
      this.u8(BODY_NONE);
    }
  }
}

function strBound(s: string | undefined): number {
  return 4 + (s ? s.length * 3 : 0);
}

function dataBound(d: string | Uint8Array | undefined): number {
  if (d === undefined || d === null) return 4;
  return typeof d === 'string' ? strBound(d) : 4 + d.byteLength;
}

function headersBound(list: ResponseHeaderLine[]): number {
  let n = 4;
  for (let i = 0; i < list.length; i++) {
    const v = list[i]![1];
    n += strBound(list[i]![0]) + (typeof v === 'string' ? strBound(v) : 4 + v.byteLength);
  }
  return n;
}

function bodyBound(body: string | Uint8Array | undefined, fault: string | undefined): number {
  return 1 + (fault ? strBound(fault) : dataBound(body));
}

export { encoder as utf8Encoder };
