import Database from 'better-sqlite3';
import { CompactRange, chainHash, leafHash, ZERO_HASH } from '../../packages/core/src/index.js';

/**
 * Independent re-check of a ledger file for tests: recomputes every leaf and
 * chain hash from the stored entry bytes, checks seq is gap-free from 0 and the
 * ledger_state row matches. Throws with the first problem found.
 */
export function checkChain(path: string): { size: number; root: Buffer; entries: string[] } {
  const db = new Database(path, { readonly: true });
  try {
    let prev: Buffer = ZERO_HASH;
    const range = new CompactRange();
    const entries: string[] = [];
    for (const row of db.prepare('SELECT seq, entry, chain FROM records ORDER BY seq').iterate() as Iterable<{
      seq: number;
      entry: Buffer;
      chain: Buffer;
    }>) {
      if (row.seq !== range.size) throw new Error(`gap: expected seq ${range.size}, found ${row.seq}`);
      const leaf = leafHash(row.entry);
      prev = chainHash(prev, leaf);
      if (!prev.equals(row.chain)) throw new Error(`chain mismatch at seq ${row.seq}`);
      range.append(leaf);
      entries.push(row.entry.toString('utf8'));
    }
    const state = db.prepare('SELECT size, chain_head, compact FROM ledger_state').get() as {
      size: number;
      chain_head: Buffer;
      compact: Buffer;
    };
    if (state.size !== range.size) throw new Error(`state size ${state.size} != rows ${range.size}`);
    if (!state.chain_head.equals(prev)) throw new Error('state chain head does not match the last row');
    if (!CompactRange.decode(state.size, state.compact).root().equals(range.root())) {
      throw new Error('state Merkle range does not match the rows');
    }
    return { size: range.size, root: range.root(), entries };
  } finally {
    db.close();
  }
}
