import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { attackerOpen, keygen, sealog, WriterProcess } from './harness.js';

// Finding 5 of issue 14: `records.ts` is an index copy of each entry's time,
// outside every hash. A file-only insider who sets one sealed row's ts to 0
// (or to the far future) hid it from every time selection: verify --strict
// with the real key still said intact, and query/export/report over the
// row's time range silently left it out (export even called it "withheld by
// the exporter"). Now verify names the row (index-modified), and each reader
// either includes the row or fails loudly; none may drop it silently.

interface Sealed {
  dir: string;
  path: string;
  vkey: string;
  /** The range [from, to) holding exactly the middle batch, as ISO strings. */
  from: string;
  to: string;
  /** Seqs of the middle batch (tag "in"), in order. */
  inRange: number[];
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A real writer seals 3 batches of 10 records, 40 ms apart, so the middle one has its own time range. */
async function sealedLedger(): Promise<Sealed> {
  const dir = tempDir();
  const keys = await keygen(dir);
  const path = join(dir, 'audit.db');
  const w = new WriterProcess({ path, checkpoint: { keyFile: keys.keyFile, everyRecords: 10 } });
  await w.ready();
  for (const tag of ['before', 'in', 'after']) {
    await pause(40);
    await w.send('write', 10, tag);
    await w.send('flush');
    await pause(40);
  }
  expect(await w.close()).toBe(0);
  const db = attackerOpen(path);
  const rows = db.prepare('SELECT seq, ts, CAST(entry AS TEXT) AS e FROM records ORDER BY seq').all() as {
    seq: number;
    ts: number;
    e: string;
  }[];
  db.close();
  const mid = rows.filter((r) => (JSON.parse(r.e) as { tag: string }).tag === 'in');
  const before = rows.filter((r) => (JSON.parse(r.e) as { tag: string }).tag === 'before');
  const after = rows.filter((r) => (JSON.parse(r.e) as { tag: string }).tag === 'after');
  const from = mid[0]!.ts;
  const to = mid[mid.length - 1]!.ts + 1;
  // The batches are apart in time, so [from, to) is exactly the middle batch.
  expect(Math.max(...before.map((r) => r.ts))).toBeLessThan(from);
  expect(Math.min(...after.map((r) => r.ts))).toBeGreaterThanOrEqual(to);
  return {
    dir,
    path,
    vkey: keys.vkeys[0]!,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    inRange: mid.map((r) => r.seq),
  };
}

function editTs(path: string, seq: number, ts: number): void {
  const db = attackerOpen(path);
  db.prepare('UPDATE records SET ts = ? WHERE seq = ?').run(ts, seq);
  db.close();
}

/** Loud = a non-zero exit whose message names the row and the index. */
function failedLoudly(r: { code: number | null; err: string }, seq: number): boolean {
  return (
    r.code !== 0 && r.code !== null && new RegExp(`row ${seq}\\b`).test(r.err) && /time index/.test(r.err)
  );
}

/** `query --json` prints entries (no seq): each as tag:i, which the writer made unique. */
function printed(out: string): string[] {
  return out
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const e = JSON.parse(l) as { tag: string; i: number };
      return `${e.tag}:${e.i}`;
    });
}

const FAR_FUTURE = Date.UTC(2999, 0, 1);

describe('attack: a sealed row hidden from time selection by editing its ts index', () => {
  for (const c of [
    { name: 'ts set to 0, middle of the range', pick: (s: number[]) => s[4]!, ts: 0 },
    { name: 'ts set far in the future, middle of the range', pick: (s: number[]) => s[4]!, ts: FAR_FUTURE },
    { name: 'ts set to 0, the first row of the range', pick: (s: number[]) => s[0]!, ts: 0 },
    {
      name: 'ts set far in the future, the last row of the range',
      pick: (s: number[]) => s[s.length - 1]!,
      ts: FAR_FUTURE,
    },
  ]) {
    it(`${c.name}: verify names the row; query, export and report include it or fail loudly`, async () => {
      const s = await sealedLedger();
      const seq = c.pick(s.inRange);
      editTs(s.path, seq, c.ts);

      const v = await sealog(['verify', s.path, '--key', s.vkey, '--strict', '--json']);
      expect.soft(v.code).toBe(1);
      // Soft: on the code before the fix every reader's own failure is listed too.
      const report = JSON.parse(v.out) as { ok: boolean; findings: { kind: string; seq?: number }[] };
      expect.soft(report.ok).toBe(false);
      expect.soft(report.findings).toContainEqual(expect.objectContaining({ kind: 'index-modified', seq }));

      const q = await sealog(['query', s.path, '--from', s.from, '--to', s.to, '--json']);
      if (q.code === 0) expect.soft(printed(q.out)).toContain(`in:${s.inRange.indexOf(seq)}`);
      else expect.soft(failedLoudly(q, seq), `query: ${q.err}`).toBe(true);

      const out = join(s.dir, 'bundle.json');
      const e = await sealog([
        'export',
        s.path,
        '--key',
        s.vkey,
        '--out',
        out,
        '--from',
        s.from,
        '--to',
        s.to,
      ]);
      if (e.code === 0) {
        const bundle = JSON.parse(readFileSync(out, 'utf8')) as { entries: { seq: number }[] };
        expect.soft(bundle.entries.map((x) => x.seq)).toContain(seq);
      } else expect.soft(failedLoudly(e, seq), `export: ${e.err}`).toBe(true);

      // ε = 1000: the noise is far below one record, so a dropped row shows as 9.
      const r = await sealog([
        'report',
        s.path,
        '--group-by',
        'tag',
        '--count',
        '--epsilon',
        '1000',
        '--groups',
        'before,in,after',
        '--from',
        s.from,
        '--to',
        s.to,
        '--json',
      ]);
      if (r.code === 0) {
        const groups = (JSON.parse(r.out) as { groups: { group: string; count: number }[] }).groups;
        expect.soft(Math.round(groups.find((g) => g.group === 'in')!.count)).toBe(10);
      } else expect.soft(failedLoudly(r, seq), `report: ${r.err}`).toBe(true);
    }, 60_000);
  }

  it('the untouched ledger verifies and every reader returns the whole range (the test can tell)', async () => {
    const s = await sealedLedger();
    const v = await sealog(['verify', s.path, '--key', s.vkey, '--strict', '--json']);
    expect(v.code, v.out + v.err).toBe(0);
    const q = await sealog(['query', s.path, '--from', s.from, '--to', s.to, '--json']);
    expect(q.code, q.err).toBe(0);
    expect(printed(q.out)).toEqual(s.inRange.map((_, i) => `in:${i}`));
  }, 60_000);
});
