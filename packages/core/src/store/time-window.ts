import type Database from 'better-sqlite3';
import { SealogError } from '../errors.js';
import { indexTime, TIME_UNKNOWN } from '../time.js';

// How a time range is read without trusting the `ts` index (issue 14, finding
// 5; docs/verify.md "Completeness of a time range"). ts is outside every hash:
// selecting `WHERE ts BETWEEN …` would silently drop a sealed row whose ts was
// edited. So the index only *locates* a window of seqs, and every row of that
// window is read and checked (its ts must equal its entry's own time) and
// filtered on the entry's own time:
//
// - the window spans every index hit, the row with the greatest ts below the
//   range and the row with the smallest ts at or above it (or the ledger's
//   ends when there is none), plus WINDOW_MARGIN rows either side;
// - a row whose own time is in range but whose ts was moved out of it must
//   sit between those neighbours (entry times rise with seq, up to the
//   margin's worth of jitter between writers), so it is read and found; to
//   shrink the window instead, an attacker must edit a neighbour's ts, and the
//   neighbours are read and checked too;
// - rows with no time of their own (ts = TIME_UNKNOWN) are in every range and
//   are read wherever they are.
// `sealog verify` checks every row's ts, which covers the rest.

/**
 * Rows read beyond the window on each side: two default batches, the most by
 * which a record can be committed out of time order behind another writer's.
 */
export const WINDOW_MARGIN = 2048;

/** Seq segments to read, in ascending order; `unknownOnly` reads only time-unknown rows. */
export interface Segment {
  from: number;
  to: number;
  unknownOnly: boolean;
}

/**
 * Splits [seqFrom, seqTo) into the segments a time range [tsFrom, tsTo) must
 * read. Queries use the ts index (one seek each) and the primary key only.
 */
export function timeSegments(
  db: Database.Database,
  seqFrom: number,
  seqTo: number,
  tsFrom: number | undefined,
  tsTo: number | undefined,
): Segment[] {
  const one = (sql: string, ...p: number[]) => {
    const v = db
      .prepare(sql)
      .pluck()
      .get(...p);
    return typeof v === 'number' ? v : undefined;
  };
  const seqs: number[] = [];
  let lo: number | undefined;
  let hi: number | undefined;
  const hitsWhere = `ts >= ? AND ts < ? AND seq >= ? AND seq < ?`;
  const hit = [tsFrom ?? TIME_UNKNOWN + 1, tsTo ?? Number.MAX_SAFE_INTEGER, seqFrom, seqTo];
  for (const v of [
    one(`SELECT min(seq) FROM records WHERE ${hitsWhere}`, ...hit),
    one(`SELECT max(seq) FROM records WHERE ${hitsWhere}`, ...hit),
  ]) {
    if (v !== undefined) seqs.push(v);
  }
  if (tsFrom === undefined) lo = seqFrom;
  else {
    const below = one(
      'SELECT seq FROM records WHERE ts < ? AND ts > ? ORDER BY ts DESC, seq DESC LIMIT 1',
      tsFrom,
      TIME_UNKNOWN,
    );
    if (below === undefined) lo = seqFrom;
    else seqs.push(below);
  }
  if (tsTo === undefined) hi = seqTo - 1;
  else {
    const above = one('SELECT seq FROM records WHERE ts >= ? ORDER BY ts ASC, seq ASC LIMIT 1', tsTo);
    if (above === undefined) hi = seqTo - 1;
    else seqs.push(above);
  }
  if (seqs.length > 0) {
    lo = Math.min(lo ?? Number.POSITIVE_INFINITY, ...seqs) - WINDOW_MARGIN;
    hi = Math.max(hi ?? Number.NEGATIVE_INFINITY, ...seqs) + WINDOW_MARGIN;
  }
  const a = Math.max(seqFrom, lo ?? seqTo);
  const b = Math.min(seqTo, (hi ?? seqFrom - 1) + 1);
  if (a >= b) return [{ from: seqFrom, to: seqTo, unknownOnly: true }];
  const out: Segment[] = [];
  if (seqFrom < a) out.push({ from: seqFrom, to: a, unknownOnly: true });
  out.push({ from: a, to: b, unknownOnly: false });
  if (b < seqTo) out.push({ from: b, to: seqTo, unknownOnly: true });
  return out;
}

/**
 * The entry's own time, after checking the row's ts index against it.
 * @throws SealogError E_TAMPER when they disagree: the index was edited, and a
 *   time range over this ledger cannot be trusted until `sealog verify` says why.
 */
export function checkedTime(path: string, seq: number, ts: unknown, entry: Buffer): number {
  const t = indexTime(entry);
  if (ts !== t) {
    throw new SealogError(
      'E_TAMPER',
      `${path}: row ${seq}: its time index (ts ${String(ts)}) is not its entry's own time (${t === TIME_UNKNOWN ? 'none' : t}); the index was edited, so a time range could leave rows out. Run \`sealog verify\``,
    );
  }
  return t;
}
