import { SealogError } from '../errors.js';
import { ioError } from './open.js';
import type { LedgerReader, StoredRecord } from './reader.js';

/**
 * A selection of records. Bounds narrow the SQL scan (seq is the primary key,
 * ts is indexed, so a time range on 10M rows does not scan the table); `match`
 * then filters in JS. ts is an unauthenticated index copy: callers that care
 * re-check the entry's own time in `match`.
 */
export interface RecordQuery {
  /** First seq included. */
  seqFrom?: number;
  /** First seq excluded. */
  seqTo?: number;
  /** Earliest ts included (ms since epoch). */
  tsFrom?: number;
  /** Latest ts excluded (ms since epoch). */
  tsTo?: number;
  match?: (record: StoredRecord) => boolean;
}

const PAGE = 2048;

/**
 * Streams matching records in seq order (`desc` = newest first), in pages so
 * memory stays flat. With `limit`, stops after that many matches.
 */
export function* queryRecords(
  reader: LedgerReader,
  q: RecordQuery,
  order: 'asc' | 'desc' = 'asc',
  limit = Number.POSITIVE_INFINITY,
): Generator<StoredRecord> {
  const where = ['seq >= ?', 'seq < ?'];
  const params: number[] = [q.seqFrom ?? 0, q.seqTo ?? Number.MAX_SAFE_INTEGER];
  if (q.tsFrom !== undefined) {
    where.push('ts >= ?');
    params.push(q.tsFrom);
  }
  if (q.tsTo !== undefined) {
    where.push('ts < ?');
    params.push(q.tsTo);
  }
  // Keyset pagination on seq: each page restarts from the last seq seen.
  const cursor = order === 'asc' ? 'seq > ?' : 'seq < ?';
  // The file may be hostile (schema edited, pages corrupt): SQLite errors become E_IO / E_NOT_LEDGER.
  const sql = <T>(run: () => T): T => {
    try {
      return run();
    } catch (err) {
      throw err instanceof SealogError ? err : ioError(reader.path, 'read', err);
    }
  };
  const stmt = sql(() =>
    reader.db.prepare(
      `SELECT seq, ts, entry, chain FROM records WHERE ${where.join(' AND ')} AND ${cursor} ORDER BY seq ${order === 'asc' ? 'ASC' : 'DESC'} LIMIT ${PAGE}`,
    ),
  );
  if (limit <= 0) return;
  let last = order === 'asc' ? -1 : Number.MAX_SAFE_INTEGER;
  let found = 0;
  for (;;) {
    const rows = sql(() => stmt.all(...params, last)) as {
      seq: unknown;
      ts: unknown;
      entry: unknown;
      chain: unknown;
    }[];
    for (const row of rows) {
      if (typeof row.seq !== 'number') continue; // hostile row; verify reports it
      last = row.seq;
      const rec: StoredRecord = {
        seq: row.seq,
        ts: typeof row.ts === 'number' ? row.ts : 0,
        entry: Buffer.isBuffer(row.entry) ? row.entry : Buffer.from(String(row.entry ?? ''), 'utf8'),
        chain: Buffer.isBuffer(row.chain) ? row.chain : Buffer.alloc(0),
      };
      if (q.match && !q.match(rec)) continue;
      yield rec;
      if (++found >= limit) return;
    }
    if (rows.length < PAGE) return;
  }
}
