import { readFileSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import { checkNote } from '../checkpoint.js';
import { MAX_LISTED_CHECKPOINTS } from '../types.js';
import { verifyLedger } from '../verify.js';
import { makeLedger, tamper } from './fixture.js';

// A checkpoints table padded with junk rows (red-team review F6): anyone who can
// write the file can add a million. verify keeps a few bytes a row and one entry
// per distinct note (test/verify-padded.test.ts bounds the memory), and still
// judges every row: the verdict and the totals are exact, and only the list of
// checkpoints in the report is cut to the last MAX_LISTED_CHECKPOINTS.

// Counts the notes verify opens (parse and signature checks), the real function behind it.
vi.mock('../checkpoint.js', async (actual) => {
  const real = await actual<typeof import('../checkpoint.js')>();
  return { ...real, checkNote: vi.fn(real.checkNote) };
});

const COPIES = 12_000;
const JUNK = 500;

function padded() {
  const f = makeLedger({ records: 100, every: 25 }); // checkpoints 1..4, at 25, 50, 75, 100
  let wrongId = 0;
  tamper(f.path, (db: Database.Database) => {
    const note = (db.prepare('SELECT note FROM checkpoints WHERE size = 100').get() as { note: string }).note;
    const ins = db.prepare('INSERT INTO checkpoints (size, note, created_at) VALUES (?, ?, 0)');
    db.transaction(() => {
      // One copy whose size column lies, before thousands of others: it must still be found.
      wrongId = Number(ins.run(99, note).lastInsertRowid);
      for (let i = 0; i < COPIES; i++) ins.run(100, note);
      for (let i = 0; i < JUNK; i++) ins.run(i, `junk ${i}`);
    })();
  });
  return { f, wrongId };
}

describe('verifyLedger on a padded checkpoints table', () => {
  it('judges every row: exact totals and findings, the last rows listed', () => {
    const { f, wrongId } = padded();
    vi.mocked(checkNote).mockClear();
    const r = verifyLedger(f.path, { keys: [f.vkey] });
    // Each distinct note is opened once: the 4 real ones and the junk, not the 12,001 copies.
    expect(vi.mocked(checkNote)).toHaveBeenCalledTimes(4 + JUNK);
    const stored = 4 + COPIES + 1 + JUNK;
    expect(r.checkpointTotals).toEqual({ stored, storedValid: 4 + COPIES, trusted: 0, trustedValid: 0 });
    expect(r.ok).toBe(false);
    expect(r.sealed).toBe(100);
    // The row with the lying size column is far before the listed ones, and still reported.
    expect(r.findings.filter((x) => x.kind === 'checkpoint-mismatch')).toEqual([
      {
        kind: 'checkpoint-mismatch',
        checkpointId: wrongId,
        message: `checkpoint ${wrongId}: size column says 99 but the signed size is 100`,
      },
    ]);
    expect(r.findings.filter((x) => x.kind === 'malformed-checkpoint')).toHaveLength(JUNK);
    expect(r.omittedFindings).toBe(0);
    expect(r.checkpoints).toHaveLength(MAX_LISTED_CHECKPOINTS);
    expect(r.omittedCheckpoints).toBe(stored - MAX_LISTED_CHECKPOINTS);
    expect(r.checkpoints.at(-1)).toEqual({ source: 'ledger', valid: false, id: stored });
    const copy = r.checkpoints.at(-1 - JUNK)!;
    expect(copy).toMatchObject({ source: 'ledger', valid: true, id: stored - JUNK, size: 100 });
    expect(r.checkpoints.some((c) => c.id === wrongId)).toBe(false);
  });

  it('notes given from outside are counted and listed after the ledger rows', () => {
    const { f } = padded();
    const anchor = readFileSync(f.anchor, 'utf8');
    const r = verifyLedger(f.path, { keys: [f.vkey], trusted: [anchor, anchor] });
    expect(r.checkpointTotals).toMatchObject({ trusted: 8, trustedValid: 8 });
    expect(r.checkpoints.slice(-8).every((c) => c.source === 'trusted' && c.valid)).toBe(true);
    expect(r.checkpoints.slice(-8).map((c) => c.size)).toEqual([25, 50, 75, 100, 25, 50, 75, 100]);
  });
});
