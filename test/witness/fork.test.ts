import { afterEach, describe, expect, it } from 'vitest';
import {
  addCheckpoint,
  openCheckpoint,
  verifyWitnessCosignatures,
  type WitnessResult,
} from '../../packages/core/src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { type Running, serveWitness, storedHead, witnessConfig } from './harness.js';
import { sealedLedger } from './ledger.js';

// The attack a witness exists for (DESIGN "Trust rules": the attacker with the
// key). The attacker holds the log's private key file and rewrites history: a
// ledger whose records 4..9 differ, sealed by `sealog checkpoint` with the
// stolen key, so every forged checkpoint carries a perfectly valid log
// signature. Whatever the attacker sends, the witness must not cosign it and
// must keep its record of the honest log.

const ORIGIN = 'audit.example/payments';
const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
});

describe('a log key holder who rewrites history gets no cosignature for the fork', () => {
  it('refuses the fork at the cosigned size, extended, from a forged old size and from 0; the honest log goes on', async () => {
    const dir = tempDir();
    const honest = await sealedLedger(dir, 'honest.db', ORIGIN);
    const { config, stateFile, verifierKey } = await witnessConfig(dir, [
      { origin: ORIGIN, key: honest.logKey },
    ]);
    const w = await serveWitness(config);
    running.push(w);

    // The witness follows the honest log to size 25.
    let old = 0;
    for (const n of [4, 6, 15]) {
      const note = await honest.grow(n);
      const size = openCheckpoint(note, [honest.logKey]).checkpoint.size;
      expect((await addCheckpoint(w.url, { oldSize: old, proof: honest.proof(old, size), note })).ok).toBe(
        true,
      );
      old = size;
    }
    const cosigned = storedHead(stateFile, ORIGIN);
    expect(cosigned?.size).toBe(25);

    // The attacker: same key file, records 4..9 rewritten, sealed to 25 then 30.
    const forged = await sealedLedger(tempDir(), 'forged.db', ORIGIN, honest.keyFile);
    await forged.grow(4);
    await forged.grow(6, 'rewritten');
    const forged25 = await forged.grow(15);
    const forged30 = await forged.grow(5);
    // Each forged checkpoint is validly signed by the real log key.
    expect(openCheckpoint(forged25, [honest.logKey]).checkpoint.size).toBe(25);
    expect(openCheckpoint(forged30, [honest.logKey]).checkpoint.size).toBe(30);

    const attempts: [string, Promise<WitnessResult>, number][] = [
      ['same size, other root', addCheckpoint(w.url, { oldSize: 25, proof: [], note: forged25 }), 422],
      [
        'extended, proof from its own tree',
        addCheckpoint(w.url, { oldSize: 25, proof: forged.proof(25, 30), note: forged30 }),
        422,
      ],
      [
        'claims the witness is at 10',
        addCheckpoint(w.url, { oldSize: 10, proof: forged.proof(10, 30), note: forged30 }),
        409,
      ],
      ['starts over from 0', addCheckpoint(w.url, { oldSize: 0, proof: [], note: forged30 }), 409],
      [
        'proof borrowed from the honest log',
        addCheckpoint(w.url, { oldSize: 25, proof: honest.proof(4, 25).slice(0, 3), note: forged30 }),
        422,
      ],
    ];
    for (const [what, attempt, status] of attempts) {
      const r = await attempt;
      expect(r.ok, what).toBe(false);
      expect(r.ok ? 200 : 'status' in r ? r.status : -1, what).toBe(status);
      if (!r.ok && r.kind === 'conflict') expect(r.witnessSize, what).toBe(25);
      expect(storedHead(stateFile, ORIGIN), what).toEqual(cosigned);
    }
    // A relying party that requires the witness rejects the forged view (no split view).
    expect(verifyWitnessCosignatures(forged30, [verifierKey], 1).quorumMet).toBe(false);
    // The witness logged the validly signed fork as evidence for the operator.
    expect(w.stderr()).toContain('witness: evidence');

    // The honest log is unaffected.
    const honest30 = await honest.grow(5);
    const r = await addCheckpoint(w.url, { oldSize: 25, proof: honest.proof(25, 30), note: honest30 });
    expect(r.ok).toBe(true);
    expect(storedHead(stateFile, ORIGIN)?.size).toBe(30);
  });
});
