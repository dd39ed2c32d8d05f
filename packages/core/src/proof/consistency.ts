import { erasuresSignedBy } from '../chain/erased.js';
import { SealogError } from '../errors.js';
import { consistencyProof, type LeafSource, subtreeRoot, verifyConsistency } from '../merkle.js';
import { parseVerifierKey } from '../note/keys.js';
import { openReadOnly } from '../store/open.js';
import { bundlePart, CONSISTENCY_TYPE, type ConsistencyBundle, encodeHashes } from './bundle.js';
import { checkProofNote, type ProofFailure, type ProvenCheckpoint } from './check.js';
import { proverKeys } from './inclusion.js';
import { assertMatches, prunedError, prunedPrefix, readLeaves, skippedText, storedNotes } from './leaves.js';

/** Builds a consistency bundle from parts (no ledger needed). @throws RangeError if from > to. */
export function makeConsistencyBundle(
  fromSize: number,
  toSize: number,
  leaf: LeafSource,
  from: string,
  to: string,
): ConsistencyBundle {
  return {
    type: CONSISTENCY_TYPE,
    fromSize,
    toSize,
    proof: encodeHashes(consistencyProof(leaf, fromSize, toSize)),
    from,
    to,
  };
}

/**
 * Proves that the ledger's checkpoint at `toSize` extends its checkpoint at
 * `fromSize` (RFC 9162 §2.1.4), using the latest stored checkpoint of each
 * size that is signed by one of `keys` (other rows are ignored).
 * @throws SealogError E_CONFIG (no key, no signed checkpoint of that size, or
 *   from > to), E_KEY, E_TAMPER (records do not match a checkpoint), E_IO / E_NOT_LEDGER.
 */
export function proveConsistency(
  path: string,
  fromSize: number,
  toSize: number,
  keys: readonly string[],
): ConsistencyBundle {
  const vkeys = proverKeys(keys);
  for (const [n, v] of [
    ['from-size', fromSize],
    ['to-size', toSize],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new SealogError('E_CONFIG', `${n} must be an integer ≥ 0, got ${String(v)}`);
  }
  if (fromSize > toSize)
    throw new SealogError('E_CONFIG', `from-size ${fromSize} is larger than to-size ${toSize}`);
  const db = openReadOnly(path);
  try {
    db.exec('BEGIN');
    const { notes, skipped } = storedNotes(db, vkeys);
    const pick = (size: number) => {
      const found = notes.filter((c) => c.size === size).pop();
      if (!found) {
        const sizes = [...new Set(notes.map((c) => c.size))].slice(-20).join(', ');
        throw new SealogError(
          'E_CONFIG',
          `no checkpoint signed by the given keys has size ${size}; sizes available: ${sizes || 'none'}${skippedText(skipped)}`,
        );
      }
      return found;
    };
    const cut = prunedPrefix(db)?.size ?? 0;
    if (fromSize < cut) throw prunedError(cut, `a consistency proof from size ${fromSize}`);
    const from = pick(fromSize);
    const to = pick(toSize);
    const leaves = readLeaves(db, toSize, erasuresSignedBy(db, vkeys));
    assertMatches(leaves, to);
    if (!Buffer.from(subtreeRoot(leaves.leaf, 0, fromSize)).equals(from.root)) {
      throw new SealogError(
        'E_TAMPER',
        `checkpoint ${from.id} (size ${fromSize}) does not match the records; run \`sealog verify\``,
      );
    }
    return makeConsistencyBundle(fromSize, toSize, leaves.leaf, from.note, to.note);
  } finally {
    db.close();
  }
}

/** A consistency proof that verified. */
export interface ConsistencySuccess {
  ok: true;
  from: ProvenCheckpoint;
  to: ProvenCheckpoint;
}

/**
 * Verifies a consistency bundle offline: both notes signed by one of `keys`
 * for the same origin, sizes equal to the bundle's, and the RFC 9162 §2.1.4.2
 * proof valid between the two signed roots.
 * Never throws on the bundle. @throws SealogError E_KEY for a malformed verifier key.
 */
export function verifyConsistencyProof(
  bundle: unknown,
  keys: readonly string[],
  options: { origin?: string } = {},
): ConsistencySuccess | ProofFailure {
  const vkeys = keys.map((k) => parseVerifierKey(k));
  const p = bundlePart(bundle, 'consistency');
  if ('ok' in p) return p;
  const from = checkProofNote(p.from, vkeys, options.origin, 'from checkpoint');
  if ('ok' in from) return from;
  const to = checkProofNote(p.to, vkeys, from.origin, 'to checkpoint');
  if ('ok' in to) return to;
  if (from.size !== p.fromSize || to.size !== p.toSize) {
    return {
      ok: false,
      problem: 'mismatch',
      message: `proof is for sizes ${p.fromSize}→${p.toSize} but the checkpoints sign ${from.size}→${to.size}`,
    };
  }
  if (!verifyConsistency(p.fromSize, p.toSize, from.rootBytes, to.rootBytes, p.proof)) {
    return {
      ok: false,
      problem: 'mismatch',
      message: `the checkpoint at ${p.toSize} does not extend the one at ${p.fromSize}`,
    };
  }
  return { ok: true, from, to };
}
