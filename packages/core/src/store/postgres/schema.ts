import { SealogError } from '../../errors.js';
import { FORMAT_ID, SCHEMA_VERSION } from '../schema.js';
import { type PgSession, type PgTarget, pgError, qualify } from './connect.js';

// The PostgreSQL form of the ledger schema: the same tables, columns and bytes
// as the SQLite file (docs/format.md), with PostgreSQL types. Append-only is
// enforced twice: triggers refuse UPDATE, DELETE and TRUNCATE for everyone
// (the owner included), and `sealog init --writer ROLE` grants writers only
// INSERT. Neither stops a superuser; the chain and signed checkpoints do.

/**
 * checkpoint_timestamps (docs/timestamps.md §5): RFC 3161 tokens beside the
 * checkpoints, append-only like them. Needs sealog_append_only() (made by ddl).
 */
const timestampsDdl = (t: PgTarget): string => {
  const q = (table: string) => qualify(t, table);
  const fn = q('sealog_append_only');
  return `
CREATE TABLE IF NOT EXISTS ${q('checkpoint_timestamps')} (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, size bigint NOT NULL, note_sha256 bytea NOT NULL,
  token bytea NOT NULL, tsa_time bigint NOT NULL, created_at bigint NOT NULL);
CREATE INDEX IF NOT EXISTS checkpoint_timestamps_size ON ${q('checkpoint_timestamps')} (size);
CREATE OR REPLACE TRIGGER checkpoint_timestamps_append_only BEFORE UPDATE OR DELETE ON ${q('checkpoint_timestamps')}
  FOR EACH ROW EXECUTE FUNCTION ${fn}();
CREATE OR REPLACE TRIGGER checkpoint_timestamps_no_truncate BEFORE TRUNCATE ON ${q('checkpoint_timestamps')}
  FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();
`;
};

const ddl = (t: PgTarget): string => {
  const q = (table: string) => qualify(t, table);
  const fn = q('sealog_append_only');
  return `
CREATE SCHEMA IF NOT EXISTS "${t.schema}";
CREATE TABLE IF NOT EXISTS ${q('sealog_meta')} (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS ${q('sealog_schema')} (version integer PRIMARY KEY, applied_at bigint NOT NULL);
CREATE TABLE IF NOT EXISTS ${q('records')} (
  seq bigint PRIMARY KEY, ts bigint NOT NULL, entry bytea NOT NULL, chain bytea NOT NULL);
CREATE INDEX IF NOT EXISTS records_ts ON ${q('records')} (ts);
CREATE TABLE IF NOT EXISTS ${q('ledger_state')} (
  id integer PRIMARY KEY CHECK (id = 0), size bigint NOT NULL, chain_head bytea NOT NULL, compact bytea NOT NULL);
CREATE TABLE IF NOT EXISTS ${q('checkpoints')} (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, size bigint NOT NULL, note text NOT NULL, created_at bigint NOT NULL,
  chain_head bytea, compact bytea);
CREATE INDEX IF NOT EXISTS checkpoints_size ON ${q('checkpoints')} (size);
CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'sealog: % is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE OR REPLACE FUNCTION ${q('sealog_state_forward')}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.size < OLD.size THEN
    RAISE EXCEPTION 'sealog: the ledger size cannot go back' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON ${q('records')}
  FOR EACH ROW EXECUTE FUNCTION ${fn}();
CREATE OR REPLACE TRIGGER records_no_truncate BEFORE TRUNCATE ON ${q('records')}
  FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();
CREATE OR REPLACE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON ${q('checkpoints')}
  FOR EACH ROW EXECUTE FUNCTION ${fn}();
CREATE OR REPLACE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON ${q('checkpoints')}
  FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();
CREATE OR REPLACE TRIGGER state_forward BEFORE UPDATE ON ${q('ledger_state')}
  FOR EACH ROW EXECUTE FUNCTION ${q('sealog_state_forward')}();
CREATE OR REPLACE TRIGGER state_no_delete BEFORE DELETE ON ${q('ledger_state')}
  FOR EACH ROW EXECUTE FUNCTION ${fn}();
CREATE OR REPLACE TRIGGER state_no_truncate BEFORE TRUNCATE ON ${q('ledger_state')}
  FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();
`;
};

/** Advisory-lock keys (two int4s): one namespace, one key per purpose, hashed with the schema. */
export const LOCK_NAMESPACE = 0x5ea1;
export const lockKey = (t: PgTarget, purpose: 'schema' | 'checkpoint' | 'prune'): string =>
  `${LOCK_NAMESPACE}, hashtext('${t.schema}:${purpose}')`;

/** True when the schema already holds a ledger (its meta table exists). */
async function exists(s: PgSession): Promise<boolean> {
  const r = await s.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [
    qualify(s.target, 'sealog_meta'),
  ]);
  return r.rows[0]?.t != null;
}

/**
 * Creates the ledger schema unless it exists. Creators serialise on an advisory
 * lock, so many writers starting at once against an empty database are safe.
 * A writer role without CREATE privilege can open an existing ledger. With
 * `inTransaction`, the caller's open transaction holds the DDL (migrate: all or nothing).
 */
export async function ensurePgSchema(
  s: PgSession,
  now: number,
  options: { inTransaction?: boolean } = {},
): Promise<void> {
  const own = options.inTransaction !== true;
  try {
    if (await exists(s)) return;
    if (own) await s.query('BEGIN');
    try {
      await s.query(`SELECT pg_advisory_xact_lock(${lockKey(s.target, 'schema')})`);
      await s.query(ddl(s.target));
      await s.query(timestampsDdl(s.target));
      const q = (table: string) => qualify(s.target, table);
      await s.query(
        `INSERT INTO ${q('sealog_meta')} (key, value) VALUES ('format', $1) ON CONFLICT DO NOTHING`,
        [FORMAT_ID],
      );
      await s.query(
        `INSERT INTO ${q('sealog_schema')} (version, applied_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
        [SCHEMA_VERSION, now],
      );
      await s.query(
        `INSERT INTO ${q('ledger_state')} (id, size, chain_head, compact) VALUES (0, 0, $1, $2) ON CONFLICT DO NOTHING`,
        [Buffer.alloc(32), Buffer.alloc(0)],
      );
      if (own) await s.query('COMMIT');
    } catch (err) {
      if (own) await s.query('ROLLBACK').catch(() => {});
      throw err;
    }
  } catch (err) {
    throw pgError(s.target, 'create the ledger schema in', err);
  }
}

/**
 * True when the checkpoints table has the resume columns (chain_head, compact),
 * adding them first when this role may (the owner; ledgers made by an older
 * sealog). A writer role that may not alter the table resumes from row 0 instead.
 */
export async function ensureResumeColumns(s: PgSession): Promise<boolean> {
  const has = async () =>
    (
      await s.query(
        `SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'checkpoints' AND column_name = 'compact'`,
        [s.target.schema],
      )
    ).rows.length > 0;
  if (await has()) return true;
  try {
    await s.query(
      `ALTER TABLE ${qualify(s.target, 'checkpoints')} ADD COLUMN IF NOT EXISTS chain_head bytea, ADD COLUMN IF NOT EXISTS compact bytea`,
    );
  } catch {
    return false; // not the owner: run `sealog init` (as the owner) once to add them
  }
  return has();
}

/**
 * True when the ledger has checkpoint_timestamps, creating it first when this
 * role may (the owner; ledgers made by an older sealog). A writer role that may
 * not create it gets false: its tokens are reported unstored until `sealog init`
 * (as the owner) adds the table and grants INSERT on it.
 */
export async function ensureTimestampTable(s: PgSession): Promise<boolean> {
  const has = async () =>
    (
      await s.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [
        qualify(s.target, 'checkpoint_timestamps'),
      ])
    ).rows[0]?.t != null;
  if (await has()) return true;
  // Only the owner of the other tables creates it: a writer role with CREATE on the
  // schema would own this table, and a table's owner can drop its triggers.
  const owner = await s.query<{ mine: unknown }>(
    'SELECT pg_get_userbyid(relowner) = current_user AS mine FROM pg_class WHERE oid = to_regclass($1)',
    [qualify(s.target, 'checkpoints')],
  );
  if (owner.rows[0]?.mine !== true) return false;
  try {
    await s.query('BEGIN');
    await s.query(`SELECT pg_advisory_xact_lock(${lockKey(s.target, 'schema')})`);
    await s.query(timestampsDdl(s.target));
    await s.query('COMMIT');
  } catch {
    await s.query('ROLLBACK').catch(() => {});
    return false; // not the owner (or no CREATE): `sealog init` adds it
  }
  return has();
}

/** Refuses a schema that is not a sealog ledger of a version we read. @throws E_NOT_LEDGER. */
export async function assertPgLedger(s: PgSession): Promise<void> {
  const t = s.target;
  const notLedger = (why: string) =>
    new SealogError(
      'E_NOT_LEDGER',
      `${t.display} holds no sealog ledger in schema "${t.schema}" (${why}); create one by opening it with a writer, \`sealog init\` or \`sealog migrate\``,
    );
  let format: unknown;
  let version: unknown;
  try {
    if (!(await exists(s))) throw notLedger('no sealog_meta table');
    format = (await s.query(`SELECT value FROM ${qualify(t, 'sealog_meta')} WHERE key = 'format'`)).rows[0]
      ?.value;
    if (format !== FORMAT_ID) throw notLedger(`format is ${JSON.stringify(format ?? null)}`);
    version = (await s.query(`SELECT max(version) AS v FROM ${qualify(t, 'sealog_schema')}`)).rows[0]?.v;
  } catch (err) {
    if (err instanceof SealogError) throw err;
    // 42P01 undefined table, 42703 undefined column: a schema that is not ours.
    const code = (err as { code?: unknown }).code;
    if (code === '42P01' || code === '42703') throw notLedger('its tables are not the sealog schema');
    throw pgError(t, 'read', err);
  }
  if (typeof version !== 'number' || version > SCHEMA_VERSION) {
    throw new SealogError(
      'E_NOT_LEDGER',
      `${t.display} has ledger schema version ${String(version)}; this sealog reads up to ${SCHEMA_VERSION}, upgrade sealog`,
    );
  }
}

/** Privileges for the roles of `sealog init`: writers append, readers read, nobody else sees the ledger. */
export function grantsSql(t: PgTarget, roles: { writer?: string; reader?: string }): string {
  for (const [what, role] of Object.entries(roles)) {
    if (role !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(role)) {
      throw new SealogError(
        'E_CONFIG',
        `${what} role ${JSON.stringify(role)} must be a plain SQL identifier`,
      );
    }
  }
  const q = (table: string) => qualify(t, table);
  const all = [
    'sealog_meta',
    'sealog_schema',
    'records',
    'ledger_state',
    'checkpoints',
    'checkpoint_timestamps',
    'tombstones',
  ]
    .map(q)
    .join(', ');
  const out = [`REVOKE ALL ON ${all} FROM PUBLIC;`];
  if (roles.writer) {
    const w = `"${roles.writer}"`;
    out.push(
      `GRANT USAGE ON SCHEMA "${t.schema}" TO ${w};`,
      `GRANT SELECT ON ${all} TO ${w};`,
      `GRANT INSERT ON ${q('records')}, ${q('checkpoints')}, ${q('checkpoint_timestamps')} TO ${w};`,
      `GRANT UPDATE ON ${q('ledger_state')} TO ${w};`,
    );
  }
  if (roles.reader) {
    const r = `"${roles.reader}"`;
    out.push(`GRANT USAGE ON SCHEMA "${t.schema}" TO ${r};`, `GRANT SELECT ON ${all} TO ${r};`);
  }
  return out.join('\n');
}
