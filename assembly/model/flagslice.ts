// FlagSlice: a growable array of bitmaps (unicode blocks); merge = OR, extending.
import { Decision, decideInner } from "./decision";

export function mergeFlagSlice(base: Array<u32> | null, extra: Array<u32> | null): Array<u32> | null {
  if (extra == null) return base;
  const out = base == null ? new Array<u32>() : base;
  const n = extra.length;
  while (out.length < n) out.push(0);
  for (let i = 0; i < n; i++) out[i] = out[i] | extra[i];
  return out;
}

export function decideFlagSlice(profile: Array<u32> | null, config: Array<u32> | null): Decision | null {
  if (profile == null) return null;
  let d: Decision | null = null;
  const clen = config == null ? 0 : config.length;
  for (let i = 0, n = profile.length; i < n; i++) {
    const v = profile[i];
    if (v == 0) continue;
    if (i < clen && (v & ~unchecked(config![i])) == 0) continue;
    d = decideInner(d, "Unexpected Flags in FlagSlice " + v.toString(16) + " on Element " + i.toString());
  }
  return d;
}

export function flagSliceScore(f: Array<u32> | null): u32 {
  if (f == null) return 0;
  let s: u32 = 0;
  for (let i = 0; i < f.length; i++) s += <u32>popcnt(f[i]);
  return s;
}

export function copyFlagSlice(f: Array<u32> | null): Array<u32> | null {
  return f == null ? null : f.slice(0);
}
