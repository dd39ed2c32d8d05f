// The read commands on a postgres:// ledger: the same output, proofs and
// bundles as on a file, tail -f following new commits, and a ledger whose
// table a superuser rebuilt without its primary key still read, not crashed on.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../packages/cli/src/main.js';
import { generateKey, openSink, writeKeyFile } from '../../packages/core/src/index.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, psql, terminateConnections } from '../helpers/postgres.js';

let db: { url: string; drop: () => Promise<void> };
let dir: string;
let keyFile: string;
let pub: string;
let url: string;

/** Writes `count` records through the real sink, with checkpoints every 50. */
async function write(target: string, from: number, count: number): Promise<void> {
  const sink = await openSink({ path: target, checkpoint: { keyFile, everyRecords: 50 } });
  for (let i = from; i < from + count; i++) {
    sink.write({ time: 1_700_000_000_000 + i, level: i % 10 === 0 ? 50 : 30, msg: `event ${i}`, i });
  }
  await sink.close();
}

beforeAll(async () => {
  db = await createTestDatabase('cli');
  dir = mkdtempSync(join(tmpdir(), 'sealog-pgcli-'));
  const key = generateKey('audit.example/pg-cli');
  keyFile = join(dir, 'key');
  writeKeyFile(keyFile, key.privateKey);
  pub = join(dir, 'key.pub');
  writeFileSync(pub, `${key.verifierKey}\n${key.cosignerVerifierKey}\n`);
  url = `${db.url.replace('postgres://', 'postgres://postgres:hunter2@')}?schema=main`;
  await write(url, 0, 200);
});
afterAll(async () => {
  await db.drop();
});

describe('read commands on PostgreSQL', () => {
  it('verify passes and never prints the password', async () => {
    const r = await runCli(['verify', url, '--key-file', pub, '--strict']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('200 records');
    expect(r.out).toContain('postgres://postgres:***@');
    expect(r.out + r.err).not.toContain('hunter2');
  });

  it('tail, query and report read the same records', async () => {
    const tail = await runCli(['tail', url, '-n', '3', '--json']);
    expect(
      tail.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).i),
    ).toEqual([197, 198, 199]);
    const query = await runCli(['query', url, '--level', 'error', '--json']);
    expect(query.out.trim().split('\n')).toHaveLength(20);
    const report = await runCli([
      'report',
      url,
      '--group-by',
      'level',
      '--groups',
      '30,50',
      '--epsilon',
      '1',
      '--json',
    ]);
    expect(report.code).toBe(0);
    // Noised counts: 180 records at level 30 and 20 at 50, give or take the Laplace noise.
    const groups = JSON.parse(report.out).groups as { group: string; count: number }[];
    expect(groups.map((g) => g.group)).toEqual(['30', '50']);
    expect(Math.abs(groups[0]!.count - 180)).toBeLessThan(40);
  });

  it('prove writes proofs verify-proof accepts; export writes a bundle verify-bundle accepts', async () => {
    const proof = join(dir, 'proof.json');
    expect((await runCli(['prove', url, '--seq', '7', '--key-file', pub, '--out', proof])).code).toBe(0);
    const checked = await runCli(['verify-proof', proof, '--key-file', pub]);
    expect(checked.code).toBe(0);
    const bundle = join(dir, 'bundle.json');
    const exported = await runCli(['export', url, '--key-file', pub, '--out', bundle, '--grep', 'event 1']);
    expect(exported.code).toBe(0);
    expect(JSON.parse(readFileSync(bundle, 'utf8')).manifest.entryCount).toBeGreaterThan(0);
    expect((await runCli(['verify-bundle', bundle, '--key-file', pub])).code).toBe(0);
  });

  it('tail -f prints records committed after it started, across a dropped connection', async () => {
    const ac = new AbortController();
    let out = '';
    const io = {
      out: (t: string) => {
        out += t;
      },
      err: () => {},
      signal: ac.signal,
    };
    const following = main(['tail', url, '-n', '0', '-f', '--json'], io);
    await new Promise((r) => setTimeout(r, 500));
    await write(url, 200, 15);
    // A dropped connection (server restart, network) is reopened, nothing skipped or repeated.
    await new Promise((r) => setTimeout(r, 400));
    expect(await terminateConnections(db.url)).toBeGreaterThan(0);
    await write(url, 215, 15);
    const deadline = Date.now() + 20_000;
    while (out.trim().split('\n').filter(Boolean).length < 30 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    ac.abort();
    expect(await following).toBe(0);
    expect(
      out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).i),
    ).toEqual(Array.from({ length: 30 }, (_, k) => 200 + k));
  });

  it('a records table rebuilt without its primary key is reported, not crashed on', async () => {
    const hostile = `${db.url}?schema=hostile`;
    await write(hostile, 0, 20);
    await psql(
      db.url,
      `SET session_replication_role = replica;
       ALTER TABLE hostile.records DROP CONSTRAINT records_pkey;
       INSERT INTO hostile.records SELECT * FROM hostile.records WHERE seq = 5;`,
    );
    const r = await runCli(['verify', hostile, '--key-file', pub]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/does not have the sealog schema/);
  });

  it('a database without a ledger is a clear error (exit 2)', async () => {
    const r = await runCli(['tail', `${db.url}?schema=nothing_here`]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/E_NOT_LEDGER.*no sealog ledger in schema "nothing_here"/);
  });
});
