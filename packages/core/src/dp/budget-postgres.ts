import { SealogError } from '../errors.js';
import { type PgTarget, qualify, SessionSlot } from '../store/postgres/connect.js';
import { lockKey } from '../store/postgres/schema.js';
import { type AsyncBudgetStore, REFUSED_LIFETIME, type Settlement } from './budget.js';
import { type Currency, EPS, SUFFIX } from './budget-accounting.js';

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
//
// Currencies and lifetime caps (issue 20, item 4; budget-accounting.ts): ρ has
// its own table dp_budget_rho, the ε table keeps its name and shape, so old
// schemas work as they are. Under a lifetime cap a take is one transaction that
// first locks the unit's dp_lifetime(_rho) row (INSERT … ON CONFLICT DO UPDATE,
// which returns its newest committed value), so every take on a unit queues
// there, then leases at most what the cap has left and adds the grant to it.
// A lifetime table is created (and seeded with the spending dp_budget still
// holds) on first use, or by `sealog init`.

/** Table name inside the ledger's schema (the ε window budgets). */
export const PG_BUDGET_TABLE = 'dp_budget';

/** A budget table: the window budgets of a currency, or its lifetime caps. */
export interface BudgetTable {
  currency: Currency;
  lifetime: boolean;
}

/** Every budget table (`sealog init` creates them all, so a restricted writer role finds them). */
export const ALL_BUDGET_TABLES: readonly BudgetTable[] = [0, 1].flatMap((c) => [
  { currency: c as Currency, lifetime: false },
  { currency: c as Currency, lifetime: true },
]);

const tableName = (b: BudgetTable): string =>
  `${b.lifetime ? 'dp_lifetime' : 'dp_budget'}${SUFFIX[b.currency]}`;

/**
 * A unit's lifetime seed from its window rows (aggregate over them): fully spent when one is
 * negative or missing; 0 over no rows (LEAST skips a NULL sum, so it must be coalesced).
 */
const SEED = `CASE WHEN bool_or(spent IS NULL OR spent < 0) THEN ${Number.MAX_SAFE_INTEGER}
  ELSE LEAST(COALESCE(sum(spent), 0), ${Number.MAX_SAFE_INTEGER}) END`;

const ddl = (t: PgTarget, b: BudgetTable): string => {
  const q = qualify(t, tableName(b));
  if (!b.lifetime)
    return `CREATE TABLE IF NOT EXISTS ${q} (
  unit text NOT NULL, win bigint NOT NULL, spent bigint NOT NULL CHECK (spent >= 0),
  granted bigint NOT NULL DEFAULT 0, PRIMARY KEY (unit, win))`;
  const w = qualify(t, tableName({ ...b, lifetime: false }));
  // Seeded with what the window table holds. A negative or missing amount there (its
  // CHECK or NOT NULL dropped by the table's owner) would lower the sum: such a unit
  // starts fully spent instead (2^53 − 1 is past any cap), as in the SQLite file.
  return `CREATE TABLE IF NOT EXISTS ${q} (unit text PRIMARY KEY, spent bigint NOT NULL CHECK (spent >= 0));
INSERT INTO ${q} (unit, spent) SELECT unit, ${SEED} FROM ${w} GROUP BY unit ON CONFLICT DO NOTHING`;
};

/** Privileges a writer role needs on the budget tables (`sealog init --writer`). */
export function budgetGrantsSql(t: PgTarget, roles: { writer?: string; reader?: string }): string {
  const out: string[] = [];
  for (const b of ALL_BUDGET_TABLES) {
    const q = qualify(t, tableName(b));
    out.push(`REVOKE ALL ON ${q} FROM PUBLIC;`);
    if (roles.writer) out.push(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${q} TO "${roles.writer}";`);
    if (roles.reader) out.push(`GRANT SELECT ON ${q} TO "${roles.reader}";`);
  }
  return out.join('\n');
}

/**
 * Creates the budget tables unless they exist (default: all of them; a lifetime
 * table after its window table), serialised with the other schema creators.
 * @throws SealogError E_CONFIG when this role may not create one.
 */
export async function ensureBudgetTable(
  slot: SessionSlot,
  t: PgTarget,
  tables: readonly BudgetTable[] = ALL_BUDGET_TABLES,
): Promise<void> {
  await slot.use(async (s) => {
    const has = async (b: BudgetTable) =>
      (await s.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [qualify(t, tableName(b))]))
        .rows[0]?.t != null;
    const wanted = tables.flatMap((b) => (b.lifetime ? [{ ...b, lifetime: false }, b] : [b]));
    const missing: BudgetTable[] = [];
    for (const b of wanted)
      if (!missing.some((m) => tableName(m) === tableName(b)) && !(await has(b))) missing.push(b);
    if (missing.length === 0) return;
    try {
      await s.query('BEGIN');
      await s.query(`SELECT pg_advisory_xact_lock(${lockKey(t, 'schema')})`);
      // Under the lock: another writer may have created (and seeded) one meanwhile.
      for (const b of missing) if (!(await has(b))) await s.query(ddl(t, b));
      await s.query('COMMIT');
    } catch (err) {
      await s.query('ROLLBACK').catch(() => {});
      const names = missing.map((b) => `"${t.schema}".${tableName(b)}`).join(', ');
      const code = (err as { code?: unknown }).code;
      // Only a missing privilege is the role's fault; say what else failed instead of guessing.
      throw new SealogError(
        'E_CONFIG',
        code === '42501'
          ? `privacy.noise keeps budgets in ${t.display} tables ${names}, which this role cannot create: ` +
              'run `sealog init` once as the role that owns the ledger tables'
          : `privacy.noise could not create its budget tables ${names} in ${t.display} (${String(code ?? 'error')}: ${err instanceof Error ? err.message : String(err)})`,
        { cause: err },
      );
    }
  });
}

/** Options of {@link PgBudgetStore.open}. */
export interface PgBudgetOptions {
  lockTimeoutMs?: number;
  queryTimeoutMs?: number;
  /** The budget kept: ε (default, `dp_budget`) or ρ (`dp_budget_rho`). */
  currency?: Currency;
  /** Lifetime cap per unit in the currency's integer unit; undefined = none. */
  lifetime?: number;
}

/** Budgets in `<schema>.dp_budget`: one row per (unit, window), `spent` in micro-ε including outstanding leases. */
export class PgBudgetStore implements AsyncBudgetStore {
  readonly #slot: SessionSlot;
  readonly #take: string;
  readonly #give: string;
  readonly #add: string;
  readonly #prune: string;
  readonly #life: { cap: number; lock: string; lockAll: string; add: string; give: string } | undefined;

  private constructor(slot: SessionSlot, t: PgTarget, currency: Currency, lifetime: number | undefined) {
    this.#slot = slot;
    const q = qualify(t, tableName({ currency, lifetime: false }));
    const l = qualify(t, tableName({ currency, lifetime: true }));
    this.#life =
      lifetime === undefined
        ? undefined
        : {
            cap: lifetime,
            // Locks the unit's lifetime row and returns its newest committed value. A row made
            // here is seeded with what the window table holds for the unit (spent before a cap
            // was configured: under one, every take makes the row first), as the table's own
            // seed does: `sealog init` makes the table before any spending, so that seed is empty.
            lock: `INSERT INTO ${l} AS l (unit, spent) SELECT $1::text, COALESCE((SELECT ${SEED} FROM ${q} WHERE unit = $1::text), 0)
              ON CONFLICT (unit) DO UPDATE SET spent = l.spent RETURNING spent`,
            lockAll: `SELECT 1 FROM ${l} WHERE unit = ANY($1::text[]) ORDER BY unit FOR UPDATE`,
            add: `INSERT INTO ${l} AS l (unit, spent) SELECT u.unit, u.n FROM unnest($1::text[], $2::bigint[]) AS u(unit, n)
              ON CONFLICT (unit) DO UPDATE SET spent = CASE WHEN l.spent < 0 THEN l.spent ELSE l.spent + excluded.spent END`,
            give: `UPDATE ${l} l SET spent = GREATEST(0, l.spent - u.n)
              FROM unnest($1::text[], $2::bigint[]) AS u(unit, n) WHERE l.unit = u.unit AND l.spent >= 0`,
          };
    // $1 unit, $2 win, $3 need, $4 want, $5 limit. `granted` keeps what this
    // statement added, because RETURNING sees only the new row. A negative `spent`
    // (possible only if the table's owner dropped CHECK (spent >= 0)) fails closed:
    // nothing is granted, given back or added there, so it never turns into room.
    this.#take = `INSERT INTO ${q} AS b (unit, win, spent, granted)
        SELECT $1, $2, LEAST($4::bigint, $5::bigint), LEAST($4::bigint, $5::bigint) WHERE $5::bigint >= $3::bigint
      ON CONFLICT (unit, win) DO UPDATE
        SET spent = b.spent + LEAST($4::bigint, $5::bigint - b.spent), granted = LEAST($4::bigint, $5::bigint - b.spent)
        WHERE b.spent >= 0 AND $5::bigint - b.spent >= $3::bigint
      RETURNING granted`;
    this.#give = `UPDATE ${q} b SET spent = GREATEST(0, b.spent - u.n), granted = 0
      FROM unnest($2::text[], $3::bigint[]) AS u(unit, n) WHERE b.unit = u.unit AND b.win = $1 AND b.spent >= 0`;
    this.#add = `INSERT INTO ${q} AS b (unit, win, spent) SELECT u.unit, $1, u.n FROM unnest($2::text[], $3::bigint[]) AS u(unit, n)
      ON CONFLICT (unit, win) DO UPDATE SET spent = CASE WHEN b.spent < 0 THEN b.spent ELSE b.spent + excluded.spent END`;
    this.#prune = `DELETE FROM ${q} WHERE win < $1`;
  }

  /**
   * Connects and makes sure the table exists.
   * @throws SealogError E_IO (server unreachable), E_CONFIG (table missing and not creatable).
   */
  static async open(target: PgTarget, options: PgBudgetOptions = {}): Promise<PgBudgetStore> {
    const slot = new SessionSlot(target, options);
    const currency = options.currency ?? EPS;
    try {
      await ensureBudgetTable(slot, target, [{ currency, lifetime: options.lifetime !== undefined }]);
    } catch (err) {
      await slot.close();
      throw err;
    }
    return new PgBudgetStore(slot, target, currency, options.lifetime);
  }

  async take(unit: string, window: number, need: number, want: number, limit: number): Promise<number> {
    const life = this.#life;
    if (!life) {
      const r = await this.#slot.use((s) =>
        s.query<{ granted: number | bigint }>(this.#take, [unit, window, need, want, limit]),
      );
      return Number(r.rows[0]?.granted ?? 0);
    }
    return this.#slot.use(async (s) => {
      await s.query('BEGIN');
      try {
        const spent = Number(
          (await s.query<{ spent: string }>(life.lock, [unit])).rows[0]?.spent ?? life.cap,
        );
        // A negative or unreadable amount (the CHECK dropped by the table's owner) is not
        // room to spend: it counts as the whole cap spent, as in the SQLite file.
        const left = Number.isSafeInteger(spent) && spent >= 0 ? life.cap - spent : 0;
        let granted = REFUSED_LIFETIME;
        if (left >= need) {
          const r = await s.query<{ granted: number | bigint }>(this.#take, [
            unit,
            window,
            need,
            Math.min(want, left),
            limit,
          ]);
          granted = Number(r.rows[0]?.granted ?? 0);
          if (granted > 0) await s.query(life.add, [[unit], [granted]]);
        }
        await s.query('COMMIT');
        return granted;
      } catch (err) {
        await s.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  /** Gives unused leases back (`release` ends nothing here: there are no reservations). */
  async settle(window: number, entries: readonly Settlement[], _release = false): Promise<void> {
    const give = entries.filter((e) => e.used === 0 && e.unused > 0);
    const add = entries.filter((e) => e.used > 0);
    if (give.length === 0 && add.length === 0) return;
    await this.#slot.use(async (s) => {
      await s.query('BEGIN');
      try {
        const life = this.#life;
        // A take locks the lifetime row, then the window row: lock the lifetime rows
        // first here too, in one order, or a take and a give-back deadlock.
        if (life) await s.query(life.lockAll, [[...give, ...add].map((e) => e.unit)]);
        if (give.length > 0) {
          const args = [give.map((e) => e.unit), give.map((e) => e.unused)];
          if (life) await s.query(life.give, args);
          await s.query(this.#give, [window, ...args]);
        }
        if (add.length > 0) {
          const args = [add.map((e) => e.unit), add.map((e) => e.used)];
          if (life) await s.query(life.add, args);
          await s.query(this.#add, [window, ...args]);
        }
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
