import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

// Browser stand-in for packages/core/src/hash.ts (which uses node:crypto),
// swapped in by build.mjs. Same exports, same definitions (format.md §2);
// test/web-verifier-hash.test.ts checks both give equal hashes.

export const HASH_SIZE = 32;

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

/** RFC 6962 §2.1 leaf hash: SHA-256(0x00 ‖ entry). */
export function leafHash(entry: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(0), entry);
}

/** RFC 6962 node hash: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(1), left, right);
}

/** chain[i] = SHA-256(chain[i-1] ‖ leaf[i]). */
export function chainHash(prev: Uint8Array, leaf: Uint8Array): Uint8Array {
  return sha256(prev, leaf);
}

export const ZERO_HASH: Uint8Array = new Uint8Array(HASH_SIZE);
export const EMPTY_ROOT: Uint8Array = sha256();
