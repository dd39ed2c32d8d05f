// Tampering with a PostgreSQL ledger (#10) through SQL. A superuser can switch
// the append-only triggers off (session_replication_role = replica) and edit
// rows: `sealog verify` must catch it (exit 1), even when the chain and head
// are recomputed to match (then only the signed checkpoints can). A plain
// role is stopped by the triggers; the roles of `sealog init` by privileges.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgBudgetStore } from '../../packages/core/src/dp/budget-postgres.js';
import { CompactRange, chainHash, leafHash, openSink, ZERO_HASH } from '../../packages/core/src/index.js';
import { parsePgUrl } from '../../packages/core/src/store/postgres/url.js';
import { createTestDatabase, pgUrl, psql } from '../helpers/postgres.js';
import { expectGapFree, keygen, runBin, table, verify } from './harness.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let key: { keyFile: string; pub: string };
const suffix = `${process.pid}_${randomBytes(3).toString('hex')}`;
// Roles belong to the whole server, which parallel test files share: unique names, dropped after.
const roles = { owner: `sl_owner_${suffix}`, writer: `sl_writer_${suffix}`, reader: `sl_reader_${suffix}` };

beforeAll(async () => {
  db = await createTestDatabase('pg_tamper');
  key = await keygen(mkdtempSync(join(tmpdir(), 'sealog-pg-tamper-')));
  for (const role of Object.values(roles)) await psql(db.url, `CREATE ROLE "${role}" LOGIN`);
});
afterAll(async () => {
  await db?.drop(); // first: the roles own objects and hold privileges in it
  for (const role of Object.values(roles)) await psql(pgUrl(), `DROP ROLE IF EXISTS "${role}"`);
});

/** The ledger in schema `schema` of the test database, connecting as `role` (default: the superuser). */
function ledger(schema: string, role?: string): string {
  const u = new URL(db.url);
  if (role) u.username = role;
  u.searchParams.set('schema', schema);
  return u.toString();
}

/** Writes `n` records and closes (which signs a checkpoint of the whole ledger). */
async function seed(url: string, n: number): Promise<void> {
  const sink = await openSink({ path: url, checkpoint: { keyFile: key.keyFile, everyRecords: 50 } });
  for (let i = 0; i < n; i++) sink.write({ w: 't', i });
  await sink.close();
}

/** Runs `sql` as a superuser with the append-only triggers switched off. */
const asReplica = (url: string, sql: string): Promise<unknown> =>
  psql(url, `SET session_replication_role = replica; ${sql}`);

/** verify exits 1 and names the tampering: `kind` at `seq`; returns the kinds found besides "unsealed". */
async function expectTamperFound(url: string, kind: string, seq?: number): Promise<string[]> {
  const v = await verify(url, key.pub);
  expect(v.code, v.text).toBe(1);
  expect(v.report!.ok).toBe(false);
  expect(v.report!.findings).toContainEqual(
    expect.objectContaining(seq === undefined ? { kind } : { kind, seq }),
  );
  return v.report!.findings.map((f) => f.kind).filter((k) => k !== 'unsealed');
}

describe('a superuser editing rows with the triggers switched off', () => {
  it('an UPDATEd entry is found; without replica mode the trigger refuses it', async () => {
    const url = ledger('upd');
    await seed(url, 200);
    expect((await verify(url, key.pub)).code).toBe(0);
    const edit = `UPDATE ${table(url, 'records')} SET entry = convert_to('{"i":7,"w":"forged"}', 'UTF8') WHERE seq = 7`;
    await expect(psql(url, edit)).rejects.toThrow(/records is append-only/);
    await asReplica(url, edit);
    await expectTamperFound(url, 'modified', 7);
  });

  it('a DELETEd row is found', async () => {
    const url = ledger('del');
    await seed(url, 200);
    await expect(psql(url, `DELETE FROM ${table(url, 'records')} WHERE seq = 50`)).rejects.toThrow(
      /append-only/,
    );
    await asReplica(url, `DELETE FROM ${table(url, 'records')} WHERE seq = 50`);
    await expectTamperFound(url, 'deleted', 50);
  });

  it('history rewritten with the chain and head recomputed is found by the signed checkpoints', async () => {
    const url = ledger('rewrite');
    await seed(url, 200);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const rows = (await c.query(`SELECT seq, entry FROM ${table(url, 'records')} ORDER BY seq`)).rows as {
        seq: string;
        entry: Buffer;
      }[];
      // Forge record 120 and recompute everything a reader without keys could check
      // (keeping its time, so the ts index still agrees: only the signature can tell).
      const original = JSON.parse(rows[120]!.entry.toString('utf8')) as Record<string, unknown>;
      rows[120]!.entry = Buffer.from(JSON.stringify({ ...original, w: 'forged' }));
      const range = new CompactRange();
      let chain = ZERO_HASH;
      await c.query('BEGIN; SET LOCAL session_replication_role = replica');
      for (const r of rows) {
        const leaf = leafHash(r.entry);
        chain = chainHash(chain, leaf);
        range.append(leaf);
        if (Number(r.seq) >= 120) {
          await c.query(`UPDATE ${table(url, 'records')} SET entry = $1, chain = $2 WHERE seq = $3`, [
            r.entry,
            chain,
            r.seq,
          ]);
        }
      }
      await c.query(`UPDATE ${table(url, 'ledger_state')} SET chain_head = $1, compact = $2 WHERE id = 0`, [
        chain,
        range.encode(),
      ]);
      await c.query('COMMIT');
    } finally {
      await c.end();
    }
    // Chain and head agree with the forged rows: only the signature over the old root can tell.
    // every checkpoint of this one-batch ledger is at size 200: none is valid any more, so nothing is proved
    expect(await expectTamperFound(url, 'checkpoint-mismatch')).toEqual([
      'checkpoint-mismatch',
      'no-checkpoint',
    ]);
  });
});

describe('a plain role owning the ledger', () => {
  it('cannot UPDATE, DELETE or TRUNCATE records, move the head back, or switch the triggers off', async () => {
    await psql(db.url, `GRANT CREATE ON DATABASE "${db.name}" TO "${roles.owner}"`);
    const url = ledger('owned', roles.owner);
    await seed(url, 100); // the owner creates the schema: every table privilege is its own
    const refused: [string, RegExp][] = [
      [`UPDATE ${table(url, 'records')} SET entry = 'x'::bytea WHERE seq = 3`, /records is append-only/],
      [`DELETE FROM ${table(url, 'records')} WHERE seq = 99`, /records is append-only/],
      [`TRUNCATE ${table(url, 'records')}`, /records is append-only/],
      [`DELETE FROM ${table(url, 'checkpoints')}`, /checkpoints is append-only/],
      [`UPDATE ${table(url, 'ledger_state')} SET size = 0 WHERE id = 0`, /ledger size cannot go back/],
      ['SET session_replication_role = replica', /permission denied/],
    ];
    for (const [sql, why] of refused) await expect(psql(url, sql), sql).rejects.toThrow(why);
    expect(await expectGapFree(url)).toBe(100);
    expect((await verify(url, key.pub)).code).toBe(0);
  });
});

describe('the roles of `sealog init --writer --reader`', () => {
  it('the writer appends but cannot change rows; the reader verifies but cannot write', async () => {
    const admin = ledger('granted');
    const init = await runBin(['init', admin, '--writer', roles.writer, '--reader', roles.reader]);
    expect(init.code, init.err).toBe(0);

    const asWriter = ledger('granted', roles.writer);
    await seed(asWriter, 50);
    await seed(asWriter, 50); // a second writer session resumes the chain
    for (const sql of [
      `UPDATE ${table(admin, 'records')} SET ts = 0`,
      `DELETE FROM ${table(admin, 'records')} WHERE seq = 1`,
      `TRUNCATE ${table(admin, 'records')}`,
      `UPDATE ${table(admin, 'checkpoints')} SET size = 0`,
    ]) {
      await expect(psql(asWriter, sql), sql).rejects.toThrow(/permission denied for table/);
    }

    // privacy.noise: the writer leases ε budget (budget-postgres.ts); the reader may not.
    const budgets = await PgBudgetStore.open(parsePgUrl(asWriter));
    expect(await budgets.take('psn:k1:w', 1, 1, 5, 10)).toBe(5);
    await budgets.close();

    const asReader = ledger('granted', roles.reader);
    await expect(psql(asReader, `DELETE FROM ${table(admin, 'dp_budget')}`)).rejects.toThrow(
      /permission denied for table/,
    );
    const v = await verify(asReader, key.pub);
    expect(v.code, v.text).toBe(0);
    expect(v.report!.size).toBe(100);
    for (const sql of [
      `INSERT INTO ${table(admin, 'records')} (seq, ts, entry, chain) VALUES (100, 0, '\\x00', '\\x00')`,
      `INSERT INTO ${table(admin, 'checkpoints')} (size, note, created_at) VALUES (1, 'n', 0)`,
      `UPDATE ${table(admin, 'ledger_state')} SET size = 101`,
    ]) {
      await expect(psql(asReader, sql), sql).rejects.toThrow(/permission denied for table/);
    }
    // A writer configured with the reader role fails at startup, naming the privileges, not at its first commit.
    await expect(openSink({ path: asReader })).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringMatching(/may not append to .*a writer needs INSERT on records/),
    });
    expect(await expectGapFree(admin)).toBe(100);
  });

  it('refuses to grant on a schema whose tables another role created (its owner could drop the triggers)', async () => {
    await psql(db.url, `GRANT CREATE ON DATABASE "${db.name}" TO "${roles.owner}"`);
    await seed(ledger('early', roles.owner), 5); // a writer that opened the ledger before init ran
    const init = await runBin(['init', ledger('early'), '--writer', roles.writer]);
    expect(init.code).toBe(2);
    expect(init.err).toMatch(new RegExp(`belong to ${roles.owner}, not to`));
  });
});
