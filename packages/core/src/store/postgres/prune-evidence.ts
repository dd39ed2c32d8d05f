import type { OwnKey } from '../../chain/trust.js';
import { MAX_NOTE_BYTES } from '../../note/note.js';
import { MAX_PREFIX_NOTE_BYTES, parsePrefix, prefixNoteOf } from '../../prefix/statement.js';
import type { Tombstone } from '../../prefix/tombstone.js';
import { MAX_STATEMENT_NOTE_BYTES } from '../../segments/statements.js';
import type { HoldSummary } from '../../segments/verify-types.js';
import { type PgSession, qualify } from './connect.js';
import { holdActiveAt, judgeHoldRows, MAX_PG_HOLD_STATEMENTS, PG_HOLD_FILTER, trustOwn } from './holds.js';

// What a signing writer of a pruned PostgreSQL ledger requires before it starts
// from a tombstone, beside the tombstone's own signed checkpoint: the evidence
// `sealog verify` requires (verify/tombstone.ts judgeTombstone). The row the
// tombstone names must hold a prune statement signed by this writer's key for
// its origin, naming the tombstone's size and root, due under the retention it
// names, and sealed by a checkpoint this key signed past it. Without it, someone
// who can write the database but holds no key could delete a prefix behind a
// tombstone of a real checkpoint, and the writer would go on sealing over it.

/** Checkpoint rows past the statement looked at for its seal, newest first. */
const MAX_SEAL_ROWS = 1000;

/**
 * Why the prune statement the tombstone names does not authorise it, or
 * undefined when it does. Never throws on what it reads (attacker input).
 */
export async function missingPruneEvidence(
  s: PgSession,
  own: OwnKey,
  t: Tombstone,
): Promise<string | undefined> {
  const at = t.statementSeq;
  const r = await s.query<{ entry: unknown }>(
    // Length bounded in SQL: an edited row never loads more than a statement.
    `SELECT CASE WHEN octet_length(entry) <= ${4 * MAX_PREFIX_NOTE_BYTES} THEN entry END AS entry
     FROM ${qualify(s.target, 'records')} WHERE seq = $1`,
    [at],
  );
  const note = prefixNoteOf(r.rows[0]?.entry);
  if (note === undefined) return `names row ${at} for its prune statement, which holds none`;
  if (!own.signs(note)) return `names a prune statement at row ${at} that this key did not sign`;
  let st: ReturnType<typeof parsePrefix>;
  try {
    st = parsePrefix(note);
  } catch {
    return `names a malformed prune statement at row ${at}`;
  }
  if (st.origin !== own.origin)
    return `names a prune statement at row ${at} for origin ${JSON.stringify(st.origin)}`;
  if (st.size !== t.size || !t.range.root().equals(Buffer.from(st.root)))
    return `names a prune statement at row ${at} that is for size ${st.size}, not its own head`;
  if (st.time < st.newest + st.retention)
    return `names a prune statement at row ${at} that removed records younger than its retention`;
  const seals = await s.query<{ note: unknown }>(
    `SELECT CASE WHEN octet_length(note) <= ${MAX_NOTE_BYTES} THEN note END AS note
     FROM ${qualify(s.target, 'checkpoints')} WHERE size > $1 ORDER BY id DESC LIMIT ${MAX_SEAL_ROWS}`,
    [at],
  );
  // The seal's root is checked against the rows as they are hashed (chain/derive.ts).
  const sealed = seals.rows.some((row) => {
    const head = own.open(row.note, 'checkpoint row');
    return head !== undefined && head.size > at;
  });
  if (!sealed) return `names a prune statement at row ${at} that no checkpoint this key signed seals`;
  const held = await holdWhenSigned(s, own, st, at);
  if (held !== undefined)
    return `names a prune statement at row ${at} signed while legal hold ${JSON.stringify(held.id)} (row ${held.at.seq}) covered its records: the cut was made by hand`;
  return undefined;
}

/**
 * A hold of this key, stored before the statement and not released before it,
 * over the statement's record times (as verify judges it: holds.ts holdActiveAt).
 * Every row before `at` is sealed: the statement's seal covers it.
 */
async function holdWhenSigned(
  s: PgSession,
  own: OwnKey,
  st: { oldest: number; newest: number },
  at: number,
): Promise<HoldSummary | undefined> {
  const r = await s.query<{ seq: string; entry: unknown }>(
    `SELECT seq, CASE WHEN octet_length(entry) <= ${4 * MAX_STATEMENT_NOTE_BYTES} THEN entry END AS entry
     FROM ${qualify(s.target, 'records')}
     WHERE seq < $1 AND (${PG_HOLD_FILTER})
     ORDER BY seq LIMIT ${MAX_PG_HOLD_STATEMENTS + 1}`,
    [at],
  );
  const rows = r.rows.map((row): [number, unknown] => [Number(row.seq), row.entry ?? null]);
  const { holds } = judgeHoldRows(rows, { sealed: at + 1 }, own.origin, trustOwn(own));
  return holdActiveAt(holds, st, at);
}
