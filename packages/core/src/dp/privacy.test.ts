import { describe, expect, it } from 'vitest';
import { seededRng } from './__tests__/helpers.js';
import { validateNoiseConfig } from './config.js';
import { buildNoiseTransform } from './noise.js';

// Empirical ε check on the whole transform (clamp → grid → noise): for two
// neighbouring raw values that clamp to opposite bounds (the worst case, a
// shift by the full sensitivity), the log-ratio of output frequencies must
// stay within ε plus sampling error on every bin with enough mass. The
// sampling error of ln(c1/c2) is ≈ √(1/c1 + 1/c2) (delta method); we allow 4 of them.

const N = 200_000;
const MIN_BIN = 2_000;

function outputs(field: Record<string, unknown>, raw: number, seed: string): Map<number, number> {
  const cfg = validateNoiseConfig({
    unit: 'u',
    budget: { epsilon: 5, windowSeconds: 1 },
    fields: { x: field },
  });
  let now = 0;
  // One window per record, so the budget never interferes with the measurement.
  const t = buildNoiseTransform(cfg, { now: () => (now += 1000) }, seededRng(seed));
  const counts = new Map<number, number>();
  for (let i = 0; i < N; i++) {
    const v = (t.apply({ u: 'psn:k:a', x: raw }).x as { value: number }).value;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return counts;
}

function worstLogRatio(a: Map<number, number>, b: Map<number, number>, epsilon: number) {
  let worst = 0;
  let bins = 0;
  for (const [v, ca] of a) {
    const cb = b.get(v) ?? 0;
    if (ca < MIN_BIN || cb < MIN_BIN) continue;
    bins++;
    const lr = Math.abs(Math.log(ca / cb));
    const allowed = epsilon + 4 * Math.sqrt(1 / ca + 1 / cb);
    expect(lr, `bin ${v}: |ln(${ca}/${cb})|`).toBeLessThanOrEqual(allowed);
    worst = Math.max(worst, lr);
  }
  return { worst, bins };
}

describe('empirical privacy of the noise transform', () => {
  it('laplace ε = 1, bounds [0, 3]: −100 vs +100 (clamped to 0 vs 3) stays within ε', () => {
    const field = { mechanism: 'laplace', epsilon: 1, lower: 0, upper: 3, granularity: 1 };
    const a = outputs(field, -100, 'priv-lap-a');
    const b = outputs(field, 100, 'priv-lap-b');
    const { worst, bins } = worstLogRatio(a, b, 1);
    expect(bins).toBeGreaterThan(10);
    // Sensitivity of the check itself: the Laplace ratio reaches e^ε outside [0, 3],
    // so a mechanism with too little noise would be caught, and this one is tight.
    expect(worst).toBeGreaterThan(0.9);
  });

  it('laplace on a 0.5 grid: 2.0 vs 4.0 with bounds [2, 4] stays within ε = 0.7', () => {
    const field = { mechanism: 'laplace', epsilon: 0.7, lower: 2, upper: 4, granularity: 0.5 };
    const { worst, bins } = worstLogRatio(outputs(field, 2, 'priv-g-a'), outputs(field, 4, 'priv-g-b'), 0.7);
    expect(bins).toBeGreaterThan(10);
    expect(worst).toBeGreaterThan(0.6);
  });

  it('gaussian ε = 1, δ = 1e-6: bulk bins stay within ε', () => {
    const field = { mechanism: 'gaussian', epsilon: 1, delta: 1e-6, lower: 0, upper: 1, granularity: 1 };
    const { bins } = worstLogRatio(outputs(field, 0, 'priv-gs-a'), outputs(field, 1, 'priv-gs-b'), 1);
    expect(bins).toBeGreaterThan(5);
  });

  it('the check catches a mechanism with too little noise (negative control)', () => {
    // Configured ε = 1 but fed through a field whose real ε is 3: the ratio exceeds 1 + error.
    const field = { mechanism: 'laplace', epsilon: 3, lower: 0, upper: 3, granularity: 1 };
    const a = outputs(field, 0, 'priv-neg-a');
    const b = outputs(field, 3, 'priv-neg-b');
    expect(() => worstLogRatio(a, b, 1)).toThrow();
  });
});
