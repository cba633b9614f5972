// The request target as the gate decides and forwards it. The path goes to the service as the client
// sent it whenever it is valid (every escape well formed, no raw control or non-ASCII character): the
// core decodes it once, as the service does, so both read the same bytes. The query goes to both in
// one form, made of the pieces Go's url.ParseQuery accepts — what the core profiles is exactly what
// the service receives.
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  c |= 0x20;
  return c >= 0x61 && c <= 0x66 ? c - 0x61 + 10 : -1;
}

/**
 * The request path as the core profiles it and logs and alerts show it: percent-decoded once, then
 * re-encoded canonically —
 * `%`, `?`, `#`, controls, space and non-ASCII bytes as %XX, everything else literal. An encoded
 * slash or dot becomes a real one in this form: `/shop/..%2fadmin` is profiled, decided and logged as
 * `/shop/../admin`, while the service receives the path as the client sent it (`/shop/..%2fadmin`,
 * which decodes to those bytes) — this form is never forwarded. Dot segments are kept, not resolved:
 * they are evidence the Guardian decides on (resolving them would let `/shop/../../etc/passwd` pass as
 * an in-pattern `/etc/passwd`).
 * null when the target is not a valid origin-form path (an absolute-form or `*` target, an invalid
 * escape, a raw control or non-ASCII character). A path without `%` is returned as it is.
 */
export function canonicalPath(raw: string): string | null {
  if (raw.length === 0 || raw.charCodeAt(0) !== 0x2f) return null;
  if (!raw.includes('%')) return plainText(raw) ? raw : null;
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

/** No control character, space or non-ASCII character: text every parser reads alike. */
function plainText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

const HEX = '0123456789ABCDEF';
const utf8 = new TextEncoder();

/** A query piece Go's url.ParseQuery accepts: no ';', and every '%' followed by two hex digits. */
function parsablePiece(raw: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x3b) return false;
    if (c === 0x25 && (i + 2 >= to || hexValue(raw.charCodeAt(i + 1)) < 0 || hexValue(raw.charCodeAt(i + 2)) < 0)) return false;
  }
  return true;
}

/** A piece with its controls, space, '#' and non-ASCII characters (as UTF-8) percent-encoded. */
function encodePiece(raw: string, from: number, to: number): string {
  let out = '';
  for (let i = from; i < to; i++) {
    const c = raw.charCodeAt(i);
    if (c > 0x20 && c < 0x7f && c !== 0x23) {
      out += raw[i];
      continue;
    }
    // A character outside ASCII (a surrogate pair taken whole) as the bytes of its UTF-8 form.
    const end = c >= 0xd800 && c <= 0xdbff && i + 1 < to ? i + 2 : i + 1;
    for (const b of utf8.encode(raw.slice(i, end))) out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
    i = end - 1;
  }
  return out;
}

/** What canonicalQuery made of the last query: the pieces it dropped. */
export interface QueryForm {
  query: string;
  /** Pieces left out (a ';' or an invalid escape). */
  dropped: number;
}

/**
 * The query as the gate decides and forwards it. Pieces Go's url.ParseQuery refuses — those with a
 * ';' or an invalid '%' escape — are dropped, as Go's reverse proxy drops them (CVE-2022-2880):
 * the core cannot profile them, and a service must not receive what was not decided. The other
 * pieces stay as sent, in their order, with controls, space, '#' and non-ASCII characters
 * percent-encoded (each decodes to the same bytes, whatever parser reads it). A query that needs
 * none of this is returned as it is.
 */
export function canonicalQuery(raw: string, out: QueryForm): QueryForm {
  out.dropped = 0;
  let clean = true;
  for (let i = 0; i < raw.length && clean; i++) {
    const c = raw.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x23 || c === 0x3b) clean = false;
    else if (c === 0x25) {
      if (i + 2 >= raw.length || hexValue(raw.charCodeAt(i + 1)) < 0 || hexValue(raw.charCodeAt(i + 2)) < 0) clean = false;
      else i += 2;
    }
  }
  if (clean) {
    out.query = raw;
    return out;
  }
  let query = '';
  let from = 0;
  while (from <= raw.length) {
    let to = raw.indexOf('&', from);
    if (to < 0) to = raw.length;
    if (to > from) {
      if (parsablePiece(raw, from, to)) query += (query.length > 0 ? '&' : '') + encodePiece(raw, from, to);
      else out.dropped++;
    }
    from = to + 1;
  }
  out.query = query;
  return out;
}
