import { erasuresSignedBy } from '../chain/erased.js';
import { SealogError } from '../errors.js';
import { leafHash } from '../hash.js';
import { inclusionProof, type LeafSource, verifyInclusion } from '../merkle.js';
import { encodeBase64 } from '../note/encoding.js';
import { parseVerifierKey, SIG_TYPE_ED25519, type VerifierKey } from '../note/keys.js';
import { openReadOnly } from '../store/open.js';
import { bundlePart, encodeHashes, INCLUSION_TYPE, type InclusionBundle } from './bundle.js';
import { checkProofNote, type ProofFailure, type ProvenCheckpoint } from './check.js';
import { assertMatches, prunedError, prunedPrefix, readLeaves, skippedText, storedNotes } from './leaves.js';

/**
 * Builds an inclusion bundle from parts (no ledger needed): the proof of leaf
 * `seq` in the tree of `checkpoint`'s size, leaf hashes from `leaf`.
 * @throws RangeError if seq is not below treeSize.
 */
export function makeInclusionBundle(
  entry: Uint8Array,
  seq: number,
  treeSize: number,
  leaf: LeafSource,
  checkpoint: string,
): InclusionBundle {
  return {
    type: INCLUSION_TYPE,
    seq,
    entry: encodeBase64(entry),
    treeSize,
    proof: encodeHashes(inclusionProof(leaf, seq, treeSize)),
    checkpoint,
  };
}

/** Parses the trusted keys a prover picks checkpoints with. @throws SealogError E_KEY / E_CONFIG. */
export function proverKeys(keys: readonly string[]): VerifierKey[] {
  const parsed = keys.map((k) => parseVerifierKey(k));
  if (!parsed.some((k) => k.type === SIG_TYPE_ED25519)) {
    throw new SealogError(
      'E_CONFIG',
      'give the log verifier key (--key or --key-file): only checkpoints it signed are used for proofs',
    );
  }
  return parsed;
}

/**
 * Proves that record `seq` is in the ledger at `path`, against the largest
 * stored checkpoint that covers it and is signed by one of `keys` (forged or
 * foreign checkpoint rows are ignored). Reads and hashes the records up to
 * that checkpoint once; refuses if they do not reproduce its root.
 * @throws SealogError E_CONFIG (no key, or seq not covered by a signed
 *   checkpoint yet: seal first), E_KEY (bad key), E_TAMPER (records do not
 *   match the checkpoint), E_IO / E_NOT_LEDGER (file).
 */
export function proveInclusion(path: string, seq: number, keys: readonly string[]): InclusionBundle {
  const vkeys = proverKeys(keys);
  if (!Number.isSafeInteger(seq) || seq < 0)
    throw new SealogError('E_CONFIG', `seq must be an integer ≥ 0, got ${String(seq)}`);
  const db = openReadOnly(path);
  try {
    db.exec('BEGIN');
    const { notes, skipped } = storedNotes(db, vkeys);
    const covering = notes.filter((c) => c.size > seq);
    const cp = covering.reduce<(typeof covering)[number] | undefined>(
      (best, c) => (!best || c.size >= best.size ? c : best),
      undefined,
    );
    if (!cp) {
      throw new SealogError(
        'E_CONFIG',
        `no checkpoint signed by the given keys covers record ${seq} yet${skippedText(skipped)}; run \`sealog checkpoint\` first`,
      );
    }
    const cut = prunedPrefix(db)?.size ?? 0;
    if (seq < cut) throw prunedError(cut, `record ${seq}`);
    const erased = erasuresSignedBy(db, vkeys);
    const leaves = readLeaves(db, cp.size, erased);
    assertMatches(leaves, cp);
    const entry = db.prepare('SELECT entry FROM records WHERE seq = ?').get(seq) as { entry: Buffer };
    const gone = erased?.leafOf(seq, entry.entry);
    if (gone) {
      throw new SealogError(
        'E_CONFIG',
        `record ${seq} was erased under the erasure statement at entry ${gone.by}: its body is gone, so there is nothing to prove; prove record ${gone.by} (the statement, which names its leaf hash) instead`,
      );
    }
    return makeInclusionBundle(entry.entry, seq, cp.size, leaves.leaf, cp.note);
  } finally {
    db.close();
  }
}

/** An inclusion proof that verified. */
export interface InclusionSuccess {
  ok: true;
  seq: number;
  /** The exact entry bytes proven. */
  entry: Buffer;
  checkpoint: ProvenCheckpoint;
}

/**
 * Verifies an inclusion bundle offline: the checkpoint note must carry a valid
 * signature by one of `keys` with origin = key name (and = `origin` if given),
 * its size must be the bundle's tree size, and the RFC 9162 §2.1.3.2 path
 * must lead from SHA-256(0x00 ‖ entry) at index seq to the signed root.
 * Never throws on the bundle (a malformed one is `problem: 'malformed'`).
 * @throws SealogError E_KEY only for a malformed verifier key.
 */
export function verifyInclusionProof(
  bundle: unknown,
  keys: readonly string[],
  options: { origin?: string } = {},
): InclusionSuccess | ProofFailure {
  const vkeys = keys.map((k) => parseVerifierKey(k));
  const p = bundlePart(bundle, 'inclusion');
  if ('ok' in p) return p;
  const cp = checkProofNote(p.checkpoint, vkeys, options.origin, 'checkpoint');
  if ('ok' in cp) return cp;
  if (cp.size !== p.treeSize) {
    return {
      ok: false,
      problem: 'mismatch',
      message: `proof is for tree size ${p.treeSize} but the checkpoint signs ${cp.size}`,
    };
  }
  if (!verifyInclusion(leafHash(p.entry), p.seq, p.treeSize, p.proof, cp.rootBytes)) {
    return {
      ok: false,
      problem: 'mismatch',
      message: `the proof does not lead from record ${p.seq} to the signed root`,
    };
  }
  return { ok: true, seq: p.seq, entry: p.entry, checkpoint: cp };
}
