// Shared by the PostgreSQL retention tests: a test database and key, a ledger
// of OLD records 400 days old and YOUNG of today, `sealog prune` on it, and the
// superuser's tools (triggers off, a tombstone planted by hand).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import {
  CompactRange,
  chainHash,
  leafHash,
  openSink,
  type SealogError,
  verifyLedger,
} from '../../packages/core/src/index.js';
import { snapshotPg } from '../../packages/core/src/store/postgres/snapshot.js';
import { createTestDatabase, psql } from '../helpers/postgres.js';
import { keygen, runBin, table } from './harness.js';

export const DAY = 86_400_000;
export const OLD = 200;
export const YOUNG = 50;

export interface PruneFixture {
  db: Awaited<ReturnType<typeof createTestDatabase>>;
  key: { keyFile: string; pub: string };
  dir: string;
}

/** Creates a database and key for the file (beforeAll) and drops the database after. */
export function pruneFixture(prefix: string): PruneFixture {
  const f = {} as PruneFixture;
  beforeAll(async () => {
    f.db = await createTestDatabase(prefix);
    f.dir = mkdtempSync(join(tmpdir(), `sealog-${prefix}-`));
    f.key = await keygen(f.dir);
  }, 60_000);
  afterAll(async () => {
    await f.db?.drop();
  });
  return f;
}

export function ledger(f: PruneFixture, schema: string): string {
  const u = new URL(f.db.url);
  u.searchParams.set('schema', schema);
  return u.toString();
}

/** Writes `n` records dated `time` onward, sealed every 64 and on close (so some checkpoints fall below a cut). */
export async function write(
  f: PruneFixture,
  url: string,
  n: number,
  time: number,
  tag: string,
): Promise<void> {
  const sink = await openSink({ path: url, checkpoint: { keyFile: f.key.keyFile, everyRecords: 64 } });
  for (let i = 0; i < n; i++) sink.write({ w: tag, i, time: time + i });
  await sink.close();
}

/** OLD records 400 days old (sealed at OLD), then YOUNG of today (sealed at OLD + YOUNG). */
export async function seed(f: PruneFixture, url: string): Promise<void> {
  await write(f, url, OLD, Date.now() - 400 * DAY, 'old');
  await write(f, url, YOUNG, Date.now(), 'young');
}

/** `sealog prune <url> --keep 365d … --yes` arguments, as every retention test runs it. */
export const pruneArgs = (f: PruneFixture, url: string, ...more: string[]) => [
  'prune',
  url,
  '--keep',
  '365d',
  '--reason',
  'RET-7 retention',
  '--key',
  f.key.keyFile,
  '--yes',
  ...more,
];

export const prune = (f: PruneFixture, url: string, ...more: string[]) => runBin(pruneArgs(f, url, ...more));

/** prune that must succeed. */
export async function pruned(f: PruneFixture, url: string): Promise<void> {
  const r = await prune(f, url);
  expect(r.code, r.err).toBe(0);
}

/** Runs `sql` as a superuser with the append-only triggers switched off. */
export async function asReplica(url: string, sql: string, params: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SET session_replication_role = replica');
    await client.query(sql, params);
  } finally {
    await client.end();
  }
}

export async function seqRange(url: string): Promise<{ lo: number; hi: number; n: number }> {
  const [r] = await psql<{ lo: number; hi: number; n: number }>(
    url,
    `SELECT min(seq)::int AS lo, max(seq)::int AS hi, count(*)::int AS n FROM ${table(url, 'records')}`,
  );
  return r!;
}

/**
 * Verifies in this process what `sealog verify postgres://… --strict` verifies (a
 * snapshot copy, then verifyLedger), so a check removed from the source shows here
 * without a rebuild: fails with a finding of `kind`, and (unless the tombstone itself
 * is valid) reports nothing expired.
 */
export async function expectFinding(
  f: PruneFixture,
  url: string,
  kind: string,
  options: { tombstoneValid?: boolean } = {},
): Promise<void> {
  const keys = readFileSync(f.key.pub, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const snap = await snapshotPg(url);
  try {
    const r = verifyLedger(snap.path, { keys, strict: true });
    expect(r.ok, JSON.stringify(r.findings)).toBe(false);
    expect(r.findings.map((x) => x.kind)).toContain(kind);
    // A valid tombstone is still reported beside the finding (the verdict fails either way).
    if (options.tombstoneValid !== true) expect(r.expired).toBeUndefined();
  } finally {
    snap.close();
  }
}

export async function noteAt(url: string, size: number): Promise<string> {
  const [r] = await psql<{ note: string }>(
    url,
    `SELECT note FROM ${table(url, 'checkpoints')} WHERE size = $1 ORDER BY id LIMIT 1`,
    [size],
  );
  return r!.note;
}

/** `rows` (in seq order) hashed onto a frontier: a compact range and a chain value (from empty by default). */
export function extendFrontier(
  rows: { entry: Buffer }[],
  range = new CompactRange(),
  chain = Buffer.alloc(32),
): { range: CompactRange; chain: Buffer } {
  for (const r of rows) {
    const leaf = leafHash(r.entry);
    chain = chainHash(chain, leaf);
    range.append(leaf);
  }
  return { range, chain };
}

/** Inserts a tombstone row by hand (the tombstones table must exist), as a superuser could. */
export async function insertTombstone(
  url: string,
  t: { size: number; note: string; chain: Buffer; range: CompactRange; statementSeq: number },
): Promise<void> {
  await psql(
    url,
    `INSERT INTO ${table(url, 'tombstones')} (size, note, chain_head, compact, statement_seq, pruned_at) VALUES ($1, $2, $3, $4, $5, $6)`,
    [t.size, t.note, t.chain, t.range.encode(), t.statementSeq, Date.now()],
  );
}

/** The attacker's tombstone: a real checkpoint at `size`, the frontier of the real rows, rows below deleted. */
export async function plantTombstone(
  url: string,
  size: number,
  statementSeq: number,
  note?: string,
): Promise<void> {
  const rows = await psql<{ seq: number; entry: Buffer }>(
    url,
    `SELECT seq::int AS seq, entry FROM ${table(url, 'records')} WHERE seq < $1 ORDER BY seq`,
    [size],
  );
  expect(rows[0]!.seq).toBe(0);
  const { range, chain } = extendFrontier(rows);
  await psql(
    url,
    `CREATE TABLE IF NOT EXISTS ${table(url, 'tombstones')} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, size bigint NOT NULL, note text NOT NULL, chain_head bytea NOT NULL, compact bytea NOT NULL, statement_seq bigint NOT NULL, pruned_at bigint NOT NULL)`,
  );
  await insertTombstone(url, { size, note: note ?? (await noteAt(url, size)), chain, range, statementSeq });
  await asReplica(url, `DELETE FROM ${table(url, 'records')} WHERE seq < $1`, [size]);
}

/**
 * The attacker's move of a genuine tombstone to the later signed head at `size`,
 * the real prune statement kept: a second tombstone over the frontier extended
 * by the rows below `size`, and those rows deleted.
 */
export async function moveTombstone(url: string, size: number): Promise<void> {
  const [t] = await psql<{ size: number; statement_seq: number; compact: Buffer; chain_head: Buffer }>(
    url,
    `SELECT size::int, statement_seq::int, compact, chain_head FROM ${table(url, 'tombstones')}`,
  );
  const rows = await psql<{ entry: Buffer }>(
    url,
    `SELECT entry FROM ${table(url, 'records')} WHERE seq < $1 ORDER BY seq`,
    [size],
  );
  const { range, chain } = extendFrontier(rows, CompactRange.decode(t!.size, t!.compact), t!.chain_head);
  const note = await noteAt(url, size);
  await insertTombstone(url, { size, note, chain, range, statementSeq: t!.statement_seq });
  await asReplica(url, `DELETE FROM ${table(url, 'records')} WHERE seq < $1`, [size]);
}

export const checkpointCount = async (url: string): Promise<number> =>
  (await psql<{ n: number }>(url, `SELECT count(*)::int AS n FROM ${table(url, 'checkpoints')}`))[0]!.n;

/** Writes `n` records through a signing sink; the errors it reported. */
export async function writeAfter(f: PruneFixture, url: string, n: number): Promise<SealogError[]> {
  const errors: SealogError[] = [];
  const sink = await openSink(
    { path: url, checkpoint: { keyFile: f.key.keyFile, everyRecords: 5 } },
    { onError: (e) => errors.push(e) },
  );
  for (let i = 0; i < n; i++) sink.write({ w: 'after', i });
  await sink.close().catch((e: SealogError) => errors.push(e));
  return errors;
}

/** Nothing signed, every record stored, and the refusal named the tombstone. */
export async function expectWriterRefused(f: PruneFixture, url: string, why: string): Promise<void> {
  const before = await checkpointCount(url);
  const rowsBefore = (await seqRange(url)).n;
  const errors = await writeAfter(f, url, 12);
  expect(await checkpointCount(url)).toBe(before);
  expect((await seqRange(url)).n).toBe(rowsBefore + 12);
  const tamper = errors.filter((e) => e.code === 'E_TAMPER').map((e) => e.message);
  expect(tamper.join('\n')).toContain(why);
}
