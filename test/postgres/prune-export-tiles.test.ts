// `sealog tiles` of a pruned PostgreSQL ledger is refused, naming the cut
// (docs/lifecycle.md "Pruning a PostgreSQL ledger"): a tlog-tiles log serves
// every entry from index 0 and tiles of leaf hashes, which the pruned records
// no longer have. Through the real CLI against a real server.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBin } from './harness.js';
import { ledger, OLD, pruned, pruneFixture, seed } from './prune-helpers.js';

const f = pruneFixture('pg_prune_tiles');

describe('sealog tiles of a pruned PostgreSQL ledger', () => {
  it('publishes before the prune, and refuses after it naming the cut, publishing nothing', async () => {
    const url = ledger(f, 'tiles');
    await seed(f, url);
    const before = await runBin(['tiles', url, join(f.dir, 'before'), '--key-file', f.key.pub]);
    expect(before.code, before.err).toBe(0);
    await pruned(f, url);
    const out = join(f.dir, 'after');
    const r = await runBin(['tiles', url, out, '--key-file', f.key.pub]);
    expect(r.code, r.out + r.err).toBe(2);
    expect(r.err).toContain(`records 0..${OLD - 1} of this ledger were pruned under retention at ${OLD}`);
    expect(r.err).toContain(`sealog export --seq ${OLD}..`);
    expect(existsSync(join(out, 'checkpoint'))).toBe(false);
  }, 180_000);
});
