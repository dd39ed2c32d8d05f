import Database from 'better-sqlite3';
import { SealogError } from '../errors.js';
import {
  type Currency,
  currencyLimits,
  EPS,
  epsilonOfRho,
  fromUnits,
  RHO,
  SUFFIX,
} from './budget-accounting.js';
import {
  addHostile,
  amountEffect,
  amountOf,
  type BudgetRow,
  type HostileRows,
  isHostile,
  judgeRow,
  WINDOW_EFFECT,
  windowOf,
} from './budget-rows.js';
import type { NoiseConfig } from './config.js';

// What `sealog dp budget` shows (issue 20, item 4): the budget tables read
// as they are, per unit (the stored pseudonym: the noise unit is pseudonymized
// before any budget row is written) and window, and per unit across windows.
// Every row is attacker input (a hand-edited file or table): rows a writer
// would never leave are reported as hostile (budget-rows.ts), units are
// bounded, and so is the number of rows read. Spending over a limit is flagged.

export type { BudgetRow, HostileRow } from './budget-rows.js';

/** Rows read at most, over all tables. */
export const MAX_BUDGET_ROWS = 1_000_000;

/** Writers' reservations in one window (budget-sqlite.ts): taken out of every unit's budget there. */
export interface Reservation {
  window: number;
  currency: Currency;
  writers: number;
  amount: number;
}

export interface BudgetRows extends HostileRows {
  rows: BudgetRow[];
  /** SQLite only: reservations per window and currency. */
  reservations: Reservation[];
  /** More than {@link MAX_BUDGET_ROWS} rows: the rest were not read. */
  truncated: boolean;
}

export function emptyBudgetRows(): BudgetRows {
  return { rows: [], reservations: [], skipped: 0, hostile: [], truncated: false };
}

/** Adds one raw row to `out`, as spending or as hostile; false once {@link MAX_BUDGET_ROWS} were read. */
export function addRow(
  out: BudgetRows,
  table: string,
  currency: Currency,
  unit: unknown,
  win: unknown,
  spent: unknown,
): boolean {
  if (out.rows.length + out.skipped >= MAX_BUDGET_ROWS) {
    out.truncated = true;
    return false;
  }
  const r = judgeRow(table, currency, unit, win, spent);
  if (isHostile(r)) addHostile(out, r);
  else out.rows.push(r);
  return true;
}

/** Adds reservation rows (window, amount) to `out`, grouped by window; hostile ones are reported. */
function readReservations(
  out: BudgetRows,
  table: string,
  currency: Currency,
  rows: Iterable<unknown[]>,
): void {
  const by = new Map<number, Reservation>();
  for (const [w, a] of rows) {
    if (out.rows.length + out.skipped + out.reservations.length + by.size >= MAX_BUDGET_ROWS) {
      out.truncated = true;
      break;
    }
    const win = windowOf(w);
    const n = amountOf(a);
    const at = { table, ...(typeof win === 'number' ? { window: win } : {}) };
    if (typeof win === 'string') addHostile(out, { ...at, reason: win, effect: WINDOW_EFFECT });
    else if (typeof n === 'string') addHostile(out, { ...at, reason: n, effect: reserveEffect(n) });
    else {
      const r = by.get(win) ?? { window: win, currency, writers: 0, amount: 0 };
      r.writers++;
      r.amount += n;
      by.set(win, r);
    }
  }
  // One by one: a spread of a million arguments overflows the stack.
  for (const r of [...by.values()].sort((a, b) => a.window - b.window)) out.reservations.push(r);
}

/** What writers do with a reservation whose amount is not a real one. */
const reserveEffect = (reason: string): string =>
  reason === 'amount is not a whole number'
    ? amountEffect(reason, false)
    : "fails closed: writers count every unit's budget in that window as fully spent";

/** The budget tables a ledger may hold: [table, currency, lifetime]. */
export const BUDGET_TABLES = [EPS, RHO].flatMap((c) => [
  [`dp_budget${SUFFIX[c]}`, c, false] as const,
  [`dp_lifetime${SUFFIX[c]}`, c, true] as const,
]);

/**
 * Reads the budget tables of a SQLite ledger file (or a segment directory's
 * budgets.db), read-only; tables an older sealog did not make count as empty.
 * @throws SealogError E_IO when the file cannot be opened as SQLite.
 */
export function readSqliteBudgets(file: string, unit?: string): BudgetRows {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('query_only = ON');
  } catch (err) {
    throw new SealogError('E_IO', `cannot open ${file} as a SQLite ledger: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const out = emptyBudgetRows();
  try {
    const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").pluck();
    for (const [table, currency, lifetime] of BUDGET_TABLES) {
      if (has.get(table) === undefined) continue;
      const cols = lifetime ? 'unit, NULL AS win, spent' : 'unit, win, spent';
      const where = unit === undefined ? '' : ' WHERE unit = ?';
      const stmt = db.prepare(`SELECT ${cols} FROM ${table}${where} LIMIT ?`).raw();
      const args = unit === undefined ? [MAX_BUDGET_ROWS + 1] : [unit, MAX_BUDGET_ROWS + 1];
      for (const [u, w, s] of stmt.iterate(...args) as Iterable<unknown[]>)
        if (!addRow(out, table, currency, u, lifetime ? undefined : w, s)) break;
    }
    for (const currency of [EPS, RHO]) {
      const table = `dp_reserve${SUFFIX[currency]}`;
      if (has.get(table) === undefined) continue;
      const stmt = db.prepare(`SELECT win, amount FROM ${table} LIMIT ?`).raw();
      readReservations(out, table, currency, stmt.iterate(MAX_BUDGET_ROWS + 1) as Iterable<unknown[]>);
    }
  } catch (err) {
    throw new SealogError('E_IO', `cannot read the budget tables of ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    db.close();
  }
  return out;
}

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

/**
 * Groups rows by unit and window; with the noise configuration, adds limits,
 * what remains (flagging spending over a limit) and window start times (a
 * window past the last date is hostile); ρ is also given as (ε, δ) at `delta`
 * (default: budget.gaussian's δ, when it was given as an (ε, δ) target).
 */
export function summarizeBudgets(read: BudgetRows, config?: NoiseConfig, delta?: number): BudgetSummary {
  const limits = config ? currencyLimits(config) : undefined;
  const d = delta ?? config?.budget.gaussian?.delta;
  const windows = new Map<string, UnitSpending>();
  const lifetime = new Map<string, UnitSpending>();
  const bad: HostileRows = { skipped: read.skipped, hostile: [...read.hostile] };
  const outOfRange = (table: string, win: number, unit?: string) =>
    addHostile(bad, {
      table,
      ...(unit !== undefined ? { unit } : {}),
      window: win,
      reason: 'window is out of range',
      effect: WINDOW_EFFECT,
    });
  let overspent = 0;
  for (const r of read.rows) {
    const life = r.win === undefined;
    const key = life ? r.unit : `${r.unit}\u0000${r.win}`;
    const into = life ? lifetime : windows;
    let e = into.get(key);
    if (!e) {
      e = { unit: r.unit, ...(life ? {} : { window: r.win as number }) };
      if (!life && config) {
        const start = windowStart(r.win as number, config.budget.windowSeconds);
        if (start === undefined) {
          outOfRange(`dp_budget${SUFFIX[r.currency]}`, r.win as number, r.unit);
          continue;
        }
        e.start = start;
      }
      into.set(key, e);
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
  const order = (a: UnitSpending, b: UnitSpending) =>
    a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : (a.window ?? 0) - (b.window ?? 0);
  return {
    windows: [...windows.values()].sort(order),
    lifetime: [...lifetime.values()].sort(order),
    reservations,
    overspent,
    skipped: bad.skipped,
    hostile: bad.hostile,
    truncated: read.truncated,
  };
}
