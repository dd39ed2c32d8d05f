import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { attackerOpen, keygen, rechainAll, rewriteRow, sealog } from './harness.js';
import { sealedLedger } from './trust-helpers.js';

// Finding 4 of issue 14: after a file-only insider rewrote the whole history
// and dropped every checkpoint row, `verify --key <real>` said "0 stored (0
// valid) … OK: intact; the last 30 record(s) are chained but not yet
// covered". A chain anyone can recompute proves nothing; only a checkpoint
// signed by a trusted key does. Likewise a tail longer than the verifier's
// sealing policy, and a verify run with no key at all.

interface Report {
  ok: boolean;
  trust: string;
  sealed: number;
  unsealed: number;
  maxUnsealed: number;
  findings: { kind: string; message: string }[];
}

const entry = (i: number, tag: string) =>
  Buffer.from(`{"level":30,"msg":"audit event","tag":"${tag}","time":${1_700_000_000_000 + i}}`);

describe('attack: the whole history rewritten and every checkpoint row dropped', () => {
  it('verify with the real key fails: no trusted checkpoint covers any record', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = join(dir, 'audit.db');
    await sealedLedger(path, keys, 30, 'real');
    const db = attackerOpen(path);
    for (let i = 0; i < 30; i++)
      db.prepare('UPDATE records SET entry = ? WHERE seq = ?').run(entry(i, 'forged'), i);
    db.prepare('UPDATE records SET ts = ? + seq').run(1_700_000_000_000);
    rechainAll(db);
    db.exec('DELETE FROM checkpoints');
    db.close();

    const human = await sealog(['verify', path, '--key-file', keys.vkeyFile]);
    expect(human.code).toBe(1);
    expect(human.out).not.toMatch(/OK/);
    expect(human.out).toMatch(/no checkpoint signed by a trusted key covers any of the 30 record/);
    const v = await sealog(['verify', path, '--key-file', keys.vkeyFile, '--json']);
    expect(v.code).toBe(1);
    const r = JSON.parse(v.out) as Report;
    expect(r.ok).toBe(false);
    expect(r.sealed).toBe(0);
    expect(r.findings.map((f) => f.kind)).toContain('no-checkpoint');
  });

  it('verify fails when the unsealed tail is longer than the policy (--max-unsealed, default 2000)', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = join(dir, 'audit.db');
    await sealedLedger(path, keys, 30, 'real');
    // The insider appends 2100 chained but unsigned records after the last checkpoint.
    const db = attackerOpen(path);
    const ins = db.prepare('INSERT INTO records (seq, ts, entry, chain) VALUES (?, ?, ?, ?)');
    db.transaction(() => {
      for (let i = 30; i < 2130; i++)
        ins.run(i, 1_700_000_000_000 + i, entry(i, 'appended'), Buffer.alloc(32));
    })();
    rechainAll(db);
    db.close();

    const v = await sealog(['verify', path, '--key-file', keys.vkeyFile, '--json']);
    expect(v.code).toBe(1);
    const r = JSON.parse(v.out) as Report;
    expect(r.ok).toBe(false);
    expect(r.unsealed).toBe(2100);
    expect(r.maxUnsealed).toBe(2000);
    const unsealed = r.findings.find((f) => f.kind === 'unsealed');
    expect(unsealed?.message).toMatch(
      /the last 2100 record\(s\) \(from row 30 on\) are not covered by any valid checkpoint; the policy allows 2000/,
    );
    // The verifier may state a looser policy; then the tail is reported, not failed.
    const loose = await sealog(['verify', path, '--key-file', keys.vkeyFile, '--max-unsealed', '5000']);
    expect(loose.code, loose.out).toBe(0);
    expect(loose.out).toMatch(/OK: intact up to the checkpoint at 30; the last 2100 record/);
  });

  it('verify with no key says only the chain was checked, and exits 1 unless --chain-only', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = join(dir, 'audit.db');
    await sealedLedger(path, keys, 30, 'real');
    const db = attackerOpen(path);
    // Keeps the row's time, so only the missing signature could tell.
    const ts = db.prepare('SELECT ts FROM records WHERE seq = 5').pluck().get() as number;
    rewriteRow(db, 5, Buffer.from(`{"level":30,"msg":"audit event","tag":"forged","time":${ts}}`));
    db.exec('DELETE FROM checkpoints');
    db.close();

    const none = await sealog(['verify', path, '--json']);
    expect(none.code).toBe(1);
    const r = JSON.parse(none.out) as Report;
    expect(r.trust).toBe('chain-only');
    expect(r.findings.map((f) => f.kind)).toEqual(['no-trusted-key']);
    const chain = await sealog(['verify', path, '--chain-only']);
    expect(chain.code).toBe(0);
    expect(chain.out).toMatch(/OK \(chain only\).*no signature was checked/);
    expect(chain.out).not.toMatch(/intact/);
  });
});
