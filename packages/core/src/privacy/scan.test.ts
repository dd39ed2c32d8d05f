import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PseudonymKey } from './keys.js';
import { pseudonymOf } from './pseudonymize.js';
import { luhn, SCRUB_KINDS } from './scan.js';
import { scrubText } from './scrub.js';

const all = { kinds: SCRUB_KINDS, replace: 'tag' as const };
const s = (t: string) => scrubText(t, all);
const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

describe('scrubText', () => {
  it('e-mails', () => {
    expect(s('mail bob.smith+tag@mail.example.co.uk, then stop.')).toBe('mail [email], then stop.');
    expect(s('to <a@b.io>.')).toBe('to <[email]>.');
    expect(s('not mail: a@b, x@localhost, @home, a@1.2')).toBe('not mail: a@b, x@localhost, @home, a@1.2');
  });

  it('IPv4 and IPv6, but not versions, times or C++ scopes', () => {
    expect(s('from 203.0.113.7:443 via 10.0.0.1')).toBe('from [ip]:443 via [ip]');
    expect(s('peer [2001:db8::1]:8080 and fe80::1%eth0 and ::ffff:192.0.2.1.')).toBe(
      'peer [[ip]]:8080 and [ip]%eth0 and [ip].',
    );
    expect(s('ip:2001:db8:0:0:0:0:2:1 ok')).toBe('ip:[ip] ok');
    expect(s('v1.2.3.4.5 at 12:30:45 std::vector Foo::Bar 1.2.3 256.1.1.1')).toBe(
      'v1.2.3.4.5 at 12:30:45 std::vector Foo::Bar 1.2.3 256.1.1.1',
    );
  });

  it('cards: Luhn-valid 13-19 digits with spaces or dashes; order numbers failing Luhn stay', () => {
    expect(luhn('4111111111111111')).toBe(true);
    expect(luhn('4111111111111112')).toBe(false);
    expect(s('card 4111 1111 1111 1111 exp 12/29')).toBe('card [card] exp 12/29');
    expect(s('amex 3782-822463-10005; visa4012888888881881')).toBe('amex [card]; visa[card]');
    expect(s('order 4111111111111112 and ts 1700000000000')).toBe(
      'order 4111111111111112 and ts 1700000000000',
    );
    // A longer digit run is one number, not a card inside it.
    expect(s('n=41111111111111110000')).toBe('n=41111111111111110000');
    expect(s('card 4111 1111 1111 1111 2020')).toBe('card [card] 2020');
  });

  it('tokens: bearer, known key formats, long secrets; not UUIDs, trace IDs, commit IDs, prose', () => {
    expect(s('Authorization: Bearer abc123.def-456_ghi')).toBe('Authorization: Bearer [token]');
    expect(s('the bearer instrument')).toBe('the bearer instrument');
    expect(s('key=sk_live_4eC39HqLyjWDarjtT1zdp7dc')).toBe('key=[token]');
    expect(s('ghp_1234567890abcdefghijABCDEFGHIJ123456 AKIAIOSFODNN7EXAMPLE')).toBe('[token] [token]');
    expect(s(`hex ${'ab12'.repeat(16)} b64 wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`)).toBe(
      'hex [token] b64 [token]',
    );
    const keep =
      'id 123e4567-e89b-12d3-a456-426614174000 trace 4bf92f3577b34da6a3ce929d0e0e4736 commit 9fceb02d0ae598e95dc970b74767f19372d61af8 ok';
    expect(s(keep)).toBe(keep);
  });

  it('JWTs, also after Bearer', () => {
    expect(s(`jwt=${JWT}; next`)).toBe('jwt=[jwt]; next');
    expect(s(`Bearer ${JWT}`)).toBe('Bearer [jwt]');
  });

  it('only the configured kinds', () => {
    expect(scrubText('a@b.io 10.0.0.1', { kinds: ['ip'], replace: 'tag' })).toBe('a@b.io [ip]');
  });

  it('pseudonym replacement uses the pseudonym of the matched text', () => {
    const key = PseudonymKey.fromText('k1', randomBytes(32).toString('hex'), 't');
    expect(scrubText('user a@b.io logged in', { kinds: ['email'], replace: 'pseudonym', key })).toBe(
      `user ${pseudonymOf('a@b.io', key)} logged in`,
    );
  });

  it('finishes on 1 MB adversarial inputs (linear-time scanners)', { timeout: 60_000 }, () => {
    const MB = 1 << 20;
    const inputs = [
      'a'.repeat(MB),
      'a'.repeat(MB) + '@',
      'a@'.repeat(MB / 2),
      'a.'.repeat(MB / 2) + '@',
      '1.'.repeat(MB / 2),
      '1 '.repeat(MB / 2),
      '4'.repeat(MB),
      ':'.repeat(MB),
      'a:'.repeat(MB / 2),
      'eyJ'.repeat(MB / 3),
      `eyJ${'a'.repeat(MB)}.`,
      'eyJa.'.repeat(MB / 5),
      'bearer '.repeat(MB / 7),
      `Bearer ${' '.repeat(MB)}`,
      'Aa1'.repeat(MB / 3),
      'ff:'.repeat(MB / 3),
    ];
    for (const input of inputs) {
      const out = s(input);
      expect(typeof out).toBe('string');
    }
    expect(s('a@'.repeat(4) + 'b.io')).toBe('a@a@a@[email]');
  });
});
