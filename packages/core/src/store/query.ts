import type { Statement } from 'better-sqlite3';
import { SealogError } from '../errors.js';
import { inTimeRange, TIME_UNKNOWN } from '../time.js';
import { ioError } from './open.js';
import type { LedgerReader, StoredRecord } from './reader.js';
import { checkedTime, type Segment, timeSegments } from './time-window.js';

/**
 * A selection of records. Bounds narrow the SQL scan (seq is the primary key);
 * a time range is read through time-window.ts: the ts index only locates the
 * rows, every row read has its ts checked against its entry's own time, and
 * the range applies to the entry's own time. `match` then filters in JS.
 */
export interface RecordQuery {
  /** First seq included. */
  seqFrom?: number;
  /** First seq excluded. */
  seqTo?: number;
  /** Earliest entry time included (ms since epoch). Rows with no time of their own are always included. */
  tsFrom?: number;
  /** Latest entry time excluded (ms since epoch). */
  tsTo?: number;
  match?: (record: StoredRecord) => boolean;
}

const PAGE = 2048;

/**
 * Streams matching records in seq order (`desc` = newest first), in pages so
 * memory stays flat. With `limit`, stops after that many matches.
 * @throws SealogError E_TAMPER when a row read for a time range has a ts that
 *   is not its entry's own time; E_IO / E_NOT_LEDGER on a damaged file.
 */
export function* queryRecords(
  reader: LedgerReader,
  q: RecordQuery,
  order: 'asc' | 'desc' = 'asc',
  limit = Number.POSITIVE_INFINITY,
): Generator<StoredRecord> {
  if (limit <= 0) return;
  // The file may be hostile (schema edited, pages corrupt): SQLite errors become E_IO / E_NOT_LEDGER.
  const sql = <T>(run: () => T): T => {
    try {
      return run();
    } catch (err) {
      throw err instanceof SealogError ? err : ioError(reader.path, 'read', err);
    }
  };
  const seqFrom = q.seqFrom ?? 0;
  const seqTo = q.seqTo ?? Number.MAX_SAFE_INTEGER;
  const timed = q.tsFrom !== undefined || q.tsTo !== undefined;
  const segments: Segment[] = timed
    ? sql(() => timeSegments(reader.db, seqFrom, seqTo, q.tsFrom, q.tsTo))
    : [{ from: seqFrom, to: seqTo, unknownOnly: false }];
  if (order === 'desc') segments.reverse();
  const cursor = order === 'asc' ? 'seq > ?' : 'seq < ?';
  const [all, unknown] = [false, true].map((unknownOnly) =>
    sql(() =>
      reader.db.prepare(
        `SELECT seq, ts, entry, chain FROM records WHERE seq >= ? AND seq < ?${unknownOnly ? ' AND ts = ?' : ''} AND ${cursor} ORDER BY seq ${order === 'asc' ? 'ASC' : 'DESC'} LIMIT ${PAGE}`,
      ),
    ),
  ) as [Statement, Statement];
  let found = 0;
  for (const seg of segments) {
    const params = seg.unknownOnly ? [seg.from, seg.to, TIME_UNKNOWN] : [seg.from, seg.to];
    // Keyset pagination on seq: each page restarts from the last seq seen.
    let last = order === 'asc' ? seg.from - 1 : seg.to;
    for (;;) {
      const rows = sql(() => (seg.unknownOnly ? unknown : all).all(...params, last)) as {
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
        if (timed && !inTimeRange(checkedTime(reader.path, rec.seq, row.ts, rec.entry), q.tsFrom, q.tsTo))
          continue;
        if (q.match && !q.match(rec)) continue;
        yield rec;
        if (++found >= limit) return;
      }
      if (rows.length < PAGE) break;
    }
  }
}
