import Database from 'better-sqlite3';
import { SealogError } from '../errors.js';
import { chainHash, HASH_SIZE, leafHash, ZERO_HASH } from '../hash.js';
import { foreignMarkerOf, markerEntry, markerOf } from '../signer/erasure.js';
import { assertLedger, ioError, openReadOnly } from './open.js';

// The last step of `sealog erase` (docs/lifecycle.md "Erasure of a record's
// body"): once the signed statement is appended and sealed, each named row's
// entry is replaced by the marker naming the statement, in one transaction.
//
// The append-only trigger rejects UPDATE, so this transaction drops it,
// updates, and recreates it from its own stored SQL before committing. That is
// safe because the trigger is a guard against accidents, not the security
// boundary: the hashes are. A reader takes an erased row's leaf only from a
// statement a trusted key signed that names the row, so the same UPDATE done
// by anyone else is reported as a modified row. Nobody sees the trigger
// missing: the drop, update and re-create commit (or roll back) together.
//
// The body must not survive in the file. secure_delete zeroes the freed cell
// and overflow pages, but that is not enough: SQLite leaves stale copies of
// cells in the unused space of pages when it rebalances the b-tree (a ledger
// of 25 rows already held two copies of one body: the live cell, and one in
// the records root page's free area from when it split). Only VACUUM rebuilds
// every page from the live rows, so the transaction is followed by a VACUUM
// (its own transaction: a crash leaves the erased file as it was) and a
// TRUNCATE checkpoint, which empties the WAL that held older page images.

/** Leaf hashes of the named rows, each checked to link the stored chain (rows as they are now). */
export function erasureLeaves(path: string, seqs: readonly number[]): Buffer[] {
  const db = openReadOnly(path);
  try {
    const row = db.prepare('SELECT entry, chain FROM records WHERE seq = ?').raw(true);
    return seqs.map((seq) => {
      const [entry, chain] = (row.get(seq) as unknown[] | undefined) ?? [];
      const [, prev] = seq === 0 ? [null, ZERO_HASH] : ((row.get(seq - 1) as unknown[] | undefined) ?? []);
      if (
        !Buffer.isBuffer(entry) ||
        !Buffer.isBuffer(chain) ||
        !Buffer.isBuffer(prev) ||
        prev.length !== HASH_SIZE
      ) {
        throw new SealogError(
          'E_STATE',
          `ledger ${path}: row ${seq} (or the row before it) is missing or malformed`,
        );
      }
      // sealog's own entries (statements, gap records, markers) are the proof's, never a subject's.
      if (markerOf(entry) !== undefined || foreignMarkerOf(entry) !== undefined) {
        throw new SealogError('E_CONFIG', `row ${seq} is already erased`);
      }
      if (isOwnEntry(entry)) {
        throw new SealogError(
          'E_CONFIG',
          `row ${seq} is one of sealog's own entries (a statement, checkpoint or gap record); only logged records can be erased`,
        );
      }
      const leaf = leafHash(entry);
      if (!chainHash(prev, leaf).equals(chain)) {
        throw new SealogError(
          'E_TAMPER',
          `ledger ${path}: row ${seq} does not link its stored chain; run \`sealog verify\``,
        );
      }
      return leaf;
    });
  } finally {
    db.close();
  }
}

/** True when the entry's top level has `_sealog` (sealog's own; the encoder renames a caller's). */
function isOwnEntry(entry: Buffer): boolean {
  try {
    const v: unknown = JSON.parse(entry.toString('utf8'));
    return typeof v === 'object' && v !== null && Object.hasOwn(v, '_sealog');
  } catch {
    return false; // not JSON: not written by sealog's encoder either; the chain check decides
  }
}

export interface EraseResult {
  /** Rows whose body this call replaced. */
  erased: number[];
  /** Rows that already held this statement's marker (a second run). */
  already: number[];
  /** False when a reader kept the WAL from being emptied: older page copies may remain there until the next checkpoint. */
  walTruncated: boolean;
  /** Whether the file was rebuilt by VACUUM (stale copies of the bodies in free page space gone). */
  vacuumed: boolean;
}

const TRIGGER = 'records_no_update';
const DEFAULT_TRIGGER_SQL = `CREATE TRIGGER ${TRIGGER} BEFORE UPDATE ON records
  BEGIN SELECT RAISE(ABORT, 'sealog: records are append-only'); END`;

/**
 * Replaces the entries of `rows` by the marker of the statement at seq `by`,
 * in one transaction, each only if its entry still hashes to the leaf the
 * statement names (or already is the marker). Then empties the WAL.
 * @throws SealogError E_TAMPER when a row's entry is neither, E_IO on SQLite errors.
 */
export function eraseBodies(
  path: string,
  by: number,
  rows: readonly { seq: number; leaf: Buffer }[],
  options: {
    vacuum?: boolean;
    /**
     * The marker a row gets (default: {@link markerEntry} naming `by`); a
     * closed segment's rows get one naming the statement in a later segment.
     */
    marker?: (row: { seq: number; leaf: Buffer }, ts: number) => Buffer;
  } = {},
): EraseResult {
  const marker = options.marker ?? ((_row, ts) => markerEntry(by, ts));
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: 10_000, fileMustExist: true });
  } catch (err) {
    throw ioError(path, 'open', err);
  }
  try {
    assertLedger(db, path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('secure_delete = ON');
    const read = db.prepare('SELECT entry, ts FROM records WHERE seq = ?').raw(true);
    const update = db.prepare('UPDATE records SET entry = ? WHERE seq = ?');
    const result: EraseResult = { erased: [], already: [], walTruncated: false, vacuumed: false };
    db.transaction(() => {
      const plan: { seq: number; marker: Buffer }[] = [];
      for (const row of rows) {
        const { seq, leaf } = row;
        const [entry, ts] = (read.get(seq) as unknown[] | undefined) ?? [];
        const want = marker(row, typeof ts === 'number' ? ts : Number.NaN);
        if (Buffer.isBuffer(entry) && entry.equals(want)) {
          result.already.push(seq);
          continue;
        }
        // Never echo the entry: it is the body being erased.
        if (!Buffer.isBuffer(entry) || !leafHash(entry).equals(leaf)) {
          throw new SealogError(
            'E_TAMPER',
            `ledger ${path}: row ${seq} no longer holds the body the statement names; nothing was erased`,
          );
        }
        plan.push({ seq, marker: want });
      }
      if (plan.length === 0) return;
      const stored = db
        .prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?")
        .pluck()
        .get(TRIGGER);
      if (stored !== undefined) db.exec(`DROP TRIGGER ${TRIGGER}`);
      for (const p of plan) update.run(p.marker, p.seq);
      db.exec(typeof stored === 'string' ? stored : DEFAULT_TRIGGER_SQL);
      for (const p of plan) result.erased.push(p.seq);
    }).immediate();
    if (options.vacuum !== false) {
      db.exec('VACUUM');
      result.vacuumed = true;
    }
    result.walTruncated = truncateWal(db);
    return result;
  } catch (err) {
    throw err instanceof SealogError ? err : ioError(path, 'erase records in', err);
  } finally {
    db.close();
  }
}

/** TRUNCATE checkpoint, retried while readers hold old snapshots (up to ~5 s). */
function truncateWal(db: Database.Database): boolean {
  for (let i = 0; i < 50; i++) {
    const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as {
      busy: number;
      log: number;
      checkpointed: number;
    }[];
    if (r !== undefined && r.busy === 0) return true;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
  return false;
}
