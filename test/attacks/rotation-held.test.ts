import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalJson,
  connectStore,
  fileCheckpointKey,
  loadSignerKeyFile,
  openSink,
  sealHead,
  signRotation,
} from '../../packages/core/src/index.js';
import { signNoteAsync } from '../../packages/core/src/note/note.js';
import { rotationText } from '../../packages/core/src/signer/rotation.js';
import { tempDir } from '../helpers/tmp.js';
import { attackerOpen, type Keys, keygen, rechainAll, sealog } from './harness.js';
import { sealedLedger } from './trust-helpers.js';

// Issue 17 red team: attacks on key rotation that verify withstands. The base
// ledger: 20 records sealed by k0, `key rotate` k0 -> k1 (hand-over at size 20,
// the statement is entry 20), 10 records sealed by k1 (size 31). The verifier
// holds only k0 (and k0's time key with --key-file). The attacker writes the
// file; where a test says "k0 thief", they also copied k0 before the rotation.

const O = 'example.com/audit';

interface Report {
  ok: boolean;
  sealed: number;
  size: number;
  findings: { kind: string; message: string; seq?: number }[];
  rotations?: { seq: number; size: number; from: string; to: string }[];
  checkpoints: { valid: boolean; size: number; time?: number }[];
}

async function verify(
  path: string,
  ...args: string[]
): Promise<{ code: number | null; report: Report; ms: number }> {
  const t0 = Date.now();
  const r = await sealog(['verify', path, '--json', ...args], { timeoutMs: 60_000 });
  const ms = Date.now() - t0;
  if (r.out === '') throw new Error(`verify printed nothing (code ${r.code}, signal ${r.signal}): ${r.err}`);
  return { code: r.code, report: JSON.parse(r.out) as Report, ms };
}

const kinds = (r: Report) => r.findings.map((f) => f.kind);
const ck = (k: Keys) => fileCheckpointKey(loadSignerKeyFile(k.keyFile));

let base: string;
let k0: Keys;
let k1: Keys;
let evil: Keys;
let honestNote: string;

let baseDir: string;
afterAll(() => rmSync(baseDir, { recursive: true, force: true }));

beforeAll(async () => {
  // Not tempDir(): that one is removed after each test.
  baseDir = mkdtempSync(join(tmpdir(), 'sealog-rotation-'));
  const dir = baseDir;
  k0 = await keygen(dir, O, 'k0');
  k1 = await keygen(dir, O, 'k1');
  evil = await keygen(dir, O, 'evil');
  base = join(dir, 'base.db');
  await sealedLedger(base, k0, 20, 'k0');
  const r = await sealog(['key', 'rotate', base, '--key', k0.keyFile, '--new-key', k1.keyFile]);
  if (r.code !== 0) throw new Error(r.err);
  const db = attackerOpen(base);
  const entry = (db.prepare('SELECT entry FROM records WHERE seq = 20').get() as { entry: Buffer }).entry;
  db.close();
  honestNote = (JSON.parse(entry.toString()) as { _sealog: { keyRotation: string } })._sealog.keyRotation;
  expect(honestNote).toMatch(/^sealog key rotation\/v1\n[\s\S]*\n\n— /);
  await sealedLedger(base, k1, 10, 'k1');
}, 120_000);

/** A private copy of the base ledger. */
function copy(): string {
  const path = join(tempDir(), 'audit.db');
  copyFileSync(base, path);
  for (const ext of ['-wal', '-shm']) if (existsSync(base + ext)) copyFileSync(base + ext, path + ext);
  return path;
}

/** Appends raw entries at the tail the way a file-writing insider does (chain and state kept consistent). */
async function plant(path: string, entries: (Buffer | string)[]): Promise<void> {
  const store = await connectStore(path, { create: false });
  try {
    await store.append(
      entries.map((e) => ({ entry: Buffer.isBuffer(e) ? e : Buffer.from(e, 'utf8'), ts: 1 })),
    );
  } finally {
    await store.close();
  }
}

const rotationRecord = (note: string) => canonicalJson({ _sealog: { keyRotation: note }, time: 1 });

async function headOf(path: string) {
  const store = await connectStore(path, { create: false });
  try {
    return await store.head();
  } finally {
    await store.close();
  }
}

describe('key rotation attacks that hold', () => {
  it('the honest base ledger verifies with k0 alone (control)', async () => {
    const v = await verify(copy(), '--key', k0.vkeys[0]!);
    expect(v.report.findings).toEqual([]);
    expect(v.report.rotations).toHaveLength(1);
    expect(v.report.sealed).toBe(31);
  });

  it('an app record carrying _sealog.keyRotation (top level or nested) is not a rotation entry', async () => {
    // Even a statement k0 really signed (here: endorsing evil) cannot enter through a transport.
    const dir = tempDir();
    const path = join(dir, 'app.db');
    await sealedLedger(path, k0, 5, 'k0');
    const note = await signRotation(await headOf(path), ck(k0), ck(evil));
    const sink = await openSink({ path, checkpoint: { keyFile: k0.keyFile, everyRecords: 1000 } });
    sink.write({ level: 30, time: Date.now(), _sealog: { keyRotation: note } });
    sink.write({ level: 30, time: Date.now(), msg: { _sealog: { keyRotation: note } } });
    sink.write(JSON.parse(`{"level":30,"time":1,"\\u005fsealog":{"keyRotation":${JSON.stringify(note)}}}`));
    await sink.close();
    const db = attackerOpen(path);
    const stored = (
      db.prepare('SELECT entry FROM records WHERE seq >= 5 ORDER BY seq').all() as { entry: Buffer }[]
    ).map((r) => r.entry.toString());
    db.close();
    expect(stored[0]).toContain('"__sealog"');
    expect(stored[2]).toContain('"__sealog"');
    const store = await connectStore(path, { create: false });
    await sealHead(store, ck(evil));
    await store.close();
    const v = await verify(path, '--key', k0.vkeys[0]!);
    expect(v.report.rotations).toBeUndefined();
    expect(kinds(v.report)).not.toContain('forged-rotation');
    expect(kinds(v.report)).toContain('unknown-key'); // evil's checkpoint
  });

  it('hostile entries (not UTF-8, not JSON, oversized, wrong types, CRLF, 40 signature lines) give findings, never a crash', async () => {
    const path = copy();
    const text = rotationText({
      origin: O,
      size: 31,
      root: new Uint8Array(32),
      key: ck(evil).log.verifierKey,
      timeKey: ck(evil).time.verifierKey,
    });
    const signed = await signNoteAsync(text, [ck(evil).log]);
    const line = signed.split('\n').find((l) => l.startsWith('— '))!;
    await plant(path, [
      Buffer.concat([
        Buffer.from('{"_sealog":{"keyRotation":"\xff\xfe'),
        Buffer.from([0xc0, 0x80]),
        Buffer.from('"}}'),
      ]),
      '{"_sealog":{"keyRotation":',
      canonicalJson({ _sealog: { keyRotation: 42 } }),
      canonicalJson({ _sealog: { keyRotation: null } }),
      canonicalJson({ _sealog: { keyRotation: ['x'] } }),
      '{"_sealog":{"keyRotation":"a"},"_sealog":{"keyRotation":"b"}}',
      rotationRecord('x'.repeat(5000)),
      rotationRecord(signed.replace(/\n/g, '\r\n')),
      rotationRecord(`${signed}${`${line}\n`.repeat(35)}`),
      rotationRecord(''),
      rotationRecord(text),
    ]);
    const v = await verify(path, '--key', k0.vkeys[0]!);
    expect(v.code).toBe(1);
    expect(v.report.rotations).toHaveLength(1); // only the honest one
    const forged = v.report.findings.filter((f) => f.kind === 'forged-rotation');
    expect(forged.length).toBeGreaterThanOrEqual(6);
    expect(kinds(v.report)).not.toContain('key-fork');
  });

  it('a statement replayed with extra or duplicated signature lines, or copied whole, changes nothing', async () => {
    const path = copy();
    const k0Line = honestNote.split('\n').find((l) => l.startsWith(`— ${O} `))!;
    const evilSigned = await signNoteAsync(honestNote.slice(0, honestNote.indexOf('\n\n') + 1), [
      ck(evil).log,
    ]);
    const evilLine = evilSigned.split('\n').find((l) => l.startsWith('— '))!;
    await plant(path, [
      rotationRecord(honestNote),
      rotationRecord(`${honestNote}${k0Line}\n${k0Line}\n${evilLine}\n`),
    ]);
    const v = await verify(path, '--key', k0.vkeys[0]!);
    expect(v.report.findings.filter((f) => f.kind !== 'unsealed')).toEqual([]);
    expect(v.report.rotations).toHaveLength(1);
    expect(v.report.rotations![0]!.seq).toBe(20);
  });

  it('hundreds of costly rotation entries stay bounded (1000 followed, the rest reported)', async () => {
    const path = copy();
    // Each is the honest statement with its k0 line repeated: every line is a valid signature to check.
    const k0Line = honestNote.split('\n').find((l) => l.startsWith(`— ${O} `))!;
    const heavy = rotationRecord(`${honestNote}${`${k0Line}\n`.repeat(30)}`);
    await plant(
      path,
      Array.from({ length: 1200 }, () => heavy),
    );
    const v = await verify(path, '--key', k0.vkeys[0]!);
    expect(v.code).toBe(1);
    expect(v.report.findings.find((f) => f.kind === 'forged-rotation')?.message).toMatch(/more than 1000/);
    expect(v.ms).toBeLessThan(30_000);
  }, 60_000);

  it('a forged hand-over to evil (evil signs as both keys), sealed by evil: forged-rotation, evil unknown-key, nothing after sealed', async () => {
    const path = copy();
    const head = await headOf(path);
    const text = rotationText({
      origin: O,
      size: head.size,
      root: head.root,
      key: ck(evil).log.verifierKey,
      timeKey: ck(evil).time.verifierKey,
    });
    await plant(path, [rotationRecord(await signNoteAsync(text, [ck(evil).log]))]);
    const store = await connectStore(path, { create: false });
    await sealHead(store, ck(evil));
    await store.close();
    const v = await verify(path, '--key', k0.vkeys[0]!, '--strict');
    expect(v.code).toBe(1);
    expect(kinds(v.report)).toContain('forged-rotation');
    expect(kinds(v.report)).toContain('unknown-key');
    expect(v.report.sealed).toBe(31);
  });

  it('deleting the rotation entry but keeping the k1 checkpoints is reported (unknown-key)', async () => {
    const path = copy();
    const db = attackerOpen(path);
    db.prepare('DELETE FROM records WHERE seq = 20').run();
    db.prepare('UPDATE records SET seq = seq - 1 WHERE seq > 20').run();
    rechainAll(db);
    db.close();
    const v = await verify(path, '--key', k0.vkeys[0]!);
    expect(v.code).toBe(1);
    expect(kinds(v.report)).toContain('unknown-key');
    expect(v.report.rotations).toBeUndefined();
    expect(v.report.sealed).toBe(20);
  });

  it('k0 thief: undoing the rotation passes k0 alone, but not a k1 checkpoint given with --checkpoint', async () => {
    const path = copy();
    const dir = tempDir();
    // the verifier kept k1's newest checkpoint outside the ledger
    const db = attackerOpen(path);
    const k1Note = (
      db.prepare('SELECT note FROM checkpoints ORDER BY id DESC LIMIT 1').get() as { note: string }
    ).note;
    // the thief cuts everything from the rotation entry on, and re-signs a new tail with k0
    db.prepare('DELETE FROM records WHERE seq >= 20').run();
    db.prepare('DELETE FROM checkpoints WHERE size > 20').run();
    rechainAll(db);
    db.close();
    await sealedLedger(path, k0, 15, 'rewritten');
    const cp = join(dir, 'k1.cp');
    writeFileSync(cp, k1Note);
    const alone = await verify(path, '--key', k0.vkeys[0]!);
    expect(alone.code).toBe(0); // inherent: nothing in the file shows k0 was retired
    const v = await verify(path, '--key', k0.vkeys[0]!, '--checkpoint', cp);
    expect(v.code).toBe(1);
    expect(kinds(v.report)).toContain('unknown-key');
  });

  it('k0 thief: a second hand-over (beyond the ledger, or below the real one) is a key-fork', async () => {
    for (const size of [1000, 10]) {
      const path = copy();
      const root = size === 1000 ? new Uint8Array(32).fill(7) : await rootAt(path, size);
      const note = await signRotation({ size, root }, ck(k0), ck(evil));
      await plant(path, [rotationRecord(note)]);
      const v = await verify(path, '--key', k0.vkeys[0]!);
      expect(v.code, `size ${size}`).toBe(1);
      expect(kinds(v.report), `size ${size}`).toContain('key-fork');
    }
  });

  it('k0 thief: k0 checkpoints after the hand-over are retired-key even when cosigned by an unendorsed key', async () => {
    const path = copy();
    const store = await connectStore(path, { create: false });
    const seal = (await sealHead(store, ck(k0)))!;
    await store.close();
    const db = attackerOpen(path);
    const evilLine = (await signNoteAsync(seal.note.slice(0, seal.note.indexOf('\n\n') + 1), [ck(evil).log]))
      .split('\n')
      .find((l) => l.startsWith('— '))!;
    db.prepare('UPDATE checkpoints SET note = note || ? WHERE id = (SELECT max(id) FROM checkpoints)').run(
      `${evilLine}\n`,
    );
    db.close();
    const v = await verify(path, '--key', k0.vkeys[0]!);
    expect(v.code).toBe(1);
    expect(kinds(v.report)).toContain('retired-key');
  });

  it('--checkpoint after a rotation: k1’s note is trusted through the chain, a k0 thief’s later note is retired-key', async () => {
    const path = copy();
    const dir = tempDir();
    let db = attackerOpen(path);
    const k1Note = (
      db.prepare('SELECT note FROM checkpoints ORDER BY id DESC LIMIT 1').get() as { note: string }
    ).note;
    db.close();
    const good = join(dir, 'k1.cp');
    writeFileSync(good, k1Note);
    const v = await verify(path, '--key', k0.vkeys[0]!, '--checkpoint', good);
    expect(v.report.findings).toEqual([]);
    // the thief signs the same head with k0 and hands that note to the verifier
    const store = await connectStore(path, { create: false });
    const seal = (await sealHead(store, ck(k0)))!;
    await store.close();
    db = attackerOpen(path);
    db.prepare('DELETE FROM checkpoints WHERE id = (SELECT max(id) FROM checkpoints)').run();
    db.close();
    const bad = join(dir, 'k0.cp');
    writeFileSync(bad, seal.note);
    const t = await verify(path, '--key', k0.vkeys[0]!, '--checkpoint', bad);
    expect(t.code).toBe(1);
    expect(t.report.findings.find((f) => f.kind === 'retired-key')?.message).toMatch(
      /^trusted checkpoint \(size 31\)/,
    );
  });

  it('endorsed time keys: required on k1 checkpoints only when k0’s time key was given', async () => {
    const path = copy();
    const db = attackerOpen(path);
    // drop the time line of k1's newest checkpoint
    const row = db.prepare('SELECT id, note FROM checkpoints ORDER BY id DESC LIMIT 1').get() as {
      id: number;
      note: string;
    };
    const kept = row.note
      .split('\n')
      .filter((l) => !l.startsWith(`— ${O}/time `))
      .join('\n');
    db.prepare('UPDATE checkpoints SET note = ? WHERE id = ?').run(kept, row.id);
    db.close();
    const logOnly = await verify(path, '--key', k0.vkeys[0]!);
    expect(logOnly.code).toBe(0);
    const withTime = await verify(path, '--key-file', k0.vkeyFile);
    expect(withTime.code).toBe(1);
    expect(withTime.report.findings.find((f) => f.kind === 'bad-signature')?.message).toMatch(/cosignature/);
  });
});

async function rootAt(path: string, size: number): Promise<Uint8Array> {
  // The root at `size` from a stored checkpoint of that size, or by recomputing.
  const { CompactRange } = await import('../../packages/core/src/merkle.js');
  const { leafHash } = await import('../../packages/core/src/hash.js');
  const db = attackerOpen(path);
  const rows = db.prepare('SELECT entry FROM records WHERE seq < ? ORDER BY seq').all(size) as {
    entry: Buffer;
  }[];
  db.close();
  const r = new CompactRange();
  for (const x of rows) r.append(leafHash(x.entry));
  return r.root();
}
