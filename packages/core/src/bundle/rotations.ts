import { type OpenedCheckpoint, openCheckpoint } from '../checkpoint/signed.js';
import { leafHash } from '../hash.js';
import { verifyConsistency, verifyInclusion } from '../merkle.js';
import { decodeBase64, toHex } from '../note/encoding.js';
import { SIG_TYPE_COSIGNATURE, SIG_TYPE_ED25519, type VerifierKey } from '../note/keys.js';
import { chainKeys, followKeyChain, judgeAtSize, type KeyChain, rotationNoteOf } from '../signer/rotation.js';
import { decodeHashList } from './parse.js';
import { MAX_ENTRY_BYTES } from './types.js';

// Key rotation in evidence bundles (docs/evidence.md, docs/keys.md "Rotation"):
// the bundle carries the ledger's rotation entries that lead from the keys the
// recipient holds to the key that signed its checkpoint, each with its
// inclusion proof in the checkpoint's tree and a consistency proof from the
// hand-over size, so a recipient given only the first key follows the chain as
// `sealog verify` does. Browser-safe: no Node imports.

/** One rotation entry as a bundle carries it. */
export interface BundleRotation {
  seq: number;
  /** The exact entry bytes, base64. */
  entry: string;
  /** PATH(seq, D[checkpoint size]), base64 hashes. */
  proof: string[];
  /** PROOF(hand-over size, D[checkpoint size]), base64 hashes: binds the statement's root to this tree. */
  consistency: string[];
}

interface Decoded {
  seq: number;
  bytes: Uint8Array;
  note: string;
  proof: Uint8Array[];
  consistency: Uint8Array[];
}

/**
 * Follows the bundle's rotation entries from the given keys. Returns the keys
 * to open the checkpoint with (the given ones, plus every endorsed key) and the
 * chain to judge it by; a malformed item, or a statement the chain refuses, is
 * a problem. With the bundle's own keys this is self-consistency only, as
 * the rest of the verdict says.
 */
export function followBundleRotations(
  items: readonly unknown[],
  given: readonly VerifierKey[],
  problems: string[],
): { keys: VerifierKey[]; chain?: KeyChain; items: Decoded[] } {
  const decoded: Decoded[] = [];
  for (const item of items) {
    const d = decode(item);
    if (typeof d === 'string') problems.push(`key rotation: ${d}`);
    else decoded.push(d);
  }
  if (decoded.length === 0 || given.length === 0) return { keys: [...given], items: decoded };
  const chain = followKeyChain(
    given,
    decoded.map((d) => ({ seq: d.seq, note: d.note })),
  );
  for (const p of chain.problems) problems.push(`${p.kind}: ${p.message}`);
  if (chain.handovers.length === 0) return { keys: [...given], items: decoded };
  return { keys: chainKeys(chain), chain, items: decoded };
}

function decode(item: unknown): Decoded | string {
  if (typeof item !== 'object' || item === null) return 'an item is not an object';
  const { seq, entry, proof, consistency } = item as Record<string, unknown>;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return 'seq is not an integer ≥ 0';
  const bytes = typeof entry === 'string' ? decodeBase64(entry, MAX_ENTRY_BYTES) : undefined;
  if (!bytes) return `entry ${seq} is not standard base64`;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return `entry ${seq} is not UTF-8`;
  }
  const note = rotationNoteOf(text);
  if (note === undefined) return `entry ${seq} is not a key rotation entry`;
  const path = decodeHashList(proof);
  const cons = decodeHashList(consistency);
  if (!path || !cons) return `entry ${seq}: proofs are not lists of base64 SHA-256 hashes`;
  return { seq, bytes, note, proof: path, consistency: cons };
}

/**
 * With the checkpoint opened: every accepted hand-over's entry must be in the
 * checkpoint's tree, and its root consistent with it; and the checkpoint must
 * be signed by a key allowed at its size (and stamped by an allowed time key
 * when time keys are followed). Returns the signed time the chain allows.
 */
export function checkBundleRotations(
  chain: KeyChain,
  items: readonly Decoded[],
  note: string,
  opened: OpenedCheckpoint,
  problems: string[],
): number | undefined {
  const { size, root } = opened.checkpoint;
  for (const h of chain.handovers) {
    const item = items.find((d) => d.seq === h.seq);
    const where = `key rotation at entry ${h.seq} (${h.from} to ${h.to})`;
    if (!item || h.seq >= size || !verifyInclusion(leafHash(item.bytes), h.seq, size, item.proof, root)) {
      problems.push(`${where} is not included in the bundle checkpoint (size ${size})`);
    } else if (h.size > size || !verifyConsistency(h.size, size, h.root, root, item.consistency)) {
      problems.push(`${where}: its root for size ${h.size} is not consistent with the bundle checkpoint`);
    }
  }
  // Which keys verified, by key ID: the chain decides which may sign at this size.
  let verified: { type: number; keyId: Uint8Array; name: string; time?: number }[] = [];
  try {
    verified = openCheckpoint(note, chainKeys(chain)).verified;
  } catch {
    return undefined; // the caller reported why the checkpoint did not open
  }
  const origin = opened.checkpoint.origin;
  const judged = judgeAtSize(
    chain,
    size,
    verified.filter((v) => v.type === SIG_TYPE_ED25519).map((v) => toHex(v.keyId)),
    verified
      .filter((v) => v.type === SIG_TYPE_COSIGNATURE && v.name === `${origin}/time` && v.time !== undefined)
      .map((v) => ({ id: toHex(v.keyId), time: v.time! })),
  );
  if (judged.retired !== undefined) problems.push(`checkpoint signature: ${judged.retired}`);
  return judged.time;
}
