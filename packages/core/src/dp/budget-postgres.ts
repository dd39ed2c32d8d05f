import { SealogError } from '../errors.js';
import { type PgTarget, qualify, SessionSlot } from '../store/postgres/connect.js';
import { lockKey } from '../store/postgres/schema.js';
import type { AsyncBudgetStore, Settlement } from './budget.js';

// ε budgets in a PostgreSQL ledger's schema, shared by every writer on every
// host (issue 20, item 1). As in the SQLite file, a lease is counted as spent
// in the table before it is used, so no number of writers can overspend. Here a
// lease is ONE statement, INSERT … ON CONFLICT DO UPDATE … WHERE, at the
// default READ COMMITTED: the conflicting row is locked and the SET and WHERE
// are evaluated on its newest committed version, so two takes on one unit
// queue on the row lock and the second sees what the first spent (a concurrent
// first insert makes the loser wait and take the update path). A
// read-then-write in two statements would let both read the same `spent`.
//
// Units are stored as the record carries them after the privacy pipeline: the
// noise unit must be pseudonymized (privacy/config.ts), so `unit` holds
// `psn:<kid>:<digest>`, never a raw identifier. No reservations here: each
// new unit costs one round trip for its first lease.

/** Table name inside the ledger's schema. */
export const PG_BUDGET_TABLE = 'dp_budget';

const ddl = (t: PgTarget): string => `
CREATE TABLE IF NOT EXISTS ${qualify(t, PG_BUDGET_TABLE)} (
  unit text NOT NULL, win bigint NOT NULL, spent bigint NOT NULL CHECK (spent >= 0),
  granted bigint NOT NULL DEFAULT 0, PRIMARY KEY (unit, win))`;

/** Privileges a writer role needs on the budget table (`sealog init --writer`). */
export function budgetGrantsSql(t: PgTarget, roles: { writer?: string; reader?: string }): string {
  const q = qualify(t, PG_BUDGET_TABLE);
  const out = [`REVOKE ALL ON ${q} FROM PUBLIC;`];
  if (roles.writer) out.push(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${q} TO "${roles.writer}";`);
  if (roles.reader) out.push(`GRANT SELECT ON ${q} TO "${roles.reader}";`);
  return out.join('\n');
}

/**
 * Creates the budget table unless it exists, serialised with the other schema
 * creators. @throws SealogError E_CONFIG when this role may not create it.
 */
export async function ensureBudgetTable(slot: SessionSlot, t: PgTarget): Promise<void> {
  await slot.use(async (s) => {
    const has = async () =>
      (
        await s.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [
          qualify(t, PG_BUDGET_TABLE),
        ])
      ).rows[0]?.t != null;
    if (await has()) return;
    try {
      await s.query('BEGIN');
      await s.query(`SELECT pg_advisory_xact_lock(${lockKey(t, 'schema')})`);
      await s.query(ddl(t));
      await s.query('COMMIT');
    } catch (err) {
      await s.query('ROLLBACK').catch(() => {});
      throw new SealogError(
        'E_CONFIG',
        `privacy.noise keeps ε budgets in ${t.display} table "${t.schema}".${PG_BUDGET_TABLE}, which this role cannot create: ` +
          'run `sealog init` once as the role that owns the ledger tables',
        { cause: err },
      );
    }
  });
}

/** Budgets in `<schema>.dp_budget`: one row per (unit, window), `spent` in micro-ε including outstanding leases. */
export class PgBudgetStore implements AsyncBudgetStore {
  readonly #slot: SessionSlot;
  readonly #take: string;
  readonly #give: string;
  readonly #add: string;
  readonly #prune: string;

  private constructor(slot: SessionSlot, t: PgTarget) {
    this.#slot = slot;
    const q = qualify(t, PG_BUDGET_TABLE);
    // $1 unit, $2 win, $3 need, $4 want, $5 limit. `granted` keeps what this
    // statement added, because RETURNING sees only the new row.
    this.#take = `INSERT INTO ${q} AS b (unit, win, spent, granted)
        SELECT $1, $2, LEAST($4::bigint, $5::bigint), LEAST($4::bigint, $5::bigint) WHERE $5::bigint >= $3::bigint
      ON CONFLICT (unit, win) DO UPDATE
        SET spent = b.spent + LEAST($4::bigint, $5::bigint - b.spent), granted = LEAST($4::bigint, $5::bigint - b.spent)
        WHERE $5::bigint - b.spent >= $3::bigint
      RETURNING granted`;
    this.#give = `UPDATE ${q} b SET spent = GREATEST(0, b.spent - u.n), granted = 0
      FROM unnest($2::text[], $3::bigint[]) AS u(unit, n) WHERE b.unit = u.unit AND b.win = $1`;
    this.#add = `INSERT INTO ${q} AS b (unit, win, spent) SELECT u.unit, $1, u.n FROM unnest($2::text[], $3::bigint[]) AS u(unit, n)
      ON CONFLICT (unit, win) DO UPDATE SET spent = b.spent + excluded.spent`;
    this.#prune = `DELETE FROM ${q} WHERE win < $1`;
  }

  /**
   * Connects and makes sure the table exists.
   * @throws SealogError E_IO (server unreachable), E_CONFIG (table missing and not creatable).
   */
  static async open(
    target: PgTarget,
    options: { lockTimeoutMs?: number; queryTimeoutMs?: number } = {},
  ): Promise<PgBudgetStore> {
    const slot = new SessionSlot(target, options);
    try {
      await ensureBudgetTable(slot, target);
    } catch (err) {
      await slot.close();
      throw err;
    }
    return new PgBudgetStore(slot, target);
  }

  async take(unit: string, window: number, need: number, want: number, limit: number): Promise<number> {
    const r = await this.#slot.use((s) =>
      s.query<{ granted: number | bigint }>(this.#take, [unit, window, need, want, limit]),
    );
    return Number(r.rows[0]?.granted ?? 0);
  }

  /** Gives unused leases back (`release` ends nothing here: there are no reservations). */
  async settle(window: number, entries: readonly Settlement[], _release = false): Promise<void> {
    const give = entries.filter((e) => e.used === 0 && e.unused > 0);
    const add = entries.filter((e) => e.used > 0);
    if (give.length === 0 && add.length === 0) return;
    await this.#slot.use(async (s) => {
      await s.query('BEGIN');
      try {
        if (give.length > 0)
          await s.query(this.#give, [window, give.map((e) => e.unit), give.map((e) => e.unused)]);
        if (add.length > 0)
          await s.query(this.#add, [window, add.map((e) => e.unit), add.map((e) => e.used)]);
        await s.query('COMMIT');
      } catch (err) {
        await s.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  async prune(window: number): Promise<void> {
    await this.#slot.use((s) => s.query(this.#prune, [window]));
  }

  close(): Promise<void> {
    return this.#slot.close();
  }
}
