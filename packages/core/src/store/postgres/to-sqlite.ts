import { existsSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { SealogError } from '../../errors.js';
import { MAX_TOMBSTONES, TOMBSTONE_TABLE } from '../../prefix/tombstone.js';
import { ioError } from '../open.js';
import { createSchema } from '../schema.js';
import { ChainCheck } from './chain-check.js';
import { connectPg, type PgSession, parsePgUrl, pgError, qualify } from './connect.js';
import { assertPgLedger } from './schema.js';
import { hasTombstones } from './tombstones.js';

// PostgreSQL → SQLite. Every read command works on a SQLite file, so a
// PostgreSQL ledger is read by copying one REPEATABLE READ snapshot of its
// tables, value for value, into a private SQLite file: `sealog verify` then
// judges exactly the bytes PostgreSQL holds with the one verifier we have.
// The same copy, with the chain checked, is `sealog migrate` to SQLite.

/** Rows per FETCH from the server-side cursor. */
const FETCH_ROWS = 5000;

export interface PgToSqliteOptions {
  /**
   * `migrate`: refuse a source whose chain does not recompute (E_TAMPER). `snapshot`:
   * copy whatever is there, damage included, so the verifier can report it.
   */
  mode: 'migrate' | 'snapshot';
  /** Called after each page with the rows copied so far. */
  onProgress?: (rows: number) => void;
}

export interface CopyResult {
  records: number;
  checkpoints: number;
}

// Without constraints: what a tampered PostgreSQL table may hold (duplicate or NULL
// seqs once its primary key is dropped) still fits, and the verifier sees the
// non-sealog schema and reports it, instead of the copy failing.
const LOOSE_DDL = `
DROP TABLE records; CREATE TABLE records (seq, ts, entry, chain);
CREATE INDEX records_seq ON records (seq);
DROP TABLE ledger_state; CREATE TABLE ledger_state (id, size, chain_head, compact);
DROP TABLE checkpoints; CREATE TABLE checkpoints (id, size, note, created_at);
DROP TABLE checkpoint_timestamps;
CREATE TABLE checkpoint_timestamps (id INTEGER PRIMARY KEY, size, note_sha256, token, tsa_time, created_at);`;

/** Largest token copied as it is; a longer one (only a hand-edited table has it) becomes empty bytes. */
const MAX_TOKEN_BYTES = 64 * 1024;
/** Token rows per FETCH: at most 4 MiB of tokens in memory. */
const TOKEN_FETCH_ROWS = 64;

/**
 * Copies the PostgreSQL ledger at `url` into a new SQLite ledger file `dest`.
 * @throws SealogError E_IO (dest exists, server unreachable), E_NOT_LEDGER, E_TAMPER (migrate mode).
 */
export async function copyPgToSqlite(
  url: string,
  dest: string,
  options: PgToSqliteOptions,
): Promise<CopyResult> {
  if (existsSync(dest)) throw new SealogError('E_IO', `${dest} already exists; copy into a new file`);
  const s = await connectPg(parsePgUrl(url), { readOnly: true });
  try {
    await assertPgLedger(s);
    try {
      return await copyOnce(s, dest, options, false);
    } catch (err) {
      if (options.mode !== 'snapshot' || !isSqliteError(err)) throw err;
      return await copyOnce(s, dest, options, true);
    }
  } finally {
    await s.end();
  }
}

/**
 * Rows the standard schema cannot hold (a duplicate or non-integer seq, a value
 * of the wrong type: only a hand-edited table has them) are copied again into
 * tables without constraints, so the verifier reports them instead of failing.
 */
function isSqliteError(err: unknown): boolean {
  const code = (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_');
}

async function copyOnce(
  s: PgSession,
  dest: string,
  options: PgToSqliteOptions,
  loose: boolean,
): Promise<CopyResult> {
  removeDb(dest);
  const db = openDest(dest, loose);
  try {
    await s.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const q = (table: string) => qualify(s.target, table);
    const meta = await s.query<{ key: unknown; value: unknown }>(
      `SELECT key, value FROM ${q('sealog_meta')}`,
    );
    const put = db.prepare('INSERT OR REPLACE INTO sealog_meta (key, value) VALUES (?, ?)');
    for (const r of meta.rows) put.run(String(r.key), String(r.value));
    const state = await s.query(`SELECT id, size, chain_head, compact FROM ${q('ledger_state')}`);
    if (options.mode === 'migrate') await refusePruned(s);
    const check = options.mode === 'migrate' ? new ChainCheck(s.target.display) : undefined;
    let records = 0;
    await s.query(
      `DECLARE rec NO SCROLL CURSOR FOR SELECT seq, ts, entry, chain FROM ${q('records')} ORDER BY seq`,
    );
    const insert = db.prepare('INSERT INTO records (seq, ts, entry, chain) VALUES (?, ?, ?, ?)');
    const page = db.transaction((rows: Record<string, unknown>[]) => {
      for (const r of rows) {
        check?.row(r.seq, r.entry, r.chain);
        insert.run(r.seq, r.ts, r.entry, r.chain);
      }
    });
    for (;;) {
      const rows = (await s.query(`FETCH ${FETCH_ROWS} FROM rec`)).rows;
      sqlite(dest, () => page(rows));
      records += rows.length;
      options.onProgress?.(records);
      if (rows.length < FETCH_ROWS) break;
    }
    const cps = await s.query(`SELECT id, size, note, created_at FROM ${q('checkpoints')} ORDER BY id`);
    await copyTimestamps(s, db, dest);
    await copyTombstones(s, db, dest);
    await s.query('COMMIT');
    check?.end(state.rows[0]);
    sqlite(dest, () =>
      db.transaction(() => {
        db.prepare('DELETE FROM ledger_state').run();
        const st = db.prepare('INSERT INTO ledger_state (id, size, chain_head, compact) VALUES (?, ?, ?, ?)');
        // A migrated ledger gets the state recomputed from its rows: writers will extend it,
        // and the stored compact range is not covered by the chain check. A snapshot keeps
        // the stored row as it is, for the verifier to compare with the rows.
        if (check) st.run(0, check.state.size, check.state.chainHead, check.state.encodeCompact());
        else for (const r of state.rows) st.run(r.id, r.size, r.chain_head, r.compact);
        const cp = db.prepare('INSERT INTO checkpoints (id, size, note, created_at) VALUES (?, ?, ?, ?)');
        for (const r of cps.rows) cp.run(r.id, r.size, r.note, r.created_at);
      })(),
    );
    db.close();
    return { records, checkpoints: cps.rows.length };
  } catch (err) {
    await s.query('ROLLBACK').catch(() => {});
    db.close();
    removeDb(dest);
    throw err instanceof SealogError ? err : pgError(s.target, 'read', err);
  }
}

/**
 * checkpoint_timestamps, when the ledger has it, a page at a time. A token or hash
 * longer than any real one (an edited table) is copied as empty bytes, never
 * loaded: the verifier then reports that row as malformed.
 */
async function copyTimestamps(s: PgSession, db: Database.Database, dest: string): Promise<void> {
  const table = qualify(s.target, 'checkpoint_timestamps');
  const has = await s.query<{ t: unknown }>('SELECT to_regclass($1)::text AS t', [table]);
  if (has.rows[0]?.t == null) return;
  await s.query(
    `DECLARE tst NO SCROLL CURSOR FOR SELECT id, size,
       CASE WHEN octet_length(note_sha256) <= 32 THEN note_sha256 ELSE '\\x'::bytea END AS note_sha256,
       CASE WHEN octet_length(token) <= ${MAX_TOKEN_BYTES} THEN token ELSE '\\x'::bytea END AS token,
       tsa_time, created_at FROM ${table} ORDER BY id`,
  );
  const insert = db.prepare(
    'INSERT INTO checkpoint_timestamps (id, size, note_sha256, token, tsa_time, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const page = db.transaction((rows: Record<string, unknown>[]) => {
    for (const r of rows) insert.run(r.id, r.size, r.note_sha256, r.token, r.tsa_time, r.created_at);
  });
  for (;;) {
    const rows = (await s.query(`FETCH ${TOKEN_FETCH_ROWS} FROM tst`)).rows;
    sqlite(dest, () => page(rows));
    if (rows.length < TOKEN_FETCH_ROWS) break;
  }
}

/** `migrate` refuses a pruned ledger: a SQLite ledger starts at row 0. @throws SealogError E_CONFIG. */
async function refusePruned(s: PgSession): Promise<void> {
  if (!(await hasTombstones(s))) return;
  const any = await s.query(`SELECT 1 FROM ${qualify(s.target, TOMBSTONE_TABLE)} LIMIT 1`);
  if (any.rows.length === 0) return;
  throw new SealogError(
    'E_CONFIG',
    `${s.target.display} was pruned under retention (its records start after a tombstone); a SQLite ledger starts at row 0, so it cannot be migrated: use \`sealog backup\` for a copy that verifies`,
  );
}

/**
 * tombstones (a pruned prefix, prefix/tombstone.ts), when the ledger has them:
 * copied as stored, columns length-capped and at most MAX_TOMBSTONES + 1 rows, for
 * the verifier to judge.
 */
async function copyTombstones(s: PgSession, db: Database.Database, dest: string): Promise<void> {
  if (!(await hasTombstones(s))) return;
  const rows = (
    await s.query(
      `SELECT id, size, CASE WHEN octet_length(note) <= 1048576 THEN note END AS note,
         CASE WHEN octet_length(chain_head) <= 32 THEN chain_head END AS chain_head,
         CASE WHEN octet_length(compact) <= 2048 THEN compact END AS compact, statement_seq, pruned_at
       FROM ${qualify(s.target, TOMBSTONE_TABLE)} ORDER BY id LIMIT ${MAX_TOMBSTONES + 1}`,
    )
  ).rows;
  if (rows.length === 0) return;
  sqlite(dest, () =>
    db.transaction(() => {
      db.exec(
        `CREATE TABLE ${TOMBSTONE_TABLE} (id INTEGER PRIMARY KEY, size, note, chain_head, compact, statement_seq, pruned_at)`,
      );
      const put = db.prepare(
        `INSERT INTO ${TOMBSTONE_TABLE} (id, size, note, chain_head, compact, statement_seq, pruned_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const r of rows)
        put.run(r.id, r.size, r.note, r.chain_head, r.compact, r.statement_seq, r.pruned_at);
    })(),
  );
}

function openDest(dest: string, loose: boolean): Database.Database {
  const db = sqlite(dest, () => new Database(dest));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    createSchema(db, Date.now());
    if (loose) db.exec(LOOSE_DDL);
    return db;
  } catch (err) {
    db.close();
    throw err instanceof SealogError ? err : ioError(dest, 'create', err);
  }
}

function sqlite<T>(dest: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    throw err instanceof SealogError ? err : ioError(dest, 'write', err);
  }
}

function removeDb(dest: string): void {
  for (const f of [dest, `${dest}-wal`, `${dest}-shm`]) rmSync(f, { force: true });
}
