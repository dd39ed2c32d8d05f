import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { keygen, sealog } from './harness.js';
import { sealedLedger } from './trust-helpers.js';

// Finding 6 of issue 14 (second half): a bundle directory carries copies of
// its parts for people (entries.jsonl, manifest.json, ...), and its README
// said the verifier re-checks them; it never did. The sender of a bundle
// could show people other records than those that verified.

async function exported(): Promise<{ dir: string; vkeyFile: string }> {
  const root = tempDir();
  const keys = await keygen(root);
  const ledger = join(root, 'audit.db');
  await sealedLedger(ledger, keys, 12, 'real');
  const dir = join(root, 'bundle');
  const e = await sealog(['export', ledger, '--key-file', keys.vkeyFile, '--out', dir]);
  if (e.code !== 0) throw new Error(e.err);
  return { dir, vkeyFile: keys.vkeyFile };
}

describe('attack: side files of a bundle directory edited, bundle.json untouched', () => {
  it('an edited entries.jsonl fails verify-bundle', async () => {
    const b = await exported();
    const ok = await sealog(['verify-bundle', b.dir, '--key-file', b.vkeyFile]);
    expect(ok.code, ok.out).toBe(0);
    const path = join(b.dir, 'entries.jsonl');
    writeFileSync(path, readFileSync(path, 'utf8').replace('"tag":"real"', '"tag":"nothing happened"'));

    const v = await sealog(['verify-bundle', b.dir, '--key-file', b.vkeyFile, '--json']);
    expect(v.code).toBe(1);
    const r = JSON.parse(v.out) as { status: string; problems: string[] };
    expect(r.status).toBe('failed');
    expect(r.problems).toContain(
      'entries.jsonl differs from bundle.json: it does not show what was verified; do not rely on it',
    );
  });

  it('an edited manifest.json fails verify-bundle', async () => {
    const b = await exported();
    const path = join(b.dir, 'manifest.json');
    const m = JSON.parse(readFileSync(path, 'utf8')) as { withheld: number; selection: string[] };
    m.selection = ['--level info'];
    writeFileSync(path, `${JSON.stringify(m, null, 2)}\n`);

    const v = await sealog(['verify-bundle', b.dir, '--key-file', b.vkeyFile]);
    expect(v.code).toBe(1);
    expect(v.out).toMatch(/^FAILED/);
    expect(v.out).toMatch(/problem: +manifest\.json differs from bundle\.json/);
  });
});
