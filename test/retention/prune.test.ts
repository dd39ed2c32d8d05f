import { existsSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSignerKeyFile } from '../../packages/core/src/note/keyfile.js';
import { applyPrune, planPrune } from '../../packages/core/src/segments/retention-prune.js';
import { verifySegments } from '../../packages/core/src/segments/verify.js';
import { fileCheckpointKey } from '../../packages/core/src/signer/file.js';
import { hold, kinds, ledger, prune, verifyDir } from './helpers.js';

// Issue 18 item 2: prune removes due segments and keeps their tombstones; a
// legal hold stops it and is itself recorded in the ledger; verify reports the
// pruned segments as expired and still catches any other missing one.

describe('sealog prune', () => {
  it('prunes the due prefix, keeps tombstones, and verify reports them as expired under retention', async () => {
    const l = await ledger([8, 8, 8, 3], 2);
    const dry = await prune(l, '--keep', '30d', '--dry-run');
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toContain('would prune segment 1');
    expect(dry.out).toContain('would prune segment 2');
    expect(dry.out).toMatch(/keeps segment 3 and newer: not due/);
    expect(existsSync(l.segments[0]!.path)).toBe(true);

    const r = await prune(l, '--keep', '30d', '--yes');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/pruned segment 1 .*\npruned segment 2 /);
    expect(
      readdirSync(l.dir)
        .filter((n) => /^seg-\d+\.(db|tomb)$/.test(n))
        .sort(),
    ).toEqual(['seg-000001.tomb', 'seg-000002.tomb', 'seg-000003.db', 'seg-000004.db']);
    const { run, report } = await verifyDir(l, '--retention', '30d');
    expect(report.findings).toEqual([]);
    expect(run.code).toBe(0);
    expect(report.pruned.map((p) => [p.index, p.size, p.reason])).toEqual([
      [1, 9, 'RET-7: retention policy'],
      [2, 9, 'RET-7: retention policy'],
    ]);
    // The segments that were not due keep every record.
    expect(report.segments.map((s) => [s.index, s.size])).toEqual([
      [3, 9],
      [4, 5], // its 4 rows and the prune statement
    ]);
    const human = await prune(l, '--keep', '30d', '--yes');
    expect(human.code, human.err).toBe(0);
    expect(human.out).toContain('nothing is due');

    // A retention policy longer than the one the statement applied: not excused.
    const strict = await verifyDir(l, '--retention', '800d');
    expect(strict.run.code).toBe(1);
    expect(strict.report.findings).toContainEqual(
      expect.objectContaining({ kind: 'segment-missing', segment: 1 }),
    );

    // An attacker deleting a segment that was not due is still caught.
    unlinkSync(l.segments[2]!.path);
    const after = await verifyDir(l);
    expect(after.run.code).toBe(1);
    expect(after.report.findings).toContainEqual(
      expect.objectContaining({ kind: 'segment-missing', segment: 3 }),
    );
    expect(after.report.pruned.map((p) => p.index)).toEqual([1, 2]);
  });

  it('the human verify output names the expired segments', async () => {
    const l = await ledger([4, 4, 2], 1);
    expect((await prune(l, '--keep', '30d', '--yes')).code).toBe(0);
    const { sealog } = await import('../attacks/harness.js');
    const r = await sealog(['verify', l.dir, '--key-file', l.keys.vkeyFile]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('expired under retention:');
    expect(r.out).toMatch(
      /segment 1: 5 rows from base 0, .*pruned .* under a retention of 30d \(reason: "RET-7: retention policy"/,
    );
    expect(r.out).toContain('1 older segment(s) expired under retention');
  });

  it('a legal hold makes prune refuse, naming it; it is recorded in the ledger; after release prune works', async () => {
    const l = await ledger([6, 6, 2], 2);
    const placed = await hold(
      l,
      'add',
      '--segment',
      '1',
      '--id',
      'CASE-12',
      '--reason',
      'LIT-2026-004 discovery',
    );
    expect(placed.code, placed.err).toBe(0);
    expect(placed.out).toContain('sealog hold/v1');

    const refused = await prune(l, '--keep', '30d', '--yes');
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('legal hold CASE-12');
    expect(refused.err).toContain('LIT-2026-004 discovery');
    expect(existsSync(l.segments[0]!.path)).toBe(true);

    const listed = await hold(l, 'list');
    expect(listed.code, listed.err).toBe(0);
    expect(listed.out).toMatch(/^CASE-12 {2}ACTIVE {2}segment 1 /);
    const v = await verifyDir(l);
    expect(v.run.code).toBe(0);
    expect(v.report.holds).toEqual([expect.objectContaining({ id: 'CASE-12', active: true })]);

    // A hold on segment 2 lets segment 1 go and keeps 2.
    expect((await hold(l, 'release', '--id', 'CASE-12', '--reason', 'LIT-2026-004 closed')).code).toBe(0);
    expect((await hold(l, 'add', '--segment', '2', '--id', 'CASE-13', '--reason', 'LIT-2026-005')).code).toBe(
      0,
    );
    const partial = await prune(l, '--keep', '30d', '--yes');
    expect(partial.code, partial.err).toBe(0);
    expect(partial.out).toMatch(/^pruned segment 1 /);
    expect(partial.err).toContain('legal hold CASE-13');
    expect(existsSync(l.segments[1]!.path)).toBe(true);

    expect((await hold(l, 'release', '--id', 'CASE-13', '--reason', 'LIT-2026-005 closed')).code).toBe(0);
    const all = await prune(l, '--keep', '30d', '--yes');
    expect(all.code, all.err).toBe(0);
    expect(all.out).toMatch(/^pruned segment 2 /);
    const final = await verifyDir(l);
    expect(final.report.findings).toEqual([]);
    expect(final.run.code).toBe(0);
    expect(final.report.pruned.map((p) => p.index)).toEqual([1, 2]);
    expect(final.report.holds.map((h) => [h.id, h.active])).toEqual([
      ['CASE-12', false],
      ['CASE-13', false],
    ]);
  });

  it('a range hold covers the segments with a record in it', async () => {
    const l = await ledger([6, 6, 2], 2);
    const s2 = l.segments[1]!;
    const r = await hold(
      l,
      'add',
      '--from',
      `@${Math.floor(s2.firstTime / 1000) + 2}`,
      '--to',
      `@${Math.floor(s2.firstTime / 1000) + 3}`,
      '--reason',
      'AUDIT-9',
    );
    expect(r.code, r.err).toBe(0);
    const p = await prune(l, '--keep', '30d', '--yes');
    expect(p.code, p.err).toBe(0);
    expect(p.out).toMatch(/^pruned segment 1 /);
    expect(existsSync(s2.path)).toBe(true);
  });

  it('a segment pruned while a hold covered it (the key holder bypassing prune) fails verify', async () => {
    const l = await ledger([6, 6, 2], 2);
    expect((await hold(l, 'add', '--segment', '1', '--id', 'CASE-1', '--reason', 'LIT-1')).code).toBe(0);
    const keys = l.keys.vkeys;
    const report = verifySegments(l.dir, { keys });
    const plan = planPrune(report, Date.now() - 86_400_000);
    expect(plan.due).toEqual([]); // the planner refuses
    // Force it: prune segment 1 anyway with the real key.
    const forced = {
      resume: [],
      carried: [],
      due: [
        {
          ...report.segments[0]!,
          base: 0,
          root: Buffer.from(report.segments[0]!.root!, 'hex'),
          oldest: report.segments[0]!.oldest!,
          newest: report.segments[0]!.newest!,
        },
      ],
    };
    const signer = fileCheckpointKey(loadSignerKeyFile(l.keys.keyFile));
    await applyPrune(l.dir, forced, {
      signer,
      newestFile: l.segments[2]!.path,
      origin: l.origin,
      now: Date.now(),
      retention: 86_400_000,
      reason: 'RET-1',
    });
    const { run, report: after } = await verifyDir(l);
    expect(run.code).toBe(1);
    expect(kinds(after)).toContain('pruned-under-hold');
    expect(after.pruned[0]).toMatchObject({ index: 1, underHold: 'CASE-1' });
  });

  it('refuses a reason that looks like personal data, and a directory that does not verify', async () => {
    const l = await ledger([4, 4, 2], 2);
    const { sealog } = await import('../attacks/harness.js');
    const pii = await sealog([
      'prune',
      l.dir,
      '--keep',
      '30d',
      '--yes',
      '--key',
      l.keys.keyFile,
      '--reason',
      'asked by jane.doe@example.com',
    ]);
    expect(pii.code).toBe(2);
    expect(pii.err).toContain('personal data');
    unlinkSync(l.segments[1]!.path);
    const r = await prune(l, '--keep', '30d', '--yes');
    expect(r.code).toBe(1);
    expect(r.err).toContain('segment-missing');
    expect(existsSync(l.segments[0]!.path)).toBe(true);
    expect(existsSync(join(l.dir, 'seg-000001.tomb'))).toBe(false);
  });
});

describe('sealog prune after a key rotation', () => {
  it('verifies older segments with --verify-key-file, the keys the current one took over from', async () => {
    const l = await ledger([4, 4, 2], 2);
    const { fixtureKeys } = await import('../segments-fixture.js');
    const { tempDir } = await import('../helpers/tmp.js');
    const { sealog } = await import('../attacks/harness.js');
    const next = fixtureKeys(join(tempDir(), 'k1'), l.origin, 'k1');
    const rot = await sealog([
      'key',
      'rotate',
      l.segments[2]!.path,
      '--key',
      l.keys.keyFile,
      '--new-key',
      next.keyFile,
    ]);
    expect(rot.code, rot.err).toBe(0);
    const args = ['prune', l.dir, '--keep', '30d', '--reason', 'RET-3', '--key', next.keyFile, '--yes'];
    const refused = await sealog(args);
    expect(refused.code).toBe(1); // segments 1 and 2 are sealed by the old key only
    const r = await sealog([...args, '--verify-key-file', l.keys.vkeyFile]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^pruned segment 1 .*\npruned segment 2 /);
    const v = await sealog(['verify', l.dir, '--key-file', l.keys.vkeyFile, '--key-file', next.vkeyFile]);
    expect(v.code, v.out).toBe(0);
    expect(v.out).toContain('2 older segment(s) expired under retention');
  });
});
