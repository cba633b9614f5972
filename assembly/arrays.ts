// Reads of Array fields and elements as plain loads, for the request path's hottest loops: under
// the managed runtime even `a.length` and `unchecked(a[i])` are calls (each with a shadow-stack
// frame) that the optimizer does not inline. Reads only; stores keep the collector's barrier.

// @ts-ignore: decorator
@inline export function lengthOf<T>(a: Array<T>): i32 {
  return load<i32>(changetype<usize>(a), offsetof<Array<T>>("length_"));
}

/** Element i of an array of references (i must be below its length). */
// @ts-ignore: decorator
@inline export function refAt<T>(a: Array<T>, i: i32): T {
  return changetype<T>(load<usize>(a.dataStart + (<usize>i << alignof<usize>())));
}

/** Element i of an array of 32-bit values (i must be below its length). */
// @ts-ignore: decorator
@inline export function u32At(a: Array<u32>, i: i32): u32 {
  return load<u32>(a.dataStart + (<usize>i << 2));
}
