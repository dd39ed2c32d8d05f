import { join } from 'node:path';
import Database, { type Statement } from 'better-sqlite3';
import { SealogError } from '../errors.js';
import { ioError } from '../store/open.js';
import {
  DEFAULT_BUSY_TIMEOUT_MS,
  type Durability,
  SqliteStore,
  type SqliteStoreOptions,
} from '../store/sqlite.js';
import { bindingEntry, type SegmentBinding } from './binding.js';
import { readRow0 } from './checks.js';
import { CLOSE_TABLE_DDL } from './create.js';

// One segment file as a segmented writer uses it (store.ts): an ordinary
// SqliteStore whose appends first check the close marker, plus the few
// statements rotation needs on it.

/** An append found its segment closed by a writer (maybe another process). */
export class SegmentClosed extends SealogError {}

export interface Segment {
  index: number;
  /** Records in all earlier segments (row 0's base). */
  base: number;
  /** Row 0's time: the segment's age counts from it. */
  bornAt: number;
  store: SqliteStore;
  pageSize: number;
  /** Resolves once its name in the directory is durable (a spare's link is synced in the background). */
  named?: Promise<void>;
}

/** Opens segment file `path` (index `index`), adding the close-marker table if an older file lacks it. */
export function openSegment(
  path: string,
  index: number,
  options: Omit<SqliteStoreOptions, 'beforeAppend'>,
  now: number,
): Segment {
  let closed: Statement<[], unknown> | undefined;
  const store = new SqliteStore(path, {
    ...options,
    beforeAppend: (db) => {
      closed ??= db.prepare('SELECT 1 FROM segment_close WHERE id = 0');
      if (closed.get() !== undefined) {
        throw new SegmentClosed('E_STATE', `segment ${path} is closed; appends go to the next segment`);
      }
    },
  });
  try {
    const db = store.db;
    const hasTable = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'segment_close'")
      .get();
    if (hasTable === undefined) db.exec(CLOSE_TABLE_DDL);
    const { binding, ts } = readRow0(store);
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    return { index, base: binding?.base ?? 0, bornAt: ts ?? now, store, pageSize };
  } catch (err) {
    void store.close();
    throw err;
  }
}

/** Commits the close marker (BEGIN IMMEDIATE): no append lands in `seg` after this. */
export function closeMarker(seg: Segment, now: number): void {
  const db = seg.store.db;
  db.transaction(() => {
    db.prepare(
      'INSERT OR IGNORE INTO segment_close (id, size, closed_at) SELECT 0, coalesce(max(seq) + 1, 0), ? FROM records',
    ).run(now);
  }).immediate();
}

export function isClosed(seg: Segment): boolean {
  return seg.store.db.prepare('SELECT 1 FROM segment_close WHERE id = 0').get() !== undefined;
}

/** Rows in the segment (max seq + 1). */
export function rowCount(seg: Segment): number {
  const r = seg.store.db.prepare('SELECT max(seq) AS m FROM records').get() as { m: unknown };
  return typeof r.m === 'number' ? r.m + 1 : 0;
}

/** Logical size: its pages as this connection sees them (WAL frames included). */
export function segmentBytes(seg: Segment): number {
  return (seg.store.db.pragma('page_count', { simple: true }) as number) * seg.pageSize;
}

/**
 * Writes `binding` as row 0 of an empty segment (one made from a spare), unless
 * a writer already did: inside BEGIN IMMEDIATE, so exactly one does.
 */
export function writeBinding(
  seg: Segment,
  binding: SegmentBinding,
  now: number,
  durability?: Durability,
): void {
  const db = seg.store.db;
  const empty = db.prepare('SELECT 1 FROM records LIMIT 1');
  if (empty.get() !== undefined) return;
  // The first frame of a new WAL file makes SQLite fsync its header, even at
  // synchronous=NORMAL: measured 3–110 ms inside the rotating commit. A fresh WAL
  // has no stale frames for that sync to fence off, so under "process" durability
  // (no promise across power loss) this one commit runs without it.
  const fast = durability !== 'power';
  if (fast) db.pragma('synchronous = OFF');
  try {
    db.transaction(() => {
      if (empty.get() === undefined) seg.store.append([bindingEntry(binding, now)]);
    }).immediate();
  } finally {
    if (fast) db.pragma('synchronous = NORMAL');
  }
  const row0 = readRow0(seg.store);
  seg.base = row0.binding?.base ?? binding.base;
  seg.bornAt = row0.ts ?? now;
}

/** Where privacy.noise's ε budgets live (SegmentedStore.db); not a segment name. */
export const BUDGETS_FILE = 'budgets.db';

/**
 * `<dir>/budgets.db`: ε budgets shared by every writer and every segment. Kept
 * in a segment, they would start over at each rotation and multiply the ε spent.
 * @throws SealogError E_IO.
 */
export function openBudgets(dir: string, busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS): Database.Database {
  const path = join(dir, BUDGETS_FILE);
  try {
    const db = new Database(path, { timeout: busyTimeoutMs });
    db.pragma('journal_mode = WAL');
    return db;
  } catch (err) {
    throw ioError(path, 'open', err);
  }
}
