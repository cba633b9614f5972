// The byte boundary between a host and the core: one growable input scratch buffer that the host
// writes into, and one output buffer that the core fills and the host reads. Nothing else crosses.

let scratchBuf: ArrayBuffer = new ArrayBuffer(64 * 1024);
let outBuf: ArrayBuffer = new ArrayBuffer(64 * 1024);
let outLength: i32 = 0;

/** The largest single input or output (the host refuses larger inputs before copying). */
export const MAX_IO_BYTES: i32 = 512 << 20;

function grownCapacity(current: i32, n: i32): i32 {
  let cap = current;
  while (cap < n && cap < MAX_IO_BYTES) cap <<= 1;
  return cap < n ? n : cap;
}

/**
 * Pointer to an input buffer of at least `n` bytes, valid until the next call; 0 when `n` is
 * negative or above MAX_IO_BYTES.
 */
export function inputBuffer(n: i32): usize {
  if (n < 0 || n > MAX_IO_BYTES) return 0;
  if (n > scratchBuf.byteLength) scratchBuf = new ArrayBuffer(grownCapacity(scratchBuf.byteLength, n));
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
  if (n > outBuf.byteLength) outBuf = new ArrayBuffer(grownCapacity(outBuf.byteLength, n));
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
