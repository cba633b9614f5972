// Vectors of the original's data model — IpSet (Go net semantics).
import { describe, expect, test } from 'vitest';
import { decideRaw, expectDecide, introspect, learn, pile, profile } from './helpers.js';

const notAllowed = (ip: string) => `[IP ${ip} not allowed,]`;

function accepts(config: unknown, ips: string[]): void {
  for (const ip of ips) expect(decideRaw('IpSet', config, ip).decision, `accept ${ip}`).toBe('');
}
function rejects(config: unknown, ips: string[]): void {
  for (const ip of ips) expectDecide('IpSet', config, ip, notAllowed(ip));
}

const PAIR1 = ['111.7.1.126', '111.7.1.129'];
const PAIR2 = ['111.7.2.10', '111.7.2.20'];
const V6PAIR = ['ff02::1:ff07', 'ff02::1:ff09'];
const SKIPPED = ['127.1.5.70', '10.17.33.70', '0.0.0.0'];

describe('IpSet', () => {
  test('V-I1 raw 4-byte net.IP', () => {
    const config = learn('IpSet', [{ ip: [1, 2, 3, 4] }]);
    expect(config).toEqual([{ IP: '1.2.3.4', Mask: '/////w==' }]);
    expectDecide('IpSet', config, { ip: [1, 2, 3, 5] }, '[IP 1.2.3.5 not allowed,]');
    expectDecide(
      'IpSet',
      config,
      { ip: [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4] },
      '[IP 101:101:202:202:303:303:404:404 not allowed,]',
    );
    expectDecide('IpSet', config, { ip: [1, 2, 3, 4] }, '');
    // a 16-byte v4-mapped form of the same address is contained in the 4-byte CIDR
    expectDecide('IpSet', config, { ip: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4] }, '');
  });

  test('V-I2 strings', () => {
    const config = learn('IpSet', ['1.2.3.4']);
    expect(config).toEqual([{ IP: '1.2.3.4', Mask: '/////w==' }]);
    expectDecide('IpSet', config, '1.2.3.5', notAllowed('1.2.3.5'));
    expectDecide('IpSet', config, 'ff02::1:ff07', '[IP ff02::1:ff07 not allowed,]');
    expectDecide('IpSet', config, '1.2.3.4', '');
  });

  test('V-I3 CIDR management (TestIpSet_Config)', () => {
    const c1 = learn('IpSet', PAIR1);
    accepts(c1, [...PAIR1, '111.7.1.70', ...SKIPPED]);
    rejects(c1, ['111.7.2.15']);

    const c2 = learn('IpSet', PAIR2);
    accepts(c2, [...PAIR2, '111.7.2.15']);
    rejects(c2, ['111.7.2.200', '111.7.1.70']);

    const both = learn('IpSet', [...PAIR1, ...PAIR2]);
    accepts(both, [...PAIR1, '111.7.1.70', ...PAIR2, '111.7.2.15', ...SKIPPED]);
    rejects(both, ['111.7.2.200']);

    const three = learn('IpSet', [...PAIR1, '111.7.1.70']);
    accepts(three, ['111.7.1.70']);
    rejects(three, ['111.7.2.200']);

    const v6 = learn('IpSet', V6PAIR);
    accepts(v6, ['ff02::1:ff08', '::1', 'fc00::3', '::']);
    rejects(v6, ['ff02::2:ff08', '111.7.2.15']);

    const mixed = learn('IpSet', [...PAIR1, ...PAIR2, ...V6PAIR]);
    accepts(mixed, [...PAIR1, '111.7.1.70', ...PAIR2, '111.7.2.15', ...SKIPPED]);
    accepts(mixed, ['ff02::1:ff08', '::1', 'fc00::3', '::']);
    rejects(mixed, ['111.7.2.200', 'ff02::2:ff08']);
    // learned through several piles (learn-as-fuse) gives the same acceptance
    const stepwise = learn('IpSet', V6PAIR, { config: learn('IpSet', PAIR2, { config: c1 }) });
    accepts(stepwise, [...PAIR1, '111.7.1.70', ...PAIR2, '111.7.2.15', 'ff02::1:ff08']);
    rejects(stepwise, ['111.7.2.200', 'ff02::2:ff08']);
  });

  test('V-I4 exact CIDR JSON (first IP kept unmasked, last mask byte only)', () => {
    expect(learn('IpSet', PAIR1)).toEqual([{ IP: '111.7.1.126', Mask: '////AA==' }]);
    expect(learn('IpSet', PAIR2)).toEqual([{ IP: '111.7.2.10', Mask: '////4A==' }]);
    expect(learn('IpSet', ['1.2.3.4', '1.2.3.5'])).toEqual([{ IP: '1.2.3.4', Mask: '/////g==' }]);
    expect(learn('IpSet', V6PAIR)).toEqual([{ IP: 'ff02::1:ff07', Mask: '////////////////////8A==' }]);
    // never grow beyond the last byte; never mingle v4 and v6
    expect(learn('IpSet', ['1.2.3.4', '1.2.4.4'])).toEqual([
      { IP: '1.2.3.4', Mask: '/////w==' },
      { IP: '1.2.4.4', Mask: '/////w==' },
    ]);
    expect(learn('IpSet', ['2001:db8::1', '2001:db8::1:1'])).toEqual([
      { IP: '2001:db8::1', Mask: '/////////////////////w==' },
      { IP: '2001:db8::1:1', Mask: '/////////////////////w==' },
    ]);
    const c27 = learn('IpSet', PAIR2);
    accepts(c27, ['111.7.2.0', '111.7.2.31']);
    rejects(c27, ['111.7.2.32', '111.7.2.200']);
  });

  test('V-I5 the same v4 pile after a JSON round trip learns 16-byte masks', () => {
    const p = pile('IpSet', PAIR1);
    expect(p).toEqual({ List: PAIR1 });
    const rt = introspect({ op: 'roundtrip', type: 'IpSet', kind: 'pile', json: p });
    expect(rt).toEqual({ List: PAIR1 });
    const config = learn('IpSet', undefined, { pile: p });
    expect(config).toEqual([{ IP: '111.7.1.126', Mask: '////////////////////AA==' }]);
    accepts(config, ['111.7.1.70']);
    expectDecide('IpSet', config, '111.7.2.70', '[IP 111.7.2.70 not allowed,]');
  });

  test('V-I6 ProfileString filter', () => {
    for (const s of ['', '10.1.1.1', '127.0.0.1', '0.0.0.0', '::', '::1', 'fc00::3', 'fd12::1', '192.168.1.1',
      '172.16.0.1', '1.2.3.4, 5.6.7.8', ' 1.2.3.4', '01.2.3.4', '1.2.3.4:80', '[2001:db8::1]', 'fe80::1%eth0', 'x']) {
      expect(profile('IpSet', s), JSON.stringify(s)).toBe(null);
    }
    for (const s of ['169.254.1.1', '100.64.0.1', '172.32.0.1', 'ff02::1:ff07', '2001:db8::1']) {
      expect(profile('IpSet', s), s).toEqual([s]);
    }
    expect(profile('IpSet', '::ffff:1.2.3.4')).toEqual(['1.2.3.4']);
    // stored as 4 bytes: learning it in-process gives a 4-byte mask
    expect(learn('IpSet', ['::ffff:1.2.3.4'])).toEqual([{ IP: '1.2.3.4', Mask: '/////w==' }]);
    // ProfileIP keeps 16 bytes: 16-byte mask
    expect(learn('IpSet', [{ ip: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4] }])).toEqual([
      { IP: '1.2.3.4', Mask: '/////////////////////w==' },
    ]);
    // ProfileIP / ProfileIPSlice filter too
    expect(profile('IpSet', { ip: [10, 0, 0, 1] })).toBe(null);
    expect(profile('IpSet', { ips: [[127, 0, 0, 1], [8, 8, 8, 8], [192, 168, 0, 1], [1, 1, 1, 1]] })).toEqual([
      '8.8.8.8',
      '1.1.1.1',
    ]);
    expect(profile('IpSet', { ips: [[10, 0, 0, 1]] })).toBe(null);
  });

  test('V-I7 wire forms', () => {
    expect(pile('IpSet', PAIR1)).toEqual({ List: ['111.7.1.126', '111.7.1.129'] });
    expect(pile('IpSet', [])).toEqual({ List: null });
    expect(pile('IpSet', PAIR1, { clear: true })).toEqual({ List: null });
    expect(learn('IpSet', [])).toBe(null);
    // de-duplication by text: 4-byte and 16-byte forms of one IPv4 are the same entry
    expect(pile('IpSet', ['1.2.3.4', { ip: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4] }, '1.2.3.4'])).toEqual({
      List: ['1.2.3.4'],
    });
    expect(pile('IpSet', ['1.2.3.4'], { merge: [{ List: ['1.2.3.4', '2001:db8::1'] }] })).toEqual({
      List: ['1.2.3.4', '2001:db8::1'],
    });
    expect(introspect({ op: 'roundtrip', type: 'IpSet', kind: 'config', json: null })).toBe(null);
    // Go re-emits the 4-byte mask as read; Guard may widen it to the 16-byte form of the same mask
    // beside the 16-byte decoded IP (the crash fix of docs/compatibility.md) — same meaning,
    // accepted by Go decoders.
    const rt = introspect({ op: 'roundtrip', type: 'IpSet', kind: 'config', json: [{ IP: '111.7.1.126', Mask: '////AA==' }] });
    expect(rt).toHaveLength(1);
    expect(rt[0].IP).toBe('111.7.1.126');
    expect(['////AA==', '////////////////////AA==']).toContain(rt[0].Mask);
    expect(
      introspect({ op: 'roundtrip', type: 'IpSet', kind: 'config', json: [{ IP: '2001:db8::1', Mask: '////////////////////8A==' }] }),
    ).toEqual([{ IP: '2001:db8::1', Mask: '////////////////////8A==' }]);
  });

  test('learning 16-byte pile IPs into a decoded 4-byte-mask config does not crash', () => {
    const config = learn('IpSet', undefined, {
      config: [{ IP: '1.2.3.4', Mask: '/////w==' }],
      pile: { List: ['1.2.3.5', '1.2.3.4'] },
    });
    accepts(config, ['1.2.3.4', '1.2.3.5']);
    rejects(config, ['1.2.4.4']);
  });
});

describe('IpSet text forms', () => {
  test('RFC 5952 printing and IPv4-compatible addresses', () => {
    expect(profile('IpSet', '2001:0db8:0000:0000:0000:0000:0000:0001')).toEqual(['2001:db8::1']);
    expect(profile('IpSet', '2001:DB8::1')).toEqual(['2001:db8::1']);
    expect(profile('IpSet', '2001:db8:0:0:1:0:0:1')).toEqual(['2001:db8::1:0:0:1']);
    expect(profile('IpSet', '2001:db8:0:1:1:1:1:1')).toEqual(['2001:db8:0:1:1:1:1:1']);
    expect(profile('IpSet', '::1.2.3.4')).toEqual(['::102:304']);
    expect(profile('IpSet', '64:ff9b::1.2.3.4')).toEqual(['64:ff9b::102:304']);
  });
});
