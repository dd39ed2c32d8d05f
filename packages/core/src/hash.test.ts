import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chainHash, EMPTY_ROOT, HASH_SIZE, leafHash, nodeHash, sha256, ZERO_HASH } from './hash.js';

// hash.ts takes shortcuts for speed (scratch buffers, the digest read back
// through a latin1 string, issue 15); these check every function against the
// plain definition of docs/format.md §2, computed with createHash.

const ref = (...parts: Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const hash32 = fc.uint8Array({ minLength: HASH_SIZE, maxLength: HASH_SIZE });
// Lengths around the 64 KiB scratch buffer, where leafHash switches path.
const entry = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }),
  fc
    .integer({ min: 64 * 1024 - 2, max: 64 * 1024 + 2 })
    .chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
);

describe('SHA-256 helpers equal their definitions (format.md §2)', () => {
  it('known values: SHA-256("") and the leaf hash of an empty entry (RFC 6962)', () => {
    expect(hex(EMPTY_ROOT)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(leafHash(new Uint8Array(0)))).toBe(
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    );
    expect(hex(ZERO_HASH)).toBe('00'.repeat(32));
  });

  it('property: leafHash = SHA-256(0x00 ‖ entry)', () => {
    fc.assert(
      fc.property(entry, (e) => {
        expect(hex(leafHash(e))).toBe(ref(Uint8Array.of(0), e));
      }),
      { numRuns: 200 },
    );
  });

  it('property: chainHash = SHA-256(prev ‖ leaf), nodeHash = SHA-256(0x01 ‖ l ‖ r), any lengths', () => {
    const anyLen = fc.oneof(hash32, fc.uint8Array({ maxLength: 80 }));
    fc.assert(
      fc.property(anyLen, anyLen, (a, b) => {
        expect(hex(chainHash(a, b))).toBe(ref(a, b));
        expect(hex(nodeHash(a, b))).toBe(ref(Uint8Array.of(1), a, b));
      }),
      { numRuns: 300 },
    );
  });

  it('property: sha256 of several parts = SHA-256 of their concatenation', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }), (parts) => {
        expect(hex(sha256(...parts))).toBe(ref(...parts));
      }),
      { numRuns: 200 },
    );
  });

  it('every result is its own 32-byte Buffer: later calls never change an earlier result', () => {
    const entries = Array.from({ length: 600 }, (_, i) => Buffer.from(`entry ${i}`));
    const leaves = entries.map((e) => leafHash(e));
    const chains: Buffer[] = [];
    let c = ZERO_HASH;
    for (const l of leaves) {
      c = chainHash(c, l);
      chains.push(c);
    }
    const nodes = leaves.slice(1).map((l, i) => nodeHash(leaves[i]!, l));
    let prev = ZERO_HASH;
    for (let i = 0; i < entries.length; i++) {
      expect(Buffer.isBuffer(leaves[i]) && leaves[i]!.length === HASH_SIZE).toBe(true);
      expect(hex(leaves[i]!)).toBe(ref(Uint8Array.of(0), entries[i]!));
      expect(hex(chains[i]!)).toBe(ref(prev, leaves[i]!));
      if (i > 0) expect(hex(nodes[i - 1]!)).toBe(ref(Uint8Array.of(1), leaves[i - 1]!, leaves[i]!));
      prev = chains[i]!;
    }
  });
});
