import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signCheckpoint } from '../../checkpoint/signed.js';
import { leafHash } from '../../hash.js';
import { rootFromLeaves } from '../../merkle.js';
import { generateKey, parseSignerKey } from '../../note/keys.js';
import { makeLedger, tamper } from '../../verify/__tests__/fixture.js';
import type { ConsistencyBundle, InclusionBundle } from '../bundle.js';
import { makeConsistencyBundle, proveConsistency, verifyConsistencyProof } from '../consistency.js';
import { makeInclusionBundle, proveInclusion, verifyInclusionProof } from '../inclusion.js';

const N = 64;
const ORIGIN = 'proofs.example/log';
const key = generateKey(ORIGIN);
const signer = parseSignerKey(key.privateKey);
const entries = Array.from({ length: N }, (_, i) => Buffer.from(`{"i":${i}}`));
const leaves = entries.map((e) => leafHash(e));
const leaf = (i: number) => leaves[i]!;
// One signed checkpoint per tree size 0..64.
const notes = Array.from({ length: N + 1 }, (_, n) =>
  signCheckpoint(
    { origin: ORIGIN, size: n, root: rootFromLeaves(leaves.slice(0, n)) },
    signer,
    1_700_000_000,
  ),
);
const keys = [key.verifierKey];

function inclusion(n: number, i: number): InclusionBundle {
  return makeInclusionBundle(entries[i]!, i, n, leaf, notes[n]!);
}

describe('inclusion proofs (RFC 9162 §2.1.3)', () => {
  it('verify for every tree size 1..64 and every index', () => {
    let checked = 0;
    for (let n = 1; n <= N; n++) {
      for (let i = 0; i < n; i++) {
        const r = verifyInclusionProof(JSON.stringify(inclusion(n, i)), keys);
        if (!r.ok) expect.fail(`size ${n} index ${i}: ${r.message}`);
        expect(r.entry.equals(entries[i]!)).toBe(true);
        checked++;
      }
    }
    expect(checked).toBe((N * (N + 1)) / 2);
  }, 300_000);

  it('fail for any mutation of the proof, index, size, entry or checkpoint', () => {
    const mutations: ((b: InclusionBundle) => unknown)[] = [
      (b) => ({ ...b, seq: b.seq + 1 }),
      (b) => ({ ...b, seq: b.seq - 1 }),
      (b) => ({ ...b, treeSize: b.treeSize + 1 }),
      (b) => ({ ...b, treeSize: b.treeSize - 1 }),
      (b) => ({ ...b, proof: b.proof.slice(1) }),
      (b) => ({ ...b, proof: b.proof.slice(0, -1) }),
      (b) => ({ ...b, proof: [...b.proof, b.proof[0] ?? leaves[0]!.toString('base64')] }),
      (b) => ({ ...b, proof: [leaves[0]!.toString('base64'), ...b.proof] }),
      (b) => ({ ...b, proof: [...b.proof].reverse() }),
      (b) => ({ ...b, entry: Buffer.from('{"i":-1}').toString('base64') }),
      (b) => ({ ...b, checkpoint: notes[b.treeSize === N ? 1 : b.treeSize + 1] }),
      (b) => ({ ...b, extra: 1 }),
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: N }).chain((n) => fc.tuple(fc.constant(n), fc.nat(n - 1))),
        fc.nat(mutations.length - 1),
        ([n, i], m) => {
          const b = inclusion(n, i);
          const mutated = mutations[m]!(b);
          if (JSON.stringify(mutated) === JSON.stringify(b)) return; // e.g. reversing a 1-hash proof
          expect(verifyInclusionProof(mutated, keys).ok).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fail when any single byte of the serialized bundle changes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: N }).chain((n) => fc.tuple(fc.constant(n), fc.nat(n - 1))),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        ([n, i], at, x) => {
          const text = Buffer.from(JSON.stringify(inclusion(n, i)));
          const pos = at % text.length;
          text[pos] = text[pos]! ^ x;
          // Compact JSON has no insignificant bytes: every flip changes the value or
          // breaks it. The time cosigner's key is given too: otherwise a flip inside
          // its line only turns it into an unknown signature, which signed-note ignores.
          const r = verifyInclusionProof(text.toString('utf8'), [key.verifierKey, key.cosignerVerifierKey]);
          expect(r.ok).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('consistency proofs (RFC 9162 §2.1.4)', () => {
  const consistency = (m: number, n: number): ConsistencyBundle =>
    makeConsistencyBundle(m, n, leaf, notes[m]!, notes[n]!);

  it('verify for every pair of sizes 1 ≤ m ≤ n ≤ 64', () => {
    let checked = 0;
    for (let n = 1; n <= N; n++) {
      for (let m = 1; m <= n; m++) {
        const r = verifyConsistencyProof(consistency(m, n), keys);
        if (!r.ok) expect.fail(`${m}→${n}: ${r.message}`);
        checked++;
      }
    }
    expect(checked).toBe((N * (N + 1)) / 2);
  }, 300_000);

  it('fail for any mutation', () => {
    const mutations: ((b: ConsistencyBundle) => unknown)[] = [
      (b) => ({ ...b, fromSize: b.fromSize + 1 }),
      (b) => ({ ...b, toSize: b.toSize - 1 }),
      (b) => ({ ...b, proof: b.proof.slice(1) }),
      (b) => ({ ...b, proof: b.proof.slice(0, -1) }),
      (b) => ({ ...b, proof: [...b.proof, leaves[0]!.toString('base64')] }),
      (b) => ({ ...b, proof: b.proof.map((h, k) => (k === 0 ? leaves[1]!.toString('base64') : h)) }),
      (b) => ({ ...b, from: b.to, to: b.from }),
    ];
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: N })
          .chain((n) => fc.tuple(fc.integer({ min: 1, max: n - 1 }), fc.constant(n))),
        fc.nat(mutations.length - 1),
        ([m, n], k) => {
          const b = consistency(m, n);
          const mutated = mutations[k]!(b);
          if (JSON.stringify(mutated) === JSON.stringify(b)) return;
          expect(verifyConsistencyProof(mutated, keys).ok).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('proofs from a ledger file', () => {
  it('prove and verify inclusion and consistency against stored checkpoints', () => {
    const f = makeLedger({ records: 50, every: 20 }); // checkpoints at 20, 40, 50
    const b = proveInclusion(f.path, 7, [f.vkey, f.cosignerVkey]);
    expect(b.treeSize).toBe(50);
    const r = verifyInclusionProof(JSON.stringify(b), [f.vkey, f.cosignerVkey]);
    expect(r).toMatchObject({
      ok: true,
      seq: 7,
      checkpoint: { origin: f.origin, size: 50, time: 1_700_000_050 },
    });
    const c = proveConsistency(f.path, 20, 40, [f.vkey]);
    expect(verifyConsistencyProof(c, [f.vkey])).toMatchObject({
      ok: true,
      from: { size: 20 },
      to: { size: 40 },
    });
    // Wrong key: unknown-key; another log's key with our notes: still unknown.
    expect(verifyInclusionProof(b, [generateKey('x.example').verifierKey])).toMatchObject({
      ok: false,
      problem: 'unknown-key',
    });
  });

  it('refuses to prove from records that do not match the checkpoint, or beyond the last checkpoint', () => {
    const f = makeLedger({ records: 30, every: 20, sealTail: false }); // checkpoint at 20 only
    expect(() => proveInclusion(f.path, 25, [f.vkey])).toThrow(
      /no checkpoint signed by the given keys covers record 25/,
    );
    expect(() => proveConsistency(f.path, 10, 20, [f.vkey])).toThrow(
      /no checkpoint signed by the given keys has size 10/,
    );
    tamper(f.path, (db) => db.prepare("UPDATE records SET entry = x'7b7d' WHERE seq = 3").run());
    expect(() => proveInclusion(f.path, 3, [f.vkey])).toThrow(expect.objectContaining({ code: 'E_TAMPER' }));
  });
});
