import type { ErasedLeaves } from '../chain/erased.js';
import { SealogError } from '../errors.js';
import { HASH_SIZE, leafHash } from '../hash.js';
import type { CompactRange } from '../merkle.js';
import type { VerifierKey } from '../note/keys.js';
import type { KeyChain } from '../signer/rotation.js';
import type { RecordQuery } from '../store/query.js';
import type { LedgerReader } from '../store/reader.js';
import { judgeTombstone, readTombstone } from '../verify/tombstone.js';
import type { ExpiredPrefix, Finding } from '../verify/types.js';
import { newestCovering } from './covering.js';
import { ProofTree } from './tree.js';

// An export of a ledger whose prefix [0, n) was pruned under retention (a
// PostgreSQL ledger, read from its snapshot copy; docs/lifecycle.md "Pruning a
// PostgreSQL ledger"). The subtrees below the cut come from the newest
// tombstone's compact range, accepted only after the checks `sealog verify`
// makes (verify/tombstone.ts): its checkpoint signed by a given log key at
// exactly its size, its range hashing to that root, and a sealed prune
// statement signed by a given key naming that head. The stored row is a claim.

/** A proved pruned prefix: what the proof tree starts from. */
export interface PrunedBase {
  range: CompactRange;
  expired: ExpiredPrefix;
}

/**
 * The ledger's newest tombstone once it proves itself, or undefined when
 * nothing was pruned.
 * @throws SealogError E_TAMPER naming the first problem (run `sealog verify`).
 */
export function provedPrefix(
  reader: LedgerReader,
  keys: VerifierKey[],
  chain: KeyChain | undefined,
): PrunedBase | undefined {
  const findings: Finding[] = [];
  const add = (f: Finding) => findings.push(f);
  const refuse = () =>
    new SealogError(
      'E_TAMPER',
      `the ledger's prefix was removed but its ${findings[0]?.message ?? 'tombstone does not prove itself'}; nothing is exported: run \`sealog verify\` with the verifier key`,
    );
  const read = readTombstone(reader.db, keys, add);
  if (read === undefined) {
    if (findings.length > 0) throw refuse();
    return undefined;
  }
  if (findings.length > 0 || !read.proved) throw refuse();
  // The statement must be sealed: by the newest checkpoint the keys signed that covers its row.
  let sealed: { size: number; origin: string };
  try {
    sealed = newestCovering(reader, keys, read.tombstone.statementSeq, reader.size(), chain).checkpoint;
  } catch {
    add({
      kind: 'bad-tombstone',
      message: `tombstone: its prune statement at row ${read.tombstone.statementSeq} is not sealed by a checkpoint the given keys signed`,
    });
    throw refuse();
  }
  const expired = judgeTombstone(reader.db, read, keys, sealed.size, sealed.origin, add);
  if (expired === undefined) throw refuse();
  return { range: read.tombstone.range, expired };
}

/**
 * Refuses a selection that reaches below the cut: by seq, or by a time range
 * starting at or before the newest pruned record's time (and not ending before the oldest).
 * @throws SealogError E_CONFIG saying where the kept records start
 */
export function checkNotPruned(query: RecordQuery, base: PrunedBase | undefined): void {
  if (base === undefined) return;
  const e = base.expired;
  const n = e.records;
  // An open lower end (no --seq, `--seq ..B`) means "what is kept", unless nothing kept is in
  // it; a time range is refused when its lower end (--from) reaches the pruned records' times.
  const bySeq =
    (query.seqFrom !== undefined && query.seqFrom < n) || (query.seqTo !== undefined && query.seqTo <= n);
  const byTime =
    query.tsFrom !== undefined &&
    query.tsFrom <= e.newest &&
    (query.tsTo ?? Number.POSITIVE_INFINITY) > e.oldest;
  if (!bySeq && !byTime) return;
  const when = `${new Date(e.prunedAt).toISOString()}, reason ${JSON.stringify(e.reason)}`;
  const instead = bySeq
    ? `select from --seq ${n} on`
    : `select records after ${new Date(e.newest).toISOString()}`;
  throw new SealogError(
    'E_CONFIG',
    `records 0..${n - 1} were pruned under retention at ${n} (${when}; \`sealog verify\` lists the prune); the oldest kept record is ${n}: ${instead}`,
  );
}

/**
 * The proof tree of [0, size): leaf hashes of the kept records [cut, size),
 * the pruned ones standing in by `base`'s compact range. Rows must be gap-free.
 * @throws SealogError E_TAMPER when a row is missing
 */
export function proofTreeOf(
  reader: LedgerReader,
  size: number,
  base: PrunedBase | undefined,
  erased: ErasedLeaves | undefined,
  progress?: (done: number, total: number) => void,
): ProofTree {
  const cut = base?.range.size ?? 0;
  const missing = (seq: number) =>
    new SealogError('E_TAMPER', `the ledger has no record ${seq}; run \`sealog verify\``);
  if (size < cut) throw missing(size);
  const leaves = new Uint8Array((size - cut) * HASH_SIZE);
  let expected = cut;
  for (const r of reader.records(cut, size)) {
    if (r.seq !== expected) throw missing(expected);
    leaves.set(erased?.leafOf(r.seq, r.entry)?.leaf ?? leafHash(r.entry), (expected - cut) * HASH_SIZE);
    expected++;
    if (progress && (expected - cut) % PROGRESS_ROWS === 0) progress(expected - cut, size - cut);
  }
  if (expected !== size) throw missing(expected);
  return new ProofTree(leaves, base?.range);
}

/** Rows between two progress calls. */
export const PROGRESS_ROWS = 1024;
