// `sealog migrate` SQLite → PostgreSQL → SQLite (#10): records, chain values,
// head and signed checkpoints arrive byte for byte, every copy verifies
// strictly with the same key, and writers go on appending to the migrated
// PostgreSQL ledger. A tampered source is refused and the target is left untouched.
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSink } from '../../packages/core/src/index.js';
import { createTestDatabase, psql } from '../helpers/postgres.js';
import { expectGapFree, keygen, runBin, table, verify } from './harness.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let key: { keyFile: string; pub: string };
const dir = mkdtempSync(join(tmpdir(), 'sealog-pg-migrate-'));
const N = 3000;

beforeAll(async () => {
  db = await createTestDatabase('pg_migrate');
  key = await keygen(dir);
});
afterAll(async () => {
  await db?.drop();
});

const ledger = (schema: string): string => `${db.url}?schema=${schema}`;

/** Everything a verifier judges, as stored: rows, head and checkpoints. */
interface Contents {
  records: { seq: number; ts: number; entry: Buffer; chain: Buffer }[];
  state: { size: number; chain_head: Buffer; compact: Buffer };
  checkpoints: { size: number; note: string; created_at: number }[];
}

function sqliteContents(path: string): Contents {
  const d = new Database(path, { readonly: true });
  try {
    return {
      records: d
        .prepare('SELECT seq, ts, entry, chain FROM records ORDER BY seq')
        .all() as Contents['records'],
      state: d.prepare('SELECT size, chain_head, compact FROM ledger_state').get() as Contents['state'],
      checkpoints: d
        .prepare('SELECT size, note, created_at FROM checkpoints ORDER BY id')
        .all() as Contents['checkpoints'],
    };
  } finally {
    d.close();
  }
}

async function pgContents(url: string): Promise<Contents> {
  // int8 columns arrive as strings from the plain driver.
  const num = <T extends Record<string, unknown>>(row: T, ...keys: (keyof T)[]): T => {
    for (const k of keys) row[k] = Number(row[k]) as T[keyof T];
    return row;
  };
  const records = await psql(url, `SELECT seq, ts, entry, chain FROM ${table(url, 'records')} ORDER BY seq`);
  const [state] = await psql(url, `SELECT size, chain_head, compact FROM ${table(url, 'ledger_state')}`);
  const cps = await psql(url, `SELECT size, note, created_at FROM ${table(url, 'checkpoints')} ORDER BY id`);
  return {
    records: records.map((r) => num(r, 'seq', 'ts')) as Contents['records'],
    state: num(state!, 'size') as Contents['state'],
    checkpoints: cps.map((c) => num(c, 'size', 'created_at')) as Contents['checkpoints'],
  };
}

/** Records of varied shape, flushed in chunks so the file holds several checkpoints. */
async function writeSqliteLedger(path: string): Promise<void> {
  const sink = await openSink({ path, checkpoint: { keyFile: key.keyFile, everyRecords: 500 } });
  for (let i = 0; i < N; i++) {
    sink.write({ time: 1_700_000_000_000 + i, i, text: `zażółć ✓ ${i}`, nested: { a: [i, null, true] } });
    if (i % 700 === 699) await sink.flush();
  }
  await sink.close();
}

async function expectStrictOk(ledgerPath: string, size: number): Promise<void> {
  const v = await verify(ledgerPath, key.pub);
  expect(v.code, v.text).toBe(0);
  expect(v.report!.size).toBe(size);
}

describe('sealog migrate between SQLite and PostgreSQL', () => {
  it('round trip keeps every byte and checkpoint; writers then extend the PostgreSQL copy', async () => {
    const a = join(dir, 'a.db');
    const b = join(dir, 'b.db');
    const url = ledger('mig');
    await writeSqliteLedger(a);
    await expectStrictOk(a, N);
    const original = sqliteContents(a);
    expect(original.checkpoints.length).toBeGreaterThan(2);

    const there = await runBin(['migrate', a, url]);
    expect(there.code, there.err).toBe(0);
    expect(there.out).toMatch(
      new RegExp(`migrated ${N} record\\(s\\) and ${original.checkpoints.length} checkpoint`),
    );
    await expectStrictOk(url, N);
    // Progress only on a terminal or with --progress: a piped stderr stays quiet.
    expect(there.err).toBe('');
    const back = await runBin(['migrate', url, b, '--progress']);
    expect(back.code, back.err).toBe(0);
    expect(back.err).toMatch(/^ {2}copied \d+ records\n/);
    await expectStrictOk(b, N);

    expect(await pgContents(url)).toEqual(original);
    expect(sqliteContents(b)).toEqual(original);

    // The migrated ledger is a live one: a writer resumes its chain and seals on close.
    const sink = await openSink({ path: url, checkpoint: { keyFile: key.keyFile } });
    for (let i = 0; i < 500; i++) sink.write({ i: N + i, after: 'migration' });
    await sink.close();
    await expectStrictOk(url, N + 500);
    expect(await expectGapFree(url)).toBe(N + 500);
    const grown = await pgContents(url);
    expect(grown.records.slice(0, N)).toEqual(original.records);
    expect(grown.checkpoints.slice(0, original.checkpoints.length)).toEqual(original.checkpoints);
  });

  it('a migrated copy gets the Merkle state recomputed from its rows, not the stored one', async () => {
    const a = join(dir, 'state.db');
    const c = join(dir, 'state-copy.db');
    const url = ledger('mig_state');
    await writeSqliteLedger(a);
    const original = sqliteContents(a);
    expect((await runBin(['migrate', a, url])).code).toBe(0);
    // The chain check covers size and chain head; the compact range beside them is not chained.
    await psql(db.url, `UPDATE ${table(url, 'ledger_state')} SET compact = $1 WHERE id = 0`, [
      Buffer.alloc(original.state.compact.length),
    ]);
    const back = await runBin(['migrate', url, c]);
    expect(back.code, back.err).toBe(0);
    expect(sqliteContents(c).state).toEqual(original.state);
  });

  it('refuses a tampered SQLite ledger with exit 1 and leaves the target untouched', async () => {
    const a = join(dir, 'intact.db');
    const t = join(dir, 'tampered.db');
    await writeSqliteLedger(a);
    copyFileSync(a, t);
    const d = new Database(t);
    d.exec('DROP TRIGGER records_no_update');
    d.prepare('UPDATE records SET entry = ? WHERE seq = 1234').run(Buffer.from('{"i":1234,"forged":true}'));
    d.close();
    expect((await verify(t, key.pub)).code).toBe(1);

    const url = ledger('mig_bad');
    const r = await runBin(['migrate', t, url]);
    expect(r.code, r.out).toBe(1);
    expect(r.err).toMatch(/does not verify \(the chain breaks at seq 1234\)/);
    // One transaction: not even the schema is left behind.
    const [left] = await psql<{ t: string | null }>(url, 'SELECT to_regclass($1)::text AS t', [
      table(url, 'records'),
    ]);
    expect(left).toEqual({ t: null });
    // Empty, not wedged: the intact ledger migrates into the same target.
    const ok = await runBin(['migrate', a, url]);
    expect(ok.code, ok.err).toBe(0);
    await expectStrictOk(url, N);
  });
});
