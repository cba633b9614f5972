// Unit tests of the AssemblyScript primitives (assembly/text, assembly/net, assembly/http) through
// the harness build/test-primitives.wasm. Oracles: fixed vectors (the original's outputs,
// libxxhash, Go documentation facts) and independent JS implementations (BigInt XXH3, BigInt %f, JS
// Number).
import { beforeAll, describe, expect, it } from 'vitest';
import { loadWasmFile } from '../core/build-file.js';
import type { WasmIoExports, WasmModule } from '../core/wasm.js';

interface Exports extends WasmIoExports {
  t_decodeRunes(len: number): void;
  t_goString(len: number): void;
  t_utf16ToUtf8(len: number): number;
  t_compareUtf8(len: number): number;
  t_xxh3(len: number): void;
  t_formatV(x: number): void;
  t_formatF6(x: number): void;
  t_parseFloat(len: number): number;
  t_shortestBatch(n: number): void;
  t_hostShortest(on: number): void;
  t_formatBatch(n: number, which: number): void;
  t_parseBatch(len: number, n: number): void;
  t_b64enc(len: number): void;
  t_b64encBytes(len: number): void;
  t_b64dec(len: number): number;
  t_parseIP(len: number): void;
  t_ipBytes(len: number): void;
  t_cidrContains(len: number): number;
  t_procHex(len: number): void;
  t_mediaType(len: number): void;
  t_query(len: number): void;
  t_unescapePath(len: number): void;
  t_unescapePathBytes(len: number): number;
  t_canonicalHeaderKey(len: number): number;
  t_canonicalHeaderKeyBytes(len: number): void;
}

let mod: WasmModule<Exports>;
let ex: Exports;
const NULL = '\u0000null';

beforeAll(() => {
  mod = loadWasmFile<Exports>('test-primitives.wasm');
  ex = mod.exports;
});

// Deterministic PRNG (xorshift32) so failures reproduce.
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

const bytes = (...xs: number[]) => new Uint8Array(xs);
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

function utf16le(s: string): Uint8Array {
  const b = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    b[2 * i] = c & 255;
    b[2 * i + 1] = c >> 8;
  }
  return b;
}

// ------------------------------------------------------------------------------------------------
describe('utf8', () => {
  const runes = (b: Uint8Array) => {
    ex.t_decodeRunes(mod.writeInputBytes(b));
    return mod.readOutputString();
  };

  it('decodes valid sequences and boundaries', () => {
    expect(runes(bytes(0x61, 0x00, 0x7f))).toBe('61/1,0/1,7f/1');
    expect(runes(bytes(0xc2, 0x80, 0xdf, 0xbf))).toBe('80/2,7ff/2');
    expect(runes(bytes(0xe0, 0xa0, 0x80, 0xe2, 0x82, 0xac, 0xef, 0xbf, 0xbf))).toBe('800/3,20ac/3,ffff/3');
    expect(runes(bytes(0xed, 0x9f, 0xbf, 0xee, 0x80, 0x80))).toBe('d7ff/3,e000/3');
    expect(runes(bytes(0xf0, 0x90, 0x80, 0x80, 0xf0, 0x9f, 0x98, 0x80, 0xf4, 0x8f, 0xbf, 0xbf))).toBe('10000/4,1f600/4,10ffff/4');
  });

  it('yields U+FFFD consuming one byte for every invalid byte', () => {
    expect(runes(bytes(0x80))).toBe('fffd/1');
    expect(runes(bytes(0x61, 0xff, 0x62))).toBe('61/1,fffd/1,62/1');
    expect(runes(bytes(0xc0, 0x80))).toBe('fffd/1,fffd/1'); // overlong NUL
    expect(runes(bytes(0xc1, 0xbf))).toBe('fffd/1,fffd/1');
    expect(runes(bytes(0xe0, 0x80, 0x80))).toBe('fffd/1,fffd/1,fffd/1'); // overlong 3-byte
    expect(runes(bytes(0xed, 0xa0, 0x80))).toBe('fffd/1,fffd/1,fffd/1'); // surrogate D800
    expect(runes(bytes(0xed, 0xbf, 0xbf))).toBe('fffd/1,fffd/1,fffd/1'); // surrogate DFFF
    expect(runes(bytes(0xf0, 0x80, 0x80, 0x80))).toBe('fffd/1,fffd/1,fffd/1,fffd/1'); // overlong 4-byte
    expect(runes(bytes(0xf4, 0x90, 0x80, 0x80))).toBe('fffd/1,fffd/1,fffd/1,fffd/1'); // > U+10FFFF
    expect(runes(bytes(0xf5, 0x80))).toBe('fffd/1,fffd/1');
    expect(runes(bytes(0xe2, 0x82))).toBe('fffd/1,fffd/1'); // truncated
    expect(runes(bytes(0xe2, 0x82, 0x41))).toBe('fffd/1,fffd/1,41/1');
    expect(runes(bytes(0xf0, 0x9f, 0x98))).toBe('fffd/1,fffd/1,fffd/1');
    expect(runes(bytes(0xf0, 0x9f, 0x98, 0x41))).toBe('fffd/1,fffd/1,fffd/1,41/1');
  });

  // Independent JS model of Go's decoding, for random byte soup.
  function goRunes(b: Uint8Array): number[] {
    const out: number[] = [];
    for (let i = 0; i < b.length; ) {
      const b0 = b[i];
      let cp = 0xfffd, n = 1;
      const cont = (k: number) => i + k < b.length && (b[i + k] & 0xc0) === 0x80;
      if (b0 < 0x80) cp = b0;
      else if (b0 >= 0xc2 && b0 <= 0xdf && cont(1)) { cp = ((b0 & 31) << 6) | (b[i + 1] & 63); n = 2; }
      else if (b0 >= 0xe0 && b0 <= 0xef && cont(1) && cont(2)) {
        const v = ((b0 & 15) << 12) | ((b[i + 1] & 63) << 6) | (b[i + 2] & 63);
        if (v >= 0x800 && (v < 0xd800 || v > 0xdfff)) { cp = v; n = 3; }
      } else if (b0 >= 0xf0 && b0 <= 0xf4 && cont(1) && cont(2) && cont(3)) {
        const v = ((b0 & 7) << 18) | ((b[i + 1] & 63) << 12) | ((b[i + 2] & 63) << 6) | (b[i + 3] & 63);
        if (v >= 0x10000 && v <= 0x10ffff) { cp = v; n = 4; }
      }
      out.push(cp);
      i += n;
    }
    return out;
  }

  it('goStringFromUtf8 matches a Go model on random byte soup', () => {
    const r = rng(7);
    const pool = [0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xa0, 0xed, 0x9f, 0xef, 0xf0, 0x90, 0xf4, 0x8f, 0xf5, 0xff, 0xe2, 0x82, 0xac];
    for (let t = 0; t < 3000; t++) {
      const n = r() % 24;
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = r() % 3 === 0 ? r() & 255 : pool[r() % pool.length];
      ex.t_goString(mod.writeInputBytes(b));
      expect(mod.readOutputString()).toBe(String.fromCodePoint(...goRunes(b)));
      ex.t_decodeRunes(mod.writeInputBytes(b));
      const got = mod.readOutputString();
      expect(got === '' ? [] : got.split(',').map((x) => parseInt(x, 16))).toEqual(goRunes(b));
    }
  });

  it('goStringFromUtf8 round-trips valid UTF-8 (ASCII fast path, astral)', () => {
    for (const s of ['', 'plain ascii', 'héllo wörld', '€ 中文 😀 \u{10ffff}', 'a'.repeat(1000) + '😀']) {
      ex.t_goString(mod.writeInputString(s));
      expect(mod.readOutputString()).toBe(s);
    }
  });

  it('stringToUtf8 / utf8ByteLength encode lone surrogates as U+FFFD', () => {
    const enc = (s: string) => {
      const n = ex.t_utf16ToUtf8(mod.writeInputBytes(utf16le(s)));
      return { n, hex: hexOf(mod.readOutputBytes()) };
    };
    expect(enc('')).toEqual({ n: 0, hex: '' });
    expect(enc('a\u00e9\u20ac\u{1f600}')).toEqual({ n: 10, hex: '61c3a9e282acf09f9880' });
    expect(enc('\ud800')).toEqual({ n: 3, hex: 'efbfbd' });
    expect(enc('\udc00x')).toEqual({ n: 4, hex: 'efbfbd78' });
    expect(enc('\ud83d\ud83d\ude00')).toEqual({ n: 7, hex: 'efbfbdf09f9880' });
    expect(enc('x\ud83d')).toEqual({ n: 4, hex: '78efbfbd' });
  });

  it('compareUtf8 orders by UTF-8 bytes (code points), not UTF-16 units', () => {
    const cmp = (a: string, b: string) => {
      const ua = utf16le(a), ub = utf16le(b);
      const buf = new Uint8Array(4 + ua.length + ub.length);
      new DataView(buf.buffer).setUint32(0, ua.length, true);
      buf.set(ua, 4);
      buf.set(ub, 4 + ua.length);
      return ex.t_compareUtf8(mod.writeInputBytes(buf));
    };
    expect(cmp('\uffff', '\u{10000}')).toBe(-1); // UTF-16 order would say +1
    expect(cmp('\u{1f600}', '\ue000')).toBe(1);
    expect(cmp('a', 'ab')).toBe(-1);
    expect(cmp('ab', 'a')).toBe(1);
    expect(cmp('', '')).toBe(0);
    expect(cmp('\ud800', '\ufffd')).toBe(0); // lone surrogate is written as U+FFFD
    const r = rng(11);
    const alphabet = ['a', 'b', 'Z', '\u00e9', '\u20ac', '\ue000', '\uffff', '\u{10000}', '\u{1f600}', '\ud800', '\udfff'];
    for (let t = 0; t < 3000; t++) {
      let a = '', b = '';
      const na = r() % 5, nb = r() % 5;
      for (let i = 0; i < na; i++) a += alphabet[r() % alphabet.length];
      b = r() % 3 === 0 ? a : '';
      for (let i = 0; i < nb; i++) b += alphabet[r() % alphabet.length];
      expect(cmp(a, b)).toBe(Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))));
    }
  });
});

// ------------------------------------------------------------------------------------------------
// Independent XXH3-64 (seed 0) in BigInt, written from the XXH3 specification.
const M64 = (1n << 64n) - 1n;
const P32_1 = 0x9e3779b1n, P32_2 = 0x85ebca77n, P32_3 = 0xc2b2ae3dn;
const P64_1 = 0x9e3779b185ebca87n, P64_2 = 0xc2b2ae3d27d4eb4fn, P64_3 = 0x165667b19e3779f9n;
const P64_4 = 0x85ebca77c2b2ae63n, P64_5 = 0x27d4eb2f165667c5n;
const KSECRET = Buffer.from(
  'b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671fcb79e64eccc0e578825ad07dccff7221' +
    'b8084674f743248ee03590e6813a264c3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8' +
    'a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364eac5ac8334d3ebc3c581a0fffa1363eb' +
    '170ddd51b7f0da49d316552629d4689e2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e',
  'hex',
);
const rd64 = (b: Uint8Array, o: number) => {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[o + i]);
  return v;
};
const rd32 = (b: Uint8Array, o: number) => BigInt(b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) | (BigInt(b[o + 3]) << 24n);
const mulFold = (a: bigint, b: bigint) => {
  const p = a * b;
  return (p & M64) ^ (p >> 64n);
};
const xorshift = (v: bigint, s: bigint) => v ^ (v >> s);
const xxh64Aval = (h: bigint) => {
  h = xorshift(h, 33n);
  h = (h * P64_2) & M64;
  h = xorshift(h, 29n);
  h = (h * P64_3) & M64;
  return xorshift(h, 32n);
};
const aval = (h: bigint) => xorshift((xorshift(h, 37n) * 0x165667919e3779f9n) & M64, 32n);
const rotl = (v: bigint, r: bigint) => ((v << r) | (v >> (64n - r))) & M64;
const bswap64 = (v: bigint) => {
  let r = 0n;
  for (let i = 0; i < 8; i++) r = (r << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
  return r;
};
const mix16 = (b: Uint8Array, o: number, so: number) =>
  mulFold(rd64(b, o) ^ rd64(KSECRET, so), rd64(b, o + 8) ^ rd64(KSECRET, so + 8));

function xxh3Ref(b: Uint8Array): bigint {
  const n = b.length;
  const N = BigInt(n);
  if (n === 0) return xxh64Aval(rd64(KSECRET, 56) ^ rd64(KSECRET, 64));
  if (n <= 3) {
    const comb = (BigInt(b[0]) << 16n) | (BigInt(b[n >> 1]) << 24n) | BigInt(b[n - 1]) | (N << 8n);
    return xxh64Aval(comb ^ (rd32(KSECRET, 0) ^ rd32(KSECRET, 4)));
  }
  if (n <= 8) {
    const v = (rd32(b, n - 4) + (rd32(b, 0) << 32n)) & M64;
    let h = v ^ (rd64(KSECRET, 8) ^ rd64(KSECRET, 16));
    h ^= rotl(h, 49n) ^ rotl(h, 24n);
    h = (h * 0x9fb21c651e98df25n) & M64;
    h ^= (h >> 35n) + N;
    h = (h * 0x9fb21c651e98df25n) & M64;
    return h ^ (h >> 28n);
  }
  if (n <= 16) {
    const lo = rd64(b, 0) ^ (rd64(KSECRET, 24) ^ rd64(KSECRET, 32));
    const hi = rd64(b, n - 8) ^ (rd64(KSECRET, 40) ^ rd64(KSECRET, 48));
    return aval((N + bswap64(lo) + hi + mulFold(lo, hi)) & M64);
  }
  if (n <= 128) {
    let acc = (N * P64_1) & M64;
    const pairs = Math.floor((n - 1) / 32); // 0..3 extra pairs
    for (let i = pairs; i >= 0; i--) {
      acc += mix16(b, 16 * i, 32 * i) + mix16(b, n - 16 * (i + 1), 32 * i + 16);
    }
    return aval(acc & M64);
  }
  if (n <= 240) {
    let acc = (N * P64_1) & M64;
    for (let i = 0; i < 8; i++) acc += mix16(b, 16 * i, 16 * i);
    acc = aval(acc & M64);
    for (let i = 8; i < Math.floor(n / 16); i++) acc += mix16(b, 16 * i, 16 * (i - 8) + 3);
    acc += mix16(b, n - 16, 136 - 17);
    return aval(acc & M64);
  }
  const acc = [P32_3, P64_1, P64_2, P64_3, P64_4, P32_2, P64_5, P32_1];
  const stripe = (o: number, so: number) => {
    for (let i = 0; i < 8; i++) {
      const v = rd64(b, o + 8 * i);
      const k = v ^ rd64(KSECRET, so + 8 * i);
      acc[i ^ 1] = (acc[i ^ 1] + v) & M64;
      acc[i] = (acc[i] + (k & 0xffffffffn) * (k >> 32n)) & M64;
    }
  };
  const blocks = Math.floor((n - 1) / 1024);
  for (let blk = 0; blk < blocks; blk++) {
    for (let s = 0; s < 16; s++) stripe(blk * 1024 + 64 * s, 8 * s);
    for (let i = 0; i < 8; i++) acc[i] = ((acc[i] ^ (acc[i] >> 47n) ^ rd64(KSECRET, 128 + 8 * i)) * P32_1) & M64;
  }
  const stripes = Math.floor((n - 1 - 1024 * blocks) / 64);
  for (let s = 0; s < stripes; s++) stripe(blocks * 1024 + 64 * s, 8 * s);
  stripe(n - 64, 192 - 64 - 7);
  let res = (N * P64_1) & M64;
  for (let i = 0; i < 4; i++) res += mulFold(acc[2 * i] ^ rd64(KSECRET, 11 + 16 * i), acc[2 * i + 1] ^ rd64(KSECRET, 11 + 16 * i + 8));
  return aval(res & M64);
}

// XXH3_64bits from the system libxxhash 0.8.1 over bytes[i] = (i*131 + 7*(i>>8) + 17) & 255.
const LIBXXHASH: Record<number, bigint> = {0: 3244421341483603138n, 1: 17517311690026122941n, 2: 7794789002704696989n, 3: 11603449010481121435n, 4: 5809367987132182819n, 5: 7965661108194772456n, 7: 9031670170584346172n, 8: 12773120878489605230n, 9: 18313116319785344455n, 12: 8463640421955323502n, 16: 8165459328745983990n, 17: 9021578923543107484n, 31: 10517004494711270374n, 32: 10420380416093549884n, 33: 6986673655078668889n, 48: 1929295529332449969n, 63: 17209448662206838620n, 64: 689571348146411565n, 65: 10254511225676330715n, 96: 10005584223516520991n, 97: 13972797073781984632n, 127: 8918608359236703364n, 128: 17187002264862383548n, 129: 9096844039813715196n, 130: 12387907106061622660n, 144: 13728619712973617917n, 200: 15380170850989919312n, 239: 2123752013725720460n, 240: 4902337606335717421n, 241: 17119122465032547459n, 255: 17072557471321039947n, 256: 6005238422732561258n, 500: 3597417116371709168n, 1023: 320741467800824821n, 1024: 17996136584316993708n, 1025: 8116690735030545657n, 1087: 7227930456528009971n, 1088: 16702950477410171550n, 1089: 15852644826536266200n, 2047: 17382244193921838284n, 2048: 17879984442520176898n, 2049: 14879734827550157599n, 4096: 10225264475953057895n, 5000: 15235783912037893506n};
const patterned = (n: number) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + 7 * (i >> 8) + 17) & 255;
  return b;
};

describe('xxh3', () => {
  const h = (b: Uint8Array) => {
    ex.t_xxh3(mod.writeInputBytes(b));
    return mod.readOutputString();
  };
  const enc = new TextEncoder();

  it('names over-long keys as the original does', () => {
    expect(h(enc.encode('k'.repeat(65)))).toBe('7506843945359262845');
    expect(h(enc.encode('a'.repeat(100)))).toBe('4692068465866116615');
    expect(h(enc.encode('X-Very-Long-Header-Name-That-Exceeds-The-Sixty-Four-Character-Limit'))).toBe('2211487336288654405');
    expect(h(new Uint8Array(0))).toBe(0x2d06800538d394c2n.toString());
  });

  it('the JS oracle agrees with the original\'s vectors and libxxhash', () => {
    expect(xxh3Ref(enc.encode('k'.repeat(65)))).toBe(7506843945359262845n);
    expect(xxh3Ref(enc.encode('a'.repeat(100)))).toBe(4692068465866116615n);
    expect(xxh3Ref(new Uint8Array(0))).toBe(0x2d06800538d394c2n);
    for (const [n, v] of Object.entries(LIBXXHASH)) expect(xxh3Ref(patterned(Number(n)))).toBe(v);
  });

  it('matches libxxhash on every length class', () => {
    for (const [n, v] of Object.entries(LIBXXHASH)) expect(h(patterned(Number(n)))).toBe(v.toString());
  });

  it('matches the JS oracle on random inputs of every length class', () => {
    const r = rng(3);
    const lens = [0, 1, 2, 3, 4, 8, 9, 16, 17, 32, 33, 64, 65, 96, 97, 128, 129, 240, 241, 1024, 1025, 5000];
    for (let n = 0; n <= 300; n++) lens.push(n);
    for (let t = 0; t < 40; t++) lens.push(r() % 6000);
    for (const n of lens) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = r() & 255;
      expect(h(b), `len ${n}`).toBe(xxh3Ref(b).toString());
    }
  });
});

// ------------------------------------------------------------------------------------------------
// Float formatting and parsing.

/** Shortest digits of |x| from JS (ECMAScript requires shortest round-trip, closest). */
function jsShortest(x: number): { digits: string; k: number } {
  const s = Math.abs(x).toString();
  let digits: string, k: number;
  const e = s.indexOf('e');
  if (e >= 0) {
    const mant = s.slice(0, e).replace('.', '');
    digits = mant;
    k = Number(s.slice(e + 1)) + 1;
  } else {
    const dot = s.indexOf('.');
    const ip = dot < 0 ? s : s.slice(0, dot);
    const fp = dot < 0 ? '' : s.slice(dot + 1);
    if (ip === '0') {
      const z = fp.length - fp.replace(/^0+/, '').length;
      digits = fp.slice(z);
      k = -z;
    } else {
      digits = ip + fp;
      k = ip.length;
    }
  }
  digits = digits.replace(/0+$/, '');
  return { digits, k };
}

/** Go %v from JS shortest digits (written independently of the AS code). */
function goV(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  if (x === 0) return sign + '0';
  const { digits, k } = jsShortest(x);
  const X = k - 1;
  if (X < -4 || X >= 6) {
    const m = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
    const ae = Math.abs(X);
    return sign + m + 'e' + (X < 0 ? '-' : '+') + (ae < 10 ? '0' : '') + ae;
  }
  if (k <= 0) return sign + '0.' + '0'.repeat(-k) + digits;
  if (k >= digits.length) return sign + digits + '0'.repeat(k - digits.length);
  return sign + digits.slice(0, k) + '.' + digits.slice(k);
}

/** Go %f (6 decimals) from the exact binary value with BigInt. */
function goF6(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  const bits = dv.getBigUint64(0);
  const neg = bits >> 63n === 1n;
  const be = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const f = be === 0 ? frac : frac | (1n << 52n);
  const e = be === 0 ? -1074 : be - 1075;
  let q: bigint;
  if (e >= 0) q = (f << BigInt(e)) * 1000000n;
  else {
    const num = f * 1000000n, den = 1n << BigInt(-e);
    q = num / den;
    const r2 = (num % den) * 2n;
    if (r2 > den || (r2 === den && (q & 1n) === 1n)) q += 1n;
  }
  const ip = q / 1000000n, fp = q % 1000000n;
  return (neg ? '-' : '') + ip.toString() + '.' + fp.toString().padStart(6, '0');
}

function randomDouble(r: () => number): number {
  const dv = new DataView(new ArrayBuffer(8));
  for (;;) {
    dv.setUint32(0, r());
    dv.setUint32(4, r());
    const x = dv.getFloat64(0);
    if (Number.isFinite(x)) return x;
  }
}

function randomShortDecimal(r: () => number): number {
  for (;;) {
    const nd = 1 + (r() % 17);
    let s = String(1 + (r() % 9));
    for (let i = 1; i < nd; i++) s += String(r() % 10);
    const e = (r() % 640) - 330;
    const x = Number(s + 'e' + e);
    if (Number.isFinite(x) && x !== 0) return x;
  }
}

describe('gofmt %v', () => {
  const v = (x: number) => {
    ex.t_formatV(x);
    return mod.readOutputString();
  };
  it('formats as Go\'s %v', () => {
    const cases: [number, string][] = [
      [123456, '123456'], [123456.789, '123456.789'], [1e6, '1e+06'], [1234567, '1.234567e+06'],
      [12345678, '1.2345678e+07'], [0.0001, '0.0001'], [1.2e-5, '1.2e-05'], [1e21, '1e+21'],
      [1e100, '1e+100'], [5e-324, '5e-324'], [-1e6, '-1e+06'], [100000, '100000'], [21, '21'],
      [0.5, '0.5'], [0, '0'], [-0, '-0'], [NaN, 'NaN'], [Infinity, '+Inf'], [-Infinity, '-Inf'],
      [1.5e7, '1.5e+07'], [0.1, '0.1'], [1 / 3, '0.3333333333333333'], [0.00012345, '0.00012345'],
      [0.000012345, '1.2345e-05'], [1.7976931348623157e308, '1.7976931348623157e+308'],
      [2.2250738585072014e-308, '2.2250738585072014e-308'], [999999, '999999'], [-3.5, '-3.5'],
      // biome-ignore lint/correctness/noPrecisionLoss: 2^53 + 1 is written on purpose; it parses as 2^53
      [123456.7, '123456.7'], [9007199254740993, '9.007199254740992e+15'], [1e-7, '1e-07'],
    ];
    for (const [x, want] of cases) expect(v(x), String(x)).toBe(want);
  });

  // Both ways the core can get them: from the host (the default) and by its own exact algorithm.
  it.each([[1, 'the host'], [0, 'the exact big-number algorithm']])('shortest digits equal JS Number#toString on 120,000 random doubles (%i: %s)', (host) => {
    ex.t_hostShortest(host);
    const r = rng(12345);
    const BATCH = 2000;
    let checked = 0;
    for (let round = 0; round < 60; round++) {
      const xs = new Float64Array(BATCH);
      for (let i = 0; i < BATCH; i++) {
        let x = i % 2 === 0 ? randomDouble(r) : randomShortDecimal(r);
        if (x === 0) x = 1;
        xs[i] = x;
      }
      ex.t_shortestBatch(mod.writeInputBytes(new Uint8Array(xs.buffer)) / 8);
      const got = mod.readOutputString().split('\n');
      for (let i = 0; i < BATCH; i++) {
        const { digits, k } = jsShortest(xs[i]);
        if (got[i] !== `${digits}e${k}`) expect(`${xs[i]} → ${got[i]}`).toBe(`${xs[i]} → ${digits}e${k}`);
        checked++;
      }
      ex.t_formatBatch(BATCH, 0);
      const fv = mod.readOutputString().split('\n');
      for (let i = 0; i < BATCH; i += 7) expect(fv[i]).toBe(goV(xs[i]));
    }
    expect(checked).toBe(120000);
    ex.t_hostShortest(1);
  });

  it('shortest digits at powers of two, powers of ten and boundaries', () => {
    const xs: number[] = [];
    for (let e = -1074; e <= 1023; e++) xs.push(2 ** e);
    for (let e = -323; e <= 308; e++) xs.push(Number('1e' + e));
    xs.push(Number.MAX_VALUE, Number.MIN_VALUE, 2.2250738585072014e-308, 2.225073858507201e-308, 9007199254740991, 9007199254740992);
    const arr = new Float64Array(xs);
    ex.t_shortestBatch(mod.writeInputBytes(new Uint8Array(arr.buffer)) / 8);
    const got = mod.readOutputString().split('\n');
    xs.forEach((x, i) => {
      const { digits, k } = jsShortest(x);
      expect(`${x}: ${got[i]}`).toBe(`${x}: ${digits}e${k}`);
    });
  });
});

describe('gofmt %f', () => {
  const f = (x: number) => {
    ex.t_formatF6(x);
    return mod.readOutputString();
  };
  it('matches the original\'s vectors', () => {
    expect(f(12)).toBe('12.000000');
    expect(f(1e21)).toBe('1000000000000000000000.000000');
    expect(f(0.0078125)).toBe('0.007812');
    expect(f(0.5e-6)).toBe('0.000000');
    // 2.5e-6 is 2.50000000000000020…e-6 as a double: above the tie, so Go prints …03.
    expect(f(2.5e-6)).toBe('0.000003');
    expect(f(0.0000125)).toBe(goF6(0.0000125));
    expect(f(0.5)).toBe('0.500000');
    expect(f(2 ** -21)).toBe('0.000000'); // 4.76837158203125e-7 < half
    expect(f(2 ** -20 + 2 ** -23)).toBe('0.000001');
    expect(f(1.5e-6)).toBe('0.000002');
    expect(f(-1.25)).toBe('-1.250000');
    expect(f(1e100)).toBe('10000000000000000159028911097599180468360808563945281389781327557747838772170381060813469985856815104.000000');
    expect(f(0)).toBe('0.000000');
    expect(f(-0)).toBe('-0.000000');
    expect(f(-1e-9)).toBe('-0.000000');
    expect(f(NaN)).toBe('NaN');
    expect(f(Infinity)).toBe('+Inf');
    expect(f(-Infinity)).toBe('-Inf');
    expect(f(5e-324)).toBe('0.000000');
    expect(f(0.1)).toBe('0.100000');
    expect(f(4503599627370495.5)).toBe('4503599627370495.500000');
    expect(f(Number.MAX_VALUE)).toBe(goF6(Number.MAX_VALUE));
    expect(f(Number.MAX_VALUE).length).toBe(309 + 7);
  });
  it('matches a BigInt oracle on 30,000 random doubles', () => {
    const r = rng(999);
    const BATCH = 2000;
    for (let round = 0; round < 15; round++) {
      const xs = new Float64Array(BATCH);
      for (let i = 0; i < BATCH; i++) {
        const kind = i % 3;
        xs[i] = kind === 0 ? randomDouble(r) : kind === 1 ? randomShortDecimal(r) : ((r() % 2000000) - 1000000) / 2 ** (r() % 30);
      }
      ex.t_formatBatch(mod.writeInputBytes(new Uint8Array(xs.buffer)) / 8, 1);
      const got = mod.readOutputString().split('\n');
      for (let i = 0; i < BATCH; i++) if (got[i] !== goF6(xs[i])) expect(`${xs[i]}: ${got[i]}`).toBe(`${xs[i]}: ${goF6(xs[i])}`);
    }
  });
});

describe('parseFloatGo', () => {
  const enc = new TextEncoder();
  const p = (s: string) => ex.t_parseFloat(mod.writeInputBytes(enc.encode(s)));
  const same = (a: number, b: number) => Object.is(a, b);

  it('parses vectors exactly', () => {
    const cases: [string, number][] = [
      ['0', 0], ['-0', -0], ['1', 1], ['-1.5', -1.5], ['0.1', 0.1], ['1e2', 100], ['1E+2', 100], ['1e-2', 0.01],
      ['123456789012345678901234567890', 1.2345678901234568e29], ['1.7976931348623157e308', Number.MAX_VALUE],
      ['1.7976931348623158e308', Number.MAX_VALUE], ['1.7976931348623159e308', Infinity], ['1e309', Infinity],
      ['-1e400', -Infinity], ['4.9406564584124654e-324', 5e-324], ['2.4703282292062327e-324', 0],
      ['2.4703282292062328e-324', 5e-324], ['1e-400', 0], ['-1e-400', -0], ['2.2250738585072011e-308', 2.225073858507201e-308],
      ['0.000000000000000000000000000000000000000001', 1e-42], ['9007199254740993', 9007199254740992],
      ['9007199254740995', 9007199254740996], ['0e999999999', 0], ['1e-99999999999', 0], ['1e99999999999', Infinity],
      ['100000000000000000000000', 1e23], ['8.98846567431158e307', 8.98846567431158e307],
    ];
    for (const [s, want] of cases) expect(same(p(s), want), `${s} → ${p(s)}`).toBe(true);
    // 9007199254740993 followed by 800 zeros then a 1: just above the tie → rounds up.
    expect(p('9007199254740993' + '0'.repeat(800) + '1' + 'e-801')).toBe(9007199254740994);
    expect(p('9007199254740993' + '0'.repeat(800) + 'e-800')).toBe(9007199254740992);
  });

  it('rejects non-JSON number syntax with NaN', () => {
    for (const s of ['', '-', '+1', '01', '1.', '.5', '1e', '1e+', '0x10', ' 1', '1 ', 'Infinity', 'NaN', '1.2.3', '--1', '1e5.0', '00']) {
      expect(p(s), JSON.stringify(s)).toBeNaN();
    }
  });

  it('equals JS Number() on 120,000 random inputs', () => {
    const r = rng(4242);
    const inputs: string[] = [];
    const dv = new DataView(new ArrayBuffer(8));
    const digits = (n: number) => {
      let s = String(1 + (r() % 9));
      for (let i = 1; i < n; i++) s += String(r() % 10);
      return s;
    };
    while (inputs.length < 120000) {
      const kind = inputs.length % 8;
      let s: string;
      if (kind === 0) s = String(randomDouble(r));
      else if (kind === 1) s = randomDouble(r).toExponential(r() % 25);
      else if (kind === 2) s = digits(1 + (r() % 40)) + 'e' + ((r() % 700) - 360);
      else if (kind === 3) {
        const d = digits(1 + (r() % 30));
        const cut = r() % d.length;
        s = (cut === 0 ? '0' : d.slice(0, cut)) + '.' + d.slice(cut) + (r() % 2 ? '' : 'E' + ((r() % 80) - 40));
      } else if (kind === 4) {
        // exact halfway point between a random double and its successor (ties), and ±1 in the last digit
        const x = Math.abs(randomDouble(r));
        dv.setFloat64(0, x);
        const bits = dv.getBigUint64(0);
        const be = Number((bits >> 52n) & 0x7ffn);
        const fr = bits & ((1n << 52n) - 1n);
        const m = (be === 0 ? fr : fr | (1n << 52n)) * 2n + 1n;
        const e = (be === 0 ? -1074 : be - 1075) - 1;
        let dec: string;
        if (e >= 0) dec = (m << BigInt(e)).toString();
        else {
          const scaled = m * 5n ** BigInt(-e); // m / 2^-e = m·5^-e / 10^-e
          const str = scaled.toString().padStart(-e + 1, '0');
          dec = str.slice(0, str.length + e) + '.' + str.slice(str.length + e);
          dec = dec.replace(/^0+(?=\d)/, '');
        }
        const t = r() % 3;
        if (t === 1) dec += '0000001';
        s = dec;
        if (t === 2 && s.includes('.')) s = s.replace(/\d$/, (c) => String(Number(c) - 1 >= 0 ? Number(c) - 1 : 0));
      } else if (kind === 5) s = (r() % 2 ? '-' : '') + digits(1 + (r() % 17)) + 'e-' + (300 + (r() % 30));
      else if (kind === 6) s = digits(1 + (r() % 20)) + 'e' + (290 + (r() % 25));
      else s = String(randomShortDecimal(r));
      if (!Number.isFinite(Number(s))) s = s.startsWith('-') ? '-1e999' : '1e999';
      inputs.push(s);
    }
    const BATCH = 4000;
    for (let off = 0; off < inputs.length; off += BATCH) {
      const chunk = inputs.slice(off, off + BATCH);
      ex.t_parseBatch(mod.writeInputBytes(enc.encode(chunk.join('\n'))), chunk.length);
      const got = new Float64Array(mod.readOutputBytes().buffer);
      for (let i = 0; i < chunk.length; i++) {
        const want = Number(chunk[i]);
        if (!same(got[i], want)) expect(`${chunk[i]} → ${got[i]}`).toBe(`${chunk[i]} → ${want}`);
      }
    }
  });
});

// ------------------------------------------------------------------------------------------------
describe('base64', () => {
  it('encodes like Buffer (std alphabet, padded)', () => {
    const r = rng(5);
    for (let n = 0; n < 300; n++) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = r() & 255;
      ex.t_b64enc(mod.writeInputBytes(b));
      const want = Buffer.from(b).toString('base64');
      expect(mod.readOutputString()).toBe(want);
      ex.t_b64encBytes(mod.writeInputBytes(b));
      expect(mod.readOutputString()).toBe(want);
    }
    ex.t_b64enc(mod.writeInputBytes(bytes(0xff, 0xff, 0xff, 0xff)));
    expect(mod.readOutputString()).toBe('/////w==');
  });

  it('decodes exactly what Go StdEncoding.DecodeString accepts', () => {
    const dec = (s: string) => {
      const n = ex.t_b64dec(mod.writeInputString(s));
      return n < 0 ? null : hexOf(mod.readOutputBytes());
    };
    expect(dec('')).toBe('');
    expect(dec('/////w==')).toBe('ffffffff');
    expect(dec('////AA==')).toBe('ffffff00');
    expect(dec('YQ==')).toBe('61');
    expect(dec('YWI=')).toBe('6162');
    expect(dec('YWJj')).toBe('616263');
    expect(dec('YR==')).toBe('61'); // non-zero trailing bits: accepted (not Strict)
    expect(dec('YW\nJj\r\n')).toBe('616263');
    expect(dec('YQ=\n=')).toBe('61');
    expect(dec('YQ==\n')).toBe('61');
    expect(dec('\n')).toBe('');
    expect(dec('YQ')).toBeNull(); // padding required
    expect(dec('YWI')).toBeNull();
    expect(dec('Y')).toBeNull();
    expect(dec('YQ=')).toBeNull();
    expect(dec('Y===')).toBeNull();
    expect(dec('====')).toBeNull();
    expect(dec('YQ==YQ==')).toBeNull(); // trailing garbage after padding
    expect(dec('YWJj=')).toBeNull();
    expect(dec('YW=j')).toBeNull();
    expect(dec('YW J')).toBeNull();
    expect(dec('YW-_')).toBeNull(); // URL alphabet
    expect(dec('YWJ\u00e9')).toBeNull();
  });
});

// ------------------------------------------------------------------------------------------------
describe('net ip', () => {
  const parse = (s: string) => {
    ex.t_parseIP(mod.writeInputString(s));
    return mod.readOutputString();
  };
  const ipStr = (s: string) => parse(s).split('|')[0];
  const raw = (b: number[]) => {
    ex.t_ipBytes(mod.writeInputBytes(new Uint8Array(b)));
    return mod.readOutputString();
  };

  it('parses IPv4 like Go ParseIP (16-byte v4-mapped)', () => {
    expect(parse('1.2.3.4')).toBe('1.2.3.4|00000000000000000000ffff01020304|01020304|');
    expect(parse('255.255.255.255').split('|')[0]).toBe('255.255.255.255');
    expect(parse('0.0.0.0')).toBe('0.0.0.0|00000000000000000000ffff00000000|00000000|U');
    expect(parse('127.0.0.1').split('|')[3]).toBe('L');
    for (const s of ['10.1.1.1', '192.168.1.1', '172.16.0.1', '172.31.255.255']) expect(parse(s).split('|')[3]).toBe('P');
    for (const s of ['169.254.1.1', '100.64.0.1', '172.32.0.1', '172.15.0.1', '11.0.0.1']) expect(parse(s).split('|')[3]).toBe('');
    for (const s of ['', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4, 5.6.7.8', '01.2.3.4', '1.2.3.04', '1.2.3.256', '1.2.3', '1.2.3.4.5',
      '1..2.3', '.1.2.3', '1.2.3.', '1.2.3.4:80', '1.2.3.-1', 'a.b.c.d', '1.2.3.0x1', '1234.1.1.1']) {
      expect(parse(s), JSON.stringify(s)).toBe(NULL);
    }
    expect(ipStr('0.10.100.200')).toBe('0.10.100.200');
  });

  it('parses IPv6 like Go ParseIP', () => {
    expect(parse('::')).toBe('::|00000000000000000000000000000000|-|U');
    expect(parse('::1')).toBe('::1|00000000000000000000000000000001|-|L');
    expect(parse('fc00::3').split('|')[3]).toBe('P');
    expect(parse('fd12::1').split('|')[3]).toBe('P');
    expect(parse('fe00::1').split('|')[3]).toBe('');
    expect(ipStr('ff02::1:ff07')).toBe('ff02::1:ff07');
    expect(ipStr('2001:DB8::1')).toBe('2001:db8::1');
    expect(ipStr('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(parse('::ffff:1.2.3.4')).toBe('1.2.3.4|00000000000000000000ffff01020304|01020304|');
    expect(ipStr('::1.2.3.4')).toBe('::102:304');
    expect(ipStr('1:2:3:4:5:6:1.2.3.4')).toBe('1:2:3:4:5:6:102:304');
    expect(ipStr('1:2:3:4:5:6:7:8')).toBe('1:2:3:4:5:6:7:8');
    expect(ipStr('1::')).toBe('1::');
    expect(ipStr('1:0:0:2:0:0:0:3')).toBe('1:0:0:2::3');
    expect(ipStr('1:0:0:2:0:0:3:4')).toBe('1::2:0:0:3:4'); // first of equal runs
    expect(ipStr('1:0:2:3:4:5:6:7')).toBe('1:0:2:3:4:5:6:7'); // a single zero group is not compressed
    expect(ipStr('0:0:0:0:0:0:0:0')).toBe('::');
    expect(ipStr('::ffff:0:0')).toBe('0.0.0.0');
    for (const s of ['fe80::1%eth0', '[::1]', '::1 ', ':::', '1:::2', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::',
      '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', ':1::', '1::2:', 'g::', '::1.2.3', '::01.2.3.4', '1:2:3:4:5:6:7:1.2.3.4',
      '1.2.3.4::', '::ffff:1.2.3.4.5', '%eth0', '::1%']) {
      expect(parse(s), JSON.stringify(s)).toBe(NULL);
    }
    expect(ipStr('1:2:3:4:5:6:7::')).toBe('1:2:3:4:5:6:7:0');
    expect(ipStr('::2:3:4:5:6:7:8')).toBe('0:2:3:4:5:6:7:8');
  });

  it('formats raw byte slices like Go IP.String (V-I1)', () => {
    expect(raw([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4]).split('|')[0]).toBe('101:101:202:202:303:303:404:404');
    expect(raw([1, 2, 3, 4])).toBe('1.2.3.4|01020304|01020304|');
    expect(raw([10, 0, 0, 1]).split('|')[3]).toBe('P');
    expect(raw([127, 1, 5, 70]).split('|')[3]).toBe('L');
    expect(raw([0, 0, 0, 0]).split('|')[3]).toBe('U');
    expect(raw([1, 2, 3]).split('|')[0]).toBe('?010203');
    expect(raw([]).split('|')[0]).toBe('<nil>');
    expect(raw([0, 0, 0, 0]).split('|')[0]).toBe('0.0.0.0');
  });

  it('cidrContains follows Go IPNet.Contains', () => {
    const c = (net: number[], mask: number[], ip: number[]) => {
      const buf = [net.length, ...net, mask.length, ...mask, ip.length, ...ip];
      return ex.t_cidrContains(mod.writeInputBytes(new Uint8Array(buf))) === 1;
    };
    const v4m = (a: number, b: number, cc: number, d: number) => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, a, b, cc, d];
    const m16 = (ones: number) => Array.from({ length: 16 }, (_, i) => (i * 8 + 8 <= ones ? 255 : i * 8 >= ones ? 0 : (0xff << (8 - (ones - i * 8))) & 255));
    const m4 = (ones: number) => m16(ones).slice(0, 4);
    expect(c([111, 7, 1, 126], m4(24), [111, 7, 1, 70])).toBe(true);
    expect(c([111, 7, 1, 126], m4(24), [111, 7, 2, 70])).toBe(false);
    expect(c([111, 7, 1, 126], m4(24), v4m(111, 7, 1, 70))).toBe(true); // ip To4
    expect(c(v4m(111, 7, 1, 126), m16(120), [111, 7, 1, 70])).toBe(true); // 16-byte mask, v4 net → last 4 bytes
    expect(c(v4m(111, 7, 1, 126), m16(120), v4m(111, 7, 2, 70))).toBe(false);
    expect(c(v4m(111, 7, 1, 126), m4(24), [111, 7, 1, 70])).toBe(true); // 4-byte mask with v4-mapped net
    expect(c([111, 7, 2, 10], m4(27), [111, 7, 2, 31])).toBe(true);
    expect(c([111, 7, 2, 10], m4(27), [111, 7, 2, 200])).toBe(false);
    const v6 = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0x07];
    const v6b = [...v6];
    v6b[15] = 0x08;
    expect(c(v6, m16(124), v6b)).toBe(true);
    v6b[13] = 2;
    expect(c(v6, m16(124), v6b)).toBe(false);
    expect(c(v6, m4(24), v6)).toBe(false); // 4-byte mask needs an IPv4 network
    expect(c(v6, m16(124), [111, 7, 2, 15])).toBe(false); // v4 ip vs v6 net
    expect(c([1, 2, 3, 4], [255, 255, 255], [1, 2, 3, 4])).toBe(false); // odd mask length
    expect(c([1, 2, 3], m4(24), [1, 2, 3, 4])).toBe(false); // odd network length
    expect(c([1, 2, 3], m4(24), [])).toBe(true); // Go: nil network "contains" an empty IP
    expect(c([1, 2, 3, 4], m4(32), [])).toBe(false);
    expect(c([1, 2, 3, 4], m4(0), [9, 9, 9, 9])).toBe(true);
  });

  it('ipFromProcHex decodes /proc/net addresses', () => {
    const h = (s: string) => {
      ex.t_procHex(mod.writeInputString(s));
      return mod.readOutputString();
    };
    expect(h('0217D902')).toBe('2.217.23.2|02d91702|02d91702|');
    expect(h('0217d902').split('|')[0]).toBe('2.217.23.2');
    expect(h('B80D0120000000000000000001000000').split('|')[0]).toBe('2001:db8::1');
    expect(h('0000000000000000FFFF00000400A8C0')).toBe('192.168.0.4|00000000000000000000ffffc0a80004|c0a80004|P');
    expect(h('0100007F').split('|')[3]).toBe('L');
    expect(h('00000000').split('|')[3]).toBe('U');
    for (const s of ['', '0217D90', '0217D9021', '0217D90G', '0x17D902', 'B80D0120000000000000000001000000FF', ' 217D902']) {
      expect(h(s), s).toBe(NULL);
    }
  });
});

// ------------------------------------------------------------------------------------------------
describe('mediatype', () => {
  const mt = (s: string) => {
    ex.t_mediaType(mod.writeInputString(s));
    const out = mod.readOutputString();
    if (out === NULL) return null;
    const [type, ...ps] = out.split('\u0001');
    return { type, params: ps.map((p) => p.split('\u0002')) };
  };

  it('parses media types as Go\'s mime.ParseMediaType', () => {
    expect(mt('text/html;charset=utf-8')).toEqual({ type: 'text/html', params: [['charset', 'utf-8']] });
    expect(mt('text/html;charset=utf-8;charset=utf-1;serkpodks485re&*^&^%&&%*')).toBeNull();
    expect(mt('text;charset=utf-8')).toEqual({ type: 'text', params: [['charset', 'utf-8']] });
    expect(mt('text')).toEqual({ type: 'text', params: [] });
    expect(mt('375^^&87878')).toEqual({ type: '375^^&87878', params: [] });
    expect(mt('')).toBeNull();
    expect(mt('Text/HTML; Charset="UTF-8"')).toEqual({ type: 'text/html', params: [['charset', 'UTF-8']] });
    expect(mt('text/html; charset')).toBeNull();
    expect(mt('a/b/c')).toBeNull();
    expect(mt('/html')).toBeNull();
    expect(mt('text/html;')).toEqual({ type: 'text/html', params: [] });
    expect(mt('text/html ; q=0.5')).toEqual({ type: 'text/html', params: [['q', '0.5']] });
    expect(mt('text/html; foo=bar')).toEqual({ type: 'text/html', params: [['foo', 'bar']] });
  });

  it('follows Go on syntax details', () => {
    expect(mt('  TEXT/Plain  ')).toEqual({ type: 'text/plain', params: [] });
    expect(mt('text/')).toBeNull();
    expect(mt('text/ html')).toBeNull();
    expect(mt('text /html')).toBeNull();
    expect(mt('te xt')).toBeNull();
    expect(mt(';charset=utf-8')).toBeNull();
    expect(mt('text/html; a=1;')).toEqual({ type: 'text/html', params: [['a', '1']] });
    expect(mt('text/html; a=1 ; ')).toEqual({ type: 'text/html', params: [['a', '1']] });
    expect(mt('text/html;;')).toBeNull();
    expect(mt('text/html; ;a=1')).toBeNull();
    expect(mt('text/html; a=1 b=2')).toBeNull();
    expect(mt('text/html; a=')).toBeNull();
    expect(mt('text/html; =1')).toBeNull();
    expect(mt('text/html; a = 1')).toEqual({ type: 'text/html', params: [['a', '1']] });
    expect(mt('text/html; A=1; a=2')).toBeNull(); // duplicate (after lower-casing) with another value
    expect(mt('text/html; a=""')).toEqual({ type: 'text/html', params: [['a', '']] });
    expect(mt('text/html; a="x;y=z"; b=2')).toEqual({ type: 'text/html', params: [['a', 'x;y=z'], ['b', '2']] });
    expect(mt('text/html; a="q\\"uo\\te"')).toEqual({ type: 'text/html', params: [['a', 'q"uo\\te']] });
    expect(mt('text/html; a="unterminated')).toBeNull();
    expect(mt('text/html; a="x\ny"')).toBeNull();
    expect(mt('text/html; a=b"c')).toBeNull();
    expect(mt('text/html; a="é"')).toEqual({ type: 'text/html', params: [['a', 'é']] });
    expect(mt('text/html\u00a0; a=1')).toEqual({ type: 'text/html', params: [['a', '1']] }); // unicode space trimmed
    expect(mt('\u212Aext/html')).toEqual({ type: 'kext/html', params: [] }); // Go ToLower(KELVIN SIGN) = 'k'
    expect(mt('tëxt/html')).toBeNull();
  });

  it('handles RFC 2231 continuations and encodings like Go', () => {
    expect(mt("attachment; filename*=UTF-8''na%C3%AFve%20file.txt")).toEqual({ type: 'attachment', params: [['filename', 'naïve file.txt']] });
    expect(mt("a/b; t*=us-ascii'en'%41%42")).toEqual({ type: 'a/b', params: [['t', 'AB']] });
    expect(mt("a/b; t*=iso-8859-1'en'%41")).toEqual({ type: 'a/b', params: [] }); // unsupported charset dropped
    expect(mt("a/b; t*=utf-8''%4")).toEqual({ type: 'a/b', params: [] }); // bad escape dropped
    expect(mt("a/b; t*=''x")).toEqual({ type: 'a/b', params: [] }); // empty charset
    expect(mt('a/b; t*=x')).toEqual({ type: 'a/b', params: [] });
    expect(mt('a/b; t*0=foo; t*1=bar')).toEqual({ type: 'a/b', params: [['t', 'foobar']] });
    expect(mt("a/b; t*0*=utf-8''%41; t*1=B; t*2*=%43")).toEqual({ type: 'a/b', params: [['t', 'ABC']] });
    expect(mt('a/b; t*1=bar')).toEqual({ type: 'a/b', params: [] }); // no part 0
    expect(mt('a/b; t*0=a; t*2=c')).toEqual({ type: 'a/b', params: [['t', 'a']] });
    expect(mt('a/b; t=plain; t*0=x')).toEqual({ type: 'a/b', params: [['t', 'x']] });
    expect(mt('a/b; t*0=x; t*0=y')).toBeNull();
    expect(mt('a/b; t*0=x; t*0=x')).toEqual({ type: 'a/b', params: [['t', 'x']] }); // equal duplicates allowed (current Go)
    expect(mt('text/html; a=1; A=1')).toEqual({ type: 'text/html', params: [['a', '1']] });
    expect(mt('text/html; a=1; a="1"')).toEqual({ type: 'text/html', params: [['a', '1']] });
    expect(mt("a/b; t*=utf-8''%FF")).toEqual({ type: 'a/b', params: [['t', '\ufffd']] });
  });
});

// ------------------------------------------------------------------------------------------------
describe('query', () => {
  const q = (s: string | Uint8Array) => {
    ex.t_query(typeof s === 'string' ? mod.writeInputString(s) : mod.writeInputBytes(s));
    const out = mod.readOutputString();
    const res: Record<string, string[]> = {};
    const order: string[] = [];
    if (out !== '') {
      for (const item of out.split('\u0001')) {
        const [k, v] = item.split('\u0002');
        res[k] = v.split('\u0003');
        order.push(k);
      }
    }
    return { res, order };
  };
  it('splits queries as Go\'s url.ParseQuery (vector V-K9)', () => {
    expect(q('a=1&a=2&b').res).toEqual({ a: ['1', '2'], b: [''] });
    expect(q('a=1;b=2').res).toEqual({});
    expect(q('x=%41%42&y=a+b').res).toEqual({ x: ['AB'], y: ['a b'] });
    expect(q('=v&k=').res).toEqual({ '': ['v'], k: [''] });
    expect(q('bad=%zz&ok=1').res).toEqual({ ok: ['1'] });
    expect(q('a[]=1&a[]=2').res).toEqual({ 'a[]': ['1', '2'] });
    expect(q('q=hello%20world&q=%E2%82%AC').res).toEqual({ q: ['hello world', '€'] });
  });
  it('follows Go on details', () => {
    expect(q('').res).toEqual({});
    expect(q('&&a=1&&').res).toEqual({ a: ['1'] });
    expect(q('b=1&a=2&b=3').order).toEqual(['b', 'a']);
    expect(q('a=1=2').res).toEqual({ a: ['1=2'] });
    expect(q('a%3Db=c%26d').res).toEqual({ 'a=b': ['c&d'] });
    expect(q('a=%4a%4A').res).toEqual({ a: ['JJ'] });
    expect(q('a=%').res).toEqual({});
    expect(q('a=%4').res).toEqual({});
    expect(q('a=%41%').res).toEqual({});
    expect(q('%zz=1').res).toEqual({});
    expect(q('a=1;&b=2').res).toEqual({ b: ['2'] });
    expect(q('a+b=c%2Bd').res).toEqual({ 'a b': ['c+d'] });
    expect(q('a=%FF').res).toEqual({ a: ['\ufffd'] });
    expect(q(bytes(0x61, 0x3d, 0xc3, 0x28)).res).toEqual({ a: ['\ufffd('] });
    expect(q('é=ü').res).toEqual({ é: ['ü'] });
  });
});

// ------------------------------------------------------------------------------------------------
describe('path', () => {
  const up = (s: string) => {
    ex.t_unescapePath(mod.writeInputString(s));
    return mod.readOutputString();
  };
  it('decodes like Go URL path unescaping', () => {
    expect(up('/a/b')).toBe('/a/b');
    expect(up('')).toBe('');
    expect(up('/a%2Fb')).toBe('/a/b');
    expect(up('/a+b')).toBe('/a+b');
    expect(up('/%e2%82%ac')).toBe('/€');
    expect(up('/%FF%FE')).toBe('/\ufffd\ufffd');
    expect(up('/%41%4a%4A')).toBe('/AJJ');
    expect(up('/a%20b')).toBe('/a b');
    expect(up('/%')).toBe(NULL);
    expect(up('/%4')).toBe(NULL);
    expect(up('/%zz')).toBe(NULL);
    expect(up('/%4g')).toBe(NULL);
    expect(up('%41%')).toBe(NULL);
  });
  it('unescapePathBytes decodes in place and reports −1', () => {
    const ub = (s: string) => {
      const n = ex.t_unescapePathBytes(mod.writeInputString(s));
      return n < 0 ? n : hexOf(mod.readOutputBytes());
    };
    expect(ub('/a%00b%ff')).toBe('2f6100 62ff'.replace(' ', ''));
    expect(ub('%%')).toBe(-1);
    expect(ub('abc%4')).toBe(-1);
  });
});

// ------------------------------------------------------------------------------------------------
describe('header', () => {
  const canon = (s: string) => {
    const same = ex.t_canonicalHeaderKey(mod.writeInputString(s));
    return { out: mod.readOutputString(), same: same === 1 };
  };
  it('canonicalizes like Go textproto', () => {
    expect(canon('content-type')).toEqual({ out: 'Content-Type', same: false });
    expect(canon('x-custom_header')).toEqual({ out: 'X-Custom_header', same: false });
    expect(canon('CONTENT-LENGTH')).toEqual({ out: 'Content-Length', same: false });
    expect(canon('a')).toEqual({ out: 'A', same: false });
    expect(canon('x--y')).toEqual({ out: 'X--Y', same: false });
    expect(canon('-a-')).toEqual({ out: '-A-', same: false });
    expect(canon('www-authenticate')).toEqual({ out: 'Www-Authenticate', same: false });
    expect(canon('x-1a')).toEqual({ out: 'X-1a', same: false });
    expect(canon("x!#$%&'*+.^_`|~y")).toEqual({ out: "X!#$%&'*+.^_`|~y", same: false });
  });
  it('returns the argument itself when canonical or not a token', () => {
    expect(canon('Content-Type')).toEqual({ out: 'Content-Type', same: true });
    expect(canon('')).toEqual({ out: '', same: true });
    expect(canon('content type')).toEqual({ out: 'content type', same: true });
    expect(canon('content:type')).toEqual({ out: 'content:type', same: true });
    expect(canon('x-ünï')).toEqual({ out: 'x-ünï', same: true });
    expect(canon('foo\u0000bar')).toEqual({ out: 'foo\u0000bar', same: true });
  });
  it('canonicalHeaderKeyBytes', () => {
    ex.t_canonicalHeaderKeyBytes(mod.writeInputString('user-agent'));
    expect(mod.readOutputString()).toBe('User-Agent');
    ex.t_canonicalHeaderKeyBytes(mod.writeInputBytes(bytes(0x61, 0xff)));
    expect(mod.readOutputString()).toBe('a\ufffd');
  });
});
