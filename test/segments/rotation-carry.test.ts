import { describe, expect, it } from 'vitest';
import { attackerOpen } from '../attacks/harness.js';
import { verifyDir } from '../retention/helpers.js';
import { rotatedLedger } from './rotated-fixture.js';

// Issue 18: `sealog verify <dir>` follows a key rotation from the segment
// that verified it into the next ones, so the verifier gives only the first
// key. A rotation entry that segment's own checkpoints do not seal is not
// followed (the next segment's checkpoints, signed by the new key, cannot
// vouch for the key that signed them).

/** Segment 1 rotates from `from` to a new key, which alone writes and seals segments 2 and 3. */
async function rotated(options: { unsealed?: boolean; rotateWith?: 'attacker' } = {}) {
  const { l } = await rotatedLedger(3, options);
  if (options.unsealed) {
    // Every checkpoint of segment 1 covering the rotation entry removed: only segment 2's binding seals it.
    const db = attackerOpen(l.segments[0]!.path);
    const at = (
      db
        .prepare('SELECT min(seq) AS s FROM records WHERE instr(entry, CAST(\'"keyRotation"\' AS BLOB)) > 0')
        .get() as { s: number }
    ).s;
    db.prepare('DELETE FROM checkpoints WHERE size > ?').run(at);
    db.close();
  }
  return l;
}

describe('verify <dir> across a key rotation', () => {
  it('given only the first key, follows the rotation of segment 1 into segments 2 and 3', async () => {
    const l = await rotated();
    const { run, report } = await verifyDir(l);
    expect(run.code, JSON.stringify(report.findings)).toBe(0);
    expect(report.segments.map((s) => s.ok)).toEqual([true, true, true]);
  });

  it('a rotation entry no checkpoint of its own segment seals is not followed', async () => {
    const l = await rotated({ unsealed: true });
    const { run, report } = await verifyDir(l);
    expect(run.code).toBe(1);
    expect(report.segments.map((s) => s.ok)).toEqual([true, false, false]);
  });

  it('a rotation signed by a key the verifier does not trust is not followed', async () => {
    const l = await rotated({ rotateWith: 'attacker' });
    const { run, report } = await verifyDir(l);
    expect(run.code).toBe(1);
    expect(report.segments.find((s) => s.index === 2)!.ok).toBe(false);
    expect(report.segments.find((s) => s.index === 3)!.ok).toBe(false);
  });
});
