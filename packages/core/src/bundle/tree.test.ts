import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HASH_SIZE, leafHash } from '../hash.js';
import {
  consistencyProof,
  inclusionProof,
  rootFromLeaves,
  verifyConsistency,
  verifyInclusion,
} from '../merkle.js';
import { ProofTree } from './tree.js';

const leavesOf = (n: number): Uint8Array[] =>
  Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
const concat = (ls: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(ls));
const hex = (ps: Uint8Array[]): string[] => ps.map((p) => Buffer.from(p).toString('hex'));

describe('ProofTree equals merkle.ts (RFC 9162 §2.1.3.1, §2.1.4.1) on every index of small trees', () => {
  it('sizes 1..70: root, every inclusion proof, every consistency proof, every older root', () => {
    for (let n = 1; n <= 70; n++) {
      const leaves = leavesOf(n);
      const tree = new ProofTree(concat(leaves));
      const leaf = (i: number): Uint8Array => leaves[i]!;
      const root = rootFromLeaves(leaves);
      expect(Buffer.from(tree.root())).toEqual(Buffer.from(root));
      for (let i = 0; i < n; i++) {
        const p = tree.inclusionProof(i);
        expect(hex(p)).toEqual(hex(inclusionProof(leaf, i, n)));
        expect(verifyInclusion(leaves[i]!, i, n, p, root)).toBe(true);
      }
      for (let m = 0; m <= n; m++) {
        const p = tree.consistencyProof(m);
        expect(hex(p)).toEqual(hex(consistencyProof(leaf, m, n)));
        const older = rootFromLeaves(leaves.slice(0, m));
        expect(Buffer.from(tree.rootAt(m))).toEqual(Buffer.from(older));
        expect(verifyConsistency(m, n, older, root, p)).toBe(true);
      }
    }
  });

  it('random larger trees (property): proofs match the reference', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.nat(), fc.nat(), (n, a, b) => {
        const leaves = leavesOf(n);
        const tree = new ProofTree(concat(leaves));
        const leaf = (i: number): Uint8Array => leaves[i]!;
        expect(hex(tree.inclusionProof(a % n))).toEqual(hex(inclusionProof(leaf, a % n, n)));
        expect(hex(tree.consistencyProof(b % (n + 1)))).toEqual(hex(consistencyProof(leaf, b % (n + 1), n)));
      }),
      { numRuns: 40 },
    );
  });

  it('rejects indices outside the tree and a leaf array that is not whole hashes', () => {
    const tree = new ProofTree(concat(leavesOf(5)));
    expect(() => tree.inclusionProof(5)).toThrow(RangeError);
    expect(() => tree.inclusionProof(-1)).toThrow(RangeError);
    expect(() => tree.consistencyProof(6)).toThrow(RangeError);
    expect(() => new ProofTree(new Uint8Array(HASH_SIZE + 1))).toThrow(RangeError);
  });
});
