// A signing writer of a pruned PostgreSQL ledger requires the evidence verify
// requires before it starts from a tombstone (store/postgres/prune-evidence.ts):
// the row the tombstone names holds a prune statement signed by the writer's own
// key, sealed, naming that head. The attacker can write the database (triggers
// off) but holds no key: a tombstone of a real checkpoint with its real compact
// range, rows deleted below it, must make the writer sign nothing (E_TAMPER
// through onError) while it still stores the records it is given.
import { describe, expect, it } from 'vitest';
import { psql } from '../helpers/postgres.js';
import { table } from './harness.js';
import {
  asReplica,
  checkpointCount,
  expectWriterRefused,
  ledger,
  moveTombstone,
  OLD,
  plantTombstone,
  pruned,
  pruneFixture,
  seed,
  writeAfter,
  YOUNG,
} from './prune-helpers.js';

const f = pruneFixture('pg_prune_writer');

describe('a writer starting from a tombstone requires its prune statement', () => {
  it('signs after a genuine prune', async () => {
    const url = ledger(f, 'genuine');
    await seed(f, url);
    await pruned(f, url);
    const before = await checkpointCount(url);
    const errors = await writeAfter(f, url, 12);
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(await checkpointCount(url)).toBeGreaterThan(before);
  }, 120_000);

  it('signs nothing over a tombstone that names a row holding no prune statement', async () => {
    const url = ledger(f, 'nostatement');
    await seed(f, url);
    await plantTombstone(url, OLD, OLD + 5);
    await expectWriterRefused(f, url, `names row ${OLD + 5} for its prune statement, which holds none`);
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
    await expectWriterRefused(f, url, 'that no checkpoint this key signed seals');
  }, 120_000);

  it('signs nothing over a tombstone moved to a later signed head than its statement names', async () => {
    const url = ledger(f, 'moved');
    await seed(f, url);
    await pruned(f, url);
    await moveTombstone(url, OLD + YOUNG);
    await expectWriterRefused(f, url, `not its own head`);
  }, 120_000);
});
