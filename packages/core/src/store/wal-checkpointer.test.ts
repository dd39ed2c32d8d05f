import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { SqliteStore } from './sqlite.js';
import { WAL_CHECKPOINT_INTERVAL_MS } from './wal-checkpointer.js';

// The transports' writer also checkpoints its WAL from a thread of its own (the
// worker runs from dist: build first), so the commit that crosses SQLite's
// threshold finds the frames already copied. What the thread did is read from
// the wal-index (the -shm file; sqlite.org/walformat.html §2.3): nBackfill, the
// frames already copied into the database file, a native-endian u32 at byte 96.
const nBackfill = (path: string) => {
  const shm = readFileSync(`${path}-shm`);
  return shm.readUInt32LE(96); // little-endian: this runs on x86-64 / arm64 only
};

function writeFrames(store: SqliteStore, batches: number): void {
  // ~1 MiB a batch, ~260 pages: two batches stay below the inline threshold (1000 pages).
  const entry = Buffer.alloc(1000, 'x');
  for (let b = 0; b < batches; b++) {
    store.append(Array.from({ length: 1000 }, (_, i) => ({ entry, ts: b * 1000 + i })));
  }
}

describe('background WAL checkpoint', () => {
  it('copies committed frames into the database file while the writer is idle', async () => {
    const store = new SqliteStore(join(tempDir(), 'bg.db'), { backgroundCheckpoint: true });
    writeFrames(store, 2);
    let copied = 0;
    for (let i = 0; i < 100 && copied === 0; i++) {
      await sleep(WAL_CHECKPOINT_INTERVAL_MS);
      copied = nBackfill(store.path);
    }
    expect(copied).toBeGreaterThan(400);
    store.close();
  });

  it('without it, nothing is copied until a commit crosses the threshold', async () => {
    const store = new SqliteStore(join(tempDir(), 'inline.db'));
    writeFrames(store, 2);
    await sleep(WAL_CHECKPOINT_INTERVAL_MS * 6);
    expect(nBackfill(store.path)).toBe(0);
    store.close();
  });

  it('every record is in the file after close, and the file reopens', async () => {
    const path = join(tempDir(), 'reopen.db');
    const store = new SqliteStore(path, { backgroundCheckpoint: true });
    for (let i = 0; i < 8; i++) {
      writeFrames(store, 1);
      await sleep(WAL_CHECKPOINT_INTERVAL_MS / 2);
    }
    const size = store.head().size;
    await store.close();
    // Our connection closes last, so it checkpoints the WAL into the file and removes it:
    // the closed .db alone holds every record (a red-team review found the WAL left behind).
    expect(existsSync(`${path}-wal`)).toBe(false);
    const again = new SqliteStore(path);
    expect(again.head().size).toBe(size);
    again.close();
  });
});
