import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, linkSync, openSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ChainState } from '../chain/state.js';
import { SealogError } from '../errors.js';
import { createSchema } from '../store/schema.js';
import { bindingEntry, type SegmentBinding } from './binding.js';
import { segmentFileName } from './layout.js';

// A new segment appears whole or not at all: it is built in a temp file in the
// same directory (schema, close-marker table, binding row 0), fsynced, then
// link()ed to its name. link() fails with EEXIST when another writer got there
// first, so exactly one file ever holds each name and nobody sees a half-built
// one. Temp names start with '.', never 'seg-': listSegments never reads them.

/**
 * Coordination only, never trusted by a verifier: one row once the segment is
 * closed. Every append checks it inside its own BEGIN IMMEDIATE (store.ts).
 */
export const CLOSE_TABLE_DDL =
  'CREATE TABLE IF NOT EXISTS segment_close (id INTEGER PRIMARY KEY CHECK (id = 0), size INTEGER NOT NULL, closed_at INTEGER NOT NULL)';

const TEMP_NAME = /^\.seg-\d{6,15}\.db\.(\d+)\.[0-9a-f]+\.tmp$/;

/**
 * Creates segment `binding.index` in `dir` with `binding` as row 0, unless it
 * exists. Returns true when this call created it, false when another writer had.
 * @throws SealogError E_IO.
 */
export function createSegment(dir: string, binding: SegmentBinding, now: number): boolean {
  const name = segmentFileName(binding.index);
  const final = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    buildFile(tmp, binding, now);
  } catch (err) {
    removeQuietly(tmp);
    throw createError(final, err);
  }
  if (!linkSegment(tmp, final)) return false;
  try {
    syncDir(dir);
  } catch (err) {
    throw createError(final, err);
  }
  return true;
}

/**
 * Links a built temp file to its segment name; false when another writer's
 * segment holds the name. The temp name is removed either way. @throws SealogError E_IO.
 */
export function linkSegment(tmp: string, final: string): boolean {
  try {
    linkSync(tmp, final);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw createError(final, err);
  } finally {
    removeQuietly(tmp);
  }
}

function createError(final: string, err: unknown): SealogError {
  return new SealogError('E_IO', `cannot create segment ${final}: ${(err as Error).message}`, { cause: err });
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone (or never made): nothing to clean
  }
}

/** Schema, marker table and (unless a spare) the binding row, with no journal (a torn temp file is simply discarded). */
export function buildFile(path: string, binding: SegmentBinding | undefined, now: number, sync = true): void {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    createSchema(db, now);
    db.exec(CLOSE_TABLE_DDL);
    if (binding !== undefined) {
      const { entry, ts } = bindingEntry(binding, now);
      const state = new ChainState();
      const chain = state.append(entry);
      db.prepare('INSERT INTO records (seq, ts, entry, chain) VALUES (0, ?, ?, ?)').run(ts, entry, chain);
      db.prepare('UPDATE ledger_state SET size = ?, chain_head = ?, compact = ? WHERE id = 0').run(
        state.size,
        state.chainHead,
        state.encodeCompact(),
      );
    }
    // WAL from the first byte it has a name: a segment file never goes through rollback
    // mode, where a writer killed while switching it to WAL would leave a hot journal
    // that read-only openers (verify, tail) cannot roll back. Closing folds the WAL in.
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
  if (!sync) return;
  // On disk before it gets its name: a power loss must never leave a named, torn segment.
  const fd = openSync(path, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function syncDir(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Removes temp files left by writers that died while building a segment (their pid is gone). */
export function removeStaleTemps(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || isAlive(Number(m[1]))) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // another writer removed it first
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
