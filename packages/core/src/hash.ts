import { createHash } from 'node:crypto';

// node:crypto's OpenSSL SHA-256 is several times faster than the pure-JS
// @noble/hashes implementation for the short inputs we hash (see
// benchmarks/stages). Same algorithm, FIPS 180-4; browser builds swap this file.

/** Length in bytes of every hash in the ledger. */
export const HASH_SIZE = 32;

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** RFC 6962 §2.1 / RFC 9162 §2.1.1 leaf hash: SHA-256(0x00 ‖ entry). */
export function leafHash(entry: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(entry).digest();
}

/** RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** Chain link: chain[i] = SHA-256(chain[i-1] ‖ leaf[i]); chain[-1] is {@link ZERO_HASH}. */
export function chainHash(prev: Uint8Array, leaf: Uint8Array): Buffer {
  return createHash('sha256').update(prev).update(leaf).digest();
}

/** chain[-1]: 32 zero bytes. */
export const ZERO_HASH: Buffer = Buffer.alloc(HASH_SIZE);

/** SHA-256 of the empty string: the RFC 6962 root of an empty tree. */
export const EMPTY_ROOT: Buffer = sha256();
