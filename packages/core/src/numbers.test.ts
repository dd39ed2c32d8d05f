import { describe, expect, it } from 'vitest';
import { maxOf, minOf } from './numbers.js';

describe('maxOf / minOf', () => {
  it('agree with Math.max/min on small lists and give the fallback on none', () => {
    const xs = [3, -1, 7.5, 0, 7.4];
    expect(maxOf(xs)).toBe(Math.max(...xs));
    expect(minOf(xs)).toBe(Math.min(...xs));
    expect(maxOf([], 9)).toBe(9);
    expect(minOf([])).toBe(Number.POSITIVE_INFINITY);
  });

  it('take a list too long to spread into arguments (Math.max(...xs) throws past ~125k)', () => {
    const xs = Array.from({ length: 1_000_000 }, (_, i) => (i * 7919) % 1_000_003);
    expect(() => Math.max(...xs)).toThrow(RangeError);
    expect(maxOf(xs)).toBe(xs.reduce((a, b) => Math.max(a, b)));
    expect(minOf(xs)).toBe(0);
  });
});
