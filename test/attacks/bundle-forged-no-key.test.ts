import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { sealog } from './harness.js';
import { insiderKeys, sealedLedger } from './trust-helpers.js';

// Finding 6 of issue 14 (first half): `verify-bundle` without a trusted key
// exited 0 on a fully forged bundle; only a warning line told a person that
// the key came from the bundle itself. A forger makes any bundle
// self-consistent, so without a key the command must not pass it.

describe('attack: a fully forged bundle, verified without a trusted key', () => {
  it('verify-bundle exits 1 and says it is self-consistent only', async () => {
    const dir = tempDir();
    const forger = await insiderKeys(dir);
    const ledger = join(dir, 'forged.db');
    await sealedLedger(ledger, forger, 12, 'forged');
    const bundle = join(dir, 'bundle.json');
    const e = await sealog(['export', ledger, '--key-file', forger.vkeyFile, '--out', bundle]);
    expect(e.code, e.err).toBe(0);

    const human = await sealog(['verify-bundle', bundle]);
    expect(human.code).toBe(1);
    expect(human.out).toMatch(/^NOT VERIFIED: self-consistent only/);
    expect(human.out).not.toMatch(/^VERIFIED/m);
    const json = await sealog(['verify-bundle', bundle, '--json']);
    expect(json.code).toBe(1);
    const r = JSON.parse(json.out) as { status: string; keySource: string };
    expect(r).toMatchObject({ status: 'self-consistent', keySource: 'bundle' });
  });
});
