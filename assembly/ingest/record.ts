// Reader of the host's binary input record (layout in docs/abi.md): little-endian u32 lengths
// followed by bytes. Every read is bounds-checked; a short record sets `bad`.
import { goStringFromUtf8 } from "../text/utf8";

export class RecordReader {
  ptr: usize = 0;
  pos: i32 = 0;
  len: i32 = 0;
  bad: bool = false;

  reset(ptr: usize, len: i32): void {
    this.ptr = ptr;
    this.pos = 0;
    this.len = len;
    this.bad = false;
  }

  u8(): i32 {
    if (this.pos + 1 > this.len) {
      this.bad = true;
      return 0;
    }
    const v = <i32>load<u8>(this.ptr + <usize>this.pos);
    this.pos++;
    return v;
  }

  // @ts-ignore: decorator
  @inline u32(): u32 {
    if (this.pos + 4 > this.len) {
      this.bad = true;
      this.pos = this.len;
      return 0;
    }
    const v = load<u32>(this.ptr + <usize>this.pos);
    this.pos += 4;
    return v;
  }

  /** Take a length-prefixed byte run; sets `at` and returns its length (0 when bad). */
  // @ts-ignore: decorator
  @inline bytes(): i32 {
    const n = this.u32();
    if (n > <u32>(this.len - this.pos)) {
      this.bad = true;
      this.pos = this.len;
      this.at = this.ptr + <usize>this.len;
      return 0;
    }
    this.at = this.ptr + <usize>this.pos;
    this.pos += <i32>n;
    return <i32>n;
  }

  at: usize = 0;

  string(): string {
    const n = this.bytes();
    return n == 0 ? "" : goStringFromUtf8(this.at, n);
  }
}
