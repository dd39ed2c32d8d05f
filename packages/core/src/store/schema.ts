import type Database from 'better-sqlite3';

// The on-disk schema of a sealog ledger. Versioned: a reader refuses a file
// whose version it does not know (E_NOT_LEDGER) rather than misreading it.
// docs/format.md is the normative description; keep the two in step.

/** Current schema version, stored in `sealog_schema`. */
export const SCHEMA_VERSION = 1;
/** Value of sealog_meta.format that marks a file as a sealog ledger. */
export const FORMAT_ID = 'sealog-ledger';

// RFC 3161 tokens beside the checkpoints (docs/timestamps.md §5): one row per
// token, keyed by the note it stamps (SHA-256 of the note as stored, which is
// also the token's imprint), not by a checkpoint id: a note anchored but not
// stored (another writer stored the same head) is stamped too. tsa_time is
// the token's genTime in ms, an unverified index copy like records.ts.
const TIMESTAMPS_DDL = `
CREATE TABLE IF NOT EXISTS checkpoint_timestamps (
  id          INTEGER PRIMARY KEY,
  size        INTEGER NOT NULL,
  note_sha256 BLOB NOT NULL,
  token       BLOB NOT NULL,
  tsa_time    INTEGER NOT NULL,
  created_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS checkpoint_timestamps_size ON checkpoint_timestamps (size);
CREATE TRIGGER IF NOT EXISTS checkpoint_timestamps_no_update BEFORE UPDATE ON checkpoint_timestamps
  BEGIN SELECT RAISE(ABORT, 'sealog: checkpoint timestamps are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoint_timestamps_no_delete BEFORE DELETE ON checkpoint_timestamps
  BEGIN SELECT RAISE(ABORT, 'sealog: checkpoint timestamps are append-only'); END;
`;

const DDL = `
CREATE TABLE IF NOT EXISTS sealog_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sealog_schema (
  version    INTEGER PRIMARY KEY,
  applied_at INTEGER NOT NULL
);
-- One row per record. seq is the 0-based Merkle leaf index. entry holds the
-- exact canonical JSON bytes that were hashed. chain = SHA-256(prev chain ‖ leaf).
-- ts (ms since epoch) is an unauthenticated index copy of the record's time.
CREATE TABLE IF NOT EXISTS records (
  seq   INTEGER PRIMARY KEY,
  ts    INTEGER NOT NULL,
  entry BLOB NOT NULL,
  chain BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS records_ts ON records (ts);
-- Single row: the writer state after the last committed record, so any writer
-- (this process or another) resumes in O(log n) without rereading records.
CREATE TABLE IF NOT EXISTS ledger_state (
  id         INTEGER PRIMARY KEY CHECK (id = 0),
  size       INTEGER NOT NULL,
  chain_head BLOB NOT NULL,
  compact    BLOB NOT NULL
);
-- Signed checkpoints (C2SP signed notes over tlog-checkpoint bodies), each with
-- the chain head and compact range at its size: a writer resumes from the newest
-- one its key signed once the compact range hashes to the signed root.
CREATE TABLE IF NOT EXISTS checkpoints (
  id         INTEGER PRIMARY KEY,
  size       INTEGER NOT NULL,
  note       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  chain_head BLOB,
  compact    BLOB
);
CREATE INDEX IF NOT EXISTS checkpoints_size ON checkpoints (size);
${TIMESTAMPS_DDL}
-- Append-only guards. They stop accidents, not attackers: the hashes do that.
CREATE TRIGGER IF NOT EXISTS records_no_update BEFORE UPDATE ON records
  BEGIN SELECT RAISE(ABORT, 'sealog: records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS records_no_delete BEFORE DELETE ON records
  BEGIN SELECT RAISE(ABORT, 'sealog: records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints
  BEGIN SELECT RAISE(ABORT, 'sealog: checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
  BEGIN SELECT RAISE(ABORT, 'sealog: checkpoints are append-only'); END;
`;

/** Creates the schema if absent. Runs inside BEGIN IMMEDIATE so concurrent creators serialise. */
export function createSchema(db: Database.Database, now: number): void {
  db.transaction(() => {
    db.exec(DDL);
    db.prepare('INSERT OR IGNORE INTO sealog_meta (key, value) VALUES (?, ?)').run('format', FORMAT_ID);
    db.prepare('INSERT OR IGNORE INTO sealog_schema (version, applied_at) VALUES (?, ?)').run(
      SCHEMA_VERSION,
      now,
    );
    db.prepare(
      "INSERT OR IGNORE INTO ledger_state (id, size, chain_head, compact) VALUES (0, 0, zeroblob(32), x'')",
    ).run();
  }).immediate();
}

/**
 * Brings a ledger made by an older sealog up to this one, in place: adds the
 * checkpoint resume columns (chain_head, compact; nullable, so older readers and
 * writers keep working, and a writer without them resumes from row 0) and the
 * checkpoint_timestamps table. The schema version stays 1: older sealogs ignore
 * both. Runs in BEGIN IMMEDIATE only when something is missing, so concurrent
 * writers serialise and the common open costs two reads.
 */
export function upgradeSchema(db: Database.Database): void {
  const hasResume = () =>
    (db.prepare('PRAGMA table_info(checkpoints)').all() as { name: unknown }[]).some(
      (c) => c.name === 'compact',
    );
  const hasTimestamps = () =>
    db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoint_timestamps'")
      .get() !== undefined;
  if (hasResume() && hasTimestamps()) return;
  db.transaction(() => {
    if (!hasResume()) {
      db.exec(
        'ALTER TABLE checkpoints ADD COLUMN chain_head BLOB; ALTER TABLE checkpoints ADD COLUMN compact BLOB;',
      );
    }
    if (!hasTimestamps()) db.exec(TIMESTAMPS_DDL);
  }).immediate();
}

/** Names of the tables a sealog ledger must have. */
export const REQUIRED_TABLES = [
  'sealog_meta',
  'sealog_schema',
  'records',
  'ledger_state',
  'checkpoints',
] as const;
