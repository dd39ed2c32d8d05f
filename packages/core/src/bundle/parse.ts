import { HASH_SIZE } from '../hash.js';
import { decodeBase64 } from '../note/encoding.js';
import { MAX_TIMESTAMP_TOKEN_BYTES } from '../timestamp/der.js';
import {
  BUNDLE_TYPE,
  MAX_BUNDLE_ANCHORS,
  MAX_BUNDLE_BYTES,
  MAX_BUNDLE_COSIGNED_NOTES,
  MAX_BUNDLE_ENTRIES,
  MAX_BUNDLE_KEYS,
  MAX_BUNDLE_ROTATIONS,
  MAX_BUNDLE_TIMESTAMPS,
  MAX_PROOF_HASHES,
} from './types.js';

// Every byte of a bundle may have been written by the party the evidence is
// about, or changed in transit. Parsing never throws: the top level either has
// the v1 shape (arrays of bounded length, strings where strings belong) or the
// bundle is "unreadable"; anything wrong inside one entry or anchor is left to
// the verifier, which fails that item and keeps checking the others.

/** The top level of a bundle after shape checks; items are still unchecked. */
export interface BundleShape {
  manifest: Record<string, unknown>;
  checkpoint: string;
  keys: string[];
  entries: unknown[];
  anchors: unknown[];
  /** RFC 3161 tokens (items unchecked); empty for a bundle without the field. */
  timestamps: unknown[];
  /** Other notes of the checkpoint's body, for their witness lines (unchecked); empty when absent. */
  cosignedNotes: string[];
  /** Key rotation entries (items unchecked); empty when absent. */
  rotations: unknown[];
  readme: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks the top-level shape of a bundle given as JSON text, bytes or an
 * already-parsed value. Returns the shape or a reason it is unreadable.
 * Never throws.
 */
export function parseBundleShape(input: unknown): { shape: BundleShape } | { error: string } {
  let value = input;
  if (input instanceof Uint8Array) {
    if (input.length > MAX_BUNDLE_BYTES) return { error: 'bundle file is larger than 512 MiB' };
    try {
      value = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      return { error: 'bundle file is not UTF-8 text' };
    }
  }
  if (typeof value === 'string') {
    if (value.length > MAX_BUNDLE_BYTES) return { error: 'bundle file is larger than 512 MiB' };
    try {
      value = JSON.parse(value);
    } catch {
      return { error: 'bundle file is not JSON (expected a sealog evidence bundle, bundle.json)' };
    }
  }
  if (!isObject(value)) return { error: 'bundle is not a JSON object' };
  if (value.type !== BUNDLE_TYPE) {
    const t = typeof value.type === 'string' ? JSON.stringify(value.type.slice(0, 60)) : 'missing';
    return { error: `not a sealog evidence bundle: type is ${t}, expected "${BUNDLE_TYPE}"` };
  }
  const { manifest, checkpoint, keys, entries, anchors, readme, timestamps, cosignedNotes, rotations } =
    value;
  if (!isObject(manifest)) return { error: 'bundle has no manifest object' };
  // The manifest is echoed into the report (and --json): a value nested thousands deep would
  // overflow the stack of whoever prints it. Real manifests are 3 levels deep.
  if (depthOver(manifest, MAX_MANIFEST_DEPTH))
    return { error: `bundle manifest is nested deeper than ${MAX_MANIFEST_DEPTH} levels` };
  if (typeof checkpoint !== 'string') return { error: 'bundle has no checkpoint note' };
  if (!Array.isArray(keys) || keys.length > MAX_BUNDLE_KEYS || !keys.every((k) => typeof k === 'string')) {
    return { error: `bundle keys must be a list of at most ${MAX_BUNDLE_KEYS} strings` };
  }
  if (!Array.isArray(entries) || entries.length > MAX_BUNDLE_ENTRIES) {
    return { error: `bundle entries must be a list of at most ${MAX_BUNDLE_ENTRIES} records` };
  }
  if (!Array.isArray(anchors) || anchors.length > MAX_BUNDLE_ANCHORS) {
    return { error: `bundle anchors must be a list of at most ${MAX_BUNDLE_ANCHORS} checkpoints` };
  }
  // Optional (added after v1 was first written): absent is an empty list; anything else must be bounded.
  if (timestamps !== undefined && (!Array.isArray(timestamps) || timestamps.length > MAX_BUNDLE_TIMESTAMPS)) {
    return { error: `bundle timestamps must be a list of at most ${MAX_BUNDLE_TIMESTAMPS} tokens` };
  }
  if (
    cosignedNotes !== undefined &&
    (!Array.isArray(cosignedNotes) ||
      cosignedNotes.length > MAX_BUNDLE_COSIGNED_NOTES ||
      !cosignedNotes.every((n) => typeof n === 'string'))
  ) {
    return { error: `bundle cosignedNotes must be a list of at most ${MAX_BUNDLE_COSIGNED_NOTES} notes` };
  }
  if (rotations !== undefined && (!Array.isArray(rotations) || rotations.length > MAX_BUNDLE_ROTATIONS)) {
    return { error: `bundle rotations must be a list of at most ${MAX_BUNDLE_ROTATIONS} entries` };
  }
  return {
    shape: {
      manifest,
      checkpoint,
      keys: keys as string[],
      entries,
      anchors,
      timestamps: timestamps ?? [],
      cosignedNotes: (cosignedNotes as string[] | undefined) ?? [],
      rotations: (rotations as unknown[] | undefined) ?? [],
      readme: typeof readme === 'string' ? readme : '',
    },
  };
}

/** Deepest manifest accepted. */
const MAX_MANIFEST_DEPTH = 16;

/** Whether `value` nests arrays/objects deeper than `max` (iterative: never recurses). */
function depthOver(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return false;
}

/**
 * One item of `timestamps` as bytes, or undefined when it is not exactly
 * `{ size, noteSha256, token }` with a safe integer size, a 32-byte hash and a
 * 1..64 KiB token in canonical base64. The token is not parsed here.
 * Attacker's options: any JSON value; decoding is bounded before it starts.
 */
export function decodeBundleTimestamp(
  v: unknown,
): { size: number; noteSha256: Uint8Array; token: Uint8Array } | undefined {
  if (!isObject(v)) return undefined;
  const { size, noteSha256, token } = v;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
  if (typeof noteSha256 !== 'string' || typeof token !== 'string') return undefined;
  const hash = decodeBase64(noteSha256, HASH_SIZE);
  const der = decodeBase64(token, MAX_TIMESTAMP_TOKEN_BYTES);
  if (hash?.length !== HASH_SIZE || der === undefined || der.length === 0) return undefined;
  return { size, noteSha256: hash, token: der };
}

/** A list of base64 hashes as bytes, or undefined if it is not exactly that (bounded). */
export function decodeHashList(v: unknown): Uint8Array[] | undefined {
  if (!Array.isArray(v) || v.length > MAX_PROOF_HASHES) return undefined;
  const out: Uint8Array[] = [];
  for (const h of v) {
    if (typeof h !== 'string') return undefined;
    const bytes = decodeBase64(h, HASH_SIZE);
    if (!bytes || bytes.length !== HASH_SIZE) return undefined;
    out.push(bytes);
  }
  return out;
}

/** Inclusive ranges [[a, b], ...] of an ascending list of distinct integers. */
export function toRanges(seqs: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const s of seqs) {
    const last = out[out.length - 1];
    if (last && s === last[1] + 1) last[1] = s;
    else out.push([s, s]);
  }
  return out;
}
