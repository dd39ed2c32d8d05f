import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { isSealogError } from '../errors.js';
import { leafHash } from '../hash.js';
import { Ledger } from '../ledger.js';
import { rootFromLeaves } from '../merkle.js';
import { writeKeyFile } from '../note/keyfile.js';
import { Ed25519Signer, generateKey } from '../note/keys.js';
import { openSink } from '../sink.js';
import { LedgerReader } from '../store/reader.js';
import { splitAnchorNotes } from './anchor.js';
import { Checkpointer } from './sealer.js';
import { openCheckpoint } from './signed.js';

const ORIGIN = 'test.example/log';

function keyFile(dir: string, name = ORIGIN): { path: string; vkeys: string[] } {
  const k = generateKey(name);
  const path = join(dir, 'log.key');
  writeKeyFile(path, k.privateKey);
  return { path, vkeys: [k.verifierKey, k.cosignerVerifierKey] };
}

/** Every stored checkpoint must verify and commit to the root of exactly its first `size` records. */
function checkStored(dbPath: string, vkeys: string[]): { sizes: number[]; times: number[]; notes: string[] } {
  const reader = new LedgerReader(dbPath);
  try {
    const leaves = [...reader.records()].map((r) => leafHash(r.entry));
    const sizes: number[] = [];
    const times: number[] = [];
    const notes: string[] = [];
    for (const cp of reader.checkpoints()) {
      const opened = openCheckpoint(cp.note, vkeys, { origin: ORIGIN });
      expect(opened.checkpoint.size).toBe(cp.size);
      expect(opened.checkpoint.size).toBeLessThanOrEqual(leaves.length);
      expect(Buffer.from(opened.checkpoint.root)).toEqual(
        Buffer.from(rootFromLeaves(leaves.slice(0, cp.size))),
      );
      sizes.push(cp.size);
      times.push(opened.time ?? -1);
      notes.push(cp.note);
    }
    return { sizes, times, notes };
  } finally {
    reader.close();
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('checkpointer through openSink', () => {
  it('seals every N records and on close; the anchor file holds the same notes', async () => {
    const dir = tempDir();
    const key = keyFile(dir);
    const path = join(dir, 'audit.db');
    const anchorFile = join(dir, 'anchor.txt');
    const sink = await openSink({
      path,
      batchSize: 5,
      checkpoint: { keyFile: key.path, everyRecords: 10, anchorFile },
    });
    for (let i = 0; i < 25; i++) {
      sink.write({ i });
      if (i % 5 === 4) await sink.flush();
    }
    await sink.close();
    const stored = checkStored(path, key.vkeys);
    expect(stored.sizes.length).toBeGreaterThanOrEqual(3); // ≥ two count-triggered seals + the close seal
    expect(stored.sizes.at(-1)).toBe(25);
    expect(stored.sizes).toEqual([...stored.sizes].sort((a, b) => a - b));
    expect(splitAnchorNotes(readFileSync(anchorFile, 'utf8'))).toEqual(stored.notes);
  });

  it('validates the checkpoint option at startup, naming the field, before creating the ledger', async () => {
    const dir = tempDir();
    const key = keyFile(dir);
    const path = join(dir, 'audit.db');
    const attempts: [unknown, string, string][] = [
      [{ keyFile: key.path, everyRecord: 5 }, 'E_CONFIG', 'checkpoint.everyRecord'],
      [{}, 'E_CONFIG', 'checkpoint.keyFile'],
      [{ keyFile: key.path, everyMs: 0 }, 'E_CONFIG', 'checkpoint.everyMs'],
      [{ keyFile: key.path, heartbeatMs: 2 ** 40 }, 'E_CONFIG', 'checkpoint.heartbeatMs'],
      [{ keyFile: join(dir, 'nope.key') }, 'E_KEY', 'nope.key'],
      [{ keyFile: key.path, origin: 'other.example/log' }, 'E_KEY', 'other.example/log'],
    ];
    for (const [checkpoint, code, mention] of attempts) {
      const err = await openSink({ path, checkpoint }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSealogError(err), JSON.stringify(checkpoint)).toBe(true);
      expect((err as { code: string }).code).toBe(code);
      expect((err as Error).message).toContain(mention);
    }
    expect(existsSync(path)).toBe(false);
  });
});

describe('Checkpointer timers (fake clock)', () => {
  it('seals T after the first unsealed commit, then heartbeats the same size with a later signed time', async () => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'Date'],
      now: 1_700_000_000_000,
    });
    const dir = tempDir();
    const path = join(dir, 'audit.db');
    const signer = new Ed25519Signer(ORIGIN, new Uint8Array(32).fill(9));
    const vkeys = [signer.verifierKey, signer.timeCosigner().verifierKey];
    let cp: Checkpointer | undefined;
    const ledger = Ledger.open({ path, batchDelayMs: 1, onCommit: (r) => cp?.onCommit(r) });
    cp = new Checkpointer({
      store: ledger.store,
      signer,
      everyRecords: 1000,
      everyMs: 60_000,
      heartbeatMs: 300_000,
    });
    ledger.write({ a: 1 });
    ledger.write({ a: 2 });
    await vi.advanceTimersByTimeAsync(10);
    expect(checkStored(path, vkeys).sizes).toEqual([]); // 2 < 1000 records and T not reached
    await vi.advanceTimersByTimeAsync(60_000);
    await cp.idle();
    expect(checkStored(path, vkeys).sizes).toEqual([2]);
    await vi.advanceTimersByTimeAsync(300_000);
    await cp.idle();
    const after = checkStored(path, vkeys);
    expect(after.sizes).toEqual([2, 2]);
    expect((after.times[1] ?? 0) - (after.times[0] ?? 0)).toBe(300);
    await cp.close();
    await ledger.close();
    expect(checkStored(path, vkeys).sizes).toEqual([2, 2, 2]);
  });

  it('rejects an origin that differs from the key name', () => {
    const signer = new Ed25519Signer(ORIGIN, new Uint8Array(32).fill(9));
    const store = { head: () => ({ size: 0, root: Buffer.alloc(32), chainHead: Buffer.alloc(32) }) } as never;
    expect(() => new Checkpointer({ store, signer, origin: 'x' })).toThrow(/differs from the key name/);
  });
});

describe('Checkpointer failures', () => {
  it('reports a failing store via onError and retries later instead of spinning', async () => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'Date'],
      now: 1_700_000_000_000,
    });
    const signer = new Ed25519Signer(ORIGIN, new Uint8Array(32).fill(9));
    let attempts = 0;
    const store = {
      head: () => ({ size: 1, root: Buffer.alloc(32), chainHead: Buffer.alloc(32) }),
      addCheckpoint: () => {
        attempts++;
        throw new Error('disk full');
      },
    } as never;
    const errors: string[] = [];
    const cp = new Checkpointer({ store, signer, everyMs: 1000, onError: (e) => errors.push(e.code) });
    cp.onCommit({ firstSeq: 0, size: 1, root: Buffer.alloc(32), chainHead: Buffer.alloc(32) });
    await vi.advanceTimersByTimeAsync(10_500);
    // first try at 1 s, then one retry per second (min(everyMs, 5 s)): about 10, never thousands
    expect(attempts).toBeGreaterThanOrEqual(5);
    expect(attempts).toBeLessThanOrEqual(11);
    expect(errors.every((c) => c === 'E_IO')).toBe(true);
    await cp.close();
  });
});

describe('Checkpointer timers never keep a process alive', () => {
  it('a process that leaves a sink open with checkpointing still exits by itself', () => {
    const dir = tempDir();
    const key = keyFile(dir);
    const dist = join(import.meta.dirname, '../../dist/index.js');
    const script = `
      const { openSink } = await import(${JSON.stringify(dist)});
      const sink = await openSink({ path: ${JSON.stringify(join(dir, 'a.db'))},
        checkpoint: { keyFile: ${JSON.stringify(key.path)}, everyMs: 600000, heartbeatMs: 600000 } });
      sink.write({ a: 1 });
      await sink.flush();
      // no close(): only the unref'd checkpoint timers remain
    `;
    // A ref'd 10-minute timer would hold the child until the 30 s kill below.
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      timeout: 30_000,
      encoding: 'utf8',
    });
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
