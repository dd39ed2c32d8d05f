import type Database from 'better-sqlite3';
import { toPlain } from '../plain.js';
import { Cow, compileTrie, readPath, rewrite } from '../privacy/rewrite.js';
import type { RecordTransform } from '../stages.js';
import { BudgetTracker, LEASE_FRACTION, MemoryBudgetStore, SqliteBudgetStore } from './budget.js';
import { gaussianSigma2, laplaceScale, MICRO, toMicro } from './calibrate.js';
import { DEFAULT_MAX_UNITS, type NoiseConfig, type NoiseField } from './config.js';
import { cryptoRng, type Rng } from './rng.js';
import { discreteGaussian, discreteLaplace } from './sample.js';

// Clamp → snap to the granularity grid → add exact discrete noise → write the
// noised number back inside a marker object. The marker replaces the field,
// so a reader can never mistake a noised value for a measured one, and the
// raw value is gone from the record before it is encoded (docs/differential-privacy.md).

/** Where budgets persist, and the clock that picks the budget window. */
export interface NoiseContext {
  /** The ledger's SQLite connection (SqliteStore.db). Without it budgets are per-process. */
  db?: Database.Database;
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

/** Why a configured field holds no value. */
export type SuppressReason = 'budget' | 'budget-unavailable' | 'not-a-number';

/** A suppressed field as stored. */
export interface SuppressedMarker {
  dp: 'suppressed';
  reason: SuppressReason;
}

/** The noise transform plus the budget lifecycle. */
export interface NoiseTransform extends RecordTransform {
  /** As `apply`, for a record already normalised by toPlain (the privacy pipeline does that first). */
  applyPlain(record: Record<string, unknown>): Record<string, unknown>;
  /** Gives unused budget leases back to the store; call before closing the ledger. */
  close(): void;
  /** Units whose budget lease is held in memory (bounded by budget.maxUnits). */
  readonly cachedUnits: number;
}

interface PreparedField {
  parts: string[];
  micro: number;
  lo: number;
  hi: number;
  granularity: number;
  decimals: number;
  meta: Omit<NoisedMarker, 'value'>;
  noise: (rng: Rng) => bigint;
}

/** Decimal places needed to print multiples of g exactly as written (0.01 → 2, 1e-7 → 7, 5 → 0). */
function decimalsOf(g: number): number {
  const [mant = '', exp] = String(g).split('e');
  const frac = mant.split('.')[1]?.length ?? 0;
  return Math.min(100, Math.max(0, frac - Number(exp ?? 0)));
}

function prepare(path: string, f: NoiseField): PreparedField {
  const lo = Math.round(f.lower / f.granularity);
  const hi = Math.round(f.upper / f.granularity);
  const sensitivity = hi - lo; // one record moves the grid value by at most this
  const micro = toMicro(f.epsilon);
  const meta: Omit<NoisedMarker, 'value'> = {
    dp: f.mechanism,
    epsilon: micro / MICRO,
    lower: f.lower,
    upper: f.upper,
    granularity: f.granularity,
  };
  let noise: (rng: Rng) => bigint;
  if (f.mechanism === 'laplace') {
    const { s, t } = laplaceScale(sensitivity, micro);
    noise = (rng) => discreteLaplace(rng, s, t);
  } else {
    meta.delta = f.delta;
    const sigma2 = gaussianSigma2(sensitivity * sensitivity, micro / MICRO, f.delta);
    noise = (rng) => discreteGaussian(rng, sigma2);
  }
  return {
    parts: path.split('.'),
    micro,
    lo,
    hi,
    granularity: f.granularity,
    decimals: decimalsOf(f.granularity),
    meta,
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
  const fields = Object.entries(config.fields).map(([p, f]) => prepare(p, f));
  const unitParts = config.unit.split('.');
  // The marker each field gets in the current apply; the trie is compiled once.
  const decided = new Map<PreparedField, NoisedMarker | SuppressedMarker>();
  const trie = compileTrie(fields.map((f) => ({ segments: f.parts, action: () => decided.get(f) })));
  const maxUnits = config.budget.maxUnits ?? DEFAULT_MAX_UNITS;
  const limit = toMicro(config.budget.epsilon);
  const store = ctx.db ? new SqliteBudgetStore(ctx.db) : new MemoryBudgetStore(maxUnits);
  const tracker = new BudgetTracker(store, {
    limit,
    windowMs: config.budget.windowSeconds * 1000,
    maxUnits,
    lease: Math.max(1, Math.ceil(limit / LEASE_FRACTION)),
  });
  const now = ctx.now ?? Date.now;

  const noised = (f: PreparedField, v: number): NoisedMarker => {
    const clamped = Math.min(f.hi, Math.max(f.lo, Math.round(v / f.granularity)));
    const z = BigInt(clamped) + f.noise(rng);
    const value = Number((Number(z) * f.granularity).toFixed(f.decimals));
    return { ...f.meta, value };
  };

  const applyPlain = (record: Record<string, unknown>): Record<string, unknown> => {
    const present: [PreparedField, unknown][] = [];
    let cost = 0;
    for (const f of fields) {
      const v = readPath(record, f.parts);
      if (v === undefined) continue;
      present.push([f, v]);
      if (typeof v === 'number' && Number.isFinite(v)) cost += f.micro;
    }
    if (present.length === 0) return record;
    let reason: SuppressReason = 'budget';
    let granted = false;
    if (cost > 0) {
      try {
        granted = tracker.spend(unitKey(readPath(record, unitParts)), now(), cost);
      } catch {
        // Busy or broken budget table: fail closed, never log the raw value.
        reason = 'budget-unavailable';
      }
    }
    decided.clear();
    for (const [f, v] of present) {
      const numeric = typeof v === 'number' && Number.isFinite(v);
      decided.set(
        f,
        !numeric
          ? { dp: 'suppressed', reason: 'not-a-number' }
          : granted
            ? noised(f, v)
            : { dp: 'suppressed', reason },
      );
    }
    try {
      return rewrite(record, trie, new Cow()) as Record<string, unknown>;
    } finally {
      decided.clear();
    }
  };

  return {
    applyPlain,
    apply: (record) => applyPlain(toPlain(record)),
    close() {
      tracker.close();
    },
    get cachedUnits() {
      return tracker.size;
    },
  };
}

/**
 * Creates the record transform that noises `config.fields` and spends the
 * per-unit budget. Noise always comes from node:crypto. With `ctx.db` the
 * budget lives in the ledger file's `dp_budget` table (shared by every
 * process writing it); without it, budgets are per-process and in memory.
 * The transform never mutates its input and never throws for record content.
 * @throws better-sqlite3 errors if `dp_budget` cannot be created in `ctx.db`.
 */
export function createNoiseTransform(config: NoiseConfig, ctx: NoiseContext = {}): NoiseTransform {
  return buildNoiseTransform(config, ctx, cryptoRng());
}
