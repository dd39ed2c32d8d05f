import { SealogError } from '../errors.js';
import { qualify, SessionSlot } from '../store/postgres/connect.js';
import type { PgTarget } from '../store/postgres/url.js';
import { addRow, BUDGET_TABLES, type BudgetRows, emptyBudgetRows, MAX_BUDGET_ROWS } from './budget-read.js';

/** A bigint column read as text, as a bigint (PostgreSQL's text form of a bigint always parses). */
const big = (v: unknown): unknown => (typeof v === 'string' && /^-?\d{1,20}$/.test(v) ? BigInt(v) : v);

/**
 * Reads a PostgreSQL ledger schema's budget tables (as budget-read.ts reads a
 * file), in one read-only transaction; missing tables count as empty.
 * @throws SealogError E_IO when the server cannot be reached or the tables read.
 */
export async function readPgBudgets(target: PgTarget, unit?: string): Promise<BudgetRows> {
  const slot = new SessionSlot(target);
  const out: BudgetRows = emptyBudgetRows();
  try {
    await slot.use(async (s) => {
      await s.query('BEGIN TRANSACTION READ ONLY');
      for (const [table, currency, lifetime] of BUDGET_TABLES) {
        const q = qualify(target, table);
        const has = await s.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [q]);
        if (has.rows[0]?.t == null) continue;
        const cols = lifetime
          ? 'unit, NULL::text AS win, spent::text AS spent'
          : 'unit, win::text AS win, spent::text AS spent';
        const where = unit === undefined ? '' : ' WHERE unit = $2';
        const params: unknown[] = [MAX_BUDGET_ROWS + 1 - out.rows.length - out.skipped];
        if (unit !== undefined) params.push(unit);
        const r = await s.query<{ unit: unknown; win: unknown; spent: unknown }>(
          `SELECT ${cols} FROM ${q}${where} LIMIT $1`,
          params,
        );
        for (const row of r.rows)
          if (!addRow(out, table, currency, row.unit, lifetime ? undefined : big(row.win), big(row.spent)))
            break;
      }
      await s.query('COMMIT');
    });
  } catch (err) {
    if (err instanceof SealogError) throw err;
    throw new SealogError(
      'E_IO',
      `cannot read the budget tables of ${target.display}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  } finally {
    await slot.close();
  }
  return out;
}
