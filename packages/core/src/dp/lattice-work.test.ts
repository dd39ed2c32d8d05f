import { describe, expect, it } from 'vitest';
import { latticeSumBound } from './lattice-sum.js';

// Noise declarations are read from the ledger (attacker input). The work bound
// of report --noised must hold before any pmf is allocated (red team, round 2:
// a forged fine grid beside a coarse one asked for a 20-billion-term array,
// "Invalid typed array length", and the whole report exited 2; twenty forged
// records took 37 s and 696 MB).
describe('latticeSumBound work bound', () => {
  it('refuses (undefined, for Chebyshev) a pmf longer than the bound instead of allocating it', () => {
    const work = { left: 2e9 };
    expect(latticeSumBound([{ noise: { kind: 'laplace', tau: 1 }, stride: 1e10, count: 2 }], work)).toBe(
      undefined,
    );
    expect(work.left).toBe(2e9);
    const gauss = { kind: 'gaussian' as const, sigma2: 1e16 };
    expect(latticeSumBound([{ noise: gauss, stride: 1, count: 1 }], work)).toBe(undefined);
  });

  it('refuses once the work left cannot pay for the pmf, and computes when it can', () => {
    const part = { noise: { kind: 'laplace' as const, tau: 0.2 }, stride: 1, count: 13 };
    expect(latticeSumBound([part], { left: 5 })).toBe(undefined);
    const b = latticeSumBound([part], { left: 1e6 });
    expect(b?.steps).toBeGreaterThanOrEqual(1);
    expect(b!.coverage).toBeGreaterThanOrEqual(0.95);
  });
});
