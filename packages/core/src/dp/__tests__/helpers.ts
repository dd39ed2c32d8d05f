import { createCipheriv, createHash } from 'node:crypto';
import { type Rng, uniformFromWords } from '../rng.js';

// Test-only helpers: a seeded deterministic RNG (ChaCha20 keystream) so the
// statistical tests are reproducible, and the chi-squared quantile computed
// from the regularized incomplete gamma function (Numerical Recipes §6.2).

/** Deterministic Rng from a seed string: ChaCha20(key = SHA-256(seed), nonce 0) keystream. */
export function seededRng(seed: string): Rng {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('chacha20', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(4096);
  let words = new Uint32Array(0);
  let at = 0;
  const word = (): number => {
    if (at === words.length) {
      const b = cipher.update(zeros);
      words = new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
      at = 0;
    }
    return words[at++]!;
  };
  return (n) => uniformFromWords(word, n);
}

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9), accurate to ~1e-15 for x > 0.
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularized lower incomplete gamma P(a, x). */
export function gammaP(a: number, x: number): number {
  if (x <= 0) return 0;
  const lg = logGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return sum * Math.exp(-x + a * Math.log(x) - lg);
  }
  // Continued fraction for Q(a, x) (modified Lentz).
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return 1 - Math.exp(-x + a * Math.log(x) - lg) * h;
}

/** The (1 − alpha) quantile of chi-squared with `dof` degrees of freedom, by bisection on the CDF. */
export function chi2Critical(dof: number, alpha: number): number {
  let lo = 0;
  let hi = dof + 100 * Math.sqrt(2 * dof) + 100;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (gammaP(dof / 2, mid / 2) < 1 - alpha) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Exact discrete Laplace pmf with scale tau on the integers. */
export function laplacePmf(tau: number): (z: number) => number {
  const p = Math.exp(-1 / tau);
  return (z) => ((1 - p) / (1 + p)) * p ** Math.abs(z);
}

/** Discrete Gaussian pmf, normalised over |z| ≤ 40σ + 10 (the rest is < 1e-300). */
export function gaussianPmf(sigma2: number): (z: number) => number {
  const r = Math.ceil(40 * Math.sqrt(sigma2)) + 10;
  let norm = 0;
  for (let z = -r; z <= r; z++) norm += Math.exp((-z * z) / (2 * sigma2));
  return (z) => Math.exp((-z * z) / (2 * sigma2)) / norm;
}

export interface ChiSquared {
  statistic: number;
  dof: number;
  bins: number;
}

/**
 * Pearson's chi-squared of integer samples against a symmetric pmf. Bins are
 * the single integers in (−r, r) plus the two pooled tails [r, ∞) and
 * (−∞, −r], with r the largest value whose tail still expects ≥ minExpected.
 */
export function chiSquared(
  samples: readonly number[],
  pmf: (z: number) => number,
  minExpected = 20,
): ChiSquared {
  const n = samples.length;
  // upper[r] = P[Z >= r] for r >= 1, from the symmetric pmf.
  const tailFrom = (r: number) => {
    let inner = pmf(0);
    for (let z = 1; z < r; z++) inner += 2 * pmf(z);
    return (1 - inner) / 2;
  };
  let r = 1;
  while (n * tailFrom(r + 1) >= minExpected) r++;
  const observed = new Map<number, number>();
  for (const s of samples) {
    const k = Math.min(r, Math.max(-r, s));
    observed.set(k, (observed.get(k) ?? 0) + 1);
  }
  const tail = tailFrom(r);
  let statistic = 0;
  let bins = 0;
  for (let z = -r; z <= r; z++) {
    const exp = n * (z === r || z === -r ? tail : pmf(z));
    const obs = observed.get(z) ?? 0;
    statistic += ((obs - exp) * (obs - exp)) / exp;
    bins++;
  }
  return { statistic, dof: bins - 1, bins };
}

/** Exact variance and fourth central moment of a symmetric pmf on the integers (mean 0). */
export function moments(pmf: (z: number) => number, range: number): { variance: number; m4: number } {
  let variance = 0;
  let m4 = 0;
  for (let z = -range; z <= range; z++) {
    const p = pmf(z);
    variance += p * z * z;
    m4 += p * z ** 4;
  }
  return { variance, m4 };
}
