import { SealogError } from '../errors.js';
import { closest } from '../suggest.js';
import { MICRO, rhoFor } from './calibrate.js';

// The noise configuration is plain JSON (it crosses pino's worker boundary)
// and is checked in full at startup: a typo must fail loudly, because a
// silently ignored noise field would log its raw value.

/** Noise for one numeric field. Values are clamped to [lower, upper] and snapped to `granularity`. */
export interface LaplaceField {
  mechanism: 'laplace';
  epsilon: number;
  lower: number;
  upper: number;
  granularity: number;
}

/** As {@link LaplaceField}, with discrete Gaussian noise calibrated for (ε, δ). */
export interface GaussianField {
  mechanism: 'gaussian';
  epsilon: number;
  delta: number;
  lower: number;
  upper: number;
  granularity: number;
}

export type NoiseField = LaplaceField | GaussianField;

/**
 * A zCDP budget for Gaussian fields: given as `{ rho }`, or as an (ε, δ)
 * target converted once at startup to the largest ρ whose
 * ρ + 2√(ρ ln(1/δ)) ≤ ε (calibrate.ts rhoFor). `rho` is always set after validation.
 */
export interface GaussianBudget {
  rho: number;
  epsilon?: number;
  delta?: number;
}

/** Caps per unit across all windows (budget-accounting.ts). */
export interface LifetimeBudget {
  /** Pure ε for what budget.epsilon pays for. */
  epsilon?: number;
  /** ρ for Gaussian fields (only with budget.gaussian). */
  gaussian?: GaussianBudget;
}

/**
 * Per privacy unit and window of `windowSeconds`: at most `epsilon` for
 * Laplace fields (pure ε, basic composition) and, with `gaussian`, at most
 * ρ for Gaussian fields (zCDP, additive); without `gaussian` a Gaussian field
 * spends its ε from `epsilon` as well. `lifetime` caps a unit across windows.
 */
export interface NoiseBudget {
  epsilon: number;
  windowSeconds: number;
  /** Units whose budget state is kept in memory at once. Default {@link DEFAULT_MAX_UNITS}. */
  maxUnits?: number;
  gaussian?: GaussianBudget;
  lifetime?: LifetimeBudget;
}

/** `privacy.noise`: the privacy unit path, its budget, and the noised fields keyed by dotted path. */
export interface NoiseConfig {
  unit: string;
  budget: NoiseBudget;
  fields: Record<string, NoiseField>;
}

/** Default bound on units held in memory by the budget cache. */
export const DEFAULT_MAX_UNITS = 10_000;
/** Smallest ε accepted: ε is applied in whole micro-ε. */
export const MIN_EPSILON = 1 / MICRO;
/** Largest ρ accepted for a budget (ρ is applied in whole nano-ρ; see budget-accounting.ts). */
export const MAX_RHO = 10_000;
/** Largest |bound / granularity|: keeps grid arithmetic exact in doubles and bigints. */
export const MAX_GRID = 2 ** 40;

const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

function fail(field: string, what: string): never {
  throw new SealogError('E_CONFIG', `${field} ${what}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], at: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) {
      const guess = closest(k, allowed);
      fail(
        `${at}.${k}`,
        `is not a known option${guess ? `; did you mean "${at}.${guess}"?` : ''} (known: ${allowed.join(', ')})`,
      );
    }
  }
}

function finite(obj: Record<string, unknown>, key: string, at: string): number {
  const v = obj[key];
  if (v === undefined) fail(`${at}.${key}`, 'is required');
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${at}.${key}`, 'must be a finite number');
  return v;
}

function epsilon(obj: Record<string, unknown>, key: string, at: string): number {
  const v = finite(obj, key, at);
  if (v <= 0) fail(`${at}.${key}`, 'must be > 0');
  if (v < MIN_EPSILON) fail(`${at}.${key}`, `must be at least ${MIN_EPSILON} (ε is applied in micro-ε)`);
  if (v > 1000) fail(`${at}.${key}`, 'must be at most 1000 (larger values give no meaningful privacy)');
  return v;
}

/** `{ "rho": r }` or `{ "epsilon": e, "delta": d }`, resolved to ρ. */
function gaussianBudget(raw: unknown, at: string): GaussianBudget {
  if (!isObject(raw)) fail(at, 'must be an object like { "rho": 1.35 } or { "epsilon": 10, "delta": 1e-6 }');
  checkKeys(raw, ['rho', 'epsilon', 'delta'], at);
  if (raw.rho !== undefined) {
    if (raw.epsilon !== undefined || raw.delta !== undefined)
      fail(at, 'takes either "rho" or "epsilon" with "delta", not both');
    const rho = finite(raw, 'rho', at);
    if (!(rho >= 1e-9 && rho <= MAX_RHO))
      fail(`${at}.rho`, `must be in [1e-9, ${MAX_RHO}] (ρ is applied in nano-ρ)`);
    return { rho };
  }
  if (raw.epsilon === undefined) fail(at, 'needs "rho", or "epsilon" and "delta" (converted to ρ)');
  const eps = epsilon(raw, 'epsilon', at);
  const delta = finite(raw, 'delta', at);
  if (!(delta > 0 && delta < 1)) fail(`${at}.delta`, 'must be in (0, 1), e.g. 1e-6');
  const rho = rhoFor(eps, delta);
  if (!(rho >= 1e-9)) fail(at, `converts to ρ = ${rho}, below 1e-9: give a larger epsilon or delta`);
  return { rho, epsilon: eps, delta };
}

function lifetimeBudget(raw: unknown, at: string, zcdp: boolean): LifetimeBudget {
  if (!isObject(raw)) fail(at, 'must be an object like { "epsilon": 100 } (caps per unit across windows)');
  checkKeys(raw, ['epsilon', 'gaussian'], at);
  if (raw.epsilon === undefined && raw.gaussian === undefined)
    fail(at, 'needs "epsilon", "gaussian" or both');
  const out: LifetimeBudget = {};
  if (raw.epsilon !== undefined) out.epsilon = epsilon(raw, 'epsilon', at);
  if (raw.gaussian !== undefined) {
    if (!zcdp)
      fail(
        `${at}.gaussian`,
        'needs budget.gaussian (zCDP accounting); without it Gaussian fields spend ε and lifetime.epsilon caps them',
      );
    out.gaussian = gaussianBudget(raw.gaussian, `${at}.gaussian`);
  }
  return out;
}

/** Splits a dotted path; throws E_CONFIG for empty or prototype-polluting segments. */
export function parseDottedPath(path: unknown, at: string): string[] {
  if (typeof path !== 'string' || path === '') fail(at, 'must be a non-empty dotted path like "user.id"');
  const parts = path.split('.');
  for (const p of parts) {
    if (p === '') fail(at, `has an empty segment in "${path}"`);
    if (FORBIDDEN_SEGMENTS.has(p)) fail(at, `may not use the segment "${p}"`);
  }
  return parts;
}

function validateField(raw: unknown, at: string): NoiseField {
  if (!isObject(raw)) fail(at, 'must be an object like { "mechanism": "laplace", "epsilon": 1, ... }');
  const mech = raw.mechanism;
  if (mech !== 'laplace' && mech !== 'gaussian') {
    fail(`${at}.mechanism`, `must be "laplace" or "gaussian", got ${JSON.stringify(mech) ?? 'nothing'}`);
  }
  const common = ['mechanism', 'epsilon', 'lower', 'upper', 'granularity'];
  checkKeys(raw, mech === 'gaussian' ? [...common, 'delta'] : common, at);
  const eps = epsilon(raw, 'epsilon', at);
  const lower = finite(raw, 'lower', at);
  const upper = finite(raw, 'upper', at);
  const granularity = finite(raw, 'granularity', at);
  if (granularity <= 0) fail(`${at}.granularity`, 'must be > 0');
  if (lower > upper) fail(`${at}.lower`, `must be <= upper (${lower} > ${upper})`);
  if (Math.abs(lower / granularity) > MAX_GRID || Math.abs(upper / granularity) > MAX_GRID) {
    fail(`${at}.granularity`, `is too fine for the bounds: |bound / granularity| must be <= 2^40`);
  }
  if (Math.round(upper / granularity) - Math.round(lower / granularity) < 1) {
    fail(`${at}.upper`, 'must exceed lower by at least one granularity step');
  }
  if (mech === 'laplace') return { mechanism: mech, epsilon: eps, lower, upper, granularity };
  const delta = finite(raw, 'delta', at);
  if (!(delta > 0 && delta < 1)) fail(`${at}.delta`, 'must be in (0, 1), e.g. 1e-6');
  return { mechanism: mech, epsilon: eps, delta, lower, upper, granularity };
}

/** A field whose one release exceeds a budget that pays for it would always be suppressed. */
function checkAffordable(field: NoiseField, budget: NoiseBudget, at: string, bAt: string): void {
  const zcdp = field.mechanism === 'gaussian' && budget.gaussian !== undefined;
  if (zcdp) {
    const rho = rhoFor(field.epsilon, field.delta);
    for (const [name, g] of [
      ['gaussian', budget.gaussian],
      ['lifetime.gaussian', budget.lifetime?.gaussian],
    ] as const) {
      if (g && rho > g.rho)
        fail(
          at,
          `costs ρ = ${rho.toPrecision(4)} per value (ε ${field.epsilon}, δ ${field.delta}), more than ${bAt}.${name} allows (ρ = ${g.rho.toPrecision(4)}); every value would be suppressed`,
        );
    }
    return;
  }
  for (const [name, e] of [
    ['epsilon', budget.epsilon],
    ['lifetime.epsilon', budget.lifetime?.epsilon],
  ] as const) {
    if (e !== undefined && field.epsilon > e)
      fail(
        `${at}.epsilon`,
        `(${field.epsilon}) exceeds ${bAt}.${name} (${e}); every value would be suppressed`,
      );
  }
}

/**
 * Validates a noise configuration (plain JSON) and returns it typed.
 * @param fieldPath the config path used in messages, e.g. `privacy.noise`.
 * @throws SealogError E_CONFIG naming the exact offending field, e.g.
 *   `privacy.noise.fields.latencyMs.epsilon must be > 0`.
 */
export function validateNoiseConfig(raw: unknown, fieldPath = 'privacy.noise'): NoiseConfig {
  if (!isObject(raw)) fail(fieldPath, 'must be an object with unit, budget and fields');
  checkKeys(raw, ['unit', 'budget', 'fields'], fieldPath);
  if (raw.unit === undefined)
    fail(
      `${fieldPath}.unit`,
      'is required: the (pseudonymized) field that identifies whose data a record is, e.g. "user.id"',
    );
  const unitParts = parseDottedPath(raw.unit, `${fieldPath}.unit`);

  const b = raw.budget;
  const bAt = `${fieldPath}.budget`;
  if (b === undefined) fail(bAt, 'is required, e.g. { "epsilon": 10, "windowSeconds": 86400 }');
  if (!isObject(b)) fail(bAt, 'must be an object like { "epsilon": 10, "windowSeconds": 86400 }');
  checkKeys(b, ['epsilon', 'windowSeconds', 'maxUnits', 'gaussian', 'lifetime'], bAt);
  const budgetEps = epsilon(b, 'epsilon', bAt);
  const windowSeconds = finite(b, 'windowSeconds', bAt);
  if (!Number.isInteger(windowSeconds) || windowSeconds < 1)
    fail(`${bAt}.windowSeconds`, 'must be an integer >= 1');
  const budget: NoiseBudget = { epsilon: budgetEps, windowSeconds };
  if (b.maxUnits !== undefined) {
    const m = b.maxUnits;
    if (typeof m !== 'number' || !Number.isInteger(m) || m < 1)
      fail(`${bAt}.maxUnits`, 'must be an integer >= 1');
    budget.maxUnits = m;
  }
  if (b.gaussian !== undefined) budget.gaussian = gaussianBudget(b.gaussian, `${bAt}.gaussian`);
  if (b.lifetime !== undefined)
    budget.lifetime = lifetimeBudget(b.lifetime, `${bAt}.lifetime`, budget.gaussian !== undefined);

  const f = raw.fields;
  const fAt = `${fieldPath}.fields`;
  if (!isObject(f) || Object.keys(f).length === 0) {
    fail(
      fAt,
      'must be a non-empty object mapping dotted paths to { mechanism, epsilon, lower, upper, granularity }',
    );
  }
  const fields: Record<string, NoiseField> = {};
  const unitPath = unitParts.join('.');
  for (const [path, spec] of Object.entries(f)) {
    const at = `${fAt}.${path}`;
    const parts = parseDottedPath(path, at);
    if (parts.join('.') === unitPath) fail(at, 'is the privacy unit; the unit cannot also be noised');
    const field = validateField(spec, at);
    checkAffordable(field, budget, at, bAt);
    fields[path] = field;
  }
  return { unit: raw.unit as string, budget, fields };
}
