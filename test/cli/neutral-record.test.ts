// The traffic-record readers run without Node APIs (guard-ui uses them in the browser): their
// replacements for net.isIP, Buffer.byteLength and Buffer.from(…, 'base64') must agree with Node's,
// or `guard check` and the browser would read the same record differently.
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../cli/har-entry.js';
import { isIpText, utf8Length } from '../../cli/traffic-record.js';
import { random } from '../support/random.js';

describe('runtime-neutral record readers agree with Node', () => {
  it('isIpText accepts exactly what net.isIP accepts', () => {
    const fixed = [
      '1.2.3.4', '255.255.255.255', '256.1.1.1', '01.2.3.4', '1.2.3', '::', '::1', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '1::2:3:4:5:6:7:8',
      '::1.2.3.4', '::ffff:1.2.3.4', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6::1.2.3.4', 'fe80::1%eth0', 'fe80::1%', '1.2.3.4%x', ':::', '1:::2', '12345::',
      '::1%a.b:c-d', 'g::1', '', ' 1.2.3.4', '1.2.3.4 ', '[::1]', '2001:db8::1:1', '1:2:3:4:5:6:7:8:9', '::1.2.3.04',
    ];
    for (const s of fixed) expect(isIpText(s), s).toBe(isIP(s) !== 0);
    const rnd = random(7);
    const alphabet = '0123456789abcdefABCDEF:.%g';
    for (let i = 0; i < 20_000; i++) {
      const len = 1 + Math.floor(rnd() * 24);
      let s = '';
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      expect(isIpText(s), s).toBe(isIP(s) !== 0);
    }
  });

  it('utf8Length is Buffer.byteLength, lone surrogates included', () => {
    const rnd = random(11);
    for (let i = 0; i < 5000; i++) {
      let s = '';
      const len = Math.floor(rnd() * 12);
      for (let j = 0; j < len; j++) {
        const pick = rnd();
        s += pick < 0.4 ? String.fromCharCode(32 + Math.floor(rnd() * 90)) : pick < 0.7 ? String.fromCharCode(0x80 + Math.floor(rnd() * 0x7000)) : pick < 0.9 ? String.fromCodePoint(0x10000 + Math.floor(rnd() * 0xfffff)) : String.fromCharCode(0xd800 + Math.floor(rnd() * 0x800));
      }
      expect(utf8Length(s), JSON.stringify(s)).toBe(Buffer.byteLength(s, 'utf8'));
    }
  });

  it('decodeBase64 reads what Buffer.from(…, "base64") reads', () => {
    const rnd = random(13);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_= \n!';
    for (let i = 0; i < 5000; i++) {
      const bytes = Buffer.from(Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256)));
      for (const text of [bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('base64').replace(/=+$/, '')]) {
        expect(Buffer.from(decodeBase64(text)).equals(Buffer.from(text, 'base64')), text).toBe(true);
      }
      let noisy = '';
      for (let j = 0; j < 20; j++) noisy += alphabet[Math.floor(rnd() * alphabet.length)];
      expect(Buffer.from(decodeBase64(noisy)).toString('hex'), noisy).toBe(Buffer.from(noisy, 'base64').toString('hex'));
    }
  });
});
