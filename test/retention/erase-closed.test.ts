import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { sealog } from '../attacks/harness.js';
import { ledger, verifyDir } from './helpers.js';

// Red-team finding 3: `sealog erase` on a closed segment appended its statement
// after the head the next segment's binding carries, so the directory never
// verified again. Erasure in a closed segment is refused until it is supported.

const erase = (file: string, keyFile: string) =>
  sealog(['erase', file, '--seq', '2', '--reason', 'GDPR-2', '--key', keyFile, '--yes']);

describe('sealog erase on a segment file', () => {
  it('refuses a segment that a higher-index segment follows, changing nothing', async () => {
    const l = await ledger([8, 8, 3], 0);
    const before = await verifyDir(l);
    expect(before.run.code, before.run.err).toBe(0);
    const r = await erase(l.segments[1]!.path, l.keys.keyFile);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/closed segment/);
    expect(r.err).toMatch(/not supported yet/);
    const after = await verifyDir(l);
    expect(after.report.findings).toEqual([]);
    expect(after.run.code).toBe(0);
    expect(after.report.segments.map((s) => s.size)).toEqual(before.report.segments.map((s) => s.size));
  });

  it('refuses the newest segment when its close marker is set', async () => {
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
  });

  it('still erases in the newest, open segment', async () => {
    const l = await ledger([8, 8, 6], 0);
    const r = await erase(l.segments.at(-1)!.path, l.keys.keyFile);
    expect(r.code, r.err).toBe(0);
    const after = await verifyDir(l);
    expect(after.run.code, JSON.stringify(after.report.findings)).toBe(0);
  });
});
