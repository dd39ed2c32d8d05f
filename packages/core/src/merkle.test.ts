import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_ROOT, leafHash } from './hash.js';
import {
  CompactRange,
  consistencyProof,
  consistencyProofStreaming,
  inclusionProof,
  rootFromLeaves,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// RFC 6962 reference leaves and tree heads, as published by the Certificate
// Transparency test suites (data only): root of the first n leaves, n = 1..8.
const CT_DATA = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map((h) => Buffer.from(h, 'hex'));
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
// Published RFC 6962 audit paths for the same tree (leaf 0 and leaf 5 of 8).
const CT_PATHS: [number, string[]][] = [
  [
    0,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    5,
    [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
];
const CT_LEAVES = CT_DATA.map(leafHash);

describe('RFC 6962 Merkle tree', () => {
  it('empty tree root is SHA-256 of the empty string', () => {
    expect(hex(new CompactRange().root())).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(hex(rootFromLeaves([]))).toBe(hex(EMPTY_ROOT));
  });

  it('incremental and from-scratch roots match the published tree heads for sizes 1..8', () => {
    const range = new CompactRange();
    CT_LEAVES.forEach((leaf, i) => {
      range.append(leaf);
      expect(hex(range.root()), `incremental size ${i + 1}`).toBe(CT_ROOTS[i]);
      expect(hex(rootFromLeaves(CT_LEAVES.slice(0, i + 1))), `scratch size ${i + 1}`).toBe(CT_ROOTS[i]);
    });
  });

  it('produces and accepts the published audit paths', () => {
    for (const [index, path] of CT_PATHS) {
      const proof = inclusionProof((i) => CT_LEAVES[i]!, index, 8);
      expect(proof.map(hex)).toEqual(path);
      const root = Buffer.from(CT_ROOTS[7]!, 'hex');
      expect(verifyInclusion(CT_LEAVES[index]!, index, 8, proof, root)).toBe(true);
      expect(verifyInclusion(CT_LEAVES[index]!, index ^ 1, 8, proof, root)).toBe(false);
    }
  });

  it('property: the incremental root equals the from-scratch root at every size', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 300 }), (entries) => {
        const leaves = entries.map(leafHash);
        const range = new CompactRange();
        for (let i = 0; i < leaves.length; i++) {
          range.append(leaves[i]!);
          if (hex(range.root()) !== hex(rootFromLeaves(leaves.slice(0, i + 1)))) return false;
        }
        return range.size === leaves.length;
      }),
      { numRuns: 60 },
    );
  });

  it('property: a compact range survives encode/decode and keeps extending correctly', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2000 }), fc.nat({ max: 50 }), (n, more) => {
        const leaves = Array.from({ length: n + more }, (_, i) => leafHash(Buffer.from(String(i))));
        const a = new CompactRange();
        for (const l of leaves.slice(0, n)) a.append(l);
        const b = CompactRange.decode(a.size, a.encode());
        for (const l of leaves.slice(n)) b.append(l);
        return hex(b.root()) === hex(rootFromLeaves(leaves));
      }),
      { numRuns: 40 },
    );
  });

  it('rejects a stored range whose length does not fit its size', () => {
    expect(() => CompactRange.decode(3, Buffer.alloc(32))).toThrow(RangeError);
    expect(() => CompactRange.decode(-1, Buffer.alloc(0))).toThrow(RangeError);
  });
});

describe('consistencyProofStreaming', () => {
  it('property: the same proof as from every leaf, fed in pages of any size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 1, max: 40 }),
        async (a, b, page) => {
          const [m, n] = a <= b ? [a, b] : [b, a];
          const all = Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
          const old = new CompactRange();
          for (const l of all.slice(0, m)) old.append(l);
          async function* pages() {
            for (let lo = m; lo < n; lo += page) yield all.slice(lo, Math.min(n, lo + page));
          }
          const proof = await consistencyProofStreaming(old, n, pages());
          expect(proof.map(hex)).toEqual(consistencyProof((i) => all[i] as Buffer, m, n).map(hex));
          if (m > 0) {
            const ok = verifyConsistency(m, n, rootFromLeaves(all.slice(0, m)), rootFromLeaves(all), proof);
            expect(ok).toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
