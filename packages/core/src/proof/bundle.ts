import { SealogError } from '../errors.js';
import { HASH_SIZE } from '../hash.js';
import { decodeBase64, encodeBase64 } from '../note/encoding.js';
import { MAX_NOTE_BYTES } from '../note/note.js';
import type { ProofFailure } from './check.js';

// Proof bundles: self-contained JSON documents (docs/verify.md, "Proofs")
// that a verifier checks offline with nothing but verifier keys. Parsing
// treats every field as hostile: exact types, bounded sizes, strict base64,
// no unknown members (so two parsers cannot disagree about what was proven).

export const INCLUSION_TYPE = 'sealog/inclusion-proof/v1';
export const CONSISTENCY_TYPE = 'sealog/consistency-proof/v1';
/** Largest entry a bundle may carry (the verifier's limit for stored entries). */
export const MAX_BUNDLE_ENTRY_BYTES = 64 * 1024 * 1024;
/** RFC 9162 proofs for trees below 2^53 leaves have at most 53 (inclusion) or 54 (consistency) hashes. */
const MAX_PROOF_HASHES = 64;
/** Bundle text accepted by {@link parseBundle}; entry plus notes plus overhead. */
export const MAX_BUNDLE_CHARS = Math.ceil(MAX_BUNDLE_ENTRY_BYTES / 3) * 4 + 4 * MAX_NOTE_BYTES;

/** RFC 9162 §2.1.3 inclusion proof of one record, with the signed checkpoint it is proven against. */
export interface InclusionBundle {
  type: typeof INCLUSION_TYPE;
  /** Record seq = leaf index. */
  seq: number;
  /** Standard base64 of the exact stored entry bytes. */
  entry: string;
  /** Tree size the proof is for; equals the checkpoint's size. */
  treeSize: number;
  /** Audit path, leaf side first, standard base64 of 32-byte hashes. */
  proof: string[];
  /** The signed checkpoint note (tlog-checkpoint in signed-note), verbatim. */
  checkpoint: string;
}

/** RFC 9162 §2.1.4 consistency proof between two signed checkpoints of one log. */
export interface ConsistencyBundle {
  type: typeof CONSISTENCY_TYPE;
  fromSize: number;
  toSize: number;
  proof: string[];
  /** Signed checkpoint note at fromSize. */
  from: string;
  /** Signed checkpoint note at toSize. */
  to: string;
}

function bad(what: string): SealogError {
  return new SealogError('E_FORMAT', `malformed proof: ${what}`);
}

function size(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`${name} must be an integer ≥ 0`);
  return v;
}

function note(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length > MAX_NOTE_BYTES) throw bad(`${name} must be a signed note (text)`);
  return v;
}

function hashes(v: unknown): Uint8Array[] {
  if (!Array.isArray(v) || v.length > MAX_PROOF_HASHES)
    throw bad(`proof must be an array of at most ${MAX_PROOF_HASHES} hashes`);
  return v.map((h) => {
    const bytes = typeof h === 'string' ? decodeBase64(h, HASH_SIZE) : undefined;
    if (!bytes || bytes.length !== HASH_SIZE)
      throw bad('each proof hash must be standard base64 of 32 bytes');
    return bytes;
  });
}

function exactKeys(o: Record<string, unknown>, keys: readonly string[]): void {
  const extra = Object.keys(o).filter((k) => !keys.includes(k));
  if (extra.length > 0) throw bad(`unknown member ${JSON.stringify(extra[0]!.slice(0, 40))}`);
}

/** Decoded inclusion bundle. */
export interface InclusionParts {
  seq: number;
  entry: Buffer;
  treeSize: number;
  proof: Uint8Array[];
  checkpoint: string;
}

/** Decoded consistency bundle. */
export interface ConsistencyParts {
  fromSize: number;
  toSize: number;
  proof: Uint8Array[];
  from: string;
  to: string;
}

/**
 * Parses a bundle given as JSON text or an already-parsed value.
 * @throws SealogError E_FORMAT for anything but a well-formed v1 bundle; never anything else.
 */
export function parseBundle(
  input: unknown,
): { inclusion: InclusionParts } | { consistency: ConsistencyParts } {
  let v: unknown = input;
  if (typeof input === 'string') {
    if (input.length > MAX_BUNDLE_CHARS) throw bad('too large');
    try {
      v = JSON.parse(input);
    } catch {
      throw bad('not JSON');
    }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('not a JSON object');
  const o = v as Record<string, unknown>;
  if (o.type === INCLUSION_TYPE) {
    exactKeys(o, ['type', 'seq', 'entry', 'treeSize', 'proof', 'checkpoint']);
    const entry = typeof o.entry === 'string' ? decodeBase64(o.entry, MAX_BUNDLE_ENTRY_BYTES) : undefined;
    if (!entry) throw bad('entry must be standard base64');
    return {
      inclusion: {
        seq: size(o.seq, 'seq'),
        entry: Buffer.from(entry),
        treeSize: size(o.treeSize, 'treeSize'),
        proof: hashes(o.proof),
        checkpoint: note(o.checkpoint, 'checkpoint'),
      },
    };
  }
  if (o.type === CONSISTENCY_TYPE) {
    exactKeys(o, ['type', 'fromSize', 'toSize', 'proof', 'from', 'to']);
    return {
      consistency: {
        fromSize: size(o.fromSize, 'fromSize'),
        toSize: size(o.toSize, 'toSize'),
        proof: hashes(o.proof),
        from: note(o.from, 'from'),
        to: note(o.to, 'to'),
      },
    };
  }
  throw bad(`type must be "${INCLUSION_TYPE}" or "${CONSISTENCY_TYPE}"`);
}

const OTHER = {
  inclusion: 'this is a consistency proof, not an inclusion proof',
  consistency: 'this is an inclusion proof, not a consistency proof',
} as const;

/**
 * Parses a bundle and returns its part of `kind`, or the failure to report:
 * `malformed` when it does not parse or is a proof of the other kind. Never throws.
 */
export function bundlePart(bundle: unknown, kind: 'inclusion'): InclusionParts | ProofFailure;
export function bundlePart(bundle: unknown, kind: 'consistency'): ConsistencyParts | ProofFailure;
export function bundlePart(
  bundle: unknown,
  kind: 'inclusion' | 'consistency',
): InclusionParts | ConsistencyParts | ProofFailure {
  let parts: ReturnType<typeof parseBundle>;
  try {
    parts = parseBundle(bundle);
  } catch (err) {
    return { ok: false, problem: 'malformed', message: (err as Error).message };
  }
  if ('inclusion' in parts && kind === 'inclusion') return parts.inclusion;
  if ('consistency' in parts && kind === 'consistency') return parts.consistency;
  return { ok: false, problem: 'malformed', message: OTHER[kind] };
}

/** Base64 of each proof hash, for bundles. */
export function encodeHashes(proof: readonly Uint8Array[]): string[] {
  return proof.map((h) => encodeBase64(h));
}
