// The request target as the gate decides and forwards it: one canonical form for both, so the
// service never receives a different request than the one decided.
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  c |= 0x20;
  return c >= 0x61 && c <= 0x66 ? c - 0x61 + 10 : -1;
}

/**
 * The request path as it is decided and forwarded (one form for both, so the backend never receives
 * a different request than the one decided): percent-decoded once, then re-encoded canonically —
 * `%`, `?`, `#`, controls, space and non-ASCII bytes as %XX, everything else literal. An encoded
 * slash or dot becomes a real one: `/shop/..%2fadmin` is decided (and forwarded) as
 * `/shop/../admin`. Dot segments are kept, not resolved: they are evidence the Guardian decides on
 * (resolving them would let `/shop/../../etc/passwd` pass as an in-pattern `/etc/passwd`).
 * null when the target is not a valid origin-form path (an absolute-form or `*` target, an invalid
 * escape, a raw control or non-ASCII character). A path without `%` is returned as it is.
 */
export function canonicalPath(raw: string): string | null {
  if (raw.length === 0 || raw.charCodeAt(0) !== 0x2f) return null;
  if (!raw.includes('%')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    let c = raw.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return null;
    if (c === 0x25) {
      const h = hexValue(raw.charCodeAt(i + 1));
      const l = h < 0 ? -1 : hexValue(raw.charCodeAt(i + 2));
      if (l < 0) return null;
      c = h * 16 + l;
      i += 2;
    }
    out += c <= 0x20 || c >= 0x7f || c === 0x25 || c === 0x3f || c === 0x23 ? `%${c < 16 ? '0' : ''}${c.toString(16).toUpperCase()}` : String.fromCharCode(c);
  }
  return out;
}
