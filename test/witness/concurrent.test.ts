import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addCheckpoint, openCheckpoint } from '../../packages/core/src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { type Running, serveWitness, storedHead, witnessConfig } from './harness.js';
import { sealedLedger } from './ledger.js';

// tlog-witness §add-checkpoint: checking the old size and persisting the new
// checkpoint must be atomic, or two requests from the same old size both get
// cosigned and the stored size rolls back. Two witness processes share one
// state file here, so only the SQLite compare-and-set can keep them honest.

const ORIGIN = 'audit.example/race';
const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
});

describe('two witness processes on one state file', () => {
  it('never both cosign from the same old size, and the stored size never goes back', async () => {
    const dir = tempDir();
    const ledger = await sealedLedger(dir, 'race.db', ORIGIN);
    const { config } = await witnessConfig(dir, [{ origin: ORIGIN, key: ledger.logKey }]);
    const second = join(dir, 'witness2.json');
    writeFileSync(second, readFileSync(config, 'utf8'));
    const a = await serveWitness(config);
    running.push(a);
    const b = await serveWitness(second);
    running.push(b);
    const stateFile = join(dir, 'witness.db');

    // Checkpoints at 3, 6, 9, …: for each round, A gets old → +3 and B gets old → +6.
    const notes = new Map<number, string>();
    for (let i = 0; i < 13; i++) {
      const note = await ledger.grow(3);
      notes.set(openCheckpoint(note, [ledger.logKey]).checkpoint.size, note);
    }
    let old = 0;
    for (let round = 0; round < 6 && old + 6 <= 39; round++) {
      const [ra, rb] = await Promise.all([
        addCheckpoint(a.url, { oldSize: old, proof: ledger.proof(old, old + 3), note: notes.get(old + 3)! }),
        addCheckpoint(b.url, { oldSize: old, proof: ledger.proof(old, old + 6), note: notes.get(old + 6)! }),
      ]);
      const oks = [ra, rb].filter((r) => r.ok);
      expect(oks, `round ${round}: ${JSON.stringify([ra, rb])}`).toHaveLength(1);
      const loser = ra.ok ? rb : ra;
      expect(loser).toMatchObject({ ok: false, kind: 'conflict' });
      const size = storedHead(stateFile, ORIGIN)!.size;
      expect(size).toBe(ra.ok ? old + 3 : old + 6);
      if (!loser.ok && loser.kind === 'conflict') expect(loser.witnessSize).toBe(size);
      old = size;
    }
  });
});
