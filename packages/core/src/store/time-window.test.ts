import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../ledger.js';
import { queryRecords } from './query.js';
import { LedgerReader } from './reader.js';
import { WINDOW_MARGIN } from './time-window.js';

// A time range read through the ts index either returns every row whose own
// time is in range, or throws E_TAMPER: never a silent omission, whatever
// single ts an attacker edits (rows' times rise with seq, as one writer's do).

async function ledgerOf(times: number[]): Promise<string> {
  const path = join(mkdtempSync(join(tmpdir(), 'sealog-tw-')), 'l.db');
  const l = await Ledger.open({ path });
  for (const [i, time] of times.entries()) l.write({ i, time });
  await l.close();
  return path;
}

function editTs(path: string, seq: number, ts: number): void {
  const db = new Database(path);
  db.exec('DROP TRIGGER records_no_update');
  db.prepare('UPDATE records SET ts = ? WHERE seq = ?').run(ts, seq);
  db.close();
}

function select(path: string, from: number, to: number): number[] | 'E_TAMPER' {
  const reader = new LedgerReader(path);
  try {
    return [...queryRecords(reader, { tsFrom: from, tsTo: to })].map((r) => r.seq);
  } catch (err) {
    if ((err as { code?: string }).code === 'E_TAMPER') return 'E_TAMPER';
    throw err;
  } finally {
    reader.close();
  }
}

describe('time ranges over an edited ts index', () => {
  it('property: one edited ts never silently drops a row', async () => {
    const n = 3 * WINDOW_MARGIN;
    const times = Array.from({ length: n }, (_, i) => 1_000_000 + 10 * i);
    const path = await ledgerOf(times);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: n - 1 }),
        fc.constantFrom(0, -1, 9e15, 1_000_000 + 10 * n),
        fc.integer({ min: 0, max: n - 1 }),
        fc.integer({ min: 1, max: n }),
        async (seq, ts, a, len) => {
          const from = times[a]!;
          const to = from + 10 * len;
          const want = times.flatMap((t, i) => (t >= from && t < to ? [i] : []));
          const copy = `${path}.${seq}.${ts}`;
          const db = new Database(path);
          await db.backup(copy);
          db.close();
          editTs(copy, seq, ts);
          const got = select(copy, from, to);
          if (got !== 'E_TAMPER') expect(got).toEqual(want);
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);

  it('an untouched ledger answers exactly, and an edit inside the answer fails loudly', async () => {
    const path = await ledgerOf([10, 20, 30, 40, 50]);
    expect(select(path, 20, 41)).toEqual([1, 2, 3]);
    editTs(path, 2, 0);
    expect(select(path, 20, 41)).toBe('E_TAMPER');
  });
});
