import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  connectStore,
  fileCheckpointKey,
  loadSignerKeyFile,
  openSink,
  parseRotation,
  rotationEntry,
  sealHead,
  signRotation,
} from '../../packages/core/src/index.js';
import { type Keys, keygen, sealog } from '../attacks/harness.js';
import { sealedLedger } from '../attacks/trust-helpers.js';
import { tempDir } from '../helpers/tmp.js';

// Issue 17 §3: a key hands over to the next with a statement both sign, so
// verify given only the first key follows the chain; a rotation the trusted
// key did not sign is reported as forged.

interface Report {
  ok: boolean;
  sealed: number;
  size: number;
  unsealed: number;
  findings: { kind: string; message: string }[];
}

async function verifyJson(path: string, ...args: string[]): Promise<{ code: number; report: Report }> {
  const r = await sealog(['verify', path, '--json', '--strict', ...args]);
  return { code: r.code, report: JSON.parse(r.out) as Report };
}

async function rotate(path: string, from: Keys, to: Keys, ...extra: string[]) {
  return sealog(['key', 'rotate', path, '--key', from.keyFile, '--new-key', to.keyFile, ...extra]);
}

const key = (k: Keys) => fileCheckpointKey(loadSignerKeyFile(k.keyFile));

/** An insider with write access appends `entries` and seals with the key they hold. */
async function insiderAppend(path: string, note: string, sealWith: Keys): Promise<void> {
  const store = await connectStore(path, { create: false });
  try {
    await store.append([rotationEntry(note, parseRotation(note), Date.now())]);
    await sealHead(store, key(sealWith));
  } finally {
    await store.close();
  }
}

describe('key rotation', () => {
  it('a ledger spanning two rotations verifies with the first key alone, and the writer resumes on the new key', async () => {
    const dir = tempDir();
    const k0 = await keygen(dir, 'example.com/audit', 'k0');
    const k1 = await keygen(dir, 'example.com/audit', 'k1');
    const k2 = await keygen(dir, 'example.com/audit', 'k2');
    const path = join(dir, 'audit.db');
    const anchor = join(dir, 'audit.anchor');
    await sealedLedger(path, k0, 25, 'k0');
    const r1 = await rotate(path, k0, k1, '--anchor', anchor);
    expect(r1.code, r1.err).toBe(0);
    expect(r1.out).toContain('sealog key rotation/v1');
    // a writer still configured with the old key is refused at startup, naming the new one
    const stale = await openSink({ path, checkpoint: { keyFile: k0.keyFile } }).catch((e: Error) => e);
    expect(stale).toBeInstanceOf(Error);
    expect((stale as Error).message).toMatch(
      /handed over at size 25 to example\.com\/audit\+.*configure the new key/,
    );
    await sealedLedger(path, k1, 25, 'k1');
    const r2 = await rotate(path, k1, k2);
    expect(r2.code, r2.err).toBe(0);
    await sealedLedger(path, k2, 25, 'k2');

    // only the first log key
    const v = await verifyJson(path, '--key', k0.vkeys[0]!);
    expect(v.report.findings).toEqual([]);
    expect(v.code).toBe(0);
    expect(v.report.size).toBe(77); // 75 records and 2 rotation entries
    expect(v.report.sealed).toBe(77);
    // the first log key and its time key: the new time keys are followed too
    const vt = await verifyJson(path, '--key-file', k0.vkeyFile);
    expect(vt.report.findings).toEqual([]);
    expect(vt.code).toBe(0);
    // without the chain (the newest key only) the old checkpoints are unknown-key
    const v2 = await verifyJson(path, '--key', k2.vkeys[0]!);
    expect(v2.code).toBe(1);
    expect(v2.report.findings.map((x) => x.kind)).toContain('unknown-key');
    // the anchor holds the old key's last checkpoint and the new key's first
    expect(readFileSync(anchor, 'utf8').match(/^example\.com\/audit$/gm)).toHaveLength(2);
  });

  it('a rotation to the attacker’s key, which the trusted key did not sign, is reported as forged', async () => {
    const dir = tempDir();
    const k0 = await keygen(dir, 'example.com/audit', 'k0');
    const evil = await keygen(dir, 'example.com/audit', 'evil');
    const path = join(dir, 'audit.db');
    await sealedLedger(path, k0, 20, 'k0');
    // The insider has the file, not k0: they sign the hand-over with their own key twice.
    const store = await connectStore(path, { create: false });
    const head = await store.head();
    await store.close();
    const note = await signRotation(head, key(evil), key(evil)).catch((e: Error) => e);
    // (our own API refuses a rotation to the same key; the insider writes the note by hand)
    expect(note).toBeInstanceOf(Error);
    const forged = await forgeStatement(head, evil);
    await insiderAppend(path, forged, evil);
    await sealedLedger(path, evil, 10, 'evil'); // the insider's writer, on their key
    const v = await verifyJson(path, '--key', k0.vkeys[0]!);
    expect(v.code).toBe(1);
    const kinds = v.report.findings.map((x) => x.kind);
    expect(kinds).toContain('forged-rotation');
    expect(v.report.findings.find((x) => x.kind === 'forged-rotation')!.message).toMatch(
      /not signed by a trusted key/,
    );
    // and nothing after the forged hand-over counts as sealed
    expect(v.report.sealed).toBe(20);
  });

  it('a trusted checkpoint signature line pasted under a forged statement does not endorse it', async () => {
    const dir = tempDir();
    const k0 = await keygen(dir, 'example.com/audit', 'k0');
    const evil = await keygen(dir, 'example.com/audit', 'evil');
    const path = join(dir, 'audit.db');
    await sealedLedger(path, k0, 20, 'k0');
    const store = await connectStore(path, { create: false });
    const head = await store.head();
    const k0Note = (await store.lastCheckpointNote()) as string;
    await store.close();
    // The separable-lines attack: lift k0's line off a real checkpoint.
    const k0Line = k0Note.split('\n').find((l) => l.startsWith(`— example.com/audit `))!;
    const forged = await forgeStatement(head, evil, [k0Line]);
    await insiderAppend(path, forged, evil);
    const v = await verifyJson(path, '--key', k0.vkeys[0]!);
    expect(v.code).toBe(1);
    expect(v.report.findings.map((x) => x.kind)).toContain('forged-rotation');
  });

  it('a key that endorses two successors is a fork; a checkpoint the retired key signs later is reported', async () => {
    const dir = tempDir();
    const k0 = await keygen(dir, 'example.com/audit', 'k0');
    const k1 = await keygen(dir, 'example.com/audit', 'k1');
    const thief = await keygen(dir, 'example.com/audit', 'thief');
    const path = join(dir, 'audit.db');
    await sealedLedger(path, k0, 20, 'k0');
    expect((await rotate(path, k0, k1)).code).toBe(0);
    await sealedLedger(path, k1, 10, 'k1');
    // Our own CLI refuses a second hand-over from k0
    const again = await rotate(path, k0, thief);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already handed over at size 20 to example.com\/audit\+/);
    // Someone who copied k0 before the rotation: a k0 seal of the new head, and a second hand-over.
    const store = await connectStore(path, { create: false });
    try {
      const seal = (await sealHead(store, key(k0)))!;
      const note = await signRotation(seal.head, key(k0), key(thief));
      await store.append([rotationEntry(note, parseRotation(note), Date.now())]);
      await sealHead(store, key(thief));
    } finally {
      await store.close();
    }
    const v = await verifyJson(path, '--key', k0.vkeys[0]!);
    const kinds = v.report.findings.map((x) => x.kind);
    expect(v.code).toBe(1);
    expect(kinds, JSON.stringify(v.report.findings)).toContain('key-fork');
    expect(kinds).toContain('retired-key');
  });
});

/** A statement signed by `signer` only, with extra raw signature lines appended. */
async function forgeStatement(
  head: { size: number; root: Uint8Array },
  signer: Keys,
  extraLines: string[] = [],
): Promise<string> {
  const k = key(signer);
  const { rotationText } = await import('../../packages/core/src/signer/rotation.js');
  const { signNoteAsync } = await import('../../packages/core/src/note/note.js');
  const text = rotationText({
    origin: k.name,
    size: head.size,
    root: head.root,
    key: k.log.verifierKey,
    timeKey: k.time.verifierKey,
  });
  const note = await signNoteAsync(text, [k.log]);
  return note + extraLines.map((l) => `${l}\n`).join('');
}
