// `sealog backup postgres://… dest.db` (issue 18 §3, §5) against the real test
// server, while a writer process appends: the copy is one REPEATABLE READ
// snapshot, holds every record acknowledged before the backup began, is a
// byte-for-byte prefix of the table, and verifies with the key.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, psql } from '../helpers/postgres.js';
import { finished, keygen, runBin, startPgWriter, table } from '../postgres/harness.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
const dir = mkdtempSync(join(tmpdir(), 'sealog-pg-backup-'));

beforeAll(async () => {
  db = await createTestDatabase('pg_backup');
});
afterAll(async () => {
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

type Row = { seq: number; entry: Buffer; chain: Buffer };

describe('sealog backup of a live PostgreSQL ledger', () => {
  it('copies one snapshot with every acknowledged record, and the copy verifies', async () => {
    const key = await keygen(dir);
    const url = `${db.url}?schema=live`;
    const w = startPgWriter({
      url,
      id: 'a',
      count: 30_000,
      chunk: 100,
      keyFile: key.keyFile,
      everyRecords: 500,
    });
    while (w.acked() < 3000) {
      if (w.child.exitCode !== null) throw new Error(`writer exited: ${(await w.exited).stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const ackedAtStart = w.acked();
    const dest = join(dir, 'copy.db');
    const r = await runBin(['backup', url, dest, '--key-file', key.pub, '--progress']);
    const ackedAtEnd = w.acked();
    await finished(w, 'writer');

    expect(r.code, r.out + r.err).toBe(0);
    const copy = new Database(dest, { readonly: true });
    const copied = copy.prepare('SELECT seq, entry, chain FROM records ORDER BY seq').all() as Row[];
    copy.close();
    expect(copied.length).toBeGreaterThanOrEqual(ackedAtStart);
    expect(ackedAtEnd, 'the writer went on during the backup').toBeGreaterThan(ackedAtStart);
    expect(r.out).toContain(`: ${copied.length} record(s),`);
    expect(r.out).toMatch(/OK: intact/);
    expect(r.err).toMatch(/copied \d+ records/);
    // The URL is shown without its password.
    const password = new URL(db.url).password;
    if (password !== '') expect(r.out).not.toContain(password);

    // A prefix of the table, byte for byte: a snapshot, not rows from several moments.
    const all = await psql<{ seq: string; entry: Buffer; chain: Buffer }>(
      db.url,
      `SELECT seq, entry, chain FROM ${table(url, 'records')} WHERE seq < $1 ORDER BY seq`,
      [copied.length],
    );
    expect(all.length).toBe(copied.length);
    const differs = copied.findIndex(
      (c, i) =>
        Number(all[i]!.seq) !== c.seq || !all[i]!.entry.equals(c.entry) || !all[i]!.chain.equals(c.chain),
    );
    expect(differs).toBe(-1);
    const acked = new Set(copied.map((c) => (JSON.parse(c.entry.toString()) as { i: number }).i));
    for (let i = 0; i < ackedAtStart; i++)
      if (!acked.has(i)) throw new Error(`acknowledged record ${i} missing`);

    // One file: rollback journal, nothing beside it.
    expect(readFileSync(dest).subarray(18, 20)).toEqual(Buffer.from([1, 1]));
    expect(statSync(dest).mode & 0o777, 'not readable by others').toBe(0o600);
    const v = await runBin(['verify', dest, '--key-file', key.pub]);
    expect(v.code, v.out).toBe(0);
    expect(readdirSync(dir).filter((f) => f.includes('copy'))).toEqual(['copy.db']);
  });

  it('refuses a URL that holds no ledger, leaving nothing behind', async () => {
    const dest = join(dir, 'none.db');
    const r = await runBin(['backup', `${db.url}?schema=nothing_here`, dest]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/E_NOT_LEDGER|no sealog ledger|not a sealog ledger/);
    expect(readdirSync(dir).filter((f) => f.includes('none'))).toEqual([]);
  });
});
