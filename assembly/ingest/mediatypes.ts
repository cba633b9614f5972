// The Content-Type values a gate sees are few and repeat: each is parsed (Go's
// mime.ParseMediaType) and profiled once, then found again by its bytes, so that neither the
// request nor the response path builds a string or parses for it. Shared profiles are never
// changed after they are made (piling and deciding only read them).
import { MediaType, parseMediaType } from "../http/mediatype";
import { MediaTypeProfile } from "../model/mediatype";
import { bytesHash } from "../text/bytehash";
import { goStringFromUtf8 } from "../text/utf8";

/** A Content-Type value, what it parsed to (null: it did not) and its MediaType profile. */
export class KnownMediaType {
  constructor(
    public text: string,
    public parsed: MediaType | null,
    public profile: MediaTypeProfile,
  ) {}
}

// Direct-mapped by the bytes' hash; a new value takes its slot's place. Only ASCII values up to
// MAX_KEPT bytes are kept: their bytes compare with the text's code units one to one.
const SLOTS = 16;
const MAX_KEPT = 256;
const slots = new StaticArray<KnownMediaType | null>(SLOTS);

function sameAscii(text: string, ptr: usize, len: i32): bool {
  if (text.length != len) return false;
  const tp = changetype<usize>(text);
  for (let i = 0; i < len; i++) if (load<u16>(tp + (<usize>i << 1)) != <u16>load<u8>(ptr + <usize>i)) return false;
  return true;
}

function isAscii(ptr: usize, len: i32): bool {
  for (let i = 0; i < len; i++) if (load<u8>(ptr + <usize>i) >= 0x80) return false;
  return true;
}

/** The media type of the Content-Type value in bytes at ptr (len 0: no Content-Type, ""). */
export function mediaTypeAt(ptr: usize, len: i32): KnownMediaType {
  const slot = <i32>(bytesHash(ptr, len) & (SLOTS - 1));
  const known = unchecked(slots[slot]);
  if (known != null && sameAscii(known.text, ptr, len)) return known;
  const text = goStringFromUtf8(ptr, len);
  const parsed = parseMediaType(text);
  const fresh = new KnownMediaType(text, parsed, MediaTypeProfile.ofParsed(parsed));
  if (len <= MAX_KEPT && isAscii(ptr, len)) unchecked((slots[slot] = fresh));
  return fresh;
}
