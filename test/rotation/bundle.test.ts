import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyBundle } from '../../packages/core/src/index.js';
import { keygen, sealog } from '../attacks/harness.js';
import { sealedLedger } from '../attacks/trust-helpers.js';
import { tempDir } from '../helpers/tmp.js';

// Issue 17 §3 for auditors: a bundle exported after two rotations carries the
// rotation entries with their proofs, so verify-bundle (and the browser page,
// which runs the same verifyBundle) given only the first key follows the chain.

describe('evidence bundles across key rotations', () => {
  it('verify-bundle given only the first key passes; stripped or edited rotations fail', async () => {
    const dir = tempDir();
    const k0 = await keygen(dir, 'example.com/audit', 'k0');
    const k1 = await keygen(dir, 'example.com/audit', 'k1');
    const k2 = await keygen(dir, 'example.com/audit', 'k2');
    const path = join(dir, 'audit.db');
    await sealedLedger(path, k0, 20, 'k0');
    expect((await sealog(['key', 'rotate', path, '--key', k0.keyFile, '--new-key', k1.keyFile])).code).toBe(
      0,
    );
    await sealedLedger(path, k1, 20, 'k1');
    expect((await sealog(['key', 'rotate', path, '--key', k1.keyFile, '--new-key', k2.keyFile])).code).toBe(
      0,
    );
    await sealedLedger(path, k2, 20, 'k2');
    const out = join(dir, 'bundle.json');
    const e = await sealog(['export', path, '--key-file', k0.vkeyFile, '--out', out]);
    expect(e.code, e.err).toBe(0);
    const bundle = JSON.parse(readFileSync(out, 'utf8')) as {
      rotations?: { seq: number; proof: string[] }[];
    };
    expect(bundle.rotations?.map((r) => r.seq)).toEqual([20, 41]);

    const v = await sealog(['verify-bundle', out, '--key-file', k0.vkeyFile, '--json']);
    expect(v.code, v.out).toBe(0);
    const report = JSON.parse(v.out) as {
      status: string;
      rotations: unknown[];
      checkpoint: { time?: number };
    };
    expect(report.status).toBe('ok');
    expect(report.rotations).toHaveLength(2);
    expect(report.checkpoint.time).toBeGreaterThan(0); // stamped by k2's time key, followed from k0's

    // without the rotations the newest key is a stranger
    const stripped = { ...bundle, rotations: undefined };
    const r1 = verifyBundle(JSON.stringify(stripped), { keys: k0.vkeys });
    expect(r1.status).toBe('failed');
    expect(r1.problems.join('\n')).toMatch(/not given as trusted keys/);
    // a rotation whose inclusion proof was edited does not lead to the checkpoint
    const edited = structuredClone(bundle);
    edited.rotations![1]!.proof[0] = Buffer.alloc(32, 7).toString('base64');
    const r2 = verifyBundle(JSON.stringify(edited), { keys: k0.vkeys });
    expect(r2.status).toBe('failed');
    expect(r2.problems.join('\n')).toMatch(
      /key rotation at entry 41 .* is not included in the bundle checkpoint/,
    );
    // and the first key alone, given as the bundle's own keys, is still only self-consistency
    expect(verifyBundle(JSON.stringify(bundle)).status).toBe('self-consistent');
  });
});
