import { describe, expect, it } from 'vitest';
import { seededRng } from './__tests__/helpers.js';
import { stored, transform } from './__tests__/noised.js';
import { noisedAggregate } from './aggregate.js';

// Issue 20 item 3, forged declarations: a marker is attacker input. One bad
// record must never void others, and a value its own declaration cannot have
// produced (off its grid, far outside its bounds, or one that overflows the
// sum) is rejected and counted by reason, never summed.

const FIELD = { mechanism: 'laplace', epsilon: 2, lower: 0, upper: 500, granularity: 1 };
const DECL = { dp: 'laplace', epsilon: 2, lower: 0, upper: 500, granularity: 1 };

/** 200 genuine records of /a noised by the real transform, after the forged ones. */
function withGenuine(forged: Record<string, unknown>[]) {
  const t = transform(FIELD, seededRng('forged'));
  const genuine = Array.from({ length: 200 }, (_, i) => t.apply({ user: `u${i}`, route: '/a', ms: 40 }));
  return noisedAggregate(stored([...forged, ...genuine]), { groupBy: 'route', field: 'ms' });
}

describe('noised aggregates: forged declarations', () => {
  it('a `delta: null` Laplace marker is unreadable, and the 200 genuine records of its group still count', () => {
    const r = withGenuine([{ route: '/a', ms: { ...DECL, delta: null, value: 1 } }]);
    expect(r.groups[0]).toMatchObject({ group: '/a', n: 200 });
    expect(r.rejected).toMatchObject({ unreadable: 1 });
    expect(r.invalid).toBe(1);
  });

  it('a string ε or bound shaped like the real one voids only itself', () => {
    const r = withGenuine([
      { route: '/a', ms: { ...DECL, epsilon: '2', value: 1 } },
      { route: '/a', ms: { ...DECL, upper: [500], value: 1 } },
    ]);
    expect(r.groups[0]!.n).toBe(200);
    expect(r.rejected.unreadable).toBe(2);
  });

  it('values impossible under their own declaration are rejected by reason, not summed', () => {
    const tiny = { dp: 'laplace', epsilon: 1000, lower: 0, upper: 1, granularity: 1 };
    // Laplace ε 2 on [0, 500]: τ = 250 steps; past ⌈250·ln(2e12)⌉ steps beyond a bound is p < 1e-12.
    const tail = Math.ceil(250 * Math.log(2e12));
    const r = withGenuine([
      { route: '/b', ms: { ...tiny, value: 1e6 } },
      { route: '/b', ms: { ...tiny, value: 1e6 } },
      { route: '/c', ms: { ...DECL, value: 1e308 } },
      { route: '/c', ms: { ...DECL, value: -1e308 } },
      { route: '/d', ms: { ...DECL, value: 40.5 } },
      { route: '/e', ms: { ...DECL, value: 500 + tail } },
      { route: '/e', ms: { ...DECL, value: -tail } },
      { route: '/f', ms: { ...DECL, value: 501 + tail } },
      { route: '/f', ms: { ...DECL, value: -1 - tail } },
    ]);
    const by = new Map(r.groups.map((g) => [g.group, g]));
    expect(by.get('/a')!.n).toBe(200);
    expect(by.get('/b')).toMatchObject({ n: 0, method: 'none' });
    expect(by.get('/b')!.mean).toBeUndefined();
    expect(by.get('/c')!.n).toBe(0);
    expect(by.get('/d')!.n).toBe(0);
    expect(by.get('/e')!.n).toBe(2); // at the edge of the 1e-12 tail: possible, kept
    expect(by.get('/f')!.n).toBe(0);
    expect(r.rejected).toEqual({ unreadable: 0, declarations: 0, offGrid: 1, outOfRange: 6, overflow: 0 });
    expect(r.invalid).toBe(7);
  });

  it('a declaration whose values or variance overflow a double is rejected, never summed to Infinity', () => {
    // Grid 2^1000 on [0, 2^1023]: 2^23 steps, every value on the grid and in range, but σ² and 2 values overflow.
    // (Any declaration whose values can overflow a sum has an infinite σ² in field units: g² ≥ 2^2046 / 2^82.)
    const huge = { dp: 'laplace', epsilon: 1, lower: 0, upper: 2 ** 1023, granularity: 2 ** 1000 };
    const r = noisedAggregate(
      stored([
        { g: 'x', ms: { ...huge, value: 2 ** 1023 } },
        { g: 'x', ms: { ...huge, value: 2 ** 1023 } },
      ]),
      { groupBy: 'g', field: 'ms' },
    );
    expect(r.groups[0]).toMatchObject({ n: 0, sum: 0 });
    expect(r.rejected.overflow).toBe(2);
    expect(JSON.stringify(r)).not.toMatch(/Infinity/);
  });
});
