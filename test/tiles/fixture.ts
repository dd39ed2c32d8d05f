import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  generateKey,
  Ledger,
  parseSignerKey,
  SqliteStore,
  sealHead,
  type TilesResult,
  writeTiles,
} from '../../packages/core/src/index.js';

/** A ledger on disk with its key, and a tiles directory beside it. */
export interface TestLog {
  path: string;
  tiles: string;
  origin: string;
  /** [log vkey, time cosigner vkey]. */
  vkeys: string[];
  privateKey: string;
}

/** A new (empty, not yet created) ledger in `dir`, with a fresh key unless one is given. */
export function newLog(dir: string, name = 'audit', key = generateKey('audit.example.com/tiles')): TestLog {
  return {
    path: join(dir, `${name}.db`),
    tiles: join(dir, `${name}-tiles`),
    origin: 'audit.example.com/tiles',
    vkeys: [key.verifierKey, key.cosignerVerifierKey],
    privateKey: key.privateKey,
  };
}

/** Entry bytes of record i: what a writer would store (JSON, varying length). */
export function entryOf(i: number): Buffer {
  return Buffer.from(JSON.stringify({ i, level: 30, msg: `event ${i}`.padEnd(5 + (i % 7), '.') }));
}

/** Appends entries through the core Ledger API (committed on close). */
export async function append(log: TestLog, entries: Iterable<Buffer>): Promise<void> {
  const ledger = Ledger.open({ path: log.path, batchDelayMs: 0 });
  ledger.writeEntries([...entries].map((entry) => ({ entry, ts: 1_760_000_000_000 })));
  await ledger.close();
}

/** Appends records [from, to) built by `entryOf`. */
export function appendRange(log: TestLog, from: number, to: number): Promise<void> {
  return append(
    log,
    Array.from({ length: to - from }, (_, k) => entryOf(from + k)),
  );
}

/** Seals the current head with the log key (a stored checkpoint); returns the note. */
export async function seal(log: TestLog, nowMs = 1_760_000_500_000): Promise<string> {
  const store = new SqliteStore(log.path);
  try {
    return (await sealHead(store, parseSignerKey(log.privateKey), { nowMs }))!.note;
  } finally {
    store.close();
  }
}

/** Runs the writer with the log's keys. */
export function publish(log: TestLog, keys = log.vkeys): TilesResult {
  return writeTiles(log.path, log.tiles, { keys });
}

/** Every file below `dir`, relative, sorted. */
export function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)))
    .sort();
}

/**
 * The files tlog-tiles says a tree of `size` has, from the spec's formulas
 * (§"Merkle Tree", §"Partial Tiles", §"Log entries"), not from the writer.
 */
export function expectedFiles(size: number): string[] {
  const idx = (n: number): string => {
    const g = String(n)
      .padStart(Math.ceil(String(n).length / 3) * 3, '0')
      .match(/.{3}/g)!;
    return g.map((x, i) => (i < g.length - 1 ? `x${x}` : x)).join('/');
  };
  const out = ['checkpoint'];
  for (let level = 0; 256 ** level <= size; level++) {
    const full = Math.floor(size / 256 ** (level + 1));
    const partial = Math.floor(size / 256 ** level) % 256;
    for (let n = 0; n < full; n++) {
      out.push(`tile/${level}/${idx(n)}`);
      if (level === 0) out.push(`tile/entries/${idx(n)}`);
    }
    if (partial > 0) {
      out.push(`tile/${level}/${idx(full)}.p/${partial}`);
      if (level === 0) out.push(`tile/entries/${idx(full)}.p/${partial}`);
    }
  }
  return out.sort();
}
