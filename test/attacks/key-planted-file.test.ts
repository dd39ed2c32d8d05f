import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { sealog } from './harness.js';
import { insiderKeys, ownerKeys, plantFile, sealedLedger } from './trust-helpers.js';

// Finding 3 of issue 14: a `--key` value was read as a file path when a file
// of that name existed. Key strings contain "/", so an insider who plants a
// file named like the real key (holding his own keys) in the directory where
// verify runs made his re-signed ledger (and bundle) pass with the real key
// on the command line. A --key value is now only ever a key string.

interface Report {
  ok: boolean;
  findings: { kind: string }[];
}

describe('attack: a file named like the real verifier key, holding the insider’s key', () => {
  it('verify --key <real key> does not read it, and fails the re-signed ledger', async () => {
    const dir = tempDir();
    const owner = await ownerKeys(dir);
    const path = join(dir, 'audit.db');
    await sealedLedger(path, owner, 30, 'real');
    // The insider rewrites history and re-signs it with his own key for the same origin.
    const insider = await insiderKeys(dir);
    const forged = join(dir, 'forged.db');
    await sealedLedger(forged, insider, 30, 'forged');
    rmSync(path, { force: true });
    renameSync(forged, path);
    // ...and plants a file named like the real key, in the directory verify runs in.
    plantFile(dir, owner.vkeys[0]!, `${insider.vkeys.join('\n')}\n`);

    const v = await sealog(['verify', path, '--key', owner.vkeys[0]!, '--strict', '--json'], { cwd: dir });
    expect(v.signal).toBeNull();
    expect(v.code).toBe(1);
    const r = JSON.parse(v.out) as Report;
    expect(r.ok).toBe(false);
    expect(r.findings.map((f) => f.kind)).toContain('unknown-key');
    expect(r.findings.map((f) => f.kind)).toContain('no-checkpoint');
  });

  it('verify-bundle --key <real key> does not read a file shipped beside the forged bundle', async () => {
    const dir = tempDir();
    const owner = await ownerKeys(dir);
    const insider = await insiderKeys(dir);
    const forged = join(dir, 'forged.db');
    await sealedLedger(forged, insider, 20, 'forged');
    const bundle = join(dir, 'bundle');
    const e = await sealog(['export', forged, '--key-file', insider.vkeyFile, '--out', bundle]);
    expect(e.code, e.err).toBe(0);
    // The bundle is unpacked where the recipient runs verify-bundle; the planted file comes with it.
    plantFile(dir, owner.vkeys[0]!, `${insider.vkeys.join('\n')}\n`);

    const v = await sealog(['verify-bundle', bundle, '--key', owner.vkeys[0]!, '--json'], { cwd: dir });
    expect(v.code).toBe(1);
    const r = JSON.parse(v.out) as { status: string; keySource: string; problems: string[] };
    expect(r.status).toBe('failed');
    expect(r.keySource).toBe('given');
    expect(r.problems.join('\n')).toMatch(
      /checkpoint signature: signed only by keys not given as trusted keys/,
    );
  });

  it('a --key value that is a path is refused with a hint; a missing --key-file names the file', async () => {
    const dir = tempDir();
    const owner = await ownerKeys(dir);
    const path = join(dir, 'audit.db');
    await sealedLedger(path, owner, 5, 'real');
    const asPath = await sealog(['verify', path, '--key', owner.vkeyFile]);
    expect(asPath.code).toBe(2);
    expect(asPath.err).toMatch(/is not a verifier key/);
    expect(asPath.err).toContain(`use --key-file "${owner.vkeyFile}"`);
    const missing = join(dir, 'nope.vkeys');
    const gone = await sealog(['verify', path, '--key-file', missing]);
    expect(gone.code).toBe(2);
    expect(gone.err).toContain(`E_IO: cannot read key file ${missing}: no such file`);
    // Both forms, combined and repeated, are the same keys.
    const both = await sealog([
      'verify',
      path,
      '--key',
      owner.vkeys[0]!,
      '--key-file',
      owner.vkeyFile,
      '--strict',
    ]);
    expect(both.code, both.out + both.err).toBe(0);
  });
});
