import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ChainState } from '../../packages/core/src/chain/state.js';
import { sealog } from '../attacks/harness.js';
import { tempDir } from '../helpers/tmp.js';
import { makeSegmentedLedger } from '../segments-fixture.js';
import { hold, prune, verifyDir } from './helpers.js';

// Red-team finding 1: a file-only attacker (no key) copied a signed hold
// release for the same hold id from another ledger with the same key into the
// unsealed tail of the newest segment; hold list showed the hold released,
// prune pruned the held segment (and sealed the planted row), verify said OK.

/** Appends `entry` to ledger file `target` with a correct chain hash: all a writer does but sign. */
function inject(target: string, entry: Buffer, ts: number): void {
  const db = new Database(target);
  try {
    const st = new ChainState();
    for (const r of db.prepare('SELECT entry FROM records ORDER BY seq').iterate() as Iterable<{
      entry: Buffer;
    }>)
      st.append(r.entry);
    const seq = st.size;
    const chain = st.append(entry);
    db.prepare('INSERT INTO records (seq, ts, entry, chain) VALUES (?, ?, ?, ?)').run(seq, ts, entry, chain);
    db.prepare('UPDATE ledger_state SET size = ?, chain_head = ?, compact = ? WHERE id = 0').run(
      st.size,
      st.chainHead,
      st.encodeCompact(),
    );
  } finally {
    db.close();
  }
}

function lastRelease(file: string): { entry: Buffer; ts: number } {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare(
        `SELECT entry, ts FROM records WHERE CAST(entry AS TEXT) LIKE '%"holdRelease"%' ORDER BY seq DESC LIMIT 1`,
      )
      .get() as { entry: Buffer; ts: number };
  } finally {
    db.close();
  }
}

describe('a copied hold release', () => {
  it('from another ledger with the same key releases nothing, and prune refuses while it is unsealed', async () => {
    const root = tempDir();
    const old = (i: number) => Date.UTC(2025, 0, 1) + i * 1000;
    const b = await makeSegmentedLedger(join(root, 'B'), { segments: [4, 4, 4, 2], time: old });
    const a = await makeSegmentedLedger(join(root, 'A'), { segments: [4, 4, 4, 2], time: old, key: b.keys });
    const placeB = await hold(b, 'add', '--id', 'case-7', '--segment', '2', '--reason', 'litigation 7');
    expect(placeB.code, placeB.err).toBe(0);
    expect((await hold(a, 'add', '--id', 'case-7', '--segment', '2', '--reason', 'litigation 7')).code).toBe(
      0,
    );
    const rel = await hold(a, 'release', '--id', 'case-7', '--reason', 'A not relevant');
    expect(rel.code, rel.err).toBe(0);

    // The attacker copies A's release row into B's newest segment.
    const r = lastRelease(a.segments.at(-1)!.path);
    inject(b.segments.at(-1)!.path, r.entry, r.ts);

    const listed = await hold(b, 'list', '--json');
    expect(listed.code, listed.err).toBe(0);
    const holds = (JSON.parse(listed.out) as { holds: { id: string; active: boolean }[] }).holds;
    expect(holds).toEqual([expect.objectContaining({ id: 'case-7', active: true })]);

    // Prune refuses to plan over an unsealed sealog statement (its seal would cover it).
    const refused = await prune(b, '--before', 'now', '--yes');
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/no checkpoint covers yet/);
    expect(refused.err).toMatch(/sealog checkpoint/);

    // Sealed (the operator ran sealog checkpoint): it still names A's hold, not B's.
    const sealed = await sealog(['checkpoint', b.segments.at(-1)!.path, '--key', b.keys.keyFile]);
    expect(sealed.code, sealed.err).toBe(0);
    const again = await hold(b, 'list', '--json');
    expect((JSON.parse(again.out) as { holds: { active: boolean }[] }).holds[0]!.active).toBe(true);
    const pruned = await prune(b, '--before', 'now', '--yes');
    expect(pruned.code, pruned.err).toBe(0);
    expect(pruned.out).toMatch(/pruned segment 1 /);
    expect(pruned.out).not.toMatch(/pruned segment 2 /);
    expect(pruned.err).toMatch(/legal hold case-7/);
    const v = await verifyDir(b);
    expect(v.report.findings).toEqual([]);
    expect(v.report.holds).toEqual([expect.objectContaining({ id: 'case-7', active: true })]);

    // B's own release, which names B's hold, ends it.
    const own = await hold(b, 'release', '--id', 'case-7', '--reason', 'litigation 7 closed');
    expect(own.code, own.err).toBe(0);
    const after = await verifyDir(b);
    expect(after.report.holds).toEqual([expect.objectContaining({ id: 'case-7', active: false })]);
    expect(after.run.code).toBe(0);
  });

  it('hold add refuses an id used by a hold still visible, released or not', async () => {
    const root = tempDir();
    const l = await makeSegmentedLedger(join(root, 'L'), { segments: [4, 4, 2] });
    expect((await hold(l, 'add', '--id', 'LIT-9', '--segment', '2', '--reason', 'LIT-9')).code).toBe(0);
    expect((await hold(l, 'release', '--id', 'LIT-9', '--reason', 'LIT-9 closed')).code).toBe(0);
    const again = await hold(l, 'add', '--id', 'LIT-9', '--segment', '1', '--reason', 'LIT-9 reopened');
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already exists/);
  });
});
