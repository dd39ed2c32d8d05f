import { type OpenedCheckpoint, openCheckpoint } from '../checkpoint/signed.js';
import { leafHash } from '../hash.js';
import { verifyInclusion } from '../merkle.js';
import { decodeBase64, encodeBase64, toHex } from '../note/encoding.js';
import { parseVerifierKey, SIG_TYPE_COSIGNATURE, SIG_TYPE_ED25519, type VerifierKey } from '../note/keys.js';
import { checkNote } from '../verify/checkpoint.js';
import { decodeHashList } from './parse.js';
import { MAX_ENTRY_BYTES } from './types.js';
import type { BundleReport, CheckpointInfo, EntryResult } from './verify.js';

// The checks of one item of a bundle (its keys, its checkpoint note, one
// record), shared by the JSON bundle and the streamed one (verify.ts).

const MAX_TEXT = 4096;

export function trustedKeys(vkeys: readonly unknown[], report: BundleReport): VerifierKey[] {
  const keys: VerifierKey[] = [];
  for (const v of vkeys) {
    try {
      keys.push(parseVerifierKey(v as string));
    } catch (err) {
      report.problems.push(`verifier key: ${errorText(err)}`);
    }
  }
  if (!keys.some((k) => k.type === SIG_TYPE_ED25519))
    report.problems.push('no usable log verifier key (type 0x01)');
  return keys;
}

export function openBundleCheckpoint(
  note: string,
  keys: VerifierKey[],
  report: BundleReport,
): OpenedCheckpoint | undefined {
  // The verdict comes from the ledger verifier's checkNote, so a bundle and
  // `sealog verify` say the same thing about the same note.
  const checked = checkNote(note, keys);
  if (!checked.ok) {
    report.problems.push(`checkpoint signature: ${checked.message}`);
    return undefined;
  }
  // sealog's rule (docs/checkpoints.md): origin = log key name, so another log's key cannot vouch for this one.
  if (!checked.signers.includes(checked.origin)) {
    report.problems.push(
      `checkpoint signature: origin ${JSON.stringify(checked.origin)} is not the name of the key that signed it (${checked.signers.join(', ')})`,
    );
    return undefined;
  }
  // Opens again for what a person wants to see (key IDs, the time cosigner); cannot fail after checkNote.
  let opened: OpenedCheckpoint;
  try {
    opened = openCheckpoint(note, keys);
  } catch (err) {
    report.problems.push(`checkpoint signature: ${errorText(err)}`);
    return undefined;
  }
  const cp = opened.checkpoint;
  const info: CheckpointInfo = {
    origin: cp.origin,
    size: cp.size,
    root: encodeBase64(cp.root),
    signers: opened.verified
      .filter((v) => v.type === SIG_TYPE_ED25519)
      .map((v) => ({ name: v.name, keyId: toHex(v.keyId) })),
  };
  const timed = opened.verified.find((v) => v.type === SIG_TYPE_COSIGNATURE && v.time === opened.time);
  if (opened.time !== undefined && timed) {
    info.time = opened.time;
    info.timeSigner = { name: timed.name, keyId: toHex(timed.keyId) };
  } else {
    report.notes.push(
      `The checkpoint's signed time was not checked: no cosignature by a given time key. Pass the time cosigner key (${cp.origin}/time) too.`,
    );
  }
  report.checkpoint = info;
  return opened;
}

export function checkEntry(item: unknown, size: number, root: Uint8Array | undefined): EntryResult {
  const result: EntryResult = { seq: null, ok: false, message: '', text: '' };
  if (typeof item !== 'object' || item === null) return { ...result, message: 'not an object' };
  const { seq, leaf, entry, proof } = item as Record<string, unknown>;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    return { ...result, message: 'seq is not a non-negative integer' };
  }
  result.seq = seq;
  const bytes = typeof entry === 'string' ? decodeBase64(entry, MAX_ENTRY_BYTES) : undefined;
  if (!bytes) return { ...result, message: 'entry is not standard base64 (of at most 2 MiB)' };
  result.text = new TextDecoder('utf-8', { fatal: false })
    .decode(bytes.subarray(0, MAX_TEXT * 4))
    .slice(0, MAX_TEXT);
  const path = decodeHashList(proof);
  if (!path) return { ...result, message: 'proof is not a list of base64 SHA-256 hashes' };
  if (!root) return { ...result, message: 'not checked: the checkpoint did not verify' };
  if (seq >= size) return { ...result, message: `seq is not below the checkpoint size ${size}` };
  const hash = leafHash(bytes);
  if (verifyInclusion(hash, seq, size, path, root))
    return { ...result, ok: true, message: 'included in the checkpoint' };
  // The stated leaf hash is not trusted; it only tells which of the two was edited.
  const entryChanged = typeof leaf === 'string' && leaf !== toHex(hash);
  return {
    ...result,
    message: entryChanged
      ? 'entry bytes were changed (they no longer hash to the exported leaf) and are not in the checkpoint'
      : 'inclusion proof does not lead to the checkpoint root (proof changed, or entry and proof do not belong to this checkpoint)',
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
