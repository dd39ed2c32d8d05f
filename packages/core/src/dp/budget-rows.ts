import type { Currency } from './budget-accounting.js';

// One stored budget row judged before `sealog dp budget` shows it (issue 20,
// item 4). Every row is attacker input (a hand-edited file or table). A row a
// writer would never leave (a value of the wrong type, a negative, fractional,
// non-finite or impossibly large amount, a window out of range) is not shown
// as spending: it is reported as hostile, with what a writer does with it.
// Writers fail closed on such amounts (budget-sqlite.ts amount(): a stored
// amount that is not a whole number ≥ 0 counts as fully spent), so the report
// says so.

/** Longest unit kept; longer ones are cut (a pseudonym is ~40 characters). */
export const MAX_UNIT = 256;
/** Hostile rows listed at most (all are counted). */
export const MAX_HOSTILE_LISTED = 20;

/** One stored row: a window's spending (`win` set) or a lifetime's, in the currency's integer unit. */
export interface BudgetRow {
  currency: Currency;
  unit: string;
  win?: number;
  spent: number;
}

/** A row not shown as spending: where it is, what is wrong, and what writers do with it. */
export interface HostileRow {
  table: string;
  /** The stored unit (cut at {@link MAX_UNIT}); absent when it is not text or the row has none. */
  unit?: string;
  /** The stored window, when it is a safe integer. */
  window?: number;
  reason: string;
  effect: string;
}

/** Hostile rows: how many, and the first {@link MAX_HOSTILE_LISTED}. */
export interface HostileRows {
  skipped: number;
  hostile: HostileRow[];
}

/** Counts a hostile row, keeping the first few. */
export function addHostile(into: HostileRows, h: HostileRow): void {
  into.skipped++;
  if (into.hostile.length < MAX_HOSTILE_LISTED) into.hostile.push(h);
}

export const cutUnit = (u: string): string => (u.length > MAX_UNIT ? `${u.slice(0, MAX_UNIT)}…` : u);

/** A stored amount as a whole number ≥ 0, else why it is not one. */
export function amountOf(raw: unknown): number | string {
  const n = typeof raw === 'bigint' ? Number(raw) : raw;
  if (typeof n !== 'number') return 'amount is not a number';
  if (Number.isNaN(n)) return 'amount is not a number';
  if (!Number.isFinite(n)) return 'amount is not finite';
  if (n < 0) return 'amount is negative';
  if (!Number.isInteger(n)) return 'amount is not a whole number';
  if (!Number.isSafeInteger(n)) return 'amount is too large to have been spent';
  return n;
}

/** A stored window number ≥ 0 (windows count from 1970), else why it is not one. */
export function windowOf(raw: unknown): number | string {
  const n = typeof raw === 'bigint' ? Number(raw) : raw;
  if (typeof n !== 'number' || Number.isNaN(n)) return 'window is not a number';
  if (!Number.isSafeInteger(n) || n < 0) return 'window is out of range';
  return n;
}

export const WINDOW_EFFECT = 'no writer spends in that window: ignored';
/** What writers do with an amount that is not a real spending (budget-sqlite.ts amount()). */
export function amountEffect(life: boolean): string {
  return life
    ? "fails closed: writers count the unit's lifetime budget as fully spent"
    : 'fails closed: writers count the unit as fully spent in that window';
}

/**
 * A raw budget row (unit, window or undefined for a lifetime row, amount) as a
 * {@link BudgetRow}, or the {@link HostileRow} it is.
 */
export function judgeRow(
  table: string,
  currency: Currency,
  unit: unknown,
  win: unknown,
  spent: unknown,
): BudgetRow | HostileRow {
  const life = win === undefined;
  const w = life ? undefined : windowOf(win);
  const where = {
    table,
    ...(typeof unit === 'string' ? { unit: cutUnit(unit) } : {}),
    ...(typeof w === 'number' ? { window: w } : {}),
  };
  if (typeof unit !== 'string')
    return { ...where, reason: 'unit is not text', effect: 'matches no unit: ignored' };
  if (typeof w === 'string') return { ...where, reason: w, effect: WINDOW_EFFECT };
  const n = amountOf(spent);
  if (typeof n === 'string') return { ...where, reason: n, effect: amountEffect(life) };
  return { currency, unit: where.unit as string, ...(life ? {} : { win: w as number }), spent: n };
}

export const isHostile = (r: BudgetRow | HostileRow): r is HostileRow => 'reason' in r;
