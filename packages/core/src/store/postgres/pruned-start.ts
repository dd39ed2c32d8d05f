import type { ChainState } from '../../chain/state.js';
import type { OwnKey } from '../../chain/trust.js';
import { SealogError } from '../../errors.js';
import { stateAt } from '../../prefix/tombstone.js';
import { type PgSession, qualify } from './connect.js';
import { missingPruneEvidence } from './prune-evidence.js';
import { hasTombstones, latestTombstone } from './tombstones.js';

// Where a signing writer of a pruned PostgreSQL ledger may start: the newest
// tombstone, only when this writer's own key signed its checkpoint at exactly
// its size, its compact range hashes to that signed root, and the prune
// statement it names is this key's, sealed, for that head (prune-evidence.ts). The chain value
// beside it is not signed (the root is what binds the range): a wrong one makes
// the next row fail its chain check, so nothing is signed over it either.

/**
 * The proven state at the newest tombstone; undefined when nothing was pruned;
 * a finding (E_TAMPER) when a tombstone is there but does not prove itself: the
 * writer then signs nothing (rows before it are gone, so row 0 is no start).
 */
export async function prunedStart(
  s: PgSession,
  own: OwnKey,
  display: string,
): Promise<{ state: ChainState } | SealogError | undefined> {
  const t = await latestTombstone(s);
  if (t === undefined) return undefined;
  const refuse = (why: string) =>
    new SealogError(
      'E_TAMPER',
      `ledger ${display}: its newest tombstone ${why}; nothing will be signed over it: run \`sealog verify\` with the verifier key`,
    );
  if (typeof t === 'string') return refuse(`is malformed (${t})`);
  const head = own.open(t.note, `tombstone ${t.id}`);
  if (!head) return refuse('holds a checkpoint this key did not sign');
  if (head.size !== t.size) return refuse(`holds a checkpoint of size ${head.size}, not ${t.size}`);
  if (!head.root.equals(t.range.root()))
    return refuse(`holds a compact range that does not hash to its signed root at size ${t.size}`);
  const missing = await missingPruneEvidence(s, own, t);
  if (missing !== undefined) return refuse(missing);
  return { state: stateAt(t) };
}

/** The newest tombstone's claimed size, unverified (whether a prune cut at or above a state). */
export async function prunedSize(s: PgSession): Promise<number | undefined> {
  if (!(await hasTombstones(s))) return undefined;
  const r = await s.query<{ n: unknown }>(
    `SELECT size AS n FROM ${qualify(s.target, 'tombstones')} ORDER BY id DESC LIMIT 1`,
  );
  const n = r.rows[0]?.n;
  return typeof n === 'number' ? n : undefined;
}
