import { describe, expect, test } from 'vitest';
import { digitsValue, RecentText } from '../../gate/recent-text.js';

const bytes = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

describe('RecentText', () => {
  test('a repeat gives the same text; a change of bytes (same length or not) gives the new text', () => {
    const r = new RecentText();
    expect(r.of(bytes('10.0.0.1'))).toBe('10.0.0.1');
    expect(r.of(bytes('10.0.0.1'))).toBe('10.0.0.1');
    expect(r.of(bytes('10.0.0.2'))).toBe('10.0.0.2');
    expect(r.of(bytes('192.168.100.200'))).toBe('192.168.100.200');
    expect(r.of(bytes('::1'))).toBe('::1');
    expect(r.of(new Uint8Array(0))).toBe('');
    expect(r.of(bytes('a\xe9b'))).toBe('a\u00e9b');
  });

  test('keeps its own copy: bytes changed in place after the call are seen as new', () => {
    const r = new RecentText();
    const b = bytes('application/json');
    expect(r.of(b)).toBe('application/json');
    b[0] = 0x41; // the owner reuses its buffer
    expect(r.of(b)).toBe('Application/json');
    expect(r.of(bytes('application/json'))).toBe('application/json');
  });

  test('reads a view at its offset', () => {
    const whole = bytes('xxtext/htmlyy');
    expect(new RecentText().of(whole.subarray(2, 11))).toBe('text/html');
  });
});

describe('digitsValue', () => {
  test('a run of ASCII digits is its value', () => {
    expect(digitsValue(bytes('0'))).toBe(0);
    expect(digitsValue(bytes('47'))).toBe(47);
    expect(digitsValue(bytes('0012'))).toBe(12);
    expect(digitsValue(bytes('8388608'))).toBe(8 * 1024 * 1024);
  });

  test('anything else is unknown (null), as /^\\d+$/ refused it', () => {
    for (const s of ['', ' 12', '12 ', '+1', '-1', '1e3', '1.0', '0x10', '12a', '\u0661']) {
      expect(digitsValue(bytes(s)), JSON.stringify(s)).toBeNull();
    }
  });
});
