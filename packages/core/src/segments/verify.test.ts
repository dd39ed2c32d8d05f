import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  addSegment,
  fixtureKeys,
  makeSegmentedLedger,
  type SegmentedLedger,
} from '../../../../test/segments-fixture.js';
import { loadSignerKeyFile } from '../note/keyfile.js';
import { fileCheckpointKey } from '../signer/file.js';
import { rechain } from '../verify/__tests__/fixture.js';
import { listSegments, tombstoneFileName } from './layout.js';
import { applyPrune, planPrune } from './retention-prune.js';
import { appendSealed } from './retention-write.js';
import type { PruneStatement } from './statements.js';
import { verifySegments } from './verify.js';

// verifySegments in-process, one attack per test (the CLI tests in
// test/retention run the same through the built binary).

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function ledger(counts: number[], old = 0): Promise<SegmentedLedger> {
  const root = mkdtempSync(join(tmpdir(), 'sealog-segv-'));
  dirs.push(root);
  const now = Date.now();
  return makeSegmentedLedger(join(root, 'audit'), {
    segments: counts,
    checkpointEvery: 4,
    time: (i, seg) => (seg <= old ? Date.UTC(2025, 0, 1) + i * 1000 : now - 3_600_000 + i * 1000),
  });
}

const check = (l: SegmentedLedger, extra: { retention?: number; trusted?: string[] } = {}) =>
  verifySegments(l.dir, { keys: l.keys.vkeys, ...extra });
const kinds = (r: ReturnType<typeof verifySegments>) => r.findings.map((f) => `${f.kind}@${f.segment ?? ''}`);
const signer = (l: SegmentedLedger) => fileCheckpointKey(loadSignerKeyFile(l.keys.keyFile));

async function pruneDue(l: SegmentedLedger, cutoff = Date.now() - 86_400_000): Promise<void> {
  const r = check(l);
  const plan = planPrune(r, cutoff);
  await applyPrune(l.dir, plan, {
    signer: signer(l),
    newestFile: r.segments.at(-1)!.file,
    origin: l.origin,
    now: Date.now(),
    retention: Date.now() - cutoff,
    reason: 'RET-1',
  });
}

describe('verifySegments', () => {
  it("the newest segment's unsealed tail follows the verifier's policy (--strict fails it)", async () => {
    const root = mkdtempSync(join(tmpdir(), 'sealog-segv-'));
    dirs.push(root);
    const l = await makeSegmentedLedger(join(root, 'audit'), {
      segments: [6, 6, 5],
      checkpointEvery: 2,
      sealNewest: false,
    });
    const lax = check(l);
    expect(lax.ok).toBe(true);
    expect(lax.segments.at(-1)!.ok).toBe(true);
    const strict = verifySegments(l.dir, { keys: l.keys.vkeys, strict: true });
    expect(strict.ok).toBe(false);
    expect(strict.segments.at(-1)!.ok).toBe(false);
    expect(strict.segments.slice(0, -1).every((s) => s.ok)).toBe(true);
  });

  it('a clean ledger passes; a swap, a cut-short segment and a gap do not', async () => {
    const l = await ledger([6, 6, 6, 2]);
    expect(check(l).findings).toEqual([]);
    expect(check(l).ok).toBe(true);

    const [a, b] = [l.segments[1]!.path, l.segments[2]!.path];
    renameSync(a, `${a}.x`);
    renameSync(b, a);
    renameSync(`${a}.x`, b);
    expect(kinds(check(l))).toEqual(expect.arrayContaining(['segment-misplaced@2', 'segment-misplaced@3']));
    renameSync(a, `${a}.x`);
    renameSync(b, a);
    renameSync(`${a}.x`, b);

    const db = new Database(l.segments[0]!.path);
    for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all() as {
      name: string;
    }[])
      db.exec(`DROP TRIGGER "${name}"`);
    db.exec(
      'DELETE FROM records WHERE seq >= 5; DELETE FROM checkpoints WHERE size > 5; DELETE FROM ledger_state',
    );
    db.close();
    expect(kinds(check(l))).toContain('segment-binding@2');

    unlinkSync(l.segments[1]!.path);
    expect(kinds(check(l))).toContain('segment-missing@2');
  });

  it('a closed segment rewritten in place (same size, checkpoints dropped) breaks the next binding', async () => {
    const l = await ledger([6, 6, 2]);
    const db = new Database(l.segments[0]!.path);
    for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all() as {
      name: string;
    }[])
      db.exec(`DROP TRIGGER "${name}"`);
    db.prepare('UPDATE records SET entry = ? WHERE seq = 3').run(
      Buffer.from('{"level":30,"msg":"forged","time":1}'),
    );
    db.exec('DELETE FROM checkpoints');
    rechain(db);
    db.close();
    const r = check(l);
    expect(kinds(r)).toContain('segment-binding@2');
    expect(r.ok).toBe(false);
  });

  it('a closed segment must be sealed at its end', async () => {
    const l = await ledger([6, 6, 2]);
    const db = new Database(l.segments[0]!.path);
    for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all() as {
      name: string;
    }[])
      db.exec(`DROP TRIGGER "${name}"`);
    // Its own final checkpoint gone; the next segment's binding still seals it.
    db.exec('DELETE FROM checkpoints WHERE size = 7');
    db.close();
    const r = check(l);
    expect(r.ok).toBe(true);
    expect(r.segments[0]!.sealedBy).toBe('next-binding');
    // The next segment's checkpoints gone too: nothing seals segment 1's end.
    const db2 = new Database(l.segments[1]!.path);
    for (const { name } of db2.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all() as {
      name: string;
    }[])
      db2.exec(`DROP TRIGGER "${name}"`);
    db2.exec('DELETE FROM checkpoints');
    db2.close();
    expect(kinds(check(l))).toContain('segment-unsealed@1');
  });

  it('a pruned segment is expired only with a sealed statement by a trusted key, a matching tombstone, and when due', async () => {
    const l = await ledger([6, 6, 2], 2);
    await pruneDue(l);
    const ok = check(l, { retention: 86_400_000 });
    expect(ok.findings).toEqual([]);
    expect(ok.pruned.map((p) => p.index)).toEqual([1, 2]);
    // A stricter verifier policy than the statement's retention.
    expect(kinds(check(l, { retention: 10 * 365 * 86_400_000 }))).toContain('segment-missing@1');
    // A tombstone swapped for another segment's.
    const t1 = join(l.dir, tombstoneFileName(1));
    writeFileSync(t1, l.segments[1]!.finalNote!);
    expect(kinds(check(l))).toContain('segment-missing@1');
    writeFileSync(t1, l.segments[0]!.finalNote!);
    expect(check(l).ok).toBe(true);
    unlinkSync(t1);
    expect(kinds(check(l))).toContain('segment-missing@1');
  });

  it('a second prune that removes the segment holding the first statement carries its segments forward', async () => {
    const l = await ledger([3, 3, 3], 3);
    await pruneDue(l, Date.now()); // 1 and 2 go; the statement is in segment 3
    expect(check(l).pruned.map((p) => p.index)).toEqual([1, 2]);
    await addSegment(l, 2, (i) => Date.UTC(2025, 0, 2) + i); // segment 4: old too
    await addSegment(l, 2); // segment 5: today
    // 3 (its newest row is the first statement, just now) and 4 go, and with 3 that statement.
    await pruneDue(l, Date.now());
    const r = check(l);
    expect(r.findings).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.pruned.map((p) => [p.index, p.statement.segment])).toEqual([
      [1, 5],
      [2, 5],
      [3, 5],
      [4, 5],
    ]);
    expect(r.prunes.at(-1)!.segments.map((g) => g.index)).toEqual([1, 2, 3, 4]);
  });

  it('a statement is never appended to a segment a rotating writer closed', async () => {
    const l = await ledger([3, 2]);
    const newest = l.segments[1]!;
    const db = new Database(newest.path);
    db.exec(
      'CREATE TABLE segment_close (id INTEGER PRIMARY KEY CHECK (id = 0), size INTEGER NOT NULL, closed_at INTEGER NOT NULL); INSERT INTO segment_close VALUES (0, 3, 1)',
    );
    db.close();
    const hold = {
      type: 'hold' as const,
      origin: l.origin,
      id: 'H',
      time: 1,
      reason: 'R',
      scope: { segment: 1 },
    };
    // No next segment exists (a writer died mid-rotation, or the marker was forged):
    // the message says so and what to do, never just "retry" (red-team finding 4).
    await expect(appendSealed(newest.path, signer(l), hold, Date.now())).rejects.toThrow(
      /carries a segment close marker but no next segment exists: a writer died in the middle of a rotation, or the file was edited.*Start the ledger's writer/,
    );
    expect(check(l).segments[1]!.size).toBe(3);
  });

  it('hostile files are findings, never crashes: garbage segment, garbage and huge tombstones, a far index, a directory', async () => {
    const l = await ledger([3, 3, 2], 3);
    writeFileSync(l.segments[1]!.path, 'not a database at all'.repeat(100));
    writeFileSync(join(l.dir, tombstoneFileName(4)), Buffer.alloc(70 * 1024, 0x41));
    writeFileSync(join(l.dir, tombstoneFileName(999_999_999_999_999)), '\u0000\n\n— x y\n');
    mkdirSync(join(l.dir, 'seg-000007.db'));
    const r = check(l);
    expect(r.ok).toBe(false);
    const k = kinds(r);
    expect(k).toContain('segment-unreadable@2');
    expect(k).toContain('segment-stray@');
    expect(k).toContain('segment-missing@4'); // its tombstone is too large to be read, and no statement names it
    expect(k).toContain('segment-missing@5'); // indexes 5 .. 999999999999998: one finding for the run
    expect(k).toContain('segment-missing@1000000000000000'); // a tombstone past the newest file
    expect(r.findings.length).toBeLessThan(12);
  });

  it("a segment's -wal/-shm/-journal files are neither segments nor strays; seg-1.db is a stray", () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealog-segl-'));
    dirs.push(dir);
    for (const n of [
      'seg-000001.db',
      'seg-000001.db-wal',
      'seg-000001.db-shm',
      'seg-000002.db-journal',
      'seg-1.db',
    ])
      writeFileSync(join(dir, n), '');
    const listing = listSegments(dir);
    expect(listing.slots.map((s) => s.index)).toEqual([1]);
    expect(listing.strays).toEqual(['seg-1.db']);
  });

  it('prune never plans the newest segment, even when it is due', async () => {
    const l = await ledger([3, 3, 3], 3);
    const plan = planPrune(check(l), Date.now());
    expect(plan.due.map((d) => d.index)).toEqual([1, 2]);
    expect(plan.stop?.why).toContain('newest segment is never pruned');
  });

  it('a statement by another key is a finding and excuses nothing', async () => {
    const l = await ledger([6, 6, 2], 1);
    const s = l.segments[1]!; // not old
    const other = fixtureKeys(join(l.dir, '..', 'other'), l.origin, 'insider');
    const seg = {
      index: 1,
      base: 0,
      size: l.segments[0]!.size,
      root: l.segments[0]!.root,
      oldest: 0,
      newest: 1,
    };
    await appendSealed(
      s.path.replace('2.db', '3.db'),
      fileCheckpointKey(loadSignerKeyFile(other.keyFile)),
      {
        type: 'prune',
        origin: l.origin,
        time: Date.now(),
        retention: 1,
        reason: 'X-1',
        segments: [seg],
      },
      Date.now(),
    );
    unlinkSync(l.segments[0]!.path);
    writeFileSync(join(l.dir, tombstoneFileName(1)), l.segments[0]!.finalNote!);
    const r = check(l);
    expect(kinds(r)).toEqual(expect.arrayContaining(['bad-statement@3', 'segment-missing@1']));
  });

  it('a prune while a hold covered the segment is pruned-under-hold', async () => {
    const l = await ledger([6, 6, 2], 2);
    const key = signer(l);
    const newest = l.segments[2]!.path;
    const hold = { type: 'hold' as const, origin: l.origin, id: 'H1', time: Date.now(), reason: 'LIT-1' };
    await appendSealed(newest, key, { ...hold, scope: { segment: 2 } }, Date.now());
    expect(planPrune(check(l), Date.now()).due.map((d) => d.index)).toEqual([1]);
    // Forced past the planner: prune 1 and 2.
    const r = check(l);
    const forced = {
      resume: [],
      carried: [],
      due: r.segments.slice(0, 2).map((s) => ({
        index: s.index,
        file: s.file,
        base: s.base!,
        size: s.size,
        root: Buffer.from(s.root!, 'hex'),
        oldest: s.oldest!,
        newest: s.newest!,
      })),
    };
    await applyPrune(l.dir, forced, {
      signer: key,
      newestFile: newest,
      origin: l.origin,
      now: Date.now(),
      retention: 1000,
      reason: 'RET-2',
    });
    const after = check(l);
    expect(kinds(after)).toEqual(['pruned-under-hold@2']);
    expect(after.ok).toBe(false);
  });

  it('a statement by the real key excuses nothing while unsealed, or when the segment was not due', async () => {
    const l = await ledger([6, 6, 2], 1);
    const key = signer(l);
    const s1 = l.segments[0]!;
    const seg = {
      index: 1,
      base: 0,
      size: s1.size,
      root: s1.root,
      oldest: s1.firstTime,
      newest: s1.lastTime,
    };
    const statement = (retention: number): PruneStatement => ({
      type: 'prune',
      origin: l.origin,
      time: Date.now(),
      retention,
      reason: 'R-1',
      segments: [seg],
    });
    unlinkSync(s1.path);
    writeFileSync(join(l.dir, tombstoneFileName(1)), s1.finalNote!);
    // Appended but never sealed (an insider copying a real statement's bytes is the same case).
    const { SqliteStore } = await import('../store/sqlite.js');
    const { signStatement, statementEntry } = await import('./statements.js');
    const note = await signStatement(statement(1000), key.log);
    const store = new SqliteStore(l.segments[2]!.path);
    store.append([statementEntry(note, statement(1000), Date.now())]);
    await store.close();
    const unsealed = check(l);
    expect(kinds(unsealed)).toEqual(['segment-missing@1']);
    expect(unsealed.findings[0]!.message).toContain('not covered by a valid checkpoint');
    // Sealed, but it claims a retention its segment had not reached (another ledger: a later
    // seal would cover the unsealed statement above too).
    const m = await ledger([6, 6, 2], 1);
    const m1 = m.segments[0]!;
    unlinkSync(m1.path);
    writeFileSync(join(m.dir, tombstoneFileName(1)), m1.finalNote!);
    await appendSealed(
      m.segments[2]!.path,
      signer(m),
      {
        type: 'prune',
        origin: m.origin,
        time: Date.now(),
        retention: 100 * 365 * 86_400_000,
        reason: 'R-1',
        segments: [
          { index: 1, base: 0, size: m1.size, root: m1.root, oldest: m1.firstTime, newest: m1.lastTime },
        ],
      },
      Date.now(),
    );
    const early = check(m);
    expect(kinds(early)).toEqual(['segment-missing@1']);
    expect(early.findings[0]!.message).toContain('plus the retention the statement names');
  });

  it('a checkpoint from outside must match a segment: the deleted newest segment is caught', async () => {
    const l = await ledger([6, 6, 2]);
    const note = l.segments[2]!.finalNote!;
    expect(check(l, { trusted: [note] }).ok).toBe(true);
    unlinkSync(l.segments[2]!.path);
    expect(check(l).ok).toBe(true); // the documented limit
    expect(kinds(check(l, { trusted: [note] }))).toContain('truncated@');
  });
});
