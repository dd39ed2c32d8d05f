import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attackerOpen, sealog } from '../attacks/harness.js';
import { kinds, verifyDir } from '../retention/helpers.js';
import { fixtureKeys } from '../segments-fixture.js';
import { rotatedLedger } from './rotated-fixture.js';

// Issue 18, red-team finding: an erasure in a closed segment signed by the key
// a rotation endorsed was judged against the given keys only, so after
// `sealog key rotate` the new key's `segment-erasure/v1` statement authorised
// nothing. Statements now follow the carried-key rule of directory verify
// (carry-keys.ts): the new key is trusted from the segment after the rotation
// on, when that segment verified and its own checkpoint covers the rotation.

/** Segment 1 rotates from the first key to `next`, which writes and seals segments 2 and 3. */
const rotated = () => rotatedLedger(6);

const erase = (file: string, keyFile: string, trustFile: string) =>
  sealog([
    'erase',
    file,
    '--seq',
    '2,4',
    '--reason',
    'GDPR-9',
    '--key',
    keyFile,
    '--trust-file',
    trustFile,
    '--yes',
  ]);

describe('erasure in a closed segment after a key rotation', { timeout: 120_000 }, () => {
  it('signed by the rotated-to key, it verifies with only the first key given', async () => {
    const { l, first, next } = await rotated();
    const r = await erase(l.segments[1]!.path, next.keyFile, first.vkeyFile);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(
      /erased 2 record\(s\) in closed segment 2 .* under the erasure statement at segment 3/,
    );
    const { run, report } = await verifyDir(l);
    expect(run.code, JSON.stringify(report.findings)).toBe(0);
    expect(report.findings).toEqual([]);
    expect(report.segments.map((s) => s.ok)).toEqual([true, true, true]);
  });

  it('without the checkpoint of segment 1 covering the rotation, the statement authorises nothing', async () => {
    const { l, first, next } = await rotated();
    expect((await erase(l.segments[1]!.path, next.keyFile, first.vkeyFile)).code).toBe(0);
    // Every checkpoint of segment 1 covering the rotation entry removed: only segment 2's binding seals it.
    const db = attackerOpen(l.segments[0]!.path);
    const at = (
      db
        .prepare('SELECT min(seq) AS s FROM records WHERE instr(entry, CAST(\'"keyRotation"\' AS BLOB)) > 0')
        .get() as { s: number }
    ).s;
    expect(db.prepare('DELETE FROM checkpoints WHERE size > ?').run(at).changes).toBeGreaterThan(0);
    db.close();
    const { run, report } = await verifyDir(l);
    expect(run.code).toBe(1);
    expect(kinds(report)).toContain('bad-statement');
    expect(report.findings.find((f) => f.kind === 'bad-statement')!.message).toMatch(
      /not signed by a key trusted in segment 3/,
    );
    expect(report.segments.map((s) => s.ok)).toEqual([true, false, false]);
  });

  it('a key no rotation endorsed is refused before anything is erased', async () => {
    const { l, first, root } = await rotated();
    const stranger = fixtureKeys(join(root, 'k3'), l.origin, 'k3');
    const r = await erase(l.segments[1]!.path, stranger.keyFile, first.vkeyFile);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/is not trusted in segment 3, where the erasure statement would go/);
    const { run } = await verifyDir(l);
    expect(run.code).toBe(0);
  });
});
