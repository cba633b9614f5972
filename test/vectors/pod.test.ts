// Vectors of the original's data model — Pod peers from /proc/net. The original's test files
// data1…data4 (pod_test.go) are not known here; they are rebuilt from what the original reads of
// them: a header line, then socket lines whose remote addresses are the listed IPs.
import { describe, expect, test } from 'vitest';
import { expectDecide, learn, pile, profile } from './helpers.js';

const HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const HEADER6 =
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

/** IPv4 as the kernel prints it: the uint32 read little-endian, as 8 upper-case hex digits. */
function hex4(ip: string): string {
  return ip
    .split('.')
    .map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0'))
    .reverse()
    .join('');
}

function line(sl: number, local: string, remote: string, tail = ' 01 00000000:00000000 00:00000000 00000000  1000        0 12345 1 0000000000000000 20 4 30 10 -1'): string {
  return `${String(sl).padStart(4)}: ${local} ${remote}${tail}\n`;
}

function v4File(remotes: string[]): string {
  let s = HEADER;
  let sl = 0;
  // a listening socket (remote 0.0.0.0) and a loopback peer: both skipped
  s += line(sl++, '00000000:1F90', '00000000:0000', ' 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0');
  s += line(sl++, '0100007F:1F90', '0100007F:A1B2');
  for (const r of remotes) s += line(sl++, '02001102:E12E', `${hex4(r)}:0050`);
  // a private peer (10.1.2.3) and a duplicate of the first remote: skipped / de-duplicated
  s += line(sl++, '02001102:E130', `${hex4('10.1.2.3')}:0050`);
  if (remotes.length) s += line(sl++, '02001102:E132', `${hex4(remotes[0])}:01BB`);
  return s;
}

const data1 = v4File(['2.217.23.2', '2.250.185.2']);
const data2 = v4File(['2.217.23.4', '2.250.185.4']);
const data3 = v4File(['2.217.23.3', '2.250.185.3']);
/** all-zero IPv6 peers (unspecified) → no peers */
const data4 =
  HEADER6 +
  line(0, '00000000000000000000000000000000:1F90', '00000000000000000000000000000000:0000') +
  line(1, '00000000000000000000000000000000:0016', '00000000000000000000000000000000:0000');

const FILES = ['tcp', 'udp', 'udplite', 'tcp6', 'udp6', 'udplite6'] as const;
const KEYS = ['tcp4peers', 'udp4peers', 'udplite4peers', 'tcp6peers', 'udp6peers', 'udplite6peers'] as const;
const TAGS = ['Tcp4Peers', 'Tcp6Peers', 'Udp4Peers', 'Udp6Peers', 'Udplite4Peers', 'Udplite6Peers']; // sorted

function everywhere(text: string): Record<string, string> {
  return Object.fromEntries(FILES.map((f) => [f, text]));
}
function same<T>(value: T): Record<string, T> {
  return Object.fromEntries(KEYS.map((k) => [k, value]));
}

describe('Pod', () => {
  test('V-P1 data1 in all six files', () => {
    expect(hex4('2.217.23.2')).toBe('0217D902');
    expect(profile('Pod', everywhere(data1))).toEqual(same(['2.217.23.2', '2.250.185.2']));
    // one file only: the others are absent → nil
    expect(profile('Pod', { tcp: data1 })).toEqual({ ...same(null), tcp4peers: ['2.217.23.2', '2.250.185.2'] });
    expect(profile('Pod', {})).toEqual(same(null));
  });

  test('V-P2 config learned from data1 rejects data2', () => {
    const config = learn('Pod', [everywhere(data1)]);
    expect(config).toEqual(
      same([
        { IP: '2.217.23.2', Mask: '/////w==' },
        { IP: '2.250.185.2', Mask: '/////w==' },
      ]),
    );
    const child = 'IP 2.217.23.4 not allowed,IP 2.250.185.4 not allowed,';
    expectDecide('Pod', config, everywhere(data2), `[${TAGS.map((t) => `${t}:[${child}],`).join('')}]`);
    expectDecide('Pod', config, everywhere(data1), '');
  });

  test('V-P3 data2 + data1 learned → /29 CIDRs accept data3 and data4', () => {
    const merged = pile('Pod', [everywhere(data2)], { merge: [pile('Pod', [everywhere(data1)])] });
    expect(merged).toEqual(same({ List: ['2.217.23.4', '2.250.185.4', '2.217.23.2', '2.250.185.2'] }));
    // in-process (4-byte IPs, as upstream's test): data2 then data1 added to one pile
    const config = learn('Pod', [everywhere(data2), everywhere(data1)]);
    expect(config).toEqual(
      same([
        { IP: '2.217.23.4', Mask: '////+A==' },
        { IP: '2.250.185.4', Mask: '////+A==' },
      ]),
    );
    expectDecide('Pod', config, everywhere(data3), '');
    expectDecide('Pod', config, everywhere(data4), '');
    expect(profile('Pod', everywhere(data4))).toEqual(same(null));
    // from the merged pile after JSON (16-byte IPs): same acceptance, 16-byte masks
    const fromJson = learn('Pod', undefined, { pile: merged });
    expect(fromJson.tcp4peers).toEqual([
      { IP: '2.217.23.4', Mask: '////////////////////+A==' },
      { IP: '2.250.185.4', Mask: '////////////////////+A==' },
    ]);
    expectDecide('Pod', fromJson, everywhere(data3), '');
  });

  test('V-P4 IPv6 lines, v4-mapped private, header-only', () => {
    const v6 =
      HEADER6 +
      line(0, '00000000000000000000000000000000:1F90', 'B80D0120000000000000000001000000:01BB') +
      line(1, '00000000000000000000000000000000:1F90', '0000000000000000FFFF00000400A8C0:01BB') +
      line(2, '00000000000000000000000000000000:1F90', '00000000000000000000000001000000:01BB');
    expect(profile('Pod', { tcp6: v6 })).toEqual({ ...same(null), tcp6peers: ['2001:db8::1'] });
    expect(profile('Pod', { tcp: HEADER, udp6: HEADER6 })).toEqual(same(null));
    // the family follows the hex length, not the file name
    expect(profile('Pod', { udp: v6, tcp6: data1 })).toEqual({
      ...same(null),
      udp4peers: ['2001:db8::1'],
      tcp6peers: ['2.217.23.2', '2.250.185.2'],
    });
    // the original's example line
    expect(profile('Pod', { tcp: HEADER + '0: 02001102:E12E 0217D902:0050 01\n' }).tcp4peers).toEqual(['2.217.23.2']);
    // no header line: the first line is always skipped
    expect(profile('Pod', { tcp: '0: 02001102:E12E 0217D902:0050 01\n' }).tcp4peers).toBe(null);
  });
});
