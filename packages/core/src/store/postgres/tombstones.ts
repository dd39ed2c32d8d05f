import { parseTombstone, TOMBSTONE_TABLE, type Tombstone } from '../../prefix/tombstone.js';
import { type PgSession, qualify } from './connect.js';
import { lockKey } from './schema.js';

// The tombstones table of a PostgreSQL ledger (prefix/tombstone.ts says what a
// row means). Append-only like the records: the same trigger refuses UPDATE,
// DELETE and TRUNCATE, so a later prune adds a row and never rewrites one.

const ddl = (s: PgSession): string => {
  const q = (table: string) => qualify(s.target, table);
  const fn = q('sealog_append_only');
  const t = q(TOMBSTONE_TABLE);
  return `
CREATE TABLE IF NOT EXISTS ${t} (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, size bigint NOT NULL, note text NOT NULL,
  chain_head bytea NOT NULL, compact bytea NOT NULL, statement_seq bigint NOT NULL, pruned_at bigint NOT NULL);
CREATE OR REPLACE TRIGGER tombstones_append_only BEFORE UPDATE OR DELETE ON ${t}
  FOR EACH ROW EXECUTE FUNCTION ${fn}();
CREATE OR REPLACE TRIGGER tombstones_no_truncate BEFORE TRUNCATE ON ${t}
  FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();
`;
};

/** True when the ledger has a tombstones table. */
export async function hasTombstones(s: PgSession): Promise<boolean> {
  const r = await s.query<{ t: unknown }>('SELECT to_regclass($1)::text AS t', [
    qualify(s.target, TOMBSTONE_TABLE),
  ]);
  return r.rows[0]?.t != null;
}

/** Creates the table unless it exists (the ledger's owner: prune and `sealog init` run as it). */
export async function ensureTombstoneTable(s: PgSession): Promise<void> {
  if (await hasTombstones(s)) return;
  await s.query('BEGIN');
  try {
    await s.query(`SELECT pg_advisory_xact_lock(${lockKey(s.target, 'schema')})`);
    await s.query(ddl(s));
    await s.query('COMMIT');
  } catch (err) {
    await s.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/**
 * The newest tombstone (highest id), parsed but not verified, or undefined when
 * nothing was pruned; a malformed row is returned as its problem. Run inside
 * the caller's snapshot.
 */
export async function latestTombstone(s: PgSession): Promise<Tombstone | string | undefined> {
  if (!(await hasTombstones(s))) return undefined;
  const r = await s.query(
    // Lengths bounded in SQL: an edited row never loads more than a note and a range.
    `SELECT id, size, CASE WHEN octet_length(note) <= 1048576 THEN note END AS note,
       CASE WHEN octet_length(chain_head) <= 32 THEN chain_head END AS chain_head,
       CASE WHEN octet_length(compact) <= 2048 THEN compact END AS compact, statement_seq, pruned_at
     FROM ${qualify(s.target, TOMBSTONE_TABLE)} ORDER BY id DESC LIMIT 1`,
  );
  const row = r.rows[0];
  return row === undefined ? undefined : parseTombstone(row);
}

/** SQL that inserts one tombstone ($1 size, $2 note, $3 chain_head, $4 compact, $5 statement_seq, $6 pruned_at). */
export const insertTombstoneSql = (s: PgSession): string =>
  `INSERT INTO ${qualify(s.target, TOMBSTONE_TABLE)} (size, note, chain_head, compact, statement_seq, pruned_at) VALUES ($1, $2, $3, $4, $5, $6)`;
