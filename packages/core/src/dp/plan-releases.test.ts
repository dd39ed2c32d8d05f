import { describe, expect, it } from 'vitest';
import { GAUSS, LAP, lifetimeNoise } from './__tests__/lifetime.js';
import { releases } from './budget-accounting.js';
import { validateNoiseConfig } from './config.js';
import { planField, planNoise } from './plan.js';

// The plan's values per window are the budget tracker's count (releases()), not
// a count of its own: in ε for Laplace fields and for Gaussian ones without
// budget.gaussian, in ρ for a Gaussian field under budget.gaussian.

describe('plan: values per window', () => {
  it('are what releases() counts, for every field and currency', () => {
    const zcdp = validateNoiseConfig(lifetimeNoise(86400));
    const legacy = validateNoiseConfig({
      unit: 'u',
      budget: { epsilon: 10, windowSeconds: 60 },
      fields: { g: GAUSS },
    });
    for (const cfg of [zcdp, legacy]) {
      for (const f of planNoise(cfg).fields)
        expect(f.perWindow, f.path).toBe(releases(cfg, f.path)!.perWindow);
    }
    // ρ 0.15 fits two Gaussian values of ρ(2, 1e-6) ≈ 0.0676; ε 1 would fit none of ε 2.
    expect(planNoise(zcdp).fields.find((f) => f.path === 'g')!.perWindow).toBe(2);
    expect(planNoise(zcdp).fields.find((f) => f.path === 'm')!.perWindow).toBe(4);
  });

  it('a number as the budget is an ε-only budget of that ε', () => {
    expect(planField('m', LAP, 1).perWindow).toBe(4);
    expect(planField('g', GAUSS, 10).perWindow).toBe(5);
  });
});
