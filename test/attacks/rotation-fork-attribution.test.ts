import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { leafHash } from '../../packages/core/src/hash.js';
import {
  canonicalJson,
  connectStore,
  fileCheckpointKey,
  loadSignerKeyFile,
  signRotation,
} from '../../packages/core/src/index.js';
import { CompactRange } from '../../packages/core/src/merkle.js';
import { tempDir } from '../helpers/tmp.js';
import { attackerOpen, type Keys, keygen, sealog } from './harness.js';
import { sealedLedger } from './trust-helpers.js';

// Issue 17 red team: `key-fork` says "someone else holds a copy of the key"
// (docs/verify.md). It must name the right entry, and must not be raised by an
// attacker who holds no trusted key. Ledger: k0 seals 20, `key rotate` k0 -> k1
// (entry 20, hand-over at size 20), k1 seals 10 (size 31).

const O = 'example.com/audit';
const ck = (k: Keys) => fileCheckpointKey(loadSignerKeyFile(k.keyFile));

async function rotated(): Promise<{ path: string; k0: Keys; k1: Keys; thief: Keys; note: string }> {
  const dir = tempDir();
  const k0 = await keygen(dir, O, 'k0');
  const k1 = await keygen(dir, O, 'k1');
  const thief = await keygen(dir, O, 'thief');
  const path = join(dir, 'audit.db');
  await sealedLedger(path, k0, 20, 'k0');
  const r = await sealog(['key', 'rotate', path, '--key', k0.keyFile, '--new-key', k1.keyFile]);
  if (r.code !== 0) throw new Error(r.err);
  await sealedLedger(path, k1, 10, 'k1');
  const db = attackerOpen(path);
  const entry = (db.prepare('SELECT entry FROM records WHERE seq = 20').get() as { entry: Buffer }).entry;
  db.close();
  const note = (JSON.parse(entry.toString()) as { _sealog: { keyRotation: string } })._sealog.keyRotation;
  return { path, k0, k1, thief, note };
}

async function plant(path: string, note: string): Promise<void> {
  const store = await connectStore(path, { create: false });
  try {
    await store.append([
      { entry: Buffer.from(canonicalJson({ _sealog: { keyRotation: note }, time: 1 })), ts: 1 },
    ]);
  } finally {
    await store.close();
  }
}

async function findings(path: string, key: string) {
  const r = await sealog(['verify', path, '--json', '--key', key]);
  return {
    code: r.code,
    findings: (JSON.parse(r.out) as { findings: { kind: string; message: string; seq?: number }[] }).findings,
  };
}

describe('key-fork attribution', () => {
  it('an attacker with no key who re-posts the real statement with k0’s line removed does not cause a key-fork', async () => {
    const { path, k0, note } = await rotated();
    // Keep the text and k1's own line only: the note now "verifies" under k1, which may sign at size 20.
    // (key rotate signs with the outgoing key first, then the new one)
    const lines = note.split('\n');
    lines.splice(
      lines.findIndex((l) => l.startsWith('— ')),
      1,
    );
    const stripped = lines.join('\n');
    expect(stripped.split('\n').filter((l) => l.startsWith('— '))).toHaveLength(1);
    await plant(path, stripped);
    const v = await findings(path, k0.vkeys[0]!);
    expect(v.code).toBe(1); // a planted, unsigned entry must still be reported
    const kinds = v.findings.map((f) => f.kind);
    expect(kinds, JSON.stringify(v.findings)).not.toContain('key-fork');
    expect(kinds).toContain('forged-rotation');
  }, 60_000);

  it('a k0 thief’s second hand-over at a smaller size is the fork reported, not the real rotation', async () => {
    const { path, k0, thief } = await rotated();
    const db = attackerOpen(path);
    const rows = db.prepare('SELECT entry FROM records WHERE seq < 10 ORDER BY seq').all() as {
      entry: Buffer;
    }[];
    db.close();
    const range = new CompactRange();
    for (const r of rows) range.append(leafHash(r.entry));
    const root = range.root();
    await plant(path, await signRotation({ size: 10, root }, ck(k0), ck(thief)));
    const v = await findings(path, k0.vkeys[0]!);
    expect(v.code).toBe(1);
    const fork = v.findings.find((f) => f.kind === 'key-fork');
    // the thief's entry is 31 (appended after k1 sealed); the real one is 20
    expect(fork?.seq, JSON.stringify(v.findings)).toBe(31);
  }, 60_000);
});
