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
import type { NoiseConfig } from './config.js';

// What `sealog dp budget` shows (issue 20, item 4): the budget tables read
// as they are, per unit (the stored pseudonym: the noise unit is pseudonymized
// before any budget row is written) and window, and per unit across windows.
// Every row is attacker input (a hand-edited file or table): values of the
// wrong type are skipped and counted, units are bounded, and so is the number
// of rows read.

/** Rows read at most, over all tables. */
export const MAX_BUDGET_ROWS = 1_000_000;
/** Longest unit shown; longer ones are cut (a pseudonym is ~40 characters). */
const MAX_UNIT = 256;

/** One stored row: a window's spending (`win` set) or a lifetime's, in the currency's integer unit. */
export interface BudgetRow {
  currency: Currency;
  unit: string;
  win?: number;
  spent: number;
}

export interface BudgetRows {
  rows: BudgetRow[];
  /** Rows of the wrong shape, not shown. */
  skipped: number;
  /** More than {@link MAX_BUDGET_ROWS} rows: the rest were not read. */
  truncated: boolean;
}

/** A raw row as a {@link BudgetRow}, or undefined when a value has the wrong type. */
export function budgetRow(
  currency: Currency,
  unit: unknown,
  win: unknown,
  spent: unknown,
): BudgetRow | undefined {
  const n = typeof spent === 'bigint' ? Number(spent) : typeof spent === 'string' ? Number(spent) : spent;
  const w = typeof win === 'bigint' ? Number(win) : typeof win === 'string' ? Number(win) : win;
  if (typeof unit !== 'string' || typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    return undefined;
  if (win !== undefined && (typeof w !== 'number' || !Number.isSafeInteger(w))) return undefined;
  const u = unit.length > MAX_UNIT ? `${unit.slice(0, MAX_UNIT)}…` : unit;
  return { currency, unit: u, ...(win !== undefined ? { win: w as number } : {}), spent: n };
}

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
  const out: BudgetRows = { rows: [], skipped: 0, truncated: false };
  try {
    const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").pluck();
    for (const [table, currency, lifetime] of BUDGET_TABLES) {
      if (has.get(table) === undefined) continue;
      const cols = lifetime ? 'unit, NULL AS win, spent' : 'unit, win, spent';
      const where = unit === undefined ? '' : ' WHERE unit = ?';
      const stmt = db.prepare(`SELECT ${cols} FROM ${table}${where} LIMIT ?`).raw();
      const args = unit === undefined ? [MAX_BUDGET_ROWS + 1] : [unit, MAX_BUDGET_ROWS + 1];
      for (const [u, w, s] of stmt.iterate(...args) as Iterable<unknown[]>) {
        if (out.rows.length >= MAX_BUDGET_ROWS) {
          out.truncated = true;
          break;
        }
        const r = budgetRow(currency, u, lifetime ? undefined : w, s);
        if (r) out.rows.push(r);
        else out.skipped++;
      }
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

export interface BudgetSummary {
  windows: UnitSpending[];
  lifetime: UnitSpending[];
  skipped: number;
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
  }
  if (c === RHO && delta !== undefined) {
    s.epsilon = epsilonOfRho(spent, delta);
    s.delta = delta;
  }
  return s;
}

/**
 * Groups rows by unit and window; with the noise configuration, adds limits,
 * what remains and window start times; ρ is also given as (ε, δ) at `delta`
 * (default: budget.gaussian's δ, when it was given as an (ε, δ) target).
 */
export function summarizeBudgets(read: BudgetRows, config?: NoiseConfig, delta?: number): BudgetSummary {
  const limits = config ? currencyLimits(config) : undefined;
  const d = delta ?? config?.budget.gaussian?.delta;
  const windows = new Map<string, UnitSpending>();
  const lifetime = new Map<string, UnitSpending>();
  for (const r of read.rows) {
    const life = r.win === undefined;
    const key = life ? r.unit : `${r.unit}\u0000${r.win}`;
    const into = life ? lifetime : windows;
    let e = into.get(key);
    if (!e) {
      e = { unit: r.unit, ...(life ? {} : { window: r.win as number }) };
      if (!life && config)
        e.start = new Date((r.win as number) * config.budget.windowSeconds * 1000).toISOString();
      into.set(key, e);
    }
    const l = limits?.[r.currency];
    const cap = life ? l?.lifetime : l?.limit;
    e[r.currency === RHO ? 'rho' : 'epsilon'] = spending(r.currency, r.spent, cap, d);
  }
  const order = (a: UnitSpending, b: UnitSpending) =>
    a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : (a.window ?? 0) - (b.window ?? 0);
  return {
    windows: [...windows.values()].sort(order),
    lifetime: [...lifetime.values()].sort(order),
    skipped: read.skipped,
    truncated: read.truncated,
  };
}
