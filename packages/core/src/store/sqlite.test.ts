import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { SqliteStore } from './sqlite.js';

// SQLite's `synchronous` levels: 1 NORMAL, 2 FULL.
describe('SqliteStore durability', () => {
  it("under 'process' a checkpoint is made durable by a WAL fsync off the thread, not a FULL commit", async () => {
    const store = new SqliteStore(join(tempDir(), 'a.db'), { durability: 'process' });
    const seen: unknown[] = [];
    const pragma = store.db.pragma.bind(store.db);
    store.db.pragma = ((source: string, options?: { simple?: boolean }) => {
      if (source.startsWith('synchronous')) seen.push(source);
      return pragma(source, options);
    }) as typeof store.db.pragma;
    store.append([{ entry: Buffer.from('{"a":1}'), ts: 1 }]);
    const synced = store.addCheckpoint(store.head(), 'note\n', 0);
    // The sealer awaits this before it copies the note to the anchor file.
    expect(synced).toBeInstanceOf(Promise);
    await synced;
    store.append([{ entry: Buffer.from('{"a":2}'), ts: 2 }]);
    expect(seen).toEqual([]);
    expect(pragma('synchronous', { simple: true })).toBe(1);
    // Closed before the sync ran: the WAL is gone because SQLite checkpointed and synced it.
    const late = store.addCheckpoint(store.head(), 'note 2\n', 0);
    store.close();
    await expect(late).resolves.toBeUndefined();
  });

  it("'power' stays FULL throughout", () => {
    const store = new SqliteStore(join(tempDir(), 'b.db'), { durability: 'power' });
    store.append([{ entry: Buffer.from('{"a":1}'), ts: 1 }]);
    expect(store.addCheckpoint(store.head(), 'note\n', 0)).toBeUndefined(); // every commit is FULL already
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2);
    store.close();
  });
});
