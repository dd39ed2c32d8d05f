import type Database from 'better-sqlite3';
import type { VerifierKey } from '../note/keys.js';
import { MAX_NOTE_BYTES } from '../note/note.js';
import {
  MAX_PREFIX_NOTE_BYTES,
  openPrefix,
  type PrefixStatement,
  prefixNoteOf,
} from '../prefix/statement.js';
import { MAX_TOMBSTONES, parseTombstone, TOMBSTONE_TABLE, type Tombstone } from '../prefix/tombstone.js';
import { statementSignedBy } from '../segments/statements.js';
import type { HoldSummary } from '../segments/verify-types.js';
import { holdActiveAt, readPgHolds } from '../store/postgres/holds.js';
import { checkNote } from './checkpoint.js';
import type { ExpiredPrefix, Finding } from './types.js';

// A ledger whose prefix [0, n) was pruned under retention (a PostgreSQL ledger,
// read from its snapshot copy) is verified from its newest tombstone instead of
// row 0 (docs/lifecycle.md "PostgreSQL ledgers"). The tombstone proves itself or
// is a finding, never trusted for being there: its checkpoint must be signed by
// a given key at exactly its size, its compact range must hash to that root, and
// a prune statement signed by a given key, sealed by a valid checkpoint, naming
// that head and due under the retention it names, must be the row it points at.

/** A tombstone read before the scan: the scan starts from its state either way. */
export interface ReadTombstone {
  tombstone: Tombstone;
  /** False when its checkpoint did not prove its range (already reported). */
  proved: boolean;
}

const bad = (message: string, seq?: number): Finding => ({
  kind: 'bad-tombstone',
  message: `tombstone: ${message}`,
  ...(seq !== undefined ? { seq } : {}),
});

/**
 * The newest tombstone of the file, checked against its signed checkpoint, or
 * undefined when the file has none. Problems are findings. Bounded: at most
 * MAX_TOMBSTONES rows are counted, one is loaded, its columns length-capped in SQL.
 */
export function readTombstone(
  db: Database.Database,
  keys: readonly VerifierKey[],
  add: (f: Finding) => void,
): ReadTombstone | undefined {
  const exists = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
    .get(TOMBSTONE_TABLE);
  if (exists === undefined) return undefined;
  const [count, maxSize] = db
    .prepare(`SELECT count(*), max(size) FROM ${TOMBSTONE_TABLE}`)
    .raw(true)
    .get() as [number, unknown];
  if (count === 0) return undefined;
  if (count > MAX_TOMBSTONES) add(bad(`${count} rows, more than the ${MAX_TOMBSTONES} prunes it may hold`));
  const row = db
    .prepare(
      `SELECT id, size, iif(length(note) <= ${MAX_NOTE_BYTES}, note, NULL) AS note,
         iif(length(chain_head) <= 32, chain_head, NULL) AS chain_head,
         iif(length(compact) <= 2048, compact, NULL) AS compact, statement_seq, pruned_at
       FROM ${TOMBSTONE_TABLE} ORDER BY id DESC LIMIT 1`,
    )
    .get() as Record<string, unknown>;
  const t = parseTombstone(row);
  if (typeof t === 'string') {
    add(bad(`the newest row is malformed: ${t}; no pruned prefix can be accepted`));
    return undefined;
  }
  if (typeof maxSize === 'number' && maxSize > t.size)
    add(bad(`an older row names a longer prefix (${maxSize}) than the newest (${t.size}): rows were added`));
  let proved = false;
  if (keys.length === 0) add(bad('no key was given to check its checkpoint'));
  else {
    const opened = checkNote(t.note, keys);
    if (!opened.ok) add(bad(`its checkpoint does not verify (${opened.kind}: ${opened.message})`));
    else if (!opened.signers.includes(opened.origin))
      add(bad(`its checkpoint is not signed by the log key of ${JSON.stringify(opened.origin)}`));
    else if (opened.size !== t.size)
      add(bad(`its checkpoint signs size ${opened.size}, but it stands for ${t.size} records`));
    else if (!opened.root.equals(t.range.root()))
      add(bad(`its compact range does not hash to the root its checkpoint signs at size ${t.size} (forged)`));
    else proved = true;
  }
  return { tombstone: t, proved };
}

/**
 * A sealed hold stored before the statement's row whose time range overlaps the
 * records it removed, not released before it. `sealog prune` never signs past
 * such a hold (it judges holds on its snapshot and again, behind a table lock,
 * at the cut), so the cut was made by hand: a statement left by an interrupted
 * prune, carried out by someone who can write the database after a hold was
 * placed (red-team finding).
 */
function heldWhenSigned(
  db: Database.Database,
  sealed: number,
  origin: string | undefined,
  keys: readonly VerifierKey[],
  s: PrefixStatement,
  at: number,
): HoldSummary | undefined {
  const { holds } = readPgHolds(db, { sealed }, origin, (note, o) => statementSignedBy(note, o, keys));
  return holdActiveAt(holds, s, at);
}

/**
 * After the scan and checkpoints are judged: the statement that authorised the
 * prune. `sealed` is the size the log's valid checkpoints cover; `origin` the
 * log's. Returns the expired prefix when everything holds, else reports why.
 */
export function judgeTombstone(
  db: Database.Database,
  read: ReadTombstone,
  keys: readonly VerifierKey[],
  sealed: number,
  origin: string | undefined,
  add: (f: Finding) => void,
): ExpiredPrefix | undefined {
  const t = read.tombstone;
  const at = t.statementSeq;
  const entry = db
    .prepare(
      `SELECT iif(length(entry) <= ${4 * MAX_PREFIX_NOTE_BYTES}, entry, NULL) FROM records WHERE seq = ?`,
    )
    .pluck()
    .get(at);
  const note = prefixNoteOf(entry);
  const s = note === undefined ? undefined : openPrefix(note, keys);
  const fail = (why: string) => {
    add(bad(`${t.size} records are missing: ${why}`, at));
    return undefined;
  };
  if (note === undefined) return fail(`row ${at}, where its prune statement should be, holds none`);
  if (s === undefined)
    return fail(`the prune statement at row ${at} is malformed or not signed by a given key`);
  if (origin !== undefined && s.origin !== origin)
    return fail(`the prune statement at row ${at} is for origin ${JSON.stringify(s.origin)}`);
  if (at >= sealed) return fail(`the prune statement at row ${at} is not covered by a valid checkpoint`);
  if (s.size !== t.size || !t.range.root().equals(Buffer.from(s.root)))
    return fail(`the prune statement at row ${at} names size ${s.size}, not this tombstone's head`);
  if (s.time < s.newest + s.retention)
    return fail(`the prune statement at row ${at} removed records younger than the retention it names`);
  const held = heldWhenSigned(db, sealed, origin, keys, s, at);
  if (held !== undefined)
    return fail(
      `the prune statement at row ${at} removed records under legal hold ${JSON.stringify(held.id)} (row ${held.at.seq}), active when the statement was signed`,
    );
  if (!read.proved) return undefined; // already a finding
  const expired: ExpiredPrefix = {
    records: t.size,
    prunedAt: s.time,
    retention: s.retention,
    reason: s.reason,
    statementSeq: at,
    oldest: s.oldest,
    newest: s.newest,
  };
  add({
    kind: 'expired',
    seq: 0,
    message: `${t.size} records expired under retention (pruned at ${new Date(s.time).toISOString()}, retention ${s.retention} ms, reason ${JSON.stringify(s.reason)}; statement at row ${at})`,
  });
  return expired;
}
