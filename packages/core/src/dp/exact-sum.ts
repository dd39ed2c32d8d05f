// Exact sums of grid values for report --noised (issue 20, item 3). A value on
// a declared grid is z steps of the grid as written (noise.ts prints
// z·granularity with the granularity's decimals), so a group's sum is the exact
// decimal Σ z·g: summed here in BigInt, converted to a double once, and the
// interval widened by whatever the printed numbers lose (red team: summing in
// floats and rounding to 15 digits moved a sum of 1e9 by 13 steps of 1e-6).

/** p / q exactly, q > 0. */
interface Rat {
  p: bigint;
  q: bigint;
}

/** The exact decimal a double prints as (String(x), as JSON writes it). */
export function printed(x: number): Rat {
  const [mant = '0', exp = '0'] = String(x).split('e');
  const [int = '0', frac = ''] = mant.split('.');
  const k = frac.length - Number(exp);
  const m = BigInt(int + frac);
  return k >= 0 ? { p: m, q: 10n ** BigInt(k) } : { p: m * 10n ** BigInt(-k), q: 1n };
}

const cmp = (a: Rat, b: Rat): number => {
  const d = a.p * b.q - b.p * a.q;
  return d < 0n ? -1 : d > 0n ? 1 : 0;
};
const add = (a: Rat, b: Rat): Rat => ({ p: a.p * b.q + b.p * a.q, q: a.q * b.q });
const absDiff = (a: Rat, b: Rat): Rat => {
  const p = a.p * b.q - b.p * a.q;
  return { p: p < 0n ? -p : p, q: a.q * b.q };
};
/** A double near p / q (within a few ulps): the decimal digits of p / q, parsed. */
function approx(r: Rat): number {
  if (r.p === 0n) return 0;
  const digits = Math.max(0, 20 - (r.p.toString().length - r.q.toString().length));
  return Number(`${(r.p * 10n ** BigInt(digits)) / r.q}e-${digits}`);
}
const bits = new Float64Array(1);
const word = new BigInt64Array(bits.buffer);
/** The next double above x ≥ 0. */
function nextUp(x: number): number {
  if (x === Infinity) return x;
  bits[0] = x;
  word[0]! += 1n;
  return bits[0]!;
}

/** The smallest double ≥ 0 whose printed decimal is ≥ r (Infinity past the largest). */
function printedAtLeast(r: Rat): number {
  let e = approx(r);
  while (Number.isFinite(e) && cmp(printed(e), r) < 0) e = nextUp(e);
  return e;
}

/**
 * `steps` grid steps of `g` (the grid's decimal as written), as the smallest double
 * whose printed decimal is at least that: a half-width that never prints short.
 * (A float product, 3 × 0.7 = 2.0999999999999996, left a boundary step outside the
 * interval: one value covered 88.8%, not the stated 95.1%.)
 */
export function stepsUp(steps: number, g: number): number {
  if (!Number.isSafeInteger(steps) || steps < 0) return steps * g; // an estimate past 2^53 steps: no exact form
  const d = grid(g);
  return printedAtLeast({ p: BigInt(steps) * d.m, q: 10n ** BigInt(d.k) });
}

/** Σ z·g of one group, exactly: m / 10^k. */
export interface ExactSum {
  m: bigint;
  k: number;
}

export const emptySum = (): ExactSum => ({ m: 0n, k: 0 });

/** The decimal grid step a granularity is written with (noise.ts decimalsOf). */
const gridOf = new Map<number, ExactSum>();
function grid(g: number): ExactSum {
  let d = gridOf.get(g);
  if (!d) {
    const r = printed(g);
    const k = r.q.toString().length - 1;
    d = { m: r.p, k };
    if (gridOf.size < 4096) gridOf.set(g, d);
  }
  return d;
}

/** Adds the value `value` on grid `g` (checked on it by impossible()) to `s`. */
export function addOnGrid(s: ExactSum, value: number, g: number): void {
  const d = grid(g);
  const z = BigInt(Math.round(value / g));
  if (d.k > s.k) {
    s.m *= 10n ** BigInt(d.k - s.k);
    s.k = d.k;
  }
  s.m += s.k === d.k ? z * d.m : z * d.m * 10n ** BigInt(s.k - d.k);
}

/**
 * The group's sum and mean as doubles with their half-widths widened by what
 * printing them loses: |printed − exact| is added (rounded up), so the printed
 * interval holds whatever the exact one holds. `sumExact` is the exact decimal
 * when the printed sum is not it.
 */
export function settle(s: ExactSum, n: number, sumError: number) {
  const exact: Rat = { p: s.m, q: 10n ** BigInt(s.k) };
  // Past the largest double only by rounding (the float guard in aggregate.ts kept the float sum finite).
  const sum = Math.max(-Number.MAX_VALUE, Math.min(Number.MAX_VALUE, Number(decimal(s))));
  const sumLoss = absDiff(printed(sum), exact);
  const mean = sum / n;
  const out: { sum: number; sumError: number; mean: number; meanError: number; sumExact?: string } = {
    sum,
    sumError,
    mean,
    meanError: sumError / n,
  };
  if (sumLoss.p !== 0n) out.sumExact = decimal(s);
  if (!Number.isFinite(sumError)) return out; // nothing to widen
  if (sumLoss.p !== 0n) out.sumError = printedAtLeast(add(printed(sumError), sumLoss));
  const e = printed(out.sumError);
  const meanLoss = absDiff(printed(mean), { p: exact.p, q: exact.q * BigInt(n) });
  out.meanError = printedAtLeast(add({ p: e.p, q: e.q * BigInt(n) }, meanLoss));
  return out;
}

/** The exact decimal m / 10^k as a string. */
function decimal(s: ExactSum): string {
  const neg = s.m < 0n;
  const digits = (neg ? -s.m : s.m).toString().padStart(s.k + 1, '0');
  const int = digits.slice(0, digits.length - s.k);
  const frac = digits.slice(digits.length - s.k).replace(/0+$/, '');
  return `${neg ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}
