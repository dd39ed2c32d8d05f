import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LedgerReader, leafHash, rootFromLeaves } from '../../packages/core/src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { type ClientCheckpoint, TileClient } from './client.js';
import {
  appendRange,
  entryOf,
  expectedFiles,
  listFiles,
  newLog,
  publish,
  seal,
  type TestLog,
} from './fixture.js';
import { type StaticServer, serveDir } from './server.js';

// `sealog tiles` end to end: real ledgers written with the core Ledger API,
// tiles written by writeTiles, served by a real HTTP server on loopback, read
// by a client written from c2sp.org/tlog-tiles that trusts only the keys.

const servers: StaticServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function clientFor(log: TestLog): Promise<TileClient> {
  const s = await serveDir(log.tiles);
  servers.push(s);
  return new TileClient(s.url);
}

/** Root over the ledger's stored entries, by merkle.ts from scratch. */
function ledgerRoot(log: TestLog, size: number): Buffer {
  const reader = new LedgerReader(log.path);
  try {
    return Buffer.from(rootFromLeaves([...reader.records(0, size)].map((r) => leafHash(r.entry))));
  } finally {
    reader.close();
  }
}

/** Publishes, then checks everything a client can: files, root, chosen inclusions. */
async function publishAndCheck(log: TestLog, size: number, probe: number[]): Promise<ClientCheckpoint> {
  const r = publish(log);
  expect(r.size).toBe(size);
  expect(r.mismatched).toEqual([]);
  expect(listFiles(log.tiles)).toEqual(expectedFiles(size));
  const client = await clientFor(log);
  const cp = await client.checkpoint(log.vkeys);
  expect(cp.size).toBe(size);
  expect(cp.origin).toBe(log.origin);
  const fromTiles = await client.root(size);
  expect(fromTiles.equals(cp.root)).toBe(true);
  expect(fromTiles.equals(ledgerRoot(log, size))).toBe(true);
  for (const i of probe.filter((p) => p >= 0 && p < size)) {
    expect((await client.proveInclusion(i, cp)).equals(entryOf(i))).toBe(true);
  }
  return cp;
}

describe('sealog tiles: tile boundaries', () => {
  for (const size of [0, 1, 255, 256, 257]) {
    it(`a ledger of ${size} records gives the spec's files and the checkpoint's root`, async () => {
      const log = newLog(tempDir());
      await appendRange(log, 0, size);
      await seal(log);
      const cp = await publishAndCheck(log, size, [0, 1, 127, 254, 255, 256, size - 1]);
      if (size === 0) expect(cp.root.toString('hex')).toBe(ledgerRoot(log, 0).toString('hex'));
    });
  }

  it('65,536 records (a full level-1 tile, partial level 2), then grown past it', async () => {
    const log = newLog(tempDir());
    await appendRange(log, 0, 65_536);
    await seal(log, 1_760_000_100_000);
    const first = await publishAndCheck(log, 65_536, [0, 255, 256, 65_535]);
    expect(listFiles(log.tiles)).toContain('tile/1/000');
    expect(listFiles(log.tiles)).toContain('tile/2/000.p/1');

    await appendRange(log, 65_536, 65_536 + 259);
    await seal(log, 1_760_000_200_000);
    const second = publish(log);
    // tile/1/000 and tile/2/000.p/1 are re-derived with the same bytes: not rewritten.
    expect(second.written.sort()).toEqual([
      'checkpoint',
      'tile/0/256',
      'tile/0/257.p/3',
      'tile/1/001.p/1',
      'tile/entries/256',
      'tile/entries/257.p/3',
    ]);
    const client = await clientFor(log);
    const cp = await client.checkpoint(log.vkeys);
    expect(cp.size).toBe(65_795);
    await client.proveConsistency(first, cp);
    const entries = await client.monitor(cp);
    expect(entries.length).toBe(65_795);
    expect(entries[65_794]!.equals(entryOf(65_794))).toBe(true);
    expect((await client.root(cp.size)).equals(ledgerRoot(log, cp.size))).toBe(true);
  }, 120_000);
});

describe('sealog tiles: incremental runs', () => {
  it('writes only new tiles, the partial tiles and the checkpoint; a run with nothing new writes nothing', async () => {
    const log = newLog(tempDir());
    await appendRange(log, 0, 300);
    await seal(log, 1_760_000_100_000);
    const first = publish(log);
    expect(first.written.at(-1)).toBe('checkpoint');
    const client = await clientFor(log);
    const old = await client.checkpoint(log.vkeys);
    const tile0 = statSync(join(log.tiles, 'tile/0/000'));

    await appendRange(log, 300, 600);
    await seal(log, 1_760_000_200_000);
    const second = publish(log);
    expect(second.written).toEqual([
      'tile/entries/001',
      'tile/0/001',
      'tile/entries/002.p/88',
      'tile/0/002.p/88',
      'tile/1/000.p/2',
      'checkpoint',
    ]);
    expect(second.unchanged).toBe(2); // tile/0/000 and its bundle, re-derived and compared
    const again = statSync(join(log.tiles, 'tile/0/000'));
    expect([again.ino, again.mtimeMs]).toEqual([tile0.ino, tile0.mtimeMs]);
    // Partial tiles of the old size stay: a client holding the old checkpoint may still fetch them.
    expect(listFiles(log.tiles)).toEqual(
      [...expectedFiles(600), 'tile/0/001.p/44', 'tile/entries/001.p/44', 'tile/1/000.p/1'].sort(),
    );
    expect(listFiles(log.tiles).some((f) => f.includes('.tmp-'))).toBe(false);

    const cp = await client.checkpoint(log.vkeys);
    expect(cp.size).toBe(600);
    await client.proveConsistency(old, cp);
    expect((await client.proveInclusion(599, cp)).equals(entryOf(599))).toBe(true);
    // The old checkpoint's tiles still serve it.
    expect((await new TileClient(client.base).root(300)).equals(old.root)).toBe(true);

    const third = publish(log);
    expect(third.written).toEqual([]);
    expect(third.unchanged).toBe(second.written.length + second.unchanged);
  });

  it('publishes the newest stored checkpoint, not records past it', async () => {
    const log = newLog(tempDir());
    await appendRange(log, 0, 40);
    await seal(log);
    await appendRange(log, 40, 50); // not sealed
    const r = publish(log);
    expect([r.size, r.ledgerSize]).toEqual([40, 50]);
    expect(listFiles(log.tiles)).toEqual(expectedFiles(40));
    expect(readFileSync(join(log.tiles, 'checkpoint'), 'utf8')).toBe(r.note);
  });
});
