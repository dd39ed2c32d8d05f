import { budgetGrantsSql, ensureBudgetTable } from '../../dp/budget-postgres.js';
import { SealogError } from '../../errors.js';
import { connectPg, type PgSession, parsePgUrl, pgError, SessionSlot } from './connect.js';
import { assertPgLedger, ensurePgSchema, ensureTimestampTable, grantsSql } from './schema.js';
import { ensureTombstoneTable } from './tombstones.js';

/**
 * Creates the ledger schema (if absent) and, with roles, grants writers only
 * SELECT/INSERT (plus moving the head forward) and readers only SELECT; PUBLIC
 * gets nothing. Run once as the schema owner (`sealog init`). Returns the SQL of the grants.
 * @throws SealogError E_CONFIG (role names), E_IO, E_NOT_LEDGER.
 */
export async function initPgLedger(
  url: string,
  roles: { writer?: string; reader?: string } = {},
): Promise<string> {
  const target = parsePgUrl(url);
  const sql = `${grantsSql(target, roles)}\n${budgetGrantsSql(target, roles)}`;
  const s = await connectPg(target);
  try {
    await ensurePgSchema(s, Date.now());
    await assertPgLedger(s);
    // A ledger made before checkpoint_timestamps existed gets it here, as its owner.
    if (!(await ensureTimestampTable(s))) {
      throw new SealogError(
        'E_CONFIG',
        `cannot create checkpoint_timestamps in schema "${target.schema}": run \`sealog init\` as the role that owns the ledger tables`,
      );
    }
    // Pruning keeps tombstones here (docs/lifecycle.md "PostgreSQL ledgers"); readers need SELECT on it.
    await ensureTombstoneTable(s);
    await assertOwned(s);
    // privacy.noise's ε budgets (docs/differential-privacy.md): writers update them, so the owner creates the table.
    const slot = new SessionSlot(target);
    try {
      await ensureBudgetTable(slot, target);
    } finally {
      await slot.close();
    }
    try {
      await s.query(sql);
    } catch (err) {
      throw pgError(target, 'grant privileges on', err);
    }
    return sql;
  } finally {
    await s.end();
  }
}

/**
 * The privileges below only confine writers if the tables belong to this role:
 * a table's owner may drop its triggers and UPDATE or DELETE at will. A schema
 * created by a writer that opened the ledger before `init` ran is refused.
 * @throws SealogError E_CONFIG naming the tables and their owner.
 */
async function assertOwned(s: PgSession): Promise<void> {
  const r = await s.query<{ name: string; owner: string; me: string }>(
    `SELECT c.relname AS name, pg_get_userbyid(c.relowner) AS owner, current_user AS me
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`,
    [s.target.schema],
  );
  const foreign = r.rows.filter((row) => row.owner !== row.me);
  if (foreign.length > 0) {
    const owners = [...new Set(foreign.map((row) => row.owner))].join(', ');
    throw new SealogError(
      'E_CONFIG',
      `the ledger tables in schema "${s.target.schema}" (${foreign.map((row) => row.name).join(', ')}) belong to ${owners}, not to ${r.rows[0]!.me}: ` +
        'a table owner can drop the append-only triggers. Run `sealog init` as the role that owns them, or ' +
        '`ALTER TABLE … OWNER TO` this role first (and never let a writer role create the schema)',
    );
  }
}
