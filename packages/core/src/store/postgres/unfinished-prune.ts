import type Database from 'better-sqlite3';
import { SealogError } from '../../errors.js';
import { MAX_PREFIX_NOTE_BYTES, parsePrefix, prefixNoteOf } from '../../prefix/statement.js';
import { TOMBSTONE_TABLE } from '../../prefix/tombstone.js';
import type { VerifyReport } from '../../verify/types.js';
import type { StatementTrust } from './holds.js';

// A prune that was killed after sealing its statement and before its cut leaves
// a signed authorisation to delete rows [0, size) that was never carried out.
// A hold placed over those rows afterwards would be hollow: whoever can write
// the database (no key needed) can still carry out that cut by hand, and the
// tombstone would prove itself (red-team finding). So `sealog hold add` refuses
// a range that overlaps such a statement: finish the prune first (running it
// again plans afresh and judges holds), then hold what is left.

/** Statements read at most (each a prune run that was interrupted). */
const MAX_PREFIX_STATEMENTS = 10_000;

export interface UnfinishedPrune {
  seq: number;
  size: number;
  oldest: number;
  newest: number;
}

/**
 * Sealed prune statements signed by a trusted key whose cut is past the newest
 * tombstone of the verified snapshot `db` (nothing cut yet). Never throws on
 * row content.
 */
export function unfinishedPrunes(
  db: Database.Database,
  report: Pick<VerifyReport, 'sealed'>,
  trusted: StatementTrust,
): UnfinishedPrune[] {
  const hasTomb = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
    .get(TOMBSTONE_TABLE);
  const cut = hasTomb
    ? (((db.prepare(`SELECT max(size) AS n FROM ${TOMBSTONE_TABLE}`).get() as { n: unknown }).n as
        | number
        | null) ?? 0)
    : 0;
  const rows = db
    .prepare(
      `SELECT seq, entry FROM records WHERE seq >= ? AND seq < ? AND length(entry) <= ${4 * MAX_PREFIX_NOTE_BYTES} AND instr(entry, CAST('"prunePrefix"' AS BLOB)) > 0 ORDER BY seq LIMIT ${MAX_PREFIX_STATEMENTS}`,
    )
    .raw(true)
    .all(typeof cut === 'number' ? cut : 0, report.sealed) as [number, unknown][];
  const found: UnfinishedPrune[] = [];
  for (const [seq, entry] of rows) {
    const note = prefixNoteOf(entry);
    if (note === undefined) continue;
    try {
      const s = parsePrefix(note);
      if (s.size > cut && trusted(note, s.origin))
        found.push({ seq, size: s.size, oldest: s.oldest, newest: s.newest });
    } catch {
      // malformed: authorises nothing
    }
  }
  return found;
}

/**
 * Refuses (E_CONFIG, nothing written) a hold on record times [from, to] that
 * overlap an unfinished prune's rows.
 */
export function refuseHoldOverUnfinishedPrune(
  unfinished: readonly UnfinishedPrune[],
  scope: { from: number; to: number },
  display: string,
): void {
  const hit = unfinished.find((u) => u.oldest <= scope.to && u.newest >= scope.from);
  if (hit === undefined) return;
  throw new SealogError(
    'E_CONFIG',
    `refused: row ${hit.seq} is a sealed prune statement removing records 0..${hit.size - 1} (times ${new Date(hit.oldest).toISOString()} to ${new Date(hit.newest).toISOString()}) that was interrupted before its cut; a hold over them would not stop that cut. Run sealog prune ${display} again to finish it, then hold what is left; nothing was written`,
  );
}
