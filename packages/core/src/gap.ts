// Records a writer could not keep are never lost silently: they are counted
// here and the count is sealed into the ledger as a gap record, in the place
// where the missing records would have been (docs/performance.md "Overload").
//
//   {"_sealog":{"gap":{"first":…,"last":…,"levels":{"30":n,…},"reason":"overload","records":N}},
//    "level":40,"levelLabel":"warn","msg":"sealog: N record(s) shed …","time":…}
//
// `_sealog` at the top level of an entry is sealog's own: the encoder renames a
// caller's `_sealog` member to `__sealog`, so no logged record can pose as a gap.

import { canonicalJson } from './encode.js';
import type { PendingEntry } from './store/types.js';

/** Why records were shed: the writer outran the ledger, or the store failed while its queue was full. */
export type GapReason = 'overload' | 'store-failing';

/** Level names of the counts: a record's level as logged (`30`, `"warn"`), else `unknown`. */
export const UNKNOWN_LEVEL = 'unknown';
/** Distinct level names counted per gap; beyond it they count under `other`. */
const MAX_LEVELS = 32;
/** A level name longer than this counts under `other` (it is a label the app chose, not data). */
const MAX_LEVEL_NAME = 32;

export interface GapSummary {
  reason: GapReason;
  records: number;
  levels: Record<string, number>;
  /** Own times (ms) of the first and last shed record (their receive time when they had none). */
  first: number;
  last: number;
}

/** Counts shed records of one reason until the count is sealed. */
export class GapCounter {
  readonly reason: GapReason;
  #records = 0;
  #levels = new Map<string, number>();
  #first = 0;
  #last = 0;

  constructor(reason: GapReason) {
    this.reason = reason;
  }

  get records(): number {
    return this.#records;
  }

  /** Counts `n` shed records of `level` logged at `time` (ms). */
  add(level: string | number | undefined, time: number, n = 1): void {
    if (n <= 0) return;
    let name = level === undefined ? UNKNOWN_LEVEL : String(level);
    // A level is the app's label, but a record can carry its own: keep names that are plain text.
    if (
      name.length > MAX_LEVEL_NAME ||
      !name.isWellFormed() ||
      name === '__proto__' ||
      (!this.#levels.has(name) && this.#levels.size >= MAX_LEVELS)
    ) {
      name = 'other';
    }
    this.#levels.set(name, (this.#levels.get(name) ?? 0) + n);
    const t = Number.isFinite(time) ? Math.trunc(time) : Date.now();
    if (this.#records === 0) {
      this.#first = t;
      this.#last = t;
    } else {
      this.#first = Math.min(this.#first, t);
      this.#last = Math.max(this.#last, t);
    }
    this.#records += n;
  }

  /** Adds another counter's summary (a gap counted on another thread). */
  merge(g: GapSummary): void {
    if (!Number.isSafeInteger(g.records) || g.records <= 0) return;
    // `records` is the count; `levels` only says how it splits (what it does not cover is `unknown`).
    let left = g.records;
    for (const [level, n] of Object.entries(g.levels)) {
      if (!Number.isSafeInteger(n) || n <= 0 || n > left) continue;
      this.add(level, g.first, n);
      left -= n;
    }
    this.add(UNKNOWN_LEVEL, g.first, left);
    this.#last = Math.max(this.#last, Number.isFinite(g.last) ? Math.trunc(g.last) : this.#last);
  }

  /** The counts so far, and resets; undefined when nothing was shed. */
  take(): GapSummary | undefined {
    if (this.#records === 0) return undefined;
    const levels: Record<string, number> = {};
    for (const [k, v] of [...this.#levels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) levels[k] = v;
    const g: GapSummary = {
      reason: this.reason,
      records: this.#records,
      levels,
      first: this.#first,
      last: this.#last,
    };
    this.#records = 0;
    this.#levels = new Map();
    return g;
  }
}

/** The sealed gap record for `g`, as the entry the ledger stores. */
export function gapEntry(g: GapSummary, now: number): PendingEntry {
  const iso = (ms: number) => (Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms));
  const record = {
    _sealog: {
      gap: { first: g.first, last: g.last, levels: g.levels, reason: g.reason, records: g.records },
    },
    level: 40,
    levelLabel: 'warn',
    msg: `sealog: ${g.records} record(s) shed (${g.reason}) between ${iso(g.first)} and ${iso(g.last)}`,
    time: now,
  };
  return { entry: Buffer.from(canonicalJson(record), 'utf8'), ts: now };
}

/** The gap of a stored entry, or undefined when it is not a gap record (for readers and tests). */
export function parseGap(record: unknown): GapSummary | undefined {
  if (typeof record !== 'object' || record === null) return undefined;
  const meta = (record as { _sealog?: unknown })._sealog;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const g = (meta as { gap?: unknown }).gap as Partial<GapSummary> | undefined;
  if (typeof g !== 'object' || g === null) return undefined;
  if (g.reason !== 'overload' && g.reason !== 'store-failing') return undefined;
  if (!Number.isSafeInteger(g.records) || (g.records as number) <= 0) return undefined;
  if (typeof g.levels !== 'object' || g.levels === null) return undefined;
  if (typeof g.first !== 'number' || typeof g.last !== 'number') return undefined;
  return g as GapSummary;
}
