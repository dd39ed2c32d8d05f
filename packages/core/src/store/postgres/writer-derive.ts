import {
  type CheckpointRow,
  Derivation,
  MAX_RESUME_CANDIDATES,
  pickStart,
  type ResumeRow,
} from '../../chain/derive.js';
import { ChainState } from '../../chain/state.js';
import { SealogError } from '../../errors.js';
import { HASH_SIZE, ZERO_HASH } from '../../hash.js';
import { maxOf } from '../../numbers.js';
import { MAX_TAIL_SEQ, tailStarts } from '../tail.js';
import type { WriterTrust } from '../types.js';
import { type PgSession, qualify } from './connect.js';
import { prunedSize, prunedStart } from './pruned-start.js';

// How a PostgreSQL writer knows the state it chains on and signs: every value is
// derived here by hashing rows (chain/derive.ts), never read back from
// ledger_state, except by a writer without a key, which signs nothing and only
// adopts the stored head after checking it against the last row (storedHead).
// Every query runs inside the caller's session and transaction.

/** Rows read per query while deriving (bounded memory on any ledger size). */
const DERIVE_PAGE_ROWS = 10_000;

/**
 * The newest checkpoint row this key signed with a resume state, else a pruned
 * prefix's tombstone (its checkpoint signed by this key at exactly its size,
 * its compact range hashing to that root, and its prune statement this key's,
 * sealed, naming that head: pruned-start.ts and prune-evidence.ts), else
 * row 0; then every later row hashed here. The state, or the first finding.
 * `hasResume`: the checkpoints table has chain_head/compact (schema.ts ensureResumeColumns).
 */
export async function deriveFromStart(
  s: PgSession,
  trust: WriterTrust,
  hasResume: boolean,
): Promise<ChainState | SealogError> {
  const records = qualify(s.target, 'records');
  const checkpoints = qualify(s.target, 'checkpoints');
  const last = (await s.query<{ m: unknown }>(`SELECT max(seq) AS m FROM ${records}`)).rows[0]?.m;
  const rowCount = typeof last === 'number' ? last + 1 : 0;
  const pruned = await prunedStart(s, trust.own, s.target.display);
  if (pruned instanceof SealogError) return pruned;
  const cut = pruned?.state.size ?? 0;
  const anchored = trust.heads.length > 0 ? maxOf(trust.heads.map((h) => h.size)) : undefined;
  // Only heads after the cut: a resume row at or below it would chain on a deleted row.
  const candidates = hasResume
    ? (
        await s.query<ResumeRow>(
          `SELECT id, size, note, chain_head, compact FROM ${checkpoints} WHERE compact IS NOT NULL AND size <= $1 AND size > $3 ORDER BY size DESC, id DESC LIMIT $2`,
          [rowCount, MAX_RESUME_CANDIDATES, cut],
        )
      ).rows
    : [];
  const start = pickStart(
    candidates,
    trust.own,
    anchored !== undefined ? { rowCount, atMost: anchored } : { rowCount },
  );
  const from = start?.state ?? pruned?.state ?? new ChainState();
  const rows = (
    await s.query<CheckpointRow>(`SELECT id, note FROM ${checkpoints} WHERE size >= $1`, [from.size])
  ).rows;
  const d = new Derivation(from, s.target.display, { own: trust.own, heads: trust.heads, rows });
  // From the tombstone: row size-1 was pruned; its chain value is the tombstone's, so the
  // link check is fed that value (the signed root, not the chain, is what binds the range).
  if (!start && pruned) d.row(cut - 1, undefined, pruned.state.chainHead);
  return (await feedRows(s, d)) ?? d.state;
}

/**
 * After a prune cut the ledger at or above `state` (rows it would chain from are
 * gone): derive again from the new start. The state, or undefined when nothing was pruned there.
 */
export async function rederiveAfterPrune(
  s: PgSession,
  state: ChainState,
  trust: WriterTrust | undefined,
  hasResume: boolean,
): Promise<ChainState | SealogError | undefined> {
  const size = await prunedSize(s);
  if (!trust || size === undefined || size < state.size) return undefined;
  return deriveFromStart(s, trust, hasResume);
}

/**
 * A derivation from `state`; a signing writer also checks the rows against every
 * head its key signed at or above that size, even when no row was appended (rows
 * another writer sealed may have been rewritten, or cut off): checkpoint rows, and
 * the anchor file re-read now (only what was appended since).
 */
export async function derivationFrom(
  s: PgSession,
  state: ChainState,
  trust: WriterTrust | undefined,
): Promise<Derivation> {
  if (!trust) return new Derivation(state, s.target.display);
  const rows = (
    await s.query<CheckpointRow>(
      `SELECT id, note FROM ${qualify(s.target, 'checkpoints')} WHERE size >= $1`,
      [state.size],
    )
  ).rows;
  const heads = trust.anchor ? trust.anchor.readOrKnown() : trust.heads;
  return new Derivation(state, s.target.display, { own: trust.own, heads, rows });
}

/** Feeds every row from the derivation's start (page by page) and ends it. */
export async function feedRows(s: PgSession, d: Derivation): Promise<SealogError | undefined> {
  const records = qualify(s.target, 'records');
  let next = Math.max(d.state.size - 1, 0);
  for (;;) {
    const page = (
      await s.query<{ seq: unknown; entry: unknown; chain: unknown }>(
        `SELECT seq, entry, chain FROM ${records} WHERE seq >= $1 ORDER BY seq LIMIT ${DERIVE_PAGE_ROWS}`,
        [next],
      )
    ).rows;
    let going = true;
    for (const r of page) {
      going = d.row(r.seq, r.entry, r.chain);
      if (!going) break;
    }
    const lastSeq = page[page.length - 1]?.seq;
    if (!going || page.length < DERIVE_PAGE_ROWS || typeof lastSeq !== 'number') break;
    next = lastSeq + 1;
  }
  return d.end();
}

/** The ledger_state row as stored, and whether it agrees with the last record. */
export interface StoredHead {
  /** Undefined when the row is missing or malformed (`error` says why). */
  decoded: ChainState | undefined;
  error?: unknown;
  /** Rows implied by the highest stored seq. */
  rowsSize: number;
  /** The stored size is that, and its chain value is the last row's. */
  agrees: boolean;
}

/** Reads ledger_state and the last record (for a writer without a key, which signs nothing). */
export async function storedHead(s: PgSession): Promise<StoredHead> {
  const state = (
    await s.query<{ size: unknown; chain_head: unknown; compact: unknown }>(
      `SELECT size, chain_head, compact FROM ${qualify(s.target, 'ledger_state')} WHERE id = 0`,
    )
  ).rows[0];
  const last = (
    await s.query<{ seq: unknown; chain: unknown }>(
      `SELECT seq, chain FROM ${qualify(s.target, 'records')} ORDER BY seq DESC LIMIT 1`,
    )
  ).rows[0];
  const rowsSize = last && typeof last.seq === 'number' ? last.seq + 1 : 0;
  let decoded: ChainState | undefined;
  let error: unknown;
  try {
    decoded = ChainState.decode(state?.size, state?.chain_head, state?.compact);
  } catch (err) {
    error = err;
  }
  const agrees =
    decoded !== undefined &&
    decoded.size === rowsSize &&
    (rowsSize === 0 || (Buffer.isBuffer(last?.chain) && last.chain.equals(decoded.chainHead)));
  return { decoded, error, rowsSize, agrees };
}

/**
 * In tail mode (the rows do not derive a state): where `n` records go, after the
 * highest stored seq, on that row's chain value. Undefined when no free range is left.
 */
export async function tailStart(
  s: PgSession,
  n: number,
): Promise<{ next: number; chain: Buffer } | undefined> {
  const records = qualify(s.target, 'records');
  const last = (
    await s.query<{ seq: unknown; chain: unknown }>(
      `SELECT seq, chain FROM ${records} WHERE seq >= 0 AND seq < $1 ORDER BY seq DESC LIMIT 1`,
      [MAX_TAIL_SEQ],
    )
  ).rows[0];
  const highest = last && typeof last.seq === 'number' ? last.seq : undefined;
  for (const start of tailStarts(highest, n)) {
    const taken = await s.query(`SELECT 1 FROM ${records} WHERE seq >= $1 AND seq < $2 LIMIT 1`, [
      start,
      start + n,
    ]);
    if (taken.rows.length > 0) continue;
    const chain =
      last && Buffer.isBuffer(last.chain) && last.chain.length === HASH_SIZE ? last.chain : ZERO_HASH;
    return { next: start, chain };
  }
  return undefined;
}
