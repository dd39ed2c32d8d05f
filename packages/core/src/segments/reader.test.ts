import { copyFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { makeSegmentedLedger } from '../../../../test/segments-fixture.js';
import { segmentFileName, tombstoneFileName } from './layout.js';
import { querySegments, type SegmentNotice, type SegmentQuery, segmentSlots } from './reader.js';

/** Rows as [segment, seq, position], and the notices. */
function collect(
  dir: string,
  q: SegmentQuery,
  order: 'asc' | 'desc' = 'asc',
  limit = Number.POSITIVE_INFINITY,
) {
  const notices: SegmentNotice[] = [];
  const rows = [...querySegments(dir, q, (n) => notices.push(n), order, limit)].map((r) => [
    r.segment,
    r.seq,
    r.position,
  ]);
  return { rows, notices };
}

describe('querySegments', () => {
  it('reads segments in index order with base + seq positions, newest first for desc, within limit', async () => {
    const l = await makeSegmentedLedger(join(tempDir(), 'audit'), { segments: [2, 1, 3] });
    const all = l.segments.flatMap((s) => Array.from({ length: s.size }, (_, i) => [s.index, i, s.base + i]));
    expect(collect(l.dir, {})).toEqual({ rows: all, notices: [] });
    expect(collect(l.dir, {}, 'desc', 4).rows).toEqual(all.slice(-4).reverse());
    expect(collect(l.dir, { segmentFrom: 2, segmentTo: 3, seqFrom: 1 }).rows).toEqual([
      [2, 1, l.segments[1]!.base + 1],
    ]);
  });

  it('passes over tombstones silently; collapses a hostile index gap into one line; caps stray names', async () => {
    const l = await makeSegmentedLedger(join(tempDir(), 'audit'), { segments: [1, 1] });
    // Segment 1 pruned: its tombstone stays.
    unlinkSync(l.segments[0]!.path);
    writeFileSync(join(l.dir, tombstoneFileName(1)), 'pruned');
    // A file at the largest index: billions of "missing" indexes, one line.
    writeFileSync(join(l.dir, segmentFileName(999_999_999_999_999)), '');
    for (let i = 0; i < 15; i++) writeFileSync(join(l.dir, `seg-${i}.db`), '');
    const { rows, notices } = collect(l.dir, {});
    expect(rows).toEqual([
      [2, 0, l.segments[1]!.base],
      [2, 1, l.segments[1]!.base + 1],
    ]);
    const by = (k: SegmentNotice['kind']) => notices.filter((n) => n.kind === k).map((n) => n.message);
    expect(by('missing')).toEqual([
      `segments 3–999999999999998 are missing from ${l.dir}: no file and no tombstone`,
    ]);
    expect(by('skipped')).toHaveLength(1);
    expect(by('skipped')[0]).toMatch(/^segment 999999999999999 skipped: .*not a sealog ledger/);
    expect(by('ignored')).toHaveLength(11);
    expect(by('ignored')[10]).toBe(`ignored 5 more such names in ${l.dir}`);
  });

  it("skips a file whose row 0 is another segment's binding, naming both", async () => {
    const l = await makeSegmentedLedger(join(tempDir(), 'audit'), { segments: [1, 1, 1] });
    copyFileSync(l.segments[0]!.path, l.segments[2]!.path);
    const { rows, notices } = collect(l.dir, {});
    expect(rows.map(([s]) => s)).toEqual([1, 1, 2, 2]);
    expect(notices).toEqual([
      {
        kind: 'skipped',
        message: `segment 3 skipped: ${l.segments[2]!.path}: its row 0 says it is segment 1, not 3; run \`sealog verify\``,
      },
    ]);
  });

  it('skips, and says so, a file whose row 0 was deleted (never takes it for an empty new segment)', async () => {
    const l = await makeSegmentedLedger(join(tempDir(), 'audit'), { segments: [1, 2] });
    const db = new Database(l.segments[1]!.path);
    db.exec('DROP TRIGGER IF EXISTS records_no_delete; DELETE FROM records WHERE seq = 0');
    db.close();
    const { rows, notices } = collect(l.dir, {});
    expect(rows.map(([s]) => s)).toEqual([1, 1]);
    expect(notices).toEqual([
      {
        kind: 'skipped',
        message: `segment 2 skipped: ${l.segments[1]!.path}: it has records but no row 0, so no binding; run \`sealog verify\``,
      },
    ]);
  });

  it('a segment deleted between the listing and its turn is skipped with a notice', async () => {
    const l = await makeSegmentedLedger(join(tempDir(), 'audit'), { segments: [1, 1, 1] });
    const notices: SegmentNotice[] = [];
    const it = querySegments(l.dir, {}, (n) => notices.push(n));
    expect(it.next().value).toMatchObject({ segment: 1, seq: 0 });
    unlinkSync(l.segments[1]!.path);
    const rest = [...{ [Symbol.iterator]: () => it }].map((r) => [r.segment, r.seq]);
    expect(rest).toEqual([
      [1, 1],
      [3, 0],
      [3, 1],
    ]);
    expect(notices).toEqual([
      { kind: 'skipped', message: `segment 2 skipped: ledger ${l.segments[1]!.path} does not exist` },
    ]);
  });

  it("segmentSlots does not call a segment's SQLite companions strays", async () => {
    const l = await makeSegmentedLedger(join(tempDir(), 'audit'), { segments: [1] });
    writeFileSync(`${l.segments[0]!.path}-wal`, '');
    writeFileSync(`${l.segments[0]!.path}-shm`, '');
    const notices: SegmentNotice[] = [];
    expect(segmentSlots(l.dir, (n) => notices.push(n)).map((s) => s.index)).toEqual([1]);
    expect(notices).toEqual([]);
  });
});
