import { describe, expect, it } from 'vitest';
import { leafHash } from '../hash.js';
import { CompactRange } from '../merkle.js';
import { ProofTree } from './tree.js';

// A tree whose leaves below a cut were pruned (a PostgreSQL ledger after
// `sealog prune`): built from the compact range of [0, cut) and the kept leaves,
// it must answer every proof for records at or after the cut exactly as the
// whole tree does, and refuse (RangeError) what needs a pruned leaf.

const leavesOf = (n: number): Uint8Array[] =>
  Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
const concat = (ls: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(ls));
const hex = (ps: Uint8Array[]): string[] => ps.map((p) => Buffer.from(p).toString('hex'));

function cutTree(leaves: Uint8Array[], cut: number): ProofTree {
  const base = new CompactRange();
  for (const l of leaves.slice(0, cut)) base.append(Buffer.from(l));
  return new ProofTree(concat(leaves.slice(cut)), base);
}

describe('ProofTree over a pruned prefix equals the whole tree past the cut', () => {
  it('sizes 1..48, every cut: root, inclusion and consistency proofs, older roots', () => {
    for (let n = 1; n <= 48; n++) {
      const leaves = leavesOf(n);
      const whole = new ProofTree(concat(leaves));
      for (let cut = 1; cut <= n; cut++) {
        const t = cutTree(leaves, cut);
        expect(t.size).toBe(n);
        expect(t.cut).toBe(cut);
        expect(hex([t.root()])).toEqual(hex([whole.root()]));
        for (let i = cut; i < n; i++) {
          expect(hex([t.leaf(i)])).toEqual(hex([whole.leaf(i)]));
          expect(hex(t.inclusionProof(i))).toEqual(hex(whole.inclusionProof(i)));
        }
        for (let m = cut; m <= n; m++) {
          expect(hex(t.consistencyProof(m))).toEqual(hex(whole.consistencyProof(m)));
          expect(hex([t.rootAt(m)])).toEqual(hex([whole.rootAt(m)]));
        }
        expect(t.consistencyProof(0)).toEqual([]);
      }
    }
  });

  it('refuses a pruned leaf, a proof for it, and a root or consistency proof below the cut', () => {
    const leaves = leavesOf(20);
    const t = cutTree(leaves, 11);
    expect(() => t.leaf(10)).toThrow(/pruned/);
    expect(() => t.inclusionProof(0)).toThrow(/pruned/);
    expect(() => t.inclusionProof(10)).toThrow(/pruned/);
    expect(() => t.rootAt(10)).toThrow(/pruned/);
    expect(() => t.consistencyProof(5)).toThrow(/pruned/);
  });

  it('a wrong compact range gives a different root (the caller must check it against a signed root)', () => {
    const leaves = leavesOf(20);
    const good = cutTree(leaves, 12);
    const base = new CompactRange();
    for (const l of leaves.slice(0, 12)) base.append(Buffer.from(l));
    const forged = Buffer.from(base.encode());
    forged[0]! ^= 1;
    const bad = new ProofTree(concat(leaves.slice(12)), CompactRange.decode(12, forged));
    expect(hex([bad.root()])).not.toEqual(hex([good.root()]));
    expect(bad.size).toBe(20);
  });
});
