import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  connectStore,
  cosign,
  fileCheckpointKey,
  loadSignerKeyFile,
  parseNote,
  sealHead,
} from '../../packages/core/src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { attackerOpen, type Keys, keygen, sealog } from './harness.js';
import { sealedLedger } from './trust-helpers.js';

// Issue 17 red team: how the keys the verifier gives combine with the ledger's
// rotation entries. Ledger: k0 seals 20, `key rotate` k0 -> k1 (hand-over at
// size 20), k1 seals 10 (size 31). `sealog verify --help` says "Repeat for old
// keys after a rotation"; checkpoints.md §8 "Verifiers may still be given
// several keys".

const O = 'example.com/audit';

async function rotated(): Promise<{ path: string; k0: Keys; k1: Keys }> {
  const dir = tempDir();
  const k0 = await keygen(dir, O, 'k0');
  const k1 = await keygen(dir, O, 'k1');
  const path = join(dir, 'audit.db');
  await sealedLedger(path, k0, 20, 'k0');
  const r = await sealog(['key', 'rotate', path, '--key', k0.keyFile, '--new-key', k1.keyFile]);
  if (r.code !== 0) throw new Error(r.err);
  await sealedLedger(path, k1, 10, 'k1');
  return { path, k0, k1 };
}

async function verify(path: string, ...args: string[]) {
  const r = await sealog(['verify', path, '--json', ...args]);
  const report = JSON.parse(r.out) as {
    findings: { kind: string; message: string }[];
    checkpoints: { id?: number; size: number; time?: number; valid: boolean }[];
  };
  return { code: r.code, report, kinds: report.findings.map((f) => f.kind) };
}

describe('given keys and rotation entries', () => {
  it('an honest rotated ledger verifies when the old and the new key are both given', async () => {
    const { path, k0, k1 } = await rotated();
    const both = await verify(path, '--key', k0.vkeys[0]!, '--key', k1.vkeys[0]!);
    expect(both.report.findings).toEqual([]);
    expect(both.code).toBe(0);
    const files = await verify(path, '--key-file', k0.vkeyFile, '--key-file', k1.vkeyFile);
    expect(files.report.findings).toEqual([]);
  }, 60_000);

  it('k0 thief: a retired-key checkpoint is still reported when k0 is given twice (--key and --key-file)', async () => {
    const { path, k0 } = await rotated();
    const store = await connectStore(path, { create: false });
    await sealHead(store, fileCheckpointKey(loadSignerKeyFile(k0.keyFile))); // k0 signs size 31
    await store.close();
    const once = await verify(path, '--key', k0.vkeys[0]!);
    expect(once.kinds).toContain('retired-key'); // control
    const twice = await verify(path, '--key', k0.vkeys[0]!, '--key-file', k0.vkeyFile);
    expect(twice.code).toBe(1);
    expect(twice.kinds).toContain('retired-key');
  }, 60_000);

  it('k0 thief: k0’s time key does not vouch for the time of checkpoints after k0 handed over', async () => {
    const { path, k0 } = await rotated();
    const db = attackerOpen(path);
    const row = db.prepare('SELECT id, note FROM checkpoints ORDER BY id DESC LIMIT 1').get() as {
      id: number;
      note: string;
    };
    // k1's checkpoint of size 31: replace k1's time line by one from k0's time key, stamped 2100-01-01.
    const line = cosign(parseNote(row.note).text, loadSignerKeyFile(k0.keyFile).timeCosigner(), 4102444800);
    const kept = row.note.split('\n').filter((l) => !l.startsWith(`— ${O}/time `));
    const forged = `${kept.join('\n').replace(/\n+$/, '\n')}${line}`;
    db.prepare('UPDATE checkpoints SET note = ? WHERE id = ?').run(forged, row.id);
    db.close();
    const v = await verify(path, '--key-file', k0.vkeyFile);
    const listed = v.report.checkpoints.find((c) => c.id === row.id);
    expect({ code: v.code, time: listed?.time }).not.toEqual({ code: 0, time: 4102444800 });
    expect(v.code).toBe(1);
  }, 60_000);
});
