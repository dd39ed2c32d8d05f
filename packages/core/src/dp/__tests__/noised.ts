import { expect } from 'vitest';
import type { StoredRecord } from '../../store/reader.js';
import { indexTime } from '../../time.js';
import { noisedAggregate } from '../aggregate.js';
import { validateNoiseConfig } from '../config.js';
import { buildNoiseTransform, type NoiseTransform } from '../noise.js';
import type { Rng } from '../rng.js';

// Shared by the noised-aggregate tests: records noised by the real transform
// with seeded draws, stored as the sink stores them, and the coverage count.

/** A transform whose budget never runs out: every record is in its own one-second window. */
export function transform(field: Record<string, unknown>, rng: Rng): NoiseTransform {
  const config = validateNoiseConfig({
    unit: 'user',
    budget: { epsilon: 1000, windowSeconds: 1 },
    fields: { ms: field },
  });
  let t = 0;
  return buildNoiseTransform(config, { now: () => (t += 1000) }, rng);
}

export function stored(rows: Record<string, unknown>[]): StoredRecord[] {
  return rows.map((r, seq) => {
    const entry = Buffer.from(JSON.stringify(r));
    return { seq, ts: indexTime(entry), entry, chain: Buffer.alloc(32) };
  });
}

/**
 * `trials` groups of `n` records each (group = trial number), the i-th record
 * noised by transforms[i % transforms.length], true values from `draw`
 * (default: [0, 40] in steps of 10, inside every field's bounds, on every grid).
 * Returns per trial the report's group and the true sum.
 */
export function run(
  transforms: NoiseTransform[],
  n: number,
  trials: number,
  rng: Rng,
  draw: (rng: Rng) => number = (r) => 10 * r(5),
) {
  const rows: Record<string, unknown>[] = [];
  const truth = new Map<string, number>();
  for (let k = 0; k < trials; k++) {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const t = transforms[i % transforms.length]!;
      const x = draw(rng);
      s += x;
      rows.push(t.apply({ user: `u${i}`, group: `g${k}`, ms: x }));
    }
    truth.set(`g${k}`, s);
  }
  const report = noisedAggregate(stored(rows), { groupBy: 'group', field: 'ms' });
  expect(report.groups.length).toBe(trials);
  expect(report.invalid).toBe(0); // the real writer's values are never rejected
  return report.groups.map((g) => {
    expect(g.n).toBe(n); // nothing suppressed or skipped
    return { ...g, truth: truth.get(g.group)! };
  });
}

/** How many trials' sum and mean intervals (times `shrink`) hold the truth. */
export function coverage(results: ReturnType<typeof run>, shrink = 1): { sum: number; mean: number } {
  let sum = 0;
  let mean = 0;
  for (const r of results) {
    if (Math.abs(r.sum - r.truth) <= r.sumError * shrink + 1e-9) sum++;
    if (Math.abs(r.mean! - r.truth / r.n) <= r.meanError! * shrink + 1e-9) mean++;
  }
  return { sum, mean };
}
