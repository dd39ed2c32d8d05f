import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { SqliteStore } from './sqlite.js';

// SQLite's `synchronous` levels: 1 NORMAL, 2 FULL.
describe('SqliteStore durability', () => {
  it("a checkpoint commits synchronously under 'process', then batches go back to NORMAL", () => {
    const store = new SqliteStore(join(tempDir(), 'a.db'), { durability: 'process' });
    const seen: unknown[] = [];
    const pragma = store.db.pragma.bind(store.db);
    // Record what addCheckpoint sets around its insert.
    store.db.pragma = ((source: string, options?: { simple?: boolean }) => {
      if (source.startsWith('synchronous')) seen.push(source);
      return pragma(source, options);
    }) as typeof store.db.pragma;
    store.append([{ entry: Buffer.from('{"a":1}'), ts: 1 }]);
    store.addCheckpoint(store.head(), 'note\n', 0);
    store.append([{ entry: Buffer.from('{"a":2}'), ts: 2 }]);
    expect(seen).toEqual(['synchronous = FULL', 'synchronous = NORMAL']);
    expect(pragma('synchronous', { simple: true })).toBe(1);
    store.close();
  });

  it("'power' stays FULL throughout", () => {
    const store = new SqliteStore(join(tempDir(), 'b.db'), { durability: 'power' });
    store.append([{ entry: Buffer.from('{"a":1}'), ts: 1 }]);
    store.addCheckpoint(store.head(), 'note\n', 0);
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2);
    store.close();
  });
});
