// RFC 3161 tokens in a PostgreSQL ledger (issue 16, item 2): the writer keeps
// them in checkpoint_timestamps like on SQLite; `sealog init --writer` grants
// the writer role INSERT on it (and adds it to a ledger made before it
// existed); the table is append-only for its owner too.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LedgerReader,
  openSink,
  type SealogError,
  verifyTimestampToken,
} from '../../packages/core/src/index.js';
import {
  copyPgToSqlite,
  copySqliteToPg,
  initPgLedger,
  PgStore,
} from '../../packages/core/src/store/postgres/index.js';
import { createTestDatabase, pgUrl, psql } from '../helpers/postgres.js';
import { createTestPki, startTestTsa, type TestPki, type TestTsa } from '../helpers/tsa.js';
import { setup, sha256 } from '../timestamp/harness.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pki: TestPki;
let tsa: TestTsa;
const writer = `sl_ts_writer_${process.pid}_${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  db = await createTestDatabase('pg_timestamps');
  await psql(db.url, `CREATE ROLE "${writer}" LOGIN`);
  pki = await createTestPki();
  tsa = await startTestTsa(pki);
});
afterAll(async () => {
  await tsa?.close();
  await pki?.dispose();
  await db?.drop();
  await psql(pgUrl(), `DROP ROLE IF EXISTS "${writer}"`);
});

function ledger(schema: string, role?: string): string {
  const u = new URL(db.url);
  if (role) u.username = role;
  u.searchParams.set('schema', schema);
  return u.toString();
}

async function write(url: string, keyFile: string, n: number, errors: SealogError[]): Promise<void> {
  const sink = await openSink(
    {
      path: url,
      checkpoint: { keyFile, everyRecords: 50, timestamp: { mode: 'required', urls: [tsa.url] } },
    },
    { onError: (e) => errors.push(e) },
  );
  for (let i = 0; i < n; i++) {
    sink.write({ msg: 'pg', i });
    if (i % 50 === 49) {
      await sink.flush();
      await new Promise((ok) => setTimeout(ok, 60));
    }
  }
  await sink.close();
}

describe('checkpoint_timestamps in PostgreSQL', () => {
  it('a writer stores a token per checkpoint, verifiable over the stored note', async () => {
    const t = setup(pki);
    const url = ledger('stamped');
    const errors: SealogError[] = [];
    await write(url, t.keyFile, 150, errors);
    expect(errors.map((e) => e.message)).toEqual([]);
    const cps = await psql<{ size: string; note: string }>(url, 'SELECT size, note FROM stamped.checkpoints');
    const rows = await psql<{ size: string; note_sha256: Buffer; token: Buffer }>(
      url,
      'SELECT size, note_sha256, token FROM stamped.checkpoint_timestamps ORDER BY id',
    );
    expect(cps.length).toBeGreaterThan(1);
    expect(rows.length).toBe(cps.length);
    for (const cp of cps) {
      const row = rows.find((r) => r.note_sha256.equals(sha256(cp.note)));
      expect(row, `token for checkpoint ${cp.size}`).toBeDefined();
      expect(row!.size).toBe(cp.size);
      verifyTimestampToken(row!.token, Buffer.from(cp.note), { trustAnchors: pki.caPem });
    }
    await expect(psql(url, 'UPDATE stamped.checkpoint_timestamps SET size = 0')).rejects.toThrow(
      /append-only/,
    );
    await expect(psql(url, 'TRUNCATE stamped.checkpoint_timestamps')).rejects.toThrow(/append-only/);
    // Readers (verify) copy a snapshot to SQLite: the tokens come along, byte for byte.
    const snap = join(t.dir, 'snap.db');
    await copyPgToSqlite(url, snap, { mode: 'snapshot' });
    const reader = new LedgerReader(snap);
    const copied = [...reader.timestamps()];
    reader.close();
    expect(copied.map((r) => r.token.toString('hex'))).toEqual(rows.map((r) => r.token.toString('hex')));
    // …and \`sealog migrate\` back into PostgreSQL keeps them.
    await copySqliteToPg(snap, ledger('migrated'));
    const migrated = await psql<{ token: Buffer }>(
      url,
      'SELECT token FROM migrated.checkpoint_timestamps ORDER BY id',
    );
    expect(migrated.map((r) => r.token.toString('hex'))).toEqual(rows.map((r) => r.token.toString('hex')));
  }, 60_000);

  it('`sealog init --writer` adds the table to an older ledger and lets the writer role insert tokens', async () => {
    const t = setup(pki);
    const admin = ledger('older');
    await (await PgStore.open(admin)).close();
    await psql(admin, 'DROP TABLE older.checkpoint_timestamps'); // the schema of the previous sealog
    const asWriter = ledger('older', writer);
    await initPgLedger(admin, { writer });
    const regclass = await psql<{ t: string | null }>(
      admin,
      "SELECT to_regclass('older.checkpoint_timestamps')::text AS t",
    );
    expect(regclass[0]?.t).toBe('older.checkpoint_timestamps');
    const errors: SealogError[] = [];
    await write(asWriter, t.keyFile, 100, errors);
    expect(errors.map((e) => e.message)).toEqual([]);
    const n = await psql<{ n: string }>(admin, 'SELECT count(*) AS n FROM older.checkpoint_timestamps');
    expect(Number(n[0]!.n)).toBeGreaterThan(0);
    // The writer role may insert, not change.
    await expect(psql(asWriter, 'DELETE FROM older.checkpoint_timestamps')).rejects.toThrow(
      /permission denied/,
    );
  }, 60_000);

  it('a writer role on an older ledger without the table: records stored, the missing table reported', async () => {
    const t = setup(pki);
    const admin = ledger('notable');
    await initPgLedger(admin, { writer });
    await psql(admin, 'DROP TABLE notable.checkpoint_timestamps');
    const errors: SealogError[] = [];
    await write(ledger('notable', writer), t.keyFile, 100, errors);
    const n = await psql<{ n: string }>(admin, 'SELECT count(*) AS n FROM notable.records');
    expect(Number(n[0]!.n)).toBe(100);
    expect(errors.map((e) => e.message)).toContainEqual(
      expect.stringMatching(/no checkpoint_timestamps table.*sealog init/),
    );
    // The writer role could not add it (it does not own the ledger's tables).
    const regclass = await psql<{ t: string | null }>(
      admin,
      "SELECT to_regclass('notable.checkpoint_timestamps')::text AS t",
    );
    expect(regclass[0]?.t).toBeNull();
  }, 60_000);
});
