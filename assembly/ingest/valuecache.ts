// The SimpleVal profiles of recent header and query values, keyed by their bytes: most values
// (User-Agent, Accept, Accept-Language, …) repeat from one request to the next, and comparing the
// bytes with a remembered copy is much cheaper than profiling them again. A fixed direct-mapped
// table in static memory: it never grows, and a miss just replaces the slot.
import { SimpleValProfile } from "../model/simpleval";
import { bytesHash, sameBytes } from "../text/bytehash";

// @ts-ignore: decorator
@inline const SLOTS: i32 = 512;
/** Longest value remembered (longer ones are profiled every time). */
// @ts-ignore: decorator
@inline const MAX_VALUE: i32 = 256;

// Per slot: the value's bytes, and its hash, length and profile (7 counter codes + flags).
const BYTES: usize = memory.data(SLOTS * MAX_VALUE, 8);
const HASHES: usize = memory.data(SLOTS * 4, 8);
const LENS: usize = memory.data(SLOTS * 4, 8);
const CODES: usize = memory.data(SLOTS * 8, 8);
const FLAGS: usize = memory.data(SLOTS * 4, 8);
const TOKENS: usize = memory.data(SLOTS, 8);

/** Fill `into` with the profile of the UTF-8 bytes [ptr, ptr+len), from the cache when it can. */
export function profileValueCached(ptr: usize, len: i32, into: SimpleValProfile): void {
  if (len > MAX_VALUE) {
    into.profileBytes(ptr, len);
    return;
  }
  const h = bytesHash(ptr, len);
  const slot = <usize>(h & <u32>(SLOTS - 1));
  const at = BYTES + slot * <usize>MAX_VALUE;
  if (load<u32>(HASHES + (slot << 2)) == h && load<i32>(LENS + (slot << 2)) == len && sameBytes(at, ptr, len)) {
    const codes = load<u64>(CODES + (slot << 3));
    into.digits = <u8>codes;
    into.letters = <u8>(codes >> 8);
    into.spaces = <u8>(codes >> 16);
    into.specialChars = <u8>(codes >> 24);
    into.nonReadables = <u8>(codes >> 32);
    into.unicodes = <u8>(codes >> 40);
    into.sequences = <u8>(codes >> 48);
    into.flags = load<u32>(FLAGS + (slot << 2));
    into.unicodeFlags = null;
    const token = load<u8>(TOKENS + slot);
    into.token = token;
    into.tokenLen = token != 0 ? <u32>len : 0;
    into.cookies = null;
    return;
  }
  into.profileBytes(ptr, len);
  // Values with unicode blocks carry an array: those are profiled every time.
  if (into.unicodeFlags != null) return;
  memory.copy(at, ptr, <usize>len);
  store<u32>(HASHES + (slot << 2), h);
  store<i32>(LENS + (slot << 2), len);
  store<u64>(
    CODES + (slot << 3),
    <u64>into.digits | (<u64>into.letters << 8) | (<u64>into.spaces << 16) | (<u64>into.specialChars << 24) |
      (<u64>into.nonReadables << 32) | (<u64>into.unicodes << 40) | (<u64>into.sequences << 48),
  );
  store<u32>(FLAGS + (slot << 2), into.flags);
  store<u8>(TOKENS + slot, into.token);
}
