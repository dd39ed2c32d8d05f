import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIPv6, parseIPv4, parseIPv6, truncateIp } from './ip.js';

const P = { v4Prefix: 24, v6Prefix: 48 };

describe('IP parsing', () => {
  it('IPv4 is strict dotted decimal', () => {
    expect(parseIPv4('192.0.2.255')).toEqual([192, 0, 2, 255]);
    for (const bad of [
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '01.2.3.4',
      '0x7f.0.0.1',
      '1.2.3.',
      ' 1.2.3.4',
      '1..2.3',
    ])
      expect(parseIPv4(bad)).toBeUndefined();
  });

  it('IPv6 per RFC 4291 §2.2 with :: and IPv4 tails', () => {
    expect(parseIPv6('2001:db8::1')).toEqual([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
    expect(parseIPv6('::')).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIPv6('::ffff:192.0.2.1')).toEqual([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201]);
    expect(parseIPv6('1:2:3:4:5:6:7::')).toEqual([1, 2, 3, 4, 5, 6, 7, 0]);
    expect(parseIPv6('fe80::1%eth0')).toEqual([0xfe80, 0, 0, 0, 0, 0, 0, 1]);
    for (const bad of [
      '1::2::3',
      ':1::',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '12345::',
      '::g',
      '1.2.3.4::',
      'fe80::1%',
      '::1.2.3',
    ])
      expect(parseIPv6(bad)).toBeUndefined();
  });

  it('RFC 5952 §4 formatting: longest zero run, first on ties, never a single group', () => {
    expect(formatIPv6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])).toBe('2001:db8::1:0:0:1');
    expect(formatIPv6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIPv6([0x2001, 0, 0, 1, 0, 0, 0, 1])).toBe('2001:0:0:1::1');
    expect(formatIPv6([0, 0, 0, 0, 0, 0, 0, 0])).toBe('::');
  });

  it('format → parse round-trips (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
          minLength: 8,
          maxLength: 8,
        }),
        (w) => {
          expect(parseIPv6(formatIPv6(w))).toEqual(w);
        },
      ),
    );
  });
});

describe('truncateIp', () => {
  it('keeps the configured prefix as CIDR', () => {
    expect(truncateIp('203.0.113.77', P)).toBe('203.0.113.0/24');
    expect(truncateIp('203.0.113.77', { v4Prefix: 20, v6Prefix: 48 })).toBe('203.0.112.0/20');
    expect(truncateIp('203.0.113.77', { v4Prefix: 0, v6Prefix: 48 })).toBe('0.0.0.0/0');
    expect(truncateIp('2001:db8:abcd:12:34::1', P)).toBe('2001:db8:abcd::/48');
    expect(truncateIp('2001:db8:abcd:ff12::', { v4Prefix: 24, v6Prefix: 52 })).toBe(
      '2001:db8:abcd:f000::/52',
    );
    expect(truncateIp('2001:db8::1', { v4Prefix: 24, v6Prefix: 128 })).toBe('2001:db8::1/128');
  });

  it('IPv4-mapped IPv6 is truncated as IPv4 (a /48 would keep the whole address)', () => {
    expect(truncateIp('::ffff:198.51.100.9', P)).toBe('198.51.100.0/24');
    expect(truncateIp('::ffff:c633:6409', P)).toBe('198.51.100.0/24');
  });

  it('returns undefined for non-addresses', () => {
    for (const bad of ['', 'localhost', '1.2.3.4:80', '10.0.0.1, 10.0.0.2'])
      expect(truncateIp(bad, P)).toBeUndefined();
  });
});
