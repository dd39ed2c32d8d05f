import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leafHash } from '../hash.js';
import {
  CompactRange,
  consistencyProof,
  inclusionProof,
  subtreeRoot,
  verifyConsistency,
  verifyInclusion,
} from '../merkle.js';
import { Ed25519Signer, parseVerifierKey } from '../note/keys.js';
import { asCheckpointKey } from '../signer/file.js';
import { openPrefix, type PrefixStatement, parsePrefix, prefixText, signPrefix } from './statement.js';
import { parseTombstone, prunedLeafSource } from './tombstone.js';

const leaves = (n: number) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`record ${i}`)));
const rangeOf = (ls: Buffer[]) => {
  const r = new CompactRange();
  for (const l of ls) r.append(l);
  return r;
};

describe('proofs past a pruned prefix (compact range + kept leaves)', () => {
  it('equal the proofs over every leaf, for every cut, record and size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 90 }), fc.integer({ min: 0, max: 60 }), (cut, more) => {
        const all = leaves(cut + more + 1);
        const full = (i: number) => all[i]!;
        const pruned = prunedLeafSource(rangeOf(all.slice(0, cut)), full);
        const size = all.length;
        for (let i = cut; i < size; i++) {
          const p = inclusionProof(pruned, i, size);
          expect(p).toEqual(inclusionProof(full, i, size));
          expect(verifyInclusion(all[i]!, i, size, p, subtreeRoot(full, 0, size))).toBe(true);
        }
        const c = consistencyProof(pruned, cut, size);
        expect(c).toEqual(consistencyProof(full, cut, size));
        expect(verifyConsistency(cut, size, subtreeRoot(full, 0, cut), subtreeRoot(full, 0, size), c)).toBe(
          true,
        );
      }),
      { numRuns: 60 },
    );
  });

  it('refuse a pruned record instead of inventing it', () => {
    const all = leaves(20);
    const pruned = prunedLeafSource(rangeOf(all.slice(0, 13)), (i) => all[i]!);
    expect(() => inclusionProof(pruned, 5, 20)).toThrow(/pruned under retention/);
  });
});

describe('parseTombstone: every field is attacker input', () => {
  const good = () => {
    const r = rangeOf(leaves(13));
    return {
      id: 1,
      size: 13,
      note: 'x',
      chain_head: randomBytes(32),
      compact: r.encode(),
      statement_seq: 13,
      pruned_at: 5,
    };
  };
  it('accepts a well-formed row', () => {
    expect(typeof parseTombstone(good())).toBe('object');
  });
  it.each([
    ['size 0', { size: 0 }],
    ['negative size', { size: -1 }],
    ['size beyond 2^53', { size: 2n ** 60n }],
    ['fractional size', { size: 1.5 }],
    ['size as text', { size: '13abc' }],
    ['a compact range one node short', { compact: randomBytes(32 * 2) }],
    ['a compact range one byte long', { compact: randomBytes(32 * 3 + 1) }],
    ['compact as text', { compact: 'abc' }],
    ['a 31-byte chain value', { chain_head: randomBytes(31) }],
    ['a statement before the cut', { statement_seq: 12 }],
    ['a note that is not text', { note: Buffer.from('x') }],
    ['a NULL note (longer than the cap)', { note: null }],
  ])('refuses %s', (_what, patch) => {
    expect(typeof parseTombstone({ ...good(), ...patch })).toBe('string');
  });
});

describe('prefix prune statements', () => {
  const signer = new Ed25519Signer('example.com/audit', randomBytes(32));
  const s: PrefixStatement = {
    origin: 'example.com/audit',
    time: 1796279898293,
    retention: 31536000000,
    reason: 'RET-7',
    size: 200,
    root: randomBytes(32),
    oldest: 1,
    newest: 2,
  };
  it('round-trip, and open only under the signing key', async () => {
    const note = await signPrefix(s, asCheckpointKey(signer).log);
    expect(parsePrefix(note)).toEqual({ ...s, root: new Uint8Array(s.root) });
    expect(openPrefix(note, [parseVerifierKey(signer.verifierKey)])?.size).toBe(200);
    const other = new Ed25519Signer('example.com/audit', randomBytes(32));
    expect(openPrefix(note, [parseVerifierKey(other.verifierKey)])).toBeUndefined();
  });
  it.each([
    ['a non-canonical root', (t: string) => t.replace(/prefix 200 (\S+)=/, 'prefix 200 $1')],
    ['a size with a leading zero', (t: string) => t.replace('prefix 200', 'prefix 0200')],
    ['an extra line', (t: string) => `${t}segment 1\n`],
    ['a control character in the reason', (t: string) => t.replace('RET-7', 'RET\u00077')],
    ['another header', (t: string) => t.replace('sealog prune prefix/v1', 'sealog prune/v1')],
  ])('refuse %s', (_what, edit) => {
    const text = edit(prefixText(s));
    expect(() => parsePrefix(`${text}\n— example.com/audit AAAA\n`)).toThrow();
  });
  it('refuse an oversized note before parsing it', () => {
    expect(() => parsePrefix('x'.repeat(5000))).toThrow(/larger than/);
  });
});
