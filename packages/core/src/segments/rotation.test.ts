import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { OwnKey } from '../chain/trust.js';
import { generateKey, parseSignerKey } from '../note/keys.js';
import type { PendingEntry } from '../store/types.js';
import { parseBinding } from './binding.js';
import { listSegments } from './layout.js';
import { SegmentedStore } from './store.js';

const origin = 'example.com/rotation';
const signer = parseSignerKey(generateKey(origin).privateKey);
const pad = 'x'.repeat(900);
const batch = (from: number, n: number): PendingEntry[] =>
  Array.from({ length: n }, (_, i) => ({
    entry: Buffer.from(JSON.stringify({ n: from + i, pad })),
    ts: 1_700_000_000_000 + from + i,
  }));
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Every segment's row 0 (its binding) and record numbers, read straight from the files. */
function read(dir: string): { index: number; base: number | undefined; ns: number[] }[] {
  return listSegments(dir).slots.map((s) => {
    const db = new Database(s.file!, { readonly: true });
    try {
      const rows = db.prepare('SELECT entry FROM records ORDER BY seq').all() as { entry: Buffer }[];
      const b = parseBinding(rows[0]!.entry);
      return {
        index: s.index,
        base: typeof b === 'object' ? b.base : undefined,
        ns: rows.slice(1).map((r) => (JSON.parse(r.entry.toString()) as { n: number }).n),
      };
    } finally {
      db.close();
    }
  });
}

describe('rotation between commits', () => {
  it('runs in the turn after the commit that filled the segment: no append rotates, no record is lost or duplicated', async () => {
    const dir = join(tempDir(), 'audit');
    const s = new SegmentedStore(dir, {
      segments: { maxBytes: 64 * 1024 },
      trust: { own: new OwnKey(signer.verifierKey, origin), heads: [] },
    });
    let n = 0;
    let between = 0;
    while (s.current.index < 4) {
      const before = s.current.index;
      s.append(batch(n, 20));
      n += 20;
      expect(s.current.index, `the append of records ${n - 20}..${n - 1} rotated`).toBe(before);
      await turn();
      if (s.current.index !== before) between++;
    }
    await s.close();
    expect(between).toBe(3);
    const segs = read(dir);
    expect(segs.map((g) => g.index)).toEqual([1, 2, 3, 4]);
    expect(segs.flatMap((g) => g.ns)).toEqual(Array.from({ length: n }, (_, i) => i));
    // Each binding's base counts the rows (binding rows included) of the segments before it.
    let base = 0;
    for (const g of segs) {
      expect(g.base, `segment ${g.index}`).toBe(base);
      base += g.ns.length + 1;
    }
  });
});
