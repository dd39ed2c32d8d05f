import type Database from 'better-sqlite3';
import { SealogError } from '../../errors.js';
import { MAX_PREFIX_NOTE_BYTES, parsePrefix, prefixNoteOf } from '../../prefix/statement.js';
import { TOMBSTONE_TABLE } from '../../prefix/tombstone.js';
import { connectPg, parsePgUrl, pgError, qualify } from './connect.js';
import type { StatementTrust } from './holds.js';

// A prune that was killed after sealing its statement and before its cut leaves
// a signed authorisation to delete rows [0, size) that was never carried out.
// A hold placed over those rows afterwards would be hollow: whoever can write
// the database (no key needed) can still carry out that cut by hand, and the
// tombstone would prove itself (red-team finding). So `sealog hold add` refuses
// a range that overlaps such a statement: finish the prune first (running it
// again plans afresh and judges holds), then hold what is left.

const PREFIX = '{"_sealog":{"prunePrefix":';

/** Statements read at most (each a prune run that was interrupted). */
const MAX_PREFIX_STATEMENTS = 10_000;

export interface UnfinishedPrune {
  seq: number;
  size: number;
  oldest: number;
  newest: number;
}

/**
 * Prune statements signed by a trusted key whose cut is past the newest
 * tombstone of the verified snapshot `db` (nothing cut yet), sealed or not.
 * @throws SealogError E_CONFIG when there are more than can be read.
 */
export function unfinishedPrunes(db: Database.Database, trusted: StatementTrust): UnfinishedPrune[] {
  const hasTomb = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
    .get(TOMBSTONE_TABLE);
  const cut = hasTomb
    ? (((db.prepare(`SELECT max(size) AS n FROM ${TOMBSTONE_TABLE}`).get() as { n: unknown }).n as
        | number
        | null) ?? 0)
    : 0;
  // Sealed or not: the next seal (the hold's own included) would make a statement
  // left unsealed by a kill valid. Only sealog's own entry form is a candidate (an
  // app's record never starts with it), and more candidates than are read is a
  // refusal, never a silent cut-off (red-team findings).
  const rows = db
    .prepare(
      `SELECT seq, entry FROM records WHERE seq >= ? AND length(entry) <= ${4 * MAX_PREFIX_NOTE_BYTES} AND substr(entry, 1, ${PREFIX.length}) = CAST('${PREFIX}' AS BLOB) ORDER BY seq LIMIT ${MAX_PREFIX_STATEMENTS + 1}`,
    )
    .raw(true)
    .all(typeof cut === 'number' ? cut : 0) as [number, unknown][];
  if (rows.length > MAX_PREFIX_STATEMENTS)
    throw new SealogError(
      'E_CONFIG',
      `more than ${MAX_PREFIX_STATEMENTS} prune statements after the newest cut (from row ${rows[MAX_PREFIX_STATEMENTS]![0]} on): not read, so no hold can be placed safely; run sealog verify and sealog prune on the ledger`,
    );
  return opened(rows, typeof cut === 'number' ? cut : 0, trusted);
}

/** The trusted statements among `rows` whose cut is past `cut`. Never throws on row content. */
function opened(rows: readonly [number, unknown][], cut: number, trusted: StatementTrust): UnfinishedPrune[] {
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
    `refused: row ${hit.seq} is a prune statement removing records 0..${hit.size - 1} (times ${new Date(hit.oldest).toISOString()} to ${new Date(hit.newest).toISOString()}) whose cut never ran (an interrupted prune); a hold over them would not stop that cut. Run sealog prune ${display} again to finish it, then hold what is left; nothing was written`,
  );
}

/**
 * After the hold at row `at` is sealed: a prune statement appended between the
 * hold's verified snapshot (`seen` rows) and its row was not judged before it.
 * Only when the advisory lock was lost can one be there (red team); then the
 * hold does not stop that prune's cut, and the operator must be told.
 * @throws SealogError E_CONFIG naming both rows (the hold stays recorded).
 */
export async function refuseHoldAfterPrune(
  url: string,
  seen: number,
  at: number,
  scope: { from: number; to: number },
  trusted: StatementTrust,
): Promise<void> {
  const target = parsePgUrl(url);
  const s = await connectPg(target);
  let rows: { seq: string; entry: unknown }[];
  try {
    rows = (
      await s.query<{ seq: string; entry: unknown }>(
        `SELECT seq, entry FROM ${qualify(target, 'records')} WHERE seq >= $1 AND seq < $2 AND octet_length(entry) <= ${4 * MAX_PREFIX_NOTE_BYTES} AND substr(entry, 1, ${PREFIX.length}) = '${PREFIX}'::bytea ORDER BY seq LIMIT ${MAX_PREFIX_STATEMENTS}`,
        [seen, at],
      )
    ).rows;
  } catch (err) {
    throw pgError(target, 'read', err);
  } finally {
    await s.end();
  }
  const found = opened(
    rows.map((r) => [Number(r.seq), r.entry]),
    0,
    trusted,
  );
  const hit = found.find((u) => u.oldest <= scope.to && u.newest >= scope.from);
  if (hit === undefined) return;
  throw new SealogError(
    'E_CONFIG',
    `the legal hold is recorded at row ${at}, but a prune statement removing records 0..${hit.size - 1} was appended at row ${hit.seq} while it was placed (the lock between hold and prune was lost), and this hold does not stop that prune: run sealog prune ${target.display} again, then place the hold again over what is left`,
  );
}
