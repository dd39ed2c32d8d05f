import { hash } from 'node:crypto';

// SHA-256 (FIPS 180-4) through node:crypto's one-shot `hash()` (Node ≥ 20.12)
// over reusable scratch buffers: on the short inputs a ledger hashes, the
// per-call cost of createHash().update().digest() dominates, and this is about
// twice as fast with no per-call Hash objects. JavaScript runs one call at a
// time per thread, so module-level scratch buffers are safe. Browser builds
// (packages/web-verifier) swap this file for an @noble/hashes version.
//
// The digest comes back as a latin1 ('binary') string, one char per byte, and
// is copied into a Buffer from Node's pool: on Node 20 `hash(…, 'buffer')`
// gives each 32-byte digest its own ArrayBuffer, and that allocation cost more
// than the SHA-256 of a 400-byte entry (issue 15: leaf, chain and Merkle
// hashes each ~1.6-2x faster). hash.test.ts checks the bytes against createHash.

/** Length in bytes of every hash in the ledger. */
export const HASH_SIZE = 32;

/** Entries up to this size are hashed through the scratch buffer; longer ones allocate once. */
const SCRATCH_SIZE = 64 * 1024;
const scratch = Buffer.alloc(1 + SCRATCH_SIZE);
const pair = Buffer.alloc(1 + 2 * HASH_SIZE);

const digest = (data: Uint8Array): Buffer => Buffer.from(hash('sha256', data, 'binary'), 'latin1');

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Buffer {
  return digest(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
}

/** RFC 6962 §2.1 / RFC 9162 §2.1.1 leaf hash: SHA-256(0x00 ‖ entry). */
export function leafHash(entry: Uint8Array): Buffer {
  if (entry.length > SCRATCH_SIZE) return digest(Buffer.concat([Buffer.of(0), entry]));
  scratch[0] = 0;
  scratch.set(entry, 1);
  return digest(scratch.subarray(0, 1 + entry.length));
}

/** RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  // Values read from a hostile file may have any length: hash exactly what was given.
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) return sha256(Buffer.of(1), left, right);
  pair[0] = 1;
  pair.set(left, 1);
  pair.set(right, 1 + HASH_SIZE);
  return digest(pair);
}

/** Chain link: chain[i] = SHA-256(chain[i-1] ‖ leaf[i]); chain[-1] is {@link ZERO_HASH}. */
export function chainHash(prev: Uint8Array, leaf: Uint8Array): Buffer {
  if (prev.length !== HASH_SIZE || leaf.length !== HASH_SIZE) return sha256(prev, leaf);
  pair.set(prev, 0);
  pair.set(leaf, HASH_SIZE);
  return digest(pair.subarray(0, 2 * HASH_SIZE));
}

/** chain[-1]: 32 zero bytes. */
export const ZERO_HASH: Buffer = Buffer.alloc(HASH_SIZE);

/** SHA-256 of the empty string: the RFC 6962 root of an empty tree. */
export const EMPTY_ROOT: Buffer = sha256();
