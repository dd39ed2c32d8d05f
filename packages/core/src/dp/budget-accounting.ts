import { MICRO, rhoFor, toMicro } from './calibrate.js';
import type { NoiseConfig, NoiseField } from './config.js';

// What a noised value costs and what a unit may spend (issue 20, item 4).
//
// Two currencies, each kept as integers so budget arithmetic is exact:
//   - ε, in micro-ε (1e-6): Laplace fields, pure ε-DP, composed by summing ε
//     (basic composition); also Gaussian fields when budget.gaussian is absent
//     (the accounting sealog had before zCDP, kept so old configs mean the same);
//   - ρ, in nano-ρ (1e-9): Gaussian fields under budget.gaussian. The discrete
//     Gaussian N_Z(0, σ²) on a query of sensitivity Δ is Δ²/(2σ²)-zCDP (Canonne,
//     Kamath & Steinke 2020, Thm. 4; Bun & Steinke 2016 Prop. 1.6 for the
//     continuous one), and ρ-zCDP mechanisms compose by adding ρ (Bun & Steinke
//     2016, Lemma 1.7). A field calibrated for (ε_f, δ_f) has σ² ≥ Δ²/(2ρ_f) with
//     ρ_f = rhoFor(ε_f, δ_f) (calibrate.ts), so charging ⌈ρ_f · 10⁹⌉ nano-ρ never
//     charges less than the mechanism's ρ.
// A unit's spending in a window is then (ε_L, ρ_G): ε_L-DP for the Laplace part,
// ρ_G-zCDP for the Gaussian part, together (ε_L + ρ_G + 2√(ρ_G ln(1/δ)), δ)-DP
// for any δ > 0 (Bun & Steinke 2016, Prop. 1.3, the conversion calibrate.ts
// uses too; CKS 2020 Cor. 13 is tighter, we report the simpler bound).

/** ρ is applied in whole nano-ρ. */
export const NANO = 1_000_000_000;

/** Which budget a field spends: 0 = ε (micro-ε), 1 = ρ (nano-ρ). */
export type Currency = 0 | 1;
export const EPS: Currency = 0;
export const RHO: Currency = 1;
/** Table-name suffix of each currency's budget tables (budget-sqlite.ts, budget-postgres.ts). */
export const SUFFIX = ['', '_rho'] as const;

/** A field's cost in its currency's integer unit. */
export interface FieldCost {
  currency: Currency;
  cost: number;
}

/** The limits one currency's budget enforces, in its integer unit. */
export interface CurrencyLimits {
  /** Per unit per window. */
  limit: number;
  /** Per unit across windows; undefined = no cap. */
  lifetime?: number;
}

/** ρ as a budget limit: rounded down, so the limit is never more than configured. */
export function rhoLimit(rho: number): number {
  return Math.floor(rho * NANO);
}

/** A field's cost: rounded up, so a release is never charged less than it costs. */
export function fieldCost(f: NoiseField, config: NoiseConfig): FieldCost {
  if (f.mechanism === 'gaussian' && config.budget.gaussian) {
    return { currency: RHO, cost: Math.max(1, Math.ceil(rhoFor(f.epsilon, f.delta) * NANO)) };
  }
  return { currency: EPS, cost: toMicro(f.epsilon) };
}

/** Each currency's limits; RHO only under budget.gaussian. */
export function currencyLimits(config: NoiseConfig): [CurrencyLimits, CurrencyLimits | undefined] {
  const b = config.budget;
  const life = b.lifetime;
  const eps: CurrencyLimits = {
    limit: toMicro(b.epsilon),
    ...(life?.epsilon !== undefined ? { lifetime: toMicro(life.epsilon) } : {}),
  };
  const rho: CurrencyLimits | undefined = b.gaussian
    ? {
        limit: rhoLimit(b.gaussian.rho),
        ...(life?.gaussian ? { lifetime: rhoLimit(life.gaussian.rho) } : {}),
      }
    : undefined;
  return [eps, rho];
}

/** The (ε, δ)-DP a ρ-zCDP spending gives at δ: ρ + 2√(ρ ln(1/δ)) (Bun & Steinke 2016, Prop. 1.3). */
export function epsilonOfRho(rho: number, delta: number): number {
  return rho <= 0 ? 0 : rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
}

/** An amount of a currency as a decimal number (ε or ρ). */
export function fromUnits(currency: Currency, units: number): number {
  return units / (currency === RHO ? NANO : MICRO);
}

/** What one field's values cost and how many of them alone fit a unit's budgets. */
export interface Releases {
  /** The budget they spend: ε (Laplace, or Gaussian without budget.gaussian) or ρ (zCDP). */
  currency: 'epsilon' | 'rho';
  /** One value's cost, and the window budget, in that currency. */
  each: number;
  budget: number;
  perWindow: number;
  /** Under a lifetime cap: values in all. */
  lifetime?: number;
}

/** How many values of one field alone a unit gets noised per window and, under a cap, in its lifetime. */
export function releases(config: NoiseConfig, path: string): Releases | undefined {
  const f = config.fields[path];
  if (!f) return undefined;
  const { currency, cost } = fieldCost(f, config);
  const limits = currencyLimits(config)[currency] as CurrencyLimits;
  return {
    currency: currency === RHO ? 'rho' : 'epsilon',
    each: fromUnits(currency, cost),
    budget: fromUnits(currency, limits.limit),
    perWindow: Math.floor(limits.limit / cost),
    ...(limits.lifetime !== undefined ? { lifetime: Math.floor(limits.lifetime / cost) } : {}),
  };
}
