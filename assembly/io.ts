// The byte boundary between a host and the core: one growable input scratch buffer that the host
// writes into, and one output buffer that the core fills and the host reads. Nothing else crosses.

let scratchBuf: ArrayBuffer = new ArrayBuffer(64 * 1024);
let outBuf: ArrayBuffer = new ArrayBuffer(64 * 1024);
let outLength: i32 = 0;

/** Pointer to an input buffer of at least `n` bytes. Valid until the next call to inputBuffer. */
export function inputBuffer(n: i32): usize {
  if (n > scratchBuf.byteLength) {
    let cap = scratchBuf.byteLength;
    while (cap < n) cap <<= 1;
    scratchBuf = new ArrayBuffer(cap);
  }
  return changetype<usize>(scratchBuf);
}

export function inputPtr(): usize {
  return changetype<usize>(scratchBuf);
}

export function inputCapacity(): i32 {
  return scratchBuf.byteLength;
}

/** Reserve `n` bytes of output and return where to write them. */
export function reserveOutput(n: i32): usize {
  if (n > outBuf.byteLength) {
    let cap = outBuf.byteLength;
    while (cap < n) cap <<= 1;
    outBuf = new ArrayBuffer(cap);
  }
  outLength = n;
  return changetype<usize>(outBuf);
}

export function setOutputBytes(ptr: usize, len: i32): void {
  const dst = reserveOutput(len);
  memory.copy(dst, ptr, <usize>len);
}

export function setOutputString(s: string): void {
  const len = String.UTF8.byteLength(s, false);
  const dst = reserveOutput(len);
  String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, dst, false);
}

export function outputPtr(): usize {
  return changetype<usize>(outBuf);
}

export function outputLen(): i32 {
  return outLength;
}
