// Issue 18, item 1: tail, query, report and export read a segmented ledger (a
// directory of seg-NNNNNN.db files, docs/lifecycle.md "Reading a segmented
// ledger") as one history, through the built `sealog` binary; a hostile
// directory gets a plain message, never a crash; commands that read one
// ledger file name the segment file to give instead.
import { copyFileSync, mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../packages/core/src/index.js';
import { bindingEntry } from '../packages/core/src/segments/binding.js';
import { segmentFileName } from '../packages/core/src/segments/layout.js';
import { SegmentedStore } from '../packages/core/src/segments/store.js';
import { SqliteStore } from '../packages/core/src/store/sqlite.js';
import { runBin, startBin } from './helpers/bin.js';
import { tempDir } from './helpers/tmp.js';
import { fixtureRecord, makeSegmentedLedger, type SegmentedLedger } from './segments-fixture.js';

const sealog = (...args: string[]) => runBin(args, { env: { ...process.env, NO_COLOR: '1' }, timeoutMs: 0 });

interface Line {
  seq: number;
  segment: number;
  position: number;
  entry?: { n?: number; segment?: number };
  _sealog?: { segment?: { index: number; base: number } };
}
const lines = (out: string): Line[] =>
  out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);

/** Every row of the fixture, in order: [segment, seq, position]. */
function allRows(l: SegmentedLedger): [number, number, number][] {
  return l.segments.flatMap((s) =>
    Array.from({ length: s.size }, (_, seq) => [s.index, seq, s.base + seq] as [number, number, number]),
  );
}

const ids = (ls: Line[]) => ls.map((l) => [l.segment, l.seq, l.position]);

async function ledger(counts: number[]): Promise<SegmentedLedger> {
  return makeSegmentedLedger(join(tempDir(), 'audit'), { segments: counts, checkpointEvery: 3 });
}

describe('sealog query <segment directory>', () => {
  it('returns every row of 3 segments once, in order, with its segment, seq and position', async () => {
    const l = await ledger([4, 3, 5]);
    const r = await sealog('query', l.dir, '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const got = lines(r.out);
    expect(ids(got)).toEqual(allRows(l));
    // Row 0 is sealog's own binding entry, shown like other _sealog entries.
    expect(got.filter((x) => x.seq === 0).map((x) => x._sealog?.segment?.index)).toEqual([1, 2, 3]);
    // The fixture's records carry a member "segment" of their own: they are wrapped, never merged.
    const records = got.filter((x) => x.seq > 0);
    expect(records.map((x) => x.entry?.n)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(records.every((x) => x.entry?.segment === x.segment)).toBe(true);
  });

  it('applies filters, time ranges and --segment across segments; short and csv name the segment', async () => {
    const l = await ledger([4, 3, 5]);
    const seg2 = l.segments[1]!;
    const where = await sealog('query', l.dir, '--where', 'n=5', '--json');
    expect(ids(lines(where.out))).toEqual([[2, 2, seg2.base + 2]]);
    // A time range that starts in segment 1 and ends in segment 3.
    const from = new Date(l.segments[0]!.lastTime).toISOString();
    const to = new Date(l.segments[2]!.firstTime + 1500).toISOString();
    const ranged = lines((await sealog('query', l.dir, '--from', from, '--to', to, '--json')).out);
    expect(ranged.filter((x) => x.seq > 0).map((x) => x.entry?.n)).toEqual([3, 4, 5, 6, 7, 8]);
    expect(ids(lines((await sealog('query', l.dir, '--segment', '2', '--json')).out))).toEqual(
      allRows(l).filter(([s]) => s === 2),
    );
    expect(ids(lines((await sealog('query', l.dir, '--seq', '1..1', '--json')).out))).toEqual(
      l.segments.map((s) => [s.index, 1, s.base + 1]),
    );
    const short = await sealog('query', l.dir, '--where', 'n=5');
    expect(short.out).toMatch(/^#2:2 \S+ INFO {2}event 5 n=5 segment=2\n$/);
    const csv = (await sealog('query', l.dir, '--where', 'n=5', '--csv')).out.split('\n');
    expect(csv[0]).toBe('segment,seq,position,time,level,msg,fields');
    expect(csv[1]).toMatch(new RegExp(`^2,2,${seg2.base + 2},`));
    const limited = lines((await sealog('query', l.dir, '--limit', '6', '--json')).out);
    expect(ids(limited)).toEqual(allRows(l).slice(0, 6));
  });

  it('a single ledger file reads as before; --segment on it is refused', async () => {
    const l = await ledger([2]);
    const file = l.segments[0]!.path;
    const r = await sealog('query', file, '--json');
    expect(lines(r.out).map((x) => Object.keys(x).slice(0, 2))).toEqual([
      ['seq', '_sealog'],
      ['seq', 'level'],
      ['seq', 'level'],
    ]);
    const bad = await sealog('query', file, '--segment', '1');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--segment applies to a segment directory');
  });
});

describe('sealog tail <segment directory>', () => {
  it('prints the newest N across a segment boundary, oldest first', async () => {
    const l = await ledger([4, 3, 2]);
    const r = await sealog('tail', '-n', '5', l.dir, '--json');
    expect(r.code).toBe(0);
    expect(ids(lines(r.out))).toEqual(allRows(l).slice(-5));
  });

  it('-F on an empty directory waits, then follows into each new segment as its writer creates it', async () => {
    const dir = join(tempDir(), 'audit');
    mkdirSync(dir);
    const tail = startBin(['tail', '-F', dir, '--json']);
    await tail.until('the waiting line', () => tail.err.includes('waiting'));
    expect(tail.err).toBe(`sealog tail: waiting for a segment in ${dir} to appear (Ctrl-C to stop)\n`);
    // Segment 1, written live: binding row, then records one commit at a time.
    const s1 = new SqliteStore(join(dir, segmentFileName(1)));
    let head = s1.append([bindingEntry({ index: 1, base: 0 }, 1000)]);
    s1.append([fixtureRecord(0, 1, 1001)]);
    await tail.until('record 0', () => tail.out.includes('"n":0'));
    head = s1.append([fixtureRecord(1, 1, 1002)]);
    await tail.until('record 1', () => tail.out.includes('"n":1'));
    // The writer rotates: a last record in segment 1, then segment 2 bound to it.
    head = s1.append([fixtureRecord(2, 1, 1003)]);
    await s1.close();
    const s2 = new SqliteStore(join(dir, segmentFileName(2)));
    s2.append([
      bindingEntry({ index: 2, base: head.size, prev: { size: head.size, root: head.root } }, 1004),
    ]);
    s2.append([fixtureRecord(3, 2, 1005)]);
    await tail.until('record 3', () => tail.out.includes('"n":3'));
    s2.append([fixtureRecord(4, 2, 1006)]);
    await tail.until('record 4', () => tail.out.includes('"n":4'));
    await s2.close();
    tail.child.kill('SIGINT');
    expect(await tail.exited).toBe(0);
    expect(tail.err.split('\n').filter(Boolean)).toHaveLength(1);
    expect(ids(lines(tail.out))).toEqual([
      [1, 0, 0],
      [1, 1, 1],
      [1, 2, 2],
      [1, 3, 3],
      [2, 0, 4],
      [2, 1, 5],
      [2, 2, 6],
    ]);
  });

  it('-f follows the rotating writer across several rotations: every row once, positions without a gap', async () => {
    const dir = join(tempDir(), 'audit');
    const pad = 'x'.repeat(900);
    const batch = (from: number, k: number) =>
      Array.from({ length: k }, (_, i) => ({
        entry: Buffer.from(JSON.stringify({ n: from + i, pad })),
        ts: 1_700_000_000_000 + from + i,
      }));
    const store = new SegmentedStore(dir, { segments: { maxBytes: 64 * 1024 } });
    store.append(batch(0, 5));
    const tail = startBin(['tail', '-f', '-n', '1000', dir, '--json']);
    await tail.until('the first records', () => tail.out.includes('"n":4,'));
    let n = 5;
    while (store.current.index < 4) {
      store.append(batch(n, 10));
      n += 10;
      await new Promise((r) => setTimeout(r, 10));
    }
    store.append(batch(n, 3));
    n += 3;
    await store.close();
    await tail.until('the last record', () => tail.out.includes(`"n":${n - 1},`), 600);
    tail.child.kill('SIGINT');
    expect(await tail.exited).toBe(0);
    expect(tail.err).toBe('');
    const got = tail.out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { seq: number; segment: number; position: number; n?: number });
    expect(got.map((r) => r.position)).toEqual(got.map((_, i) => i));
    expect(got.filter((r) => r.seq > 0).map((r) => r.n)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(got.filter((r) => r.seq === 0).map((r) => r.segment)).toEqual([1, 2, 3, 4]);
  });

  it('-f past a missing segment: says so, and follows the next one there is', async () => {
    const src = await ledger([1, 1, 1]);
    const dir = join(tempDir(), 'audit');
    mkdirSync(dir);
    copyFileSync(src.segments[0]!.path, join(dir, segmentFileName(1)));
    const tail = startBin(['tail', '-f', dir, '--json']);
    await tail.wait(() => lines(tail.out).length >= 2, 200);
    copyFileSync(src.segments[2]!.path, join(dir, 'incoming'));
    renameSync(join(dir, 'incoming'), join(dir, segmentFileName(3)));
    await tail.wait(() => lines(tail.out).length >= 4, 300);
    tail.child.kill('SIGINT');
    expect(await tail.exited).toBe(0);
    expect(tail.err).toBe(`sealog tail: warning: segment 2 is missing from ${dir}; following segment 3\n`);
    expect(ids(lines(tail.out))).toEqual(allRows(src).filter(([s]) => s !== 2));
  });

  it('-f on a path that does not exist yet follows the segment directory created there', async () => {
    const dir = join(tempDir(), 'later');
    const src = await ledger([2, 1]);
    const tail = startBin(['tail', '-f', dir, '--json']);
    await tail.wait(() => tail.err.includes('waiting'), 200);
    // Made whole elsewhere and moved in, as a restore would: the directory, then segment 2.
    const stage = join(tempDir(), 'stage');
    mkdirSync(stage);
    copyFileSync(src.segments[0]!.path, join(stage, segmentFileName(1)));
    renameSync(stage, dir);
    await tail.wait(() => lines(tail.out).length >= 3, 200);
    copyFileSync(src.segments[1]!.path, join(dir, 'incoming'));
    renameSync(join(dir, 'incoming'), join(dir, segmentFileName(2)));
    await tail.wait(() => lines(tail.out).length >= 5, 200);
    tail.child.kill('SIGINT');
    expect(await tail.exited).toBe(0);
    expect(tail.err).toBe(`sealog tail: waiting for ${dir} to appear (Ctrl-C to stop)\n`);
    expect(ids(lines(tail.out))).toEqual(allRows(src));
  });
});

describe('sealog report <segment directory>', () => {
  // One privacy unit (every record has level 30) with a record in each of 3
  // segments, grouped by the record's segment, at most 1 group per unit.
  // ε = 1000 on one part: noise of scale 0.001, zero but with probability ~e^-1000.
  const args = (dir: string) => [
    'report',
    dir,
    '--group-by',
    'segment',
    '--unit',
    'level',
    '--groups',
    '1,2,3',
    '--max-groups-per-unit',
    '1',
    '--epsilon',
    '1000',
    '--json',
  ];
  const counts = (out: string) =>
    (JSON.parse(out) as { groups: { group: string; count: number }[] }).groups.map((g) => [g.group, g.count]);

  it('bounds each unit across segments, not once per segment', async () => {
    const l = await ledger([1, 1, 1]);
    const r = await sealog(...args(l.dir));
    expect(r.err).toBe('');
    expect(counts(r.out)).toEqual([
      ['1', 1],
      ['2', 0],
      ['3', 0],
    ]);
    // Per-segment reports, summed, would count the unit once in every segment.
    const each = await Promise.all(l.segments.map((s) => sealog(...args(s.path))));
    const summed = each
      .map((e) => counts(e.out))
      .reduce((a, b) => a.map(([g, c], i) => [g, (c as number) + (b[i]![1] as number)]));
    expect(summed).toEqual([
      ['1', 1],
      ['2', 1],
      ['3', 1],
    ]);
  });

  it("does not count segments' binding rows", async () => {
    const l = await ledger([2, 2]);
    const r = await sealog(
      'report',
      l.dir,
      '--group-by',
      'levelLabel',
      '--groups',
      'info',
      '--max-rows-per-unit',
      '1',
      '--epsilon',
      '1000',
      '--json',
    );
    expect(counts(r.out)).toEqual([['info', 4]]);
  });
});

describe('sealog export <segment directory>', () => {
  it('needs --segment K, and then writes a bundle of that segment that verifies', async () => {
    const l = await ledger([4, 3, 5]);
    const keys = ['--key-file', l.keys.vkeyFile];
    const out = join(tempDir(), 'bundle');
    const none = await sealog('export', l.dir, ...keys, '--out', out);
    expect(none.code).toBe(2);
    expect(none.err).toContain(
      `${l.dir} is a segmented ledger (3 segments, 1 to 3); a bundle is proved against one segment's tree, so give --segment K`,
    );
    const several = await sealog('export', l.dir, ...keys, '--out', out, '--segment', '1..2');
    expect(several.code).toBe(2);
    expect(several.err).toContain('give --segment K for one segment');
    const ok = await sealog('export', l.dir, ...keys, '--out', out, '--segment', '2', '--seq', '1..2');
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toContain(`(segment 2 of ${l.dir}, seq 1..2`);
    const check = await sealog('verify-bundle', out, ...keys);
    expect(check.code).toBe(0);
    const missing = await sealog('export', l.dir, ...keys, '--out', join(tempDir(), 'b2'), '--segment', '7');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('has no segment 7 file');
  });

  it('refuses a segment file whose row 0 names another segment', async () => {
    const l = await ledger([2, 2, 2]);
    copyFileSync(l.segments[1]!.path, l.segments[2]!.path);
    const r = await sealog(
      'export',
      l.dir,
      '--key-file',
      l.keys.vkeyFile,
      '--out',
      join(tempDir(), 'b'),
      '--segment',
      '3',
    );
    expect(r.code).toBe(2);
    expect(r.err).toContain('its row 0 says it is segment 2, not 3');
  });
});

describe('a hostile segment directory', () => {
  it('strays, symlinks and directories named like segments are ignored, and said so', async () => {
    const l = await ledger([1, 1, 1]);
    writeFileSync(join(l.dir, 'seg-1.db'), 'x');
    symlinkSync(l.segments[0]!.path, join(l.dir, segmentFileName(4)));
    mkdirSync(join(l.dir, segmentFileName(5)));
    writeFileSync(join(l.dir, 'seg-\u001b[2Jevil.db'), 'x');
    const r = await sealog('query', l.dir, '--json');
    expect(r.code).toBe(0);
    expect(ids(lines(r.out))).toEqual(allRows(l));
    expect(r.err).toContain('ignored "seg-000004.db"');
    expect(r.err).toContain('ignored "seg-000005.db"');
    expect(r.err).toContain('ignored "seg-1.db"');
    expect(r.err).not.toContain('\u001b'); // names are escaped before they reach the terminal
  });

  it('a deleted middle segment is named as missing; the others are read; exit 2', async () => {
    const l = await ledger([1, 1, 1]);
    unlinkSync(l.segments[1]!.path);
    for (const cmd of [['query'], ['tail', '-n', '100']]) {
      const r = await sealog(...cmd, l.dir, '--json');
      expect(r.code).toBe(2);
      expect(r.err).toBe(
        `sealog ${cmd[0]}: warning: segment 2 is missing from ${l.dir}: no file and no tombstone\n`,
      );
      expect(ids(lines(r.out))).toEqual(allRows(l).filter(([s]) => s !== 2));
    }
  });

  it('a file named seg-000002.db that is not a ledger, or not segment 2, is skipped with the reason', async () => {
    const l = await ledger([1, 1, 1]);
    writeFileSync(
      l.segments[1]!.path,
      'not a database at all, just some text long enough to be read as a header',
    );
    let r = await sealog('query', l.dir, '--json');
    expect(r.code).toBe(2);
    expect(r.err).toContain('sealog query: warning: segment 2 skipped: ');
    expect(r.err).toContain('is not a SQLite database');
    expect(ids(lines(r.out))).toEqual(allRows(l).filter(([s]) => s !== 2));
    // A plain ledger (no binding row) in its place.
    rmSync(l.segments[1]!.path);
    const plain = await Ledger.open({ path: l.segments[1]!.path });
    await plain.append({ msg: 'elsewhere' });
    await plain.close();
    r = await sealog('query', l.dir, '--json');
    expect(r.code).toBe(2);
    expect(r.err).toContain('its row 0 is not a segment binding');
    // Report and export say the same, and do not crash.
    const rep = await sealog(
      'report',
      l.dir,
      '--group-by',
      'segment',
      '--groups',
      '1,3',
      '--epsilon',
      '1000',
      '--json',
    );
    expect(rep.code).toBe(2);
    expect(rep.err).toContain('its row 0 is not a segment binding');
  });

  it('a directory of tombstones only: nothing to read, said so; an empty one is not taken for a ledger', async () => {
    const dir = join(tempDir(), 'pruned');
    mkdirSync(dir);
    writeFileSync(join(dir, 'seg-000001.tomb'), 'pruned');
    for (const [cmd, ...rest] of [
      ['query'],
      ['tail'],
      ['report', '--group-by', 'x', '--groups', 'a', '--epsilon', '1'],
    ]) {
      const r = await sealog(cmd!, dir, ...rest);
      expect(r.code, cmd).toBe(2);
      expect(r.err).toBe(
        `sealog ${cmd}: E_IO: ${dir} holds no segment file to read (1 pruned segment(s): only tombstones are left); a segmented ledger is a directory of seg-000001.db, seg-000002.db, …\n`,
      );
    }
    const empty = join(tempDir(), 'empty');
    mkdirSync(empty);
    const r = await sealog('query', empty);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`sealog query: E_IO: ${empty} is a directory, not a ledger file\n`);
  });
});

describe('commands that read one ledger file, given a segment directory', () => {
  it('name the segment file to give, not a disk I/O error', async () => {
    const l = await ledger([1, 1, 1]);
    const newest = join(l.dir, 'seg-000003.db');
    const keys = ['--key-file', l.keys.vkeyFile];
    for (const [cmd, ...rest] of [
      ['prove', ...keys, '--seq', '1'],
      ['tiles', join(tempDir(), 'tiles'), ...keys],
      ['backup', join(tempDir(), 'copy.db')],
      ['checkpoint', '--key', l.keys.keyFile],
    ] as string[][]) {
      const r = await sealog(cmd!, l.dir, ...rest);
      expect(r.code, cmd).toBe(2);
      expect(r.err).toBe(
        `sealog ${cmd}: E_IO: ${l.dir} is a segmented ledger (a directory of segment files); this command reads one ledger file: give one segment, e.g. ${newest} (the newest)\n`,
      );
    }
  });
});
