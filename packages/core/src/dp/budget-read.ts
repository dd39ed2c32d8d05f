import Database from 'better-sqlite3';
import { SealogError } from '../errors.js';
import { type Currency, EPS, RHO, SUFFIX } from './budget-accounting.js';
import {
  addHostile,
  amountOf,
  type BudgetRow,
  type HostileRows,
  isHostile,
  judgeRow,
  WINDOW_EFFECT,
  windowOf,
} from './budget-rows.js';

// What `sealog dp budget` shows (issue 20, item 4): the budget tables read
// as they are, per unit (the stored pseudonym: the noise unit is pseudonymized
// before any budget row is written) and window, and per unit across windows.
// Every row is attacker input (a hand-edited file or table): rows a writer
// would never leave are reported as hostile (budget-rows.ts), units are
// bounded, and so is the number of rows read. Spending over a limit is flagged.

export type { BudgetRow, HostileRow } from './budget-rows.js';
export {
  type BudgetSummary,
  type ReservedSpending,
  type Spending,
  summarizeBudgets,
  type UnitSpending,
} from './budget-summary.js';

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
    else if (typeof n === 'string') addHostile(out, { ...at, reason: n, effect: RESERVE_EFFECT });
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

/** What writers do with a reservation whose amount is not a real one (budget-sqlite.ts amount()). */
const RESERVE_EFFECT = "fails closed: writers count every unit's budget in that window as fully spent";

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
