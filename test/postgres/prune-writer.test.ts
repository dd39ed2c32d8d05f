// A signing writer of a pruned PostgreSQL ledger requires the evidence verify
// requires before it starts from a tombstone (store/postgres/prune-evidence.ts):
// the row the tombstone names holds a prune statement signed by the writer's own
// key, sealed, naming that head. The attacker can write the database (triggers
// off) but holds no key: a tombstone of a real checkpoint with its real compact
// range, rows deleted below it, must make the writer sign nothing (E_TAMPER
// through onError) while it still stores the records it is given.
import { describe, expect, it } from 'vitest';
import { openSink, type SealogError } from '../../packages/core/src/index.js';
import { psql } from '../helpers/postgres.js';
import { table } from './harness.js';
import {
  asReplica,
  ledger,
  moveTombstone,
  OLD,
  plantTombstone,
  pruned,
  pruneFixture,
  seed,
  seqRange,
  YOUNG,
} from './prune-helpers.js';

const f = pruneFixture('pg_prune_writer');

const checkpointCount = async (url: string): Promise<number> =>
  (await psql<{ n: number }>(url, `SELECT count(*)::int AS n FROM ${table(url, 'checkpoints')}`))[0]!.n;

/** Writes `n` records through a signing sink; the errors it reported. */
async function writeAfter(url: string, n: number): Promise<SealogError[]> {
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
async function expectRefused(url: string, why: string): Promise<void> {
  const before = await checkpointCount(url);
  const rowsBefore = (await seqRange(url)).n;
  const errors = await writeAfter(url, 12);
  expect(await checkpointCount(url)).toBe(before);
  expect((await seqRange(url)).n).toBe(rowsBefore + 12);
  const tamper = errors.filter((e) => e.code === 'E_TAMPER').map((e) => e.message);
  expect(tamper.join('\n')).toContain(why);
}

describe('a writer starting from a tombstone requires its prune statement', () => {
  it('signs after a genuine prune', async () => {
    const url = ledger(f, 'genuine');
    await seed(f, url);
    await pruned(f, url);
    const before = await checkpointCount(url);
    const errors = await writeAfter(url, 12);
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(await checkpointCount(url)).toBeGreaterThan(before);
  }, 120_000);

  it('signs nothing over a tombstone that names a row holding no prune statement', async () => {
    const url = ledger(f, 'nostatement');
    await seed(f, url);
    await plantTombstone(url, OLD, OLD + 5);
    await expectRefused(url, `names row ${OLD + 5} for its prune statement, which holds none`);
  }, 120_000);

  it('signs nothing when no checkpoint of its key seals the prune statement', async () => {
    const url = ledger(f, 'unsealed');
    await seed(f, url);
    await pruned(f, url);
    const [t] = await psql<{ at: number }>(
      url,
      `SELECT statement_seq::int AS at FROM ${table(url, 'tombstones')}`,
    );
    await asReplica(url, `DELETE FROM ${table(url, 'checkpoints')} WHERE size > $1`, [t!.at]);
    await expectRefused(url, 'that no checkpoint this key signed seals');
  }, 120_000);

  it('signs nothing over a tombstone moved to a later signed head than its statement names', async () => {
    const url = ledger(f, 'moved');
    await seed(f, url);
    await pruned(f, url);
    await moveTombstone(url, OLD + YOUNG);
    await expectRefused(url, `not its own head`);
  }, 120_000);
});
