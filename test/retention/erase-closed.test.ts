import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { leafHash } from '../../packages/core/src/hash.js';
import { loadSignerKeyFile } from '../../packages/core/src/note/keyfile.js';
import { appendSealedEntry } from '../../packages/core/src/segments/retention-write.js';
import { foreignMarkerEntry, foreignMarkerOf } from '../../packages/core/src/signer/erasure.js';
import { fileCheckpointKey } from '../../packages/core/src/signer/file.js';
import { attackerOpen, sealog } from '../attacks/harness.js';
import { tempDir } from '../helpers/tmp.js';
import { fixtureKeys } from '../segments-fixture.js';
import { ledger, prune, verifyDir } from './helpers.js';

// Erasure in a closed segment (issue 18 item 4b): the signed statement goes to
// the newest segment and names the closed segment, its sealed head and each
// row's leaf; the closed segment's rows get markers naming it. Directory verify
// accepts the erased body only under such a sealed, trusted statement; the file
// alone says the erasure is authorised elsewhere.

const erase = (file: string, keyFile: string, seq = '2', ...more: string[]) =>
  sealog(['erase', file, '--seq', seq, '--reason', 'GDPR-2', '--key', keyFile, '--yes', ...more]);

interface Listed {
  seq: number;
  statement: number;
  segment?: number;
  reason: string;
  erased: boolean;
  time: number;
}
const erasuresOf = (r: Awaited<ReturnType<typeof verifyDir>>['report'], index: number) =>
  ((r.segments.find((s) => s.index === index)?.report as { erasures?: Listed[] } | undefined)?.erasures ??
    []) as Listed[];

function entryAt(file: string, seq: number): Buffer {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT entry FROM records WHERE seq = ?').get(seq) as { entry: Buffer }).entry;
  } finally {
    db.close();
  }
}

/** Writes `entry` into row `seq` as a file-only attacker would (the trigger dropped). */
function plant(file: string, seq: number, entry: Buffer): void {
  const db = attackerOpen(file);
  db.exec('DROP TRIGGER IF EXISTS records_no_update');
  db.prepare('UPDATE records SET entry = ? WHERE seq = ?').run(entry, seq);
  db.close();
}

describe('sealog erase on a closed segment', () => {
  it('puts the statement in the newest segment; the directory verifies and says what, when and why', async () => {
    const l = await ledger([8, 8, 3], 0);
    const closed = l.segments[1]!.path;
    const r = await erase(closed, l.keys.keyFile, '2,5');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(
      /erased 2 record\(s\) in closed segment 2 .* under the erasure statement at segment 3 row 4/,
    );
    const marker = foreignMarkerOf(entryAt(closed, 2));
    expect(marker).toMatchObject({ segment: 3, seq: 4 });
    const { run, report } = await verifyDir(l);
    expect(run.code, JSON.stringify(report.findings)).toBe(0);
    expect(report.findings).toEqual([]);
    const listed = erasuresOf(report, 2);
    expect(listed.map((e) => [e.seq, e.segment, e.statement, e.reason, e.erased])).toEqual([
      [2, 3, 4, 'GDPR-2', true],
      [5, 3, 4, 'GDPR-2', true],
    ]);
    // The closed segment's binding into segment 3 still holds: its leaves are unchanged.
    expect(report.segments.map((s) => s.size)).toEqual([9, 9, 5]);
  });

  it('verified alone, the closed segment says the erasure is authorised elsewhere (exit 1)', async () => {
    const l = await ledger([8, 8, 3], 0);
    const closed = l.segments[1]!.path;
    expect((await erase(closed, l.keys.keyFile)).code).toBe(0);
    const v = await sealog(['verify', closed, '--key-file', l.keys.vkeyFile, '--json']);
    expect(v.code).toBe(1);
    const findings = JSON.parse(v.out).findings as { kind: string; seq?: number; message: string }[];
    expect(findings.map((f) => [f.kind, f.seq])).toEqual([['erased-elsewhere', 2]]);
    expect(findings[0]!.message).toMatch(/segment 3 row 4.*verify the directory/);
  });

  it('the same erased body without the statement is tampering', async () => {
    const l = await ledger([8, 8, 3], 0);
    const closed = l.segments[1]!.path;
    const leaf = leafHash(entryAt(closed, 2));
    plant(closed, 2, foreignMarkerEntry({ segment: 3, seq: 4, leaf }, Date.UTC(2025, 0, 1)));
    const { run, report } = await verifyDir(l);
    expect(run.code).toBe(1);
    const seg2 = report.segments.find((s) => s.index === 2)!;
    expect(seg2.ok).toBe(false);
    expect(seg2.report!.findings.map((f) => f.kind)).toContain('modified');
  });

  it('a statement copied from another ledger with the same key, even sealed, is a forged erasure', async () => {
    const key = fixtureKeys(tempDir());
    const a = await ledger([8, 8, 3], 0, { key });
    const b = await ledger([8, 8, 3], 0, { key });
    // The other ledger's authorised erasure of its segment 2, row 2.
    expect((await erase(b.segments[1]!.path, key.keyFile)).code).toBe(0);
    const copied = entryAt(b.segments[2]!.path, 4);
    // Appended to this ledger's newest segment and sealed, as if the key holder's tool were fooled.
    const signer = fileCheckpointKey(loadSignerKeyFile(key.keyFile), key.keyFile);
    const at = await appendSealedEntry(a.segments[2]!.path, signer, { entry: copied, ts: 0 }, '');
    const closed = a.segments[1]!.path;
    plant(closed, 2, foreignMarkerEntry({ segment: 3, seq: at.seq, leaf: leafHash(entryAt(closed, 2)) }, 0));
    const { run, report } = await verifyDir(a);
    expect(run.code).toBe(1);
    const seg2 = report.segments.find((s) => s.index === 2)!.report!.findings;
    expect(seg2.map((f) => f.kind)).toContain('forged-erasure');
    expect(seg2.map((f) => [f.kind, (f as { seq?: number }).seq])).toContainEqual(['modified', 2]);
  });

  it("a marker naming another segment's statement is not authorised", async () => {
    const l = await ledger([8, 8, 3], 0);
    expect((await erase(l.segments[0]!.path, l.keys.keyFile, '3')).code).toBe(0);
    const other = foreignMarkerOf(entryAt(l.segments[0]!.path, 3))!;
    const closed = l.segments[1]!.path;
    plant(closed, 5, foreignMarkerEntry({ ...other, leaf: leafHash(entryAt(closed, 5)) }, 0));
    const { run, report } = await verifyDir(l);
    expect(run.code).toBe(1);
    const seg2 = report.segments.find((s) => s.index === 2)!.report!.findings;
    expect(seg2.map((f) => [f.kind, (f as { seq?: number }).seq])).toContainEqual(['modified', 5]);
    // Segment 1's own erasure stays authorised.
    expect(erasuresOf(report, 1).map((e) => [e.seq, e.erased])).toEqual([[3, true]]);
  });

  it("a row erased under a statement its segment's checkpoints no longer seal is not authorised", async () => {
    const l = await ledger([8, 8, 3], 0);
    expect((await erase(l.segments[1]!.path, l.keys.keyFile)).code).toBe(0);
    // The checkpoints covering the statement (segment 3 row 4) removed: it sits in the unsealed tail.
    const db = attackerOpen(l.segments[2]!.path);
    db.prepare('DELETE FROM checkpoints WHERE size > 4').run();
    db.close();
    const { run, report } = await verifyDir(l);
    expect(run.code).toBe(1);
    expect(report.findings.map((f) => [f.kind, f.segment, f.seq])).toEqual([['bad-statement', 2, 2]]);
    expect(report.findings[0]!.message).toMatch(/no valid checkpoint of segment 3 seals/);
  });

  it('refuses a closed segment sealed only by the next binding (a writer would re-derive it), changing nothing', async () => {
    const l = await ledger([8, 8, 3], 0);
    const closed = l.segments[1]!.path;
    const db = attackerOpen(closed);
    db.prepare('DELETE FROM checkpoints WHERE size = ?').run(l.segments[1]!.size);
    db.close();
    const r = await erase(closed, l.keys.keyFile);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no checkpoint of its own at its final size/);
    expect(foreignMarkerOf(entryAt(closed, 2))).toBeUndefined();
  });

  it('refuses the newest segment when its close marker is set and no next segment exists', async () => {
    const l = await ledger([8, 8, 3], 0);
    const newest = l.segments.at(-1)!.path;
    const db = new Database(newest);
    db.exec(
      'CREATE TABLE IF NOT EXISTS segment_close (id INTEGER PRIMARY KEY CHECK (id = 0), size INTEGER NOT NULL, closed_at INTEGER NOT NULL)',
    );
    db.prepare('INSERT INTO segment_close VALUES (0, 4, 1)').run();
    db.close();
    const r = await erase(newest, l.keys.keyFile);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/closed segment/);
    expect(r.err).toMatch(/start the ledger's writer/);
  });

  it('still erases in the newest, open segment', async () => {
    const l = await ledger([8, 8, 6], 0);
    const r = await erase(l.segments.at(-1)!.path, l.keys.keyFile);
    expect(r.code, r.err).toBe(0);
    const after = await verifyDir(l);
    expect(after.run.code, JSON.stringify(after.report.findings)).toBe(0);
  });

  it('pruning the erased segment, whose statement lives in a later segment, keeps working', async () => {
    const l = await ledger([5, 5, 5, 3], 2);
    expect((await erase(l.segments[0]!.path, l.keys.keyFile)).code).toBe(0);
    const p = await prune(l, '--keep', '30d', '--yes');
    expect(p.code, p.err).toBe(0);
    const { run, report } = await verifyDir(l);
    expect(run.code, JSON.stringify(report.findings)).toBe(0);
    expect(report.pruned.map((x) => x.index)).toEqual([1, 2]);
  });
});
