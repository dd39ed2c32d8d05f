import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  connectStore,
  fileCheckpointKey,
  loadSignerKeyFile,
  openSink,
  rotationEntry,
  signRotation,
} from '../../packages/core/src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { keygen, sealog } from './harness.js';

// Issue 17 red team: a statement binds a hand-over to a ledger only through
// its root. At size 0 the root is the empty tree's, the same for every
// ledger: one key k0 signs two ledgers (same origin); `key rotate` of the
// empty ledger A makes a size-0 statement, and an attacker with no key
// appends it to ledger B. B never rotated.

describe('a size-0 statement replayed into another ledger of the same key', () => {
  it('is not followed: B’s own k0 checkpoints stay valid', async () => {
    const dir = tempDir();
    const k0 = await keygen(dir, 'example.com/a', 'k0');
    const k1 = await keygen(dir, 'example.com/a', 'k1');
    const a = join(dir, 'a.db');
    const b = join(dir, 'b.db');
    await (await openSink({ path: a, checkpoint: { keyFile: k0.keyFile } })).close();
    const sb = await openSink({ path: b, checkpoint: { keyFile: k0.keyFile } });
    for (let i = 0; i < 5; i++) sb.write({ level: 30, time: Date.now(), msg: `b${i}` });
    await sb.close();
    // our own tool refuses to hand over an empty ledger…
    const r = await sealog(['key', 'rotate', a, '--key', k0.keyFile, '--new-key', k1.keyFile]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/holds no records/);
    // …so the attacker builds the size-0 statement with the API (as whoever holds k0 and k1 could)
    const key = (k: typeof k0) => fileCheckpointKey(loadSignerKeyFile(k.keyFile));
    const sa = await connectStore(a, { create: false });
    const note = await signRotation(await sa.head(), key(k0), key(k1));
    const summary = {
      origin: 'example.com/a',
      size: 0,
      key: { name: 'example.com/a', keyId: new Uint8Array(4) },
    };
    await sa.append([rotationEntry(note, summary, Date.now())]);
    await sa.close();
    // the attacker copies A's rotation entry to B's tail (an unsealed row, within policy)
    const da = new Database(a, { readonly: true });
    const entry = (da.prepare('SELECT entry FROM records WHERE seq = 0').get() as { entry: Buffer }).entry;
    da.close();
    const store = await connectStore(b, { create: false });
    await store.append([{ entry, ts: (JSON.parse(entry.toString()) as { time: number }).time }]);
    await store.close();
    const v = await sealog(['verify', b, '--json', '--key', k0.vkeys[0]!]);
    const report = JSON.parse(v.out) as {
      findings: { kind: string; message: string }[];
      rotations?: unknown[];
    };
    const kinds = report.findings.map((f) => f.kind);
    expect(kinds, JSON.stringify(report.findings)).not.toContain('retired-key');
    expect(kinds).not.toContain('no-checkpoint');
    expect(report.rotations ?? []).toEqual([]);
    // the planted entry itself is reported: only sealog writes one, and this one is not valid
    expect(kinds).toContain('forged-rotation');
    expect(report.findings.find((f) => f.kind === 'forged-rotation')!.message).toMatch(/size 0/);
  }, 60_000);
});
