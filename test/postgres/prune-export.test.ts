// `sealog export` of a pruned PostgreSQL ledger (docs/lifecycle.md "Pruning a
// PostgreSQL ledger"): the bundle's proof tree takes the subtrees below the cut
// from the tombstone's compact range, accepted only once the tombstone proves
// itself as verify requires, so a bundle of records after the cut passes the
// unchanged `sealog verify-bundle`; records below the cut, or a forged
// tombstone, are refused. Through the real CLI against a real server.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyBundle } from '../../packages/core/src/bundle/verify.js';
import { runBin, table } from './harness.js';
import {
  asReplica,
  DAY,
  ledger,
  OLD,
  plantTombstone,
  pruned,
  pruneFixture,
  seed,
  YOUNG,
} from './prune-helpers.js';

const f = pruneFixture('pg_prune_export');

const exportTo = (url: string, out: string, ...more: string[]) =>
  runBin(['export', url, '--key-file', f.key.pub, '--out', out, ...more]);

describe('sealog export of a pruned PostgreSQL ledger', () => {
  it('exports records after the cut with proofs verify-bundle accepts, and refuses pruned ones', async () => {
    const url = ledger(f, 'ok');
    await seed(f, url);
    await pruned(f, url);
    const out = join(f.dir, 'after.json');
    const r = await exportTo(url, out, '--seq', `${OLD + 3}..${OLD + 40}`);
    expect(r.code, r.err).toBe(0);
    const bundle = JSON.parse(readFileSync(out, 'utf8')) as {
      entries: { seq: number; proof: string[] }[];
      manifest: { checkpoint: { size: number } };
    };
    expect(bundle.entries).toHaveLength(38);
    expect(bundle.entries[0]!.seq).toBe(OLD + 3);
    expect(bundle.manifest.checkpoint.size).toBeGreaterThan(OLD + YOUNG);
    const ok = await runBin(['verify-bundle', out, '--key-file', f.key.pub]);
    expect(ok.code, ok.out + ok.err).toBe(0);
    // The browser verifier's judgement (web-verifier main.ts calls this on the file's bytes).
    const vkeys = readFileSync(f.key.pub, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const web = verifyBundle(new Uint8Array(readFileSync(out)), { keys: vkeys });
    expect(web.status, JSON.stringify(web)).toBe('ok');
    // Everything kept, streamed as JSON Lines: verify-bundle checks it line by line.
    const all = join(f.dir, 'all.jsonl');
    const s = await exportTo(url, all);
    expect(s.code, s.err).toBe(0);
    const lines = readFileSync(all, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(1 + YOUNG);
    const v = await runBin(['verify-bundle', all, '--key-file', f.key.pub]);
    expect(v.code, v.out + v.err).toBe(0);
    // A selection reaching below the cut says where the kept records start.
    const below = await exportTo(url, join(f.dir, 'below.json'), '--seq', `5..${OLD + 5}`);
    expect(below.code).toBe(2);
    expect(below.err).toContain(`pruned under retention at ${OLD}`);
    expect(below.err).toContain(`the oldest kept record is ${OLD}`);
    const upTo = await exportTo(url, join(f.dir, 'upto.json'), '--seq', '..10');
    expect(upTo.code).toBe(2);
    expect(upTo.err).toContain(`pruned under retention at ${OLD}`);
    const since = new Date(Date.now() - 401 * DAY).toISOString();
    const byTime = await exportTo(url, join(f.dir, 'bytime.json'), '--from', since);
    expect(byTime.code).toBe(2);
    expect(byTime.err).toContain(`the oldest kept record is ${OLD}: select records after`);
  }, 180_000);

  it('refuses when the compact range of the tombstone was edited', async () => {
    const url = ledger(f, 'forged');
    await seed(f, url);
    await pruned(f, url);
    await asReplica(
      url,
      `UPDATE ${table(url, 'tombstones')} SET compact = set_byte(compact, 0, get_byte(compact, 0) # 1)`,
    );
    const r = await exportTo(url, join(f.dir, 'forged.json'), '--seq', `${OLD + 3}..${OLD + 9}`);
    expect(r.code, r.err).toBe(1);
    expect(r.err).toContain('compact range does not hash to the root its checkpoint signs');
  }, 180_000);

  it('refuses a tombstone whose hashes are right but no prune statement authorised', async () => {
    const url = ledger(f, 'nostatement');
    await seed(f, url);
    await plantTombstone(url, OLD, OLD + 5);
    const r = await exportTo(url, join(f.dir, 'planted.json'), '--seq', `${OLD + 10}..${OLD + 20}`);
    expect(r.code, r.err).toBe(1);
    expect(r.err).toContain('holds none');
  }, 180_000);
});
