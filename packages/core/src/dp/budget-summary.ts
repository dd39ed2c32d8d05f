import { type Currency, currencyLimits, epsilonOfRho, fromUnits, RHO, SUFFIX } from './budget-accounting.js';
import type { BudgetRows } from './budget-read.js';
import { addHostile, type BudgetRow, type HostileRows, WINDOW_EFFECT } from './budget-rows.js';
import type { NoiseConfig } from './config.js';

// `sealog dp budget`'s summary of the rows budget-read.ts read (issue 20, item
// 4): per unit and window, and per unit over its lifetime, with limits and what
// remains when the configuration is known. Spending over a limit is flagged (the
// limit was lowered since, the table was edited, or a bug overspent), and a
// window no date can hold is reported as hostile instead of failing the command.

/** Spending of one currency, with what is left when the configuration is known. */
export interface Spending {
  spent: number;
  limit?: number;
  remaining?: number;
  /** Spent more than the limit: the limit was lowered since, the table was edited, or a bug overspent. */
  overspent?: true;
  /** For ρ: the (ε, δ)-DP the spent ρ gives at `delta`. */
  epsilon?: number;
  delta?: number;
}

export interface UnitSpending {
  unit: string;
  /** Absent for the lifetime. */
  window?: number;
  /** The window's start (ISO 8601), when the configuration gives its length. */
  start?: string;
  epsilon?: Spending;
  rho?: Spending;
}

/** Writers' reservations in a window, each taken out of every unit's budget there. */
export interface ReservedSpending {
  window: number;
  start?: string;
  currency: 'epsilon' | 'rho';
  writers: number;
  reserved: number;
}

export interface BudgetSummary extends HostileRows {
  windows: UnitSpending[];
  lifetime: UnitSpending[];
  reservations: ReservedSpending[];
  /** Budgets (window or lifetime, per currency) spent over their limit. */
  overspent: number;
  truncated: boolean;
}

function spending(
  c: Currency,
  units: number,
  limit: number | undefined,
  delta: number | undefined,
): Spending {
  const spent = fromUnits(c, units);
  const s: Spending = { spent };
  if (limit !== undefined) {
    s.limit = fromUnits(c, limit);
    s.remaining = fromUnits(c, Math.max(0, limit - units));
    if (units > limit) s.overspent = true;
  }
  if (c === RHO && delta !== undefined) {
    s.epsilon = epsilonOfRho(spent, delta);
    s.delta = delta;
  }
  return s;
}

/** Latest time a Date holds, in ms (ECMA-262 21.4.1.22). */
const MAX_DATE_MS = 8.64e15;

/** A window's start as ISO 8601, or undefined when it lies beyond what a date can hold. */
function windowStart(win: number, windowSeconds: number): string | undefined {
  const ms = win * windowSeconds * 1000;
  return ms <= MAX_DATE_MS ? new Date(ms).toISOString() : undefined;
}

/** Order of rows: by unit, then window (lifetime rows have none), then currency. */
function byUnitWindow(a: BudgetRow, b: BudgetRow): number {
  if (a.unit !== b.unit) return a.unit < b.unit ? -1 : 1;
  return (a.win ?? -1) - (b.win ?? -1) || a.currency - b.currency;
}

/**
 * Groups rows by unit and window (sorting `read.rows` in place); with the noise configuration, adds limits,
 * what remains (flagging spending over a limit) and window start times (a
 * window past the last date is hostile); ρ is also given as (ε, δ) at `delta`
 * (default: budget.gaussian's δ, when it was given as an (ε, δ) target).
 */
export function summarizeBudgets(read: BudgetRows, config?: NoiseConfig, delta?: number): BudgetSummary {
  const limits = config ? currencyLimits(config) : undefined;
  const d = delta ?? config?.budget.gaussian?.delta;
  const windows: UnitSpending[] = [];
  const lifetime: UnitSpending[] = [];
  const bad: HostileRows = { skipped: read.skipped, hostile: [...read.hostile] };
  const outOfRange = (table: string, win: number, unit?: string) =>
    addHostile(bad, {
      table,
      ...(unit !== undefined ? { unit } : {}),
      window: win,
      reason: 'window is out of range',
      effect: WINDOW_EFFECT,
    });
  // Sorted in place (unit, then window), the rows of one unit and window are adjacent: no
  // map of a million keys. Each window's start is made once.
  const rows = read.rows.sort(byUnitWindow);
  const starts = new Map<number, string | undefined>();
  const startOf = (win: number, ws: number) => {
    if (!starts.has(win)) starts.set(win, windowStart(win, ws));
    return starts.get(win);
  };
  let overspent = 0;
  for (const r of rows) {
    const life = r.win === undefined;
    const into = life ? lifetime : windows;
    let e = into[into.length - 1];
    if (!e || e.unit !== r.unit || e.window !== r.win) {
      e = { unit: r.unit, ...(life ? {} : { window: r.win as number }) };
      if (!life && config) {
        const start = startOf(r.win as number, config.budget.windowSeconds);
        if (start === undefined) {
          outOfRange(`dp_budget${SUFFIX[r.currency]}`, r.win as number, r.unit);
          continue;
        }
        e.start = start;
      }
      into.push(e);
    }
    const l = limits?.[r.currency];
    const s = spending(r.currency, r.spent, life ? l?.lifetime : l?.limit, d);
    if (s.overspent) overspent++;
    e[r.currency === RHO ? 'rho' : 'epsilon'] = s;
  }
  const reservations: ReservedSpending[] = [];
  for (const r of read.reservations) {
    const start = config && windowStart(r.window, config.budget.windowSeconds);
    if (config && start === undefined) {
      outOfRange(`dp_reserve${SUFFIX[r.currency]}`, r.window);
      continue;
    }
    reservations.push({
      window: r.window,
      ...(start ? { start } : {}),
      currency: r.currency === RHO ? 'rho' : 'epsilon',
      writers: r.writers,
      reserved: fromUnits(r.currency, r.amount),
    });
  }
  return {
    windows,
    lifetime,
    reservations,
    overspent,
    skipped: bad.skipped,
    hostile: bad.hostile,
    truncated: read.truncated,
  };
}
