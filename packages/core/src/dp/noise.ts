import type Database from 'better-sqlite3';
import { toPlain } from '../plain.js';
import { Cow, compileTrie, readPath, rewrite } from '../privacy/rewrite.js';
import type { RecordTransform } from '../stages.js';
import { type BudgetStore, BudgetTracker, LEASE_FRACTION } from './budget.js';
import { type Currency, type CurrencyLimits, currencyLimits, fieldCost } from './budget-accounting.js';
import { BridgedBudgetStore, type BridgeOptions } from './budget-bridge.js';
import { MemoryBudgetStore } from './budget-memory.js';
import { RESERVE_SHARE, SqliteBudgetStore } from './budget-sqlite.js';
import { gaussianSigma2, laplaceScale, MICRO, toMicro } from './calibrate.js';
import { DEFAULT_MAX_UNITS, type NoiseConfig, type NoiseField } from './config.js';
import { cryptoRng, type Rng } from './rng.js';
import { gaussianSampler, laplaceSampler, type Sampler } from './sample.js';

// Clamp → snap to the granularity grid → add exact discrete noise → write the
// noised number back inside a marker object. The marker replaces the field,
// so a reader can never mistake a noised value for a measured one, and the
// raw value is gone from the record before it is encoded (docs/differential-privacy.md).

/** Where budgets persist, and the clock that picks the budget window. */
export interface NoiseContext {
  /** The ledger's SQLite connection (SqliteStore.db). Without it budgets are per-process. */
  db?: Database.Database;
  /**
   * A PostgreSQL ledger's schema: budgets live in its `dp_budget` table, shared
   * by every writer (budget-postgres.ts), reached through a worker thread (budget-bridge.ts).
   */
  postgres?: BridgeOptions;
  /** Milliseconds since the epoch; default Date.now. */
  now?: () => number;
}

/** A noised field as stored. */
export interface NoisedMarker {
  dp: 'laplace' | 'gaussian';
  value: number;
  epsilon: number;
  delta?: number;
  lower: number;
  upper: number;
  granularity: number;
}

/**
 * Why a configured field holds no value: its window budget is spent (`budget`),
 * its unit's lifetime cap is (`budget-exhausted-lifetime`), the budget store
 * failed (`budget-unavailable`), or it held no finite number (`not-a-number`).
 */
export type SuppressReason = 'budget' | 'budget-exhausted-lifetime' | 'budget-unavailable' | 'not-a-number';

/** A suppressed field as stored. */
export interface SuppressedMarker {
  dp: 'suppressed';
  reason: SuppressReason;
}

/** The noise transform plus the budget lifecycle. */
export interface NoiseTransform extends RecordTransform {
  /**
   * As `apply`, for a record already normalised by toPlain (the privacy
   * pipeline does that first); `cow` is the caller's copy-on-write state, so
   * containers it already made are written in place rather than copied again.
   */
  applyPlain(record: Record<string, unknown>, cow?: Cow): Record<string, unknown>;
  /** Gives unused budget leases back to the store; call before closing the ledger. */
  close(): void;
  /** Units whose budget lease is held in memory (bounded by budget.maxUnits). */
  readonly cachedUnits: number;
}

/** A configured field with everything a record needs computed once (issue 15, item 2). */
interface PreparedField {
  parts: string[];
  /** The budget it spends (ε or ρ) and what one value costs there (budget-accounting.ts). */
  currency: Currency;
  cost: number;
  lo: number;
  hi: number;
  granularity: number;
  decimals: number;
  /** The marker for a noised value, built in one literal (no spread per record). */
  marker: (value: number) => NoisedMarker;
  noise: Sampler;
}

/** Decimal places needed to print multiples of g exactly as written (0.01 → 2, 1e-7 → 7, 5 → 0). */
function decimalsOf(g: number): number {
  const [mant = '', exp] = String(g).split('e');
  const frac = mant.split('.')[1]?.length ?? 0;
  return Math.min(100, Math.max(0, frac - Number(exp ?? 0)));
}

function prepare(path: string, f: NoiseField, config: NoiseConfig): PreparedField {
  const lo = Math.round(f.lower / f.granularity);
  const hi = Math.round(f.upper / f.granularity);
  const sensitivity = hi - lo; // one record moves the grid value by at most this
  const micro = toMicro(f.epsilon);
  const epsilon = micro / MICRO;
  const { lower, upper, granularity } = f;
  let marker: (value: number) => NoisedMarker;
  let noise: Sampler;
  if (f.mechanism === 'laplace') {
    const { s, t } = laplaceScale(sensitivity, micro);
    noise = laplaceSampler(s, t);
    marker = (value) => ({ dp: 'laplace', epsilon, lower, upper, granularity, value });
  } else {
    const delta = f.delta;
    noise = gaussianSampler(gaussianSigma2(sensitivity * sensitivity, epsilon, delta));
    marker = (value) => ({ dp: 'gaussian', epsilon, lower, upper, granularity, delta, value });
  }
  return {
    parts: path.split('.'),
    ...fieldCost(f, config),
    lo,
    hi,
    granularity,
    decimals: decimalsOf(granularity),
    marker,
    noise,
  };
}

/** The privacy unit's key: a non-empty string as is, other scalars as JSON, anything else the shared unknown unit "". */
function unitKey(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  return '';
}

/** As {@link createNoiseTransform} with an explicit RNG; tests use this with a seeded generator. */
export function buildNoiseTransform(config: NoiseConfig, ctx: NoiseContext, rng: Rng): NoiseTransform {
  const fields = Object.entries(config.fields).map(([p, f]) => prepare(p, f, config));
  const unitParts = config.unit.split('.');
  // Per apply: each field's value, then its marker (index = field). Reused, so
  // a record allocates only its markers; cleared after each record so no raw
  // value outlives it here. The trie is compiled once.
  const values: unknown[] = fields.map(() => undefined);
  const decided: (NoisedMarker | SuppressedMarker | undefined)[] = fields.map(() => undefined);
  const trie = compileTrie(fields.map((f, i) => ({ segments: f.parts, action: () => decided[i] })));
  const maxUnits = config.budget.maxUnits ?? DEFAULT_MAX_UNITS;
  const limits = currencyLimits(config);
  const bridge =
    !ctx.db && ctx.postgres
      ? new BridgedBudgetStore({
          ...ctx.postgres,
          lifetimes: limits.map((l) => l && { lifetime: l.lifetime }),
        })
      : undefined;
  const storeFor = (c: Currency, l: CurrencyLimits): BudgetStore =>
    ctx.db
      ? new SqliteBudgetStore(ctx.db, {
          currency: c,
          ...(l.lifetime !== undefined ? { lifetime: l.lifetime } : {}),
        })
      : bridge
        ? bridge.store(c)
        : new MemoryBudgetStore(maxUnits, l.lifetime);
  // One tracker per currency some field spends (ε always exists as a budget; ρ under budget.gaussian).
  const trackers = limits.map((l, c) => {
    if (!l || !fields.some((f) => f.currency === c)) return undefined;
    const lease = Math.max(1, Math.ceil(l.limit / LEASE_FRACTION));
    // A new unit's first lease comes from a per-window reservation (budget-sqlite.ts):
    // a lease's worth, and at least what the costliest record spends. Not under a
    // lifetime cap: every amount spent must pass through the unit's lifetime row.
    const maxCost = fields.reduce((sum, f) => sum + (f.currency === c ? f.cost : 0), 0);
    const reserve = Math.max(lease, maxCost);
    return new BudgetTracker(storeFor(c as Currency, l), {
      limit: l.limit,
      windowMs: config.budget.windowSeconds * 1000,
      maxUnits,
      lease,
      reserve: l.lifetime === undefined && reserve <= Math.floor(l.limit / RESERVE_SHARE) ? reserve : 0,
    });
  });
  const costs: [number, number] = [0, 0];
  const reasons: (SuppressReason | undefined)[] = [undefined, undefined];
  const now = ctx.now ?? Date.now;

  const noised = (f: PreparedField, v: number): NoisedMarker => {
    const clamped = Math.min(f.hi, Math.max(f.lo, Math.round(v / f.granularity)));
    const n = f.noise(rng);
    // Both are integers below 2^53 on the number path, and a double sum is
    // correctly rounded: the same value as Number(BigInt(clamped) + n).
    const z = typeof n === 'number' ? clamped + n : Number(BigInt(clamped) + n);
    return f.marker(Number((z * f.granularity).toFixed(f.decimals)));
  };

  const applyPlain = (record: Record<string, unknown>, cow?: Cow): Record<string, unknown> => {
    let present = 0;
    costs[0] = 0;
    costs[1] = 0;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i] as PreparedField;
      const v = readPath(record, f.parts);
      values[i] = v;
      if (v === undefined) continue;
      present++;
      if (typeof v === 'number' && Number.isFinite(v)) costs[f.currency] += f.cost;
    }
    try {
      if (present === 0) return record;
      // Each currency's fields are decided by its own budget: undefined = granted.
      const unit = costs[0] || costs[1] ? unitKey(readPath(record, unitParts)) : '';
      const t = now();
      for (let c = 0; c < 2; c++) {
        const tracker = trackers[c];
        if (!tracker || !costs[c]) continue;
        try {
          reasons[c] = tracker.spend(unit, t, costs[c] as number)
            ? undefined
            : tracker.refusal === 'lifetime'
              ? 'budget-exhausted-lifetime'
              : 'budget';
        } catch {
          // Busy or broken budget table: fail closed, never log the raw value.
          reasons[c] = 'budget-unavailable';
        }
      }
      for (let i = 0; i < fields.length; i++) {
        const v = values[i];
        const f = fields[i] as PreparedField;
        const reason = reasons[f.currency];
        decided[i] =
          v === undefined
            ? undefined
            : typeof v !== 'number' || !Number.isFinite(v)
              ? { dp: 'suppressed', reason: 'not-a-number' }
              : reason === undefined
                ? noised(f, v)
                : { dp: 'suppressed', reason };
      }
      return rewrite(record, trie, cow ?? new Cow()) as Record<string, unknown>;
    } finally {
      values.fill(undefined);
      decided.fill(undefined);
      reasons.fill(undefined);
    }
  };

  return {
    applyPlain,
    apply: (record) => {
      const cow = new Cow();
      return applyPlain(
        toPlain(record, undefined, (c) => cow.own(c)),
        cow,
      );
    },
    close() {
      bridge?.closing();
      let failed: unknown;
      for (const t of trackers) {
        try {
          t?.close();
        } catch (err) {
          failed ??= err;
        }
      }
      bridge?.close();
      if (failed !== undefined) throw failed;
    },
    get cachedUnits() {
      return trackers.reduce((n, t) => n + (t?.size ?? 0), 0);
    },
  };
}

/**
 * Creates the record transform that noises `config.fields` and spends the
 * per-unit budget. Noise always comes from node:crypto. With `ctx.db` the
 * budget lives in the ledger file's `dp_budget` table (shared by every
 * process writing it); with `ctx.postgres`, in the PostgreSQL ledger's
 * `dp_budget` table (shared by every writer on every host); without either,
 * budgets are per-process and in memory.
 * The transform never mutates its input and never throws for record content.
 * @throws better-sqlite3 errors if `dp_budget` cannot be created in `ctx.db`;
 *   SealogError E_IO / E_CONFIG if the PostgreSQL budget table cannot be reached or created.
 */
export function createNoiseTransform(config: NoiseConfig, ctx: NoiseContext = {}): NoiseTransform {
  return buildNoiseTransform(config, ctx, cryptoRng());
}
