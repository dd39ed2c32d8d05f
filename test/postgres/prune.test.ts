// Retention on a PostgreSQL ledger (issue 18 item 5): `sealog prune postgres://…`
// removes the due prefix of rows and keeps a tombstone (the signed checkpoint at
// the cut, its compact range, the chain value); verify starts from it, writers
// and proofs go on from it, and the read commands keep working.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createWriterTrust,
  fileCheckpointKey,
  loadSignerKeyFile,
  openSink,
  sealHead,
} from '../../packages/core/src/index.js';
import { signStatement, statementEntry } from '../../packages/core/src/segments/statements.js';
import { PgStore } from '../../packages/core/src/store/postgres/store.js';
import { psql } from '../helpers/postgres.js';
import { runBin, table, verify } from './harness.js';
import {
  asReplica,
  ledger,
  OLD,
  prune,
  pruned,
  pruneFixture,
  seed,
  seqRange,
  write,
  YOUNG,
} from './prune-helpers.js';

const f = pruneFixture('pg_prune');

const lastCheckpointSize = async (url: string): Promise<number> =>
  (
    await psql<{ size: number }>(
      url,
      `SELECT size::int FROM ${table(url, 'checkpoints')} ORDER BY id DESC LIMIT 1`,
    )
  )[0]!.size;

describe('sealog prune postgres://', () => {
  it('removes the due prefix, keeps a tombstone, and verify reports the expired records', async () => {
    const url = ledger(f, 'ok');
    await seed(f, url);
    const dry = await prune(f, url, '--dry-run');
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toContain(`would prune records 0..${OLD - 1}`);
    expect((await seqRange(url)).lo).toBe(0);
    const r = await prune(f, url);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`pruned records 0..${OLD - 1}`);
    expect((await seqRange(url)).lo).toBe(OLD);
    const v = await verify(url, f.key.pub);
    expect(v.code, v.text).toBe(0);
    const expired = (v.report as { expired?: { records: number; reason: string } }).expired;
    expect(expired).toMatchObject({ records: OLD, reason: 'RET-7 retention' });
    const text = await runBin(['verify', url, '--key-file', f.key.pub]);
    expect(text.code).toBe(0);
    expect(text.out).toContain(`${OLD} records expired under retention (pruned at`);
    // No key, no way to check the tombstone: chain-only fails rather than accept it.
    const chainOnly = await runBin(['verify', url, '--chain-only', '--json']);
    expect(chainOnly.code).toBe(1);
    expect(chainOnly.out).toContain('bad-tombstone');
    // Nothing more is due: a second run changes nothing.
    const again = await prune(f, url);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain('nothing is due');
    // Read commands work on what is left.
    const tail = await runBin(['tail', url, '-n', '3', '-o', 'json']);
    expect(tail.code, tail.err).toBe(0);
    expect(tail.out.trim().split('\n')).toHaveLength(3);
    const query = await runBin(['query', url, '-o', 'json']);
    expect(query.code, query.err).toBe(0);
    expect(query.out.trim().split('\n').length).toBeGreaterThanOrEqual(YOUNG);
    // A SQLite ledger starts at row 0: migrate refuses, and says to use backup.
    const migrated = await runBin(['migrate', url, join(f.dir, 'migrated.db')]);
    expect(migrated.code, migrated.err).not.toBe(0);
    expect(migrated.err).toContain('pruned under retention');
  }, 180_000);

  it('a writer reopening the pruned ledger derives from the tombstone, and the ledger verifies', async () => {
    const url = ledger(f, 'rewrite');
    await seed(f, url);
    await pruned(f, url);
    // No checkpoint row to resume from: the writer must start at the tombstone.
    await asReplica(url, `UPDATE ${table(url, 'checkpoints')} SET compact = NULL, chain_head = NULL`);
    await write(f, url, 30, Date.now(), 'later');
    expect(await lastCheckpointSize(url)).toBe((await seqRange(url)).hi + 1);
    const v = await verify(url, f.key.pub);
    expect(v.code, v.text).toBe(0);
    expect((v.report as { expired?: { records: number } }).expired?.records).toBe(OLD);
  }, 120_000);

  it('a writer open across the prune re-derives past the cut and keeps sealing', async () => {
    const url = ledger(f, 'across');
    await write(f, url, OLD, Date.now() - 400 * 86_400_000, 'old');
    const sink = await openSink({ path: url, checkpoint: { keyFile: f.key.keyFile, everyRecords: 1000 } });
    // Opened before the prune: its state is the head at the cut, whose last row the prune deletes.
    await pruned(f, url);
    for (let i = 0; i < 40; i++) sink.write({ w: 'open', i });
    await sink.close();
    expect(await lastCheckpointSize(url)).toBe((await seqRange(url)).hi + 1);
    const v = await verify(url, f.key.pub);
    expect(v.code, v.text).toBe(0);
    expect((v.report as { expired?: { records: number } }).expired?.records).toBe(OLD);
  }, 120_000);

  it('prove works for a record after the cut and refuses a pruned one', async () => {
    const url = ledger(f, 'prove');
    await seed(f, url);
    await pruned(f, url);
    const out = join(f.dir, 'proof.json');
    const p = await runBin(['prove', url, '--key-file', f.key.pub, '--seq', String(OLD + 7), '--out', out]);
    expect(p.code, p.err).toBe(0);
    const ok = await runBin(['verify-proof', out, '--key-file', f.key.pub]);
    expect(ok.code, ok.out + ok.err).toBe(0);
    const c = join(f.dir, 'consistency.json');
    const size = await lastCheckpointSize(url);
    const args = ['--from-size', String(OLD), '--to-size', String(size), '--out', c];
    const q = await runBin(['prove', url, '--key-file', f.key.pub, ...args]);
    expect(q.code, q.err).toBe(0);
    expect((await runBin(['verify-proof', c, '--key-file', f.key.pub])).code).toBe(0);
    const gone = await runBin(['prove', url, '--key-file', f.key.pub, '--seq', '5']);
    expect(gone.code).toBe(2);
    expect(gone.err).toContain('pruned under retention');
  }, 120_000);

  it('refuses while a signed, sealed legal hold covers rows it would remove, naming the hold', async () => {
    const url = ledger(f, 'held');
    await seed(f, url);
    const key = fileCheckpointKey(loadSignerKeyFile(f.key.keyFile), f.key.keyFile);
    const hold = {
      type: 'hold' as const,
      origin: key.name,
      id: 'LIT-1',
      time: Date.now(),
      reason: 'LIT-1 discovery',
      scope: { from: 0, to: Date.now() },
    };
    const note = await signStatement(hold, key.log);
    const store = await PgStore.open(url, { create: false, trust: createWriterTrust({}, key, () => {}) });
    try {
      await store.append([statementEntry(note, hold, Date.now())]);
      await sealHead(store, key);
    } finally {
      await store.close();
      await key.close();
    }
    const r = await prune(f, url);
    expect(r.code).toBe(2);
    expect(r.err).toContain('legal hold LIT-1');
    expect((await seqRange(url)).lo).toBe(0);
  }, 120_000);
});
