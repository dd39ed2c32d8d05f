// The lifetime-cap scenario that budget-lifetime.test.ts runs in one process and
// test/postgres/noise-lifetime.test.ts in four: per window ε 1 (four `m` values)
// and ρ 0.15 (two `g` values); per unit in a lifetime ε 2.5 (ten `m` values) and
// ρ 0.3 (four `g` values).

/** A Gaussian field costing ρ(2, 1e-6) ≈ 0.0676 a value. */
export const GAUSS = {
  mechanism: 'gaussian',
  epsilon: 2,
  delta: 1e-6,
  lower: 0,
  upper: 500,
  granularity: 1,
} as const;
/** A Laplace field costing ε 0.25 a value. */
export const LAP = { mechanism: 'laplace', epsilon: 0.25, lower: 0, upper: 10, granularity: 1 } as const;

/** The scenario's noise config (unit field `u`, fields `m` and `g`), windows of `windowSeconds`. */
export function lifetimeNoise(windowSeconds: number) {
  return {
    unit: 'u',
    budget: {
      epsilon: 1,
      windowSeconds,
      gaussian: { rho: 0.15 },
      lifetime: { epsilon: 2.5, gaussian: { rho: 0.3 } },
    },
    fields: { m: LAP, g: GAUSS },
  };
}
