// Removals a tombstone does not authorise are findings, never "expired"
// (docs/lifecycle.md "Pruning a PostgreSQL ledger"): the attacker here is a
// superuser who switches the append-only triggers off and edits rows and
// tombstones at will, without the signing key.
import { describe, expect, it } from 'vitest';
import { openSink } from '../../packages/core/src/index.js';
import { psql } from '../helpers/postgres.js';
import { table } from './harness.js';
import {
  asReplica,
  checkpointCount,
  expectFinding,
  ledger,
  moveTombstone,
  noteAt,
  OLD,
  plantTombstone,
  prune,
  pruned,
  pruneFixture,
  seed,
  seqRange,
  YOUNG,
} from './prune-helpers.js';

const f = pruneFixture('pg_prune_attacks');

/** Flips one bit of the tombstone's compact range (the frontier hash), as a superuser without the key can. */
const forgeFrontier = (url: string): Promise<void> =>
  asReplica(
    url,
    `UPDATE ${table(url, 'tombstones')} SET compact = set_byte(compact, 0, get_byte(compact, 0) # 1)`,
  );

describe('removals a tombstone does not authorise are findings', () => {
  it('a forged frontier hash', async () => {
    const url = ledger(f, 'forged');
    await seed(f, url);
    await pruned(f, url);
    await forgeFrontier(url);
    await expectFinding(f, url, 'bad-tombstone');
  }, 120_000);

  it('an unexpired row range deleted after the cut', async () => {
    const url = ledger(f, 'after');
    await seed(f, url);
    await pruned(f, url);
    await asReplica(url, `DELETE FROM ${table(url, 'records')} WHERE seq >= $1 AND seq < $2`, [
      OLD + 10,
      OLD + 20,
    ]);
    await expectFinding(f, url, 'deleted');
  }, 120_000);

  it('rows put back below the cut', async () => {
    const url = ledger(f, 'below');
    await seed(f, url);
    await pruned(f, url);
    await psql(
      url,
      `INSERT INTO ${table(url, 'records')} (seq, ts, entry, chain) VALUES (5, 0, convert_to('{"i":5}', 'UTF8'), $1)`,
      [Buffer.alloc(32)],
    );
    await expectFinding(f, url, 'inserted', { tombstoneValid: true });
  }, 120_000);

  it('rows deleted with no tombstone', async () => {
    const url = ledger(f, 'none');
    await seed(f, url);
    await asReplica(url, `DELETE FROM ${table(url, 'records')} WHERE seq < $1`, [OLD]);
    await expectFinding(f, url, 'deleted');
  }, 120_000);

  it('a tombstone with every hash right but no prune statement', async () => {
    const url = ledger(f, 'nostatement');
    await seed(f, url);
    await plantTombstone(url, OLD, OLD + 5);
    await expectFinding(f, url, 'bad-tombstone');
  }, 120_000);

  it('a tombstone whose checkpoint is not signed (the rest of the prune genuine)', async () => {
    const url = ledger(f, 'unsigned');
    await seed(f, url);
    await pruned(f, url);
    const note = await noteAt(url, OLD);
    const forged = note.replace(/(\n— \S+ )(\S)/, (_m, a: string, c: string) => a + (c === 'A' ? 'B' : 'A'));
    expect(forged).not.toBe(note);
    await asReplica(url, `UPDATE ${table(url, 'tombstones')} SET note = $1`, [forged]);
    await expectFinding(f, url, 'bad-tombstone');
  }, 120_000);

  it('a writer starting from a forged tombstone signs nothing', async () => {
    const url = ledger(f, 'writer');
    await seed(f, url);
    await pruned(f, url);
    // Checkpoint rows from the cut on deleted too: the tombstone is all the writer has.
    await asReplica(url, `DELETE FROM ${table(url, 'checkpoints')} WHERE size >= $1`, [OLD]);
    await forgeFrontier(url);
    const before = await checkpointCount(url);
    const sink = await openSink({ path: url, checkpoint: { keyFile: f.key.keyFile, everyRecords: 1000 } });
    for (let i = 0; i < 10; i++) sink.write({ w: 'after', i });
    await sink.close().catch(() => {});
    expect(await checkpointCount(url)).toBe(before);
  }, 120_000);

  it('rows deleted beyond the cut with the tombstone moved to a later signed head', async () => {
    const url = ledger(f, 'moved');
    await seed(f, url);
    await pruned(f, url);
    // The real statement stays; the attacker moves the cut to the next signed head.
    await moveTombstone(url, OLD + YOUNG);
    await expectFinding(f, url, 'bad-tombstone');
  }, 120_000);
});

describe('what prune refuses', () => {
  it('a ledger that does not verify: nothing removed, exit 1', async () => {
    const url = ledger(f, 'refuse');
    await seed(f, url);
    await asReplica(
      url,
      `UPDATE ${table(url, 'records')} SET entry = convert_to('{"i":1}', 'UTF8') WHERE seq = 3`,
    );
    const r = await prune(f, url);
    expect(r.code, r.err).toBe(1);
    expect((await seqRange(url)).lo).toBe(0);
  }, 120_000);
});
