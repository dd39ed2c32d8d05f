import type Database from 'better-sqlite3';
import { ChainState } from '../../chain/state.js';
import type { OwnKey } from '../../chain/trust.js';
import { SealogError } from '../../errors.js';
import { maxOf } from '../../numbers.js';
import { parseTombstone, stateAt, TOMBSTONE_TABLE } from '../../prefix/tombstone.js';
import type { VerifyReport } from '../../verify/types.js';
import { refuseHeldPrune } from './holds.js';

// What `sealog prune postgres://…` may remove, decided on one verified snapshot
// (a SQLite copy that verifyLedger passed with the key's own verifier keys): the
// longest prefix [0, n) such that n is the size of a valid checkpoint this key
// signed, every row below n is older than the cutoff, and n is sealed. The
// compact range and chain value at n are derived here by hashing the rows from
// the previous cut (or row 0), and must give the signed root: never adopted.

export interface PgPrunePlan {
  /** Rows already pruned (the previous tombstone's size, else 0). */
  from: number;
  /** The new cut: rows [from, size) go. Equal to `from` when nothing is due. */
  size: number;
  /** Why the cut is not further. */
  stop: string;
  /** When something is due: the head at the cut, derived, and its signed checkpoint. */
  cut?: { state: ChainState; note: string; oldest: number; newest: number };
}

const DERIVE_PAGE = 10_000;

/** Plans a prune on the verified snapshot `db` with cutoff time `cutoff` (ms). */
export function planPgPrune(
  db: Database.Database,
  report: VerifyReport,
  own: OwnKey,
  cutoff: number,
): PgPrunePlan {
  const hasTomb = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
    .get(TOMBSTONE_TABLE);
  let start = new ChainState();
  if (hasTomb !== undefined) {
    const row = db.prepare(`SELECT * FROM ${TOMBSTONE_TABLE} ORDER BY id DESC LIMIT 1`).get() as
      | Record<string, unknown>
      | undefined;
    if (row !== undefined) {
      const t = parseTombstone(row);
      if (typeof t === 'string') throw new SealogError('E_TAMPER', `the newest tombstone is malformed: ${t}`);
      start = stateAt(t); // verify proved it (the report is OK)
    }
  }
  const from = start.size;
  const young = db
    .prepare('SELECT min(seq) FROM records WHERE seq >= ? AND ts >= ?')
    .pluck()
    .get(from, cutoff) as number | null;
  const limit = Math.min(young ?? report.size, report.sealed);
  const sizes = report.checkpoints
    .filter((c) => c.valid && c.source === 'ledger' && c.size !== undefined)
    .map((c) => c.size!)
    .filter((n) => n > from && n <= limit);
  const size = maxOf(sizes, from);
  const stop =
    young !== null && young < report.sealed
      ? `record ${young} is not older than the cutoff`
      : `records from ${report.sealed} on are not sealed yet`;
  if (size === from) return { from, size, stop: `nothing is due: ${stop}` };
  refuseHeldPrune(db, report, own, from, size);
  const state = start.clone();
  const page = db
    .prepare('SELECT seq, entry FROM records WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?')
    .raw(true);
  let next = from;
  while (next < size) {
    const rows = page.all(next, size, DERIVE_PAGE) as [number, unknown][];
    if (rows.length === 0) break;
    for (const [seq, entry] of rows) {
      if (seq !== next || !Buffer.isBuffer(entry))
        throw new SealogError('E_TAMPER', `record ${next} is missing or malformed; run sealog verify`);
      state.append(entry);
      next++;
    }
  }
  const notes = db.prepare('SELECT note FROM checkpoints WHERE size = ? ORDER BY id DESC').pluck().all(size);
  const note = notes.find((n) => {
    const h = own.open(n, `checkpoint at size ${size}`);
    return h !== undefined && h.size === size && h.root.equals(state.root());
  });
  if (next !== size || typeof note !== 'string') {
    throw new SealogError(
      'E_TAMPER',
      `the rows up to ${size} do not hash to the root this key signed at that size; run sealog verify`,
    );
  }
  const [oldest, newest] = db
    .prepare('SELECT min(ts), max(ts) FROM records WHERE seq >= ? AND seq < ?')
    .raw(true)
    .get(from, size) as [number, number];
  return { from, size, stop, cut: { state, note, oldest, newest } };
}
