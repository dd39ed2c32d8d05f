import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/tmp.js';
import { chainHash, leafHash, nodeHash, ZERO_HASH } from './hash.js';
import { Ledger } from './ledger.js';
import { LedgerReader } from './store/reader.js';
import { SqliteStore } from './store/sqlite.js';

// Keeps docs/format.md honest: the worked example there is parsed and checked
// both from first principles and against a real ledger written by Ledger.
const doc = readFileSync(join(import.meta.dirname, '../../../docs/format.md'), 'utf8');
const block = doc.slice(
  doc.indexOf('<!-- worked-example:begin -->'),
  doc.indexOf('<!-- worked-example:end -->'),
);
const value = (name: string): string => {
  const line = block.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`docs/format.md worked example lacks ${name}`);
  return line.slice(line.indexOf('=') + 1).trim();
};

describe('docs/format.md worked example', () => {
  const entries = [value('entry[0]'), value('entry[1]')];

  it('hashes exactly as documented, from first principles', () => {
    const leaves = entries.map((e) => leafHash(Buffer.from(e, 'utf8')));
    expect(leaves.map((l) => l.toString('hex'))).toEqual([value('leaf[0]'), value('leaf[1]')]);
    const c0 = chainHash(ZERO_HASH, leaves[0]!);
    const c1 = chainHash(c0, leaves[1]!);
    expect([c0.toString('hex'), c1.toString('hex')]).toEqual([value('chain[0]'), value('chain[1]')]);
    const root = nodeHash(leaves[0]!, leaves[1]!);
    expect(root.toString('hex')).toBe(value('root'));
    expect(root.toString('base64')).toBe(value('root.b64'));
  });

  it('is what a real ledger stores for those two records', async () => {
    const path = join(tempDir(), 'example.db');
    const ledger = Ledger.open({ path });
    const actor = 'psn:k1:3q2-7wAAAAAAAAAAAAAAAA';
    ledger.write({ time: 1700000000000, level: 30, msg: 'user logged in', actor, action: 'login' });
    ledger.write({
      time: 1700000001000,
      level: 40,
      msg: 'permission denied',
      actor,
      action: 'export',
      resource: 'invoices',
    });
    await ledger.close();
    const reader = new LedgerReader(path);
    const rows = [...reader.records()];
    reader.close();
    expect(rows.map((r) => r.entry.toString('utf8'))).toEqual(entries);
    expect(rows.map((r) => r.chain.toString('hex'))).toEqual([value('chain[0]'), value('chain[1]')]);
    expect(rows.map((r) => r.ts)).toEqual([1700000000000, 1700000001000]);
    const store = new SqliteStore(path);
    expect(store.head().root.toString('hex')).toBe(value('root'));
    store.close();
  });
});
