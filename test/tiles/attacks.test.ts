import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKey, isSealogError, type SealogError } from '../../packages/core/src/index.js';
import { rechain, tamper } from '../../packages/core/src/verify/__tests__/fixture.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { TileClient } from './client.js';
import { append, appendRange, entryOf, listFiles, newLog, publish, seal, type TestLog } from './fixture.js';
import { serveDir } from './server.js';

// The ledger and the tiles directory are attacker input. Each case edits one
// of them the way someone without the signing key would, and checks that the
// writer refuses (or publishes only what is proved) and that a client
// following the published log notices an edited directory.

function thrown(fn: () => unknown): SealogError {
  try {
    fn();
  } catch (err) {
    if (isSealogError(err)) return err;
    throw err;
  }
  throw new Error('expected a SealogError');
}

async function sealed(records: number, dir = tempDir()): Promise<TestLog> {
  const log = newLog(dir);
  await appendRange(log, 0, records);
  await seal(log);
  return log;
}

/** Changes record `seq` and recomputes every chain hash, as a keyless attacker would. */
function editRecord(log: TestLog, seq: number): void {
  tamper(log.path, (db) => {
    db.prepare('UPDATE records SET entry = ? WHERE seq = ?').run(Buffer.from('{"msg":"rewritten"}'), seq);
    rechain(db);
  });
}

/** Bytes of every published file, to show a refused run changed nothing. */
function snapshot(dir: string): Map<string, string> {
  return new Map(listFiles(dir).map((f) => [f, readFileSync(join(dir, f)).toString('hex')]));
}

describe('sealog tiles: a tampered ledger', () => {
  it('publishes nothing when no signed checkpoint matches the records', async () => {
    const log = await sealed(100);
    editRecord(log, 40);
    const err = thrown(() => publish(log));
    expect(err.code).toBe('E_TAMPER');
    expect(err.message).toMatch(/no signed checkpoint matches the ledger's records \(sizes 100\)/);
    expect(existsSync(log.tiles)).toBe(false);
  });

  it('leaves an earlier publication exactly as it was', async () => {
    const log = await sealed(300);
    publish(log);
    const before = snapshot(log.tiles);
    editRecord(log, 3);
    await appendRange(log, 300, 320);
    await seal(log, 1_760_000_600_000);
    expect(thrown(() => publish(log)).code).toBe('E_TAMPER');
    expect(snapshot(log.tiles)).toEqual(before);
  });

  it('publishes the newest matching checkpoint, names the newer one that does not match, and the CLI exits 1', async () => {
    const log = await sealed(100);
    await appendRange(log, 100, 150);
    await seal(log, 1_760_000_600_000);
    editRecord(log, 120);
    const r = publish(log);
    expect([r.size, r.mismatched]).toEqual([100, [150]]);
    const cli = await runCli(['tiles', log.path, log.tiles, '--key', log.vkeys[0]!]);
    expect(cli.code).toBe(1);
    expect(cli.err).toMatch(/TAMPERED: a checkpoint at size 150/);
    expect(cli.out).toMatch(/at size 100/);
  });

  it('refuses to roll a published log back or to publish a fork of it', async () => {
    const dir = tempDir();
    const key = generateKey('audit.example.com/tiles');
    const log = newLog(dir, 'audit', key);
    await appendRange(log, 0, 100);
    await seal(log);
    const old = { ...log, path: join(dir, 'old.db') };
    copyFileSync(log.path, old.path);
    await appendRange(log, 100, 150);
    await seal(log, 1_760_000_600_000);
    publish(log);
    const rollback = thrown(() => publish(old));
    expect(rollback.code).toBe('E_TAMPER');
    expect(rollback.message).toMatch(
      /already publishes a checkpoint at size 150.*roll the published log back/,
    );

    // Same key, other history of the same length: a fork.
    const other = { ...newLog(dir, 'other', key), tiles: log.tiles };
    await append(
      other,
      Array.from({ length: 150 }, (_, i) => entryOf(i === 7 ? 1007 : i)),
    );
    await seal(other);
    const fork = thrown(() => publish(other));
    expect(fork.code).toBe('E_TAMPER');
    expect(fork.message).toMatch(/already published at size 150.*fork/);
  });

  it('names the record an entry bundle cannot hold instead of truncating it; 65,535 bytes still fit', async () => {
    const log = newLog(tempDir());
    const max = Buffer.alloc(0xffff, 0x61);
    await append(log, [entryOf(0), max]);
    await seal(log);
    publish(log);
    const s = await serveDir(log.tiles);
    try {
      const client = new TileClient(s.url);
      const cp = await client.checkpoint(log.vkeys);
      expect((await client.proveInclusion(1, cp)).equals(max)).toBe(true);
    } finally {
      await s.close();
    }
    // Past the first full tile: found before anything is written, not when its bundle is built.
    const big = newLog(tempDir());
    await append(big, [...Array.from({ length: 300 }, (_, i) => entryOf(i)), Buffer.alloc(0x10000, 0x61)]);
    await seal(big);
    const err = thrown(() => publish(big));
    expect(err.code).toBe('E_FORMAT');
    expect(err.message).toMatch(/record 300 is 65536 bytes.*at most 65535/);
    expect(existsSync(big.tiles)).toBe(false);
  });

  it('says what to do without a checkpoint or with the wrong key', async () => {
    const log = newLog(tempDir());
    await appendRange(log, 0, 5);
    expect(thrown(() => publish(log)).code).toBe('E_CONFIG');
    await seal(log);
    const stranger = generateKey('audit.example.com/tiles');
    expect(thrown(() => publish(log, [stranger.verifierKey])).code).toBe('E_KEY');
    expect(existsSync(log.tiles)).toBe(false);
  });
});

describe('sealog tiles: a tampered directory', () => {
  async function published(records = 300): Promise<TestLog> {
    const log = await sealed(records);
    publish(log);
    return log;
  }

  it('a changed full tile: a client following the log fails, and the next run refuses', async () => {
    const log = await published();
    const file = join(log.tiles, 'tile/0/000');
    const bytes = readFileSync(file);
    bytes[5]! ^= 1; // leaf hash of record 0
    writeFileSync(file, bytes);
    const s = await serveDir(log.tiles);
    try {
      const client = new TileClient(s.url);
      const cp = await client.checkpoint(log.vkeys);
      // The root still verifies (it comes from level 1), so a client must check entries against level 0.
      expect((await client.root(cp.size)).equals(cp.root)).toBe(true);
      await expect(client.proveInclusion(1, cp)).rejects.toThrow(
        /entry 0 does not hash to its level-0 tile hash/,
      );
      await expect(new TileClient(s.url).monitor(cp)).rejects.toThrow(/does not hash/);
    } finally {
      await s.close();
    }
    const err = thrown(() => publish(log));
    expect(err.code).toBe('E_TAMPER');
    expect(err.message).toMatch(/tile\/0\/000 differs from the tile derived from the ledger/);
  });

  it('a changed or truncated entry bundle, a truncated partial tile: each refused', async () => {
    for (const [path, edit] of [
      ['tile/entries/000', (b: Buffer) => Buffer.concat([b.subarray(0, 2), Buffer.from('X'), b.subarray(3)])],
      ['tile/entries/001.p/44', (b: Buffer) => b.subarray(0, b.length - 1)],
      ['tile/1/000.p/1', (b: Buffer) => b.subarray(0, 31)],
    ] as const) {
      const log = await published();
      const file = join(log.tiles, path);
      writeFileSync(file, edit(readFileSync(file)));
      const err = thrown(() => publish(log));
      expect(err.code).toBe('E_TAMPER');
      expect(err.message).toContain(path);
    }
  });

  it('a forged checkpoint file is refused', async () => {
    const log = await published();
    const other = newLog(tempDir());
    await appendRange(other, 0, 300);
    await seal(other);
    publish(other);
    copyFileSync(join(other.tiles, 'checkpoint'), join(log.tiles, 'checkpoint'));
    const err = thrown(() => publish(log));
    expect(err.code).toBe('E_TAMPER');
    expect(err.message).toMatch(/checkpoint is not a checkpoint signed by the given keys/);
  });

  it('symlinks and a FIFO planted in the directory are refused, and nothing outside it is written', async () => {
    const outside = tempDir();
    writeFileSync(join(outside, 'victim'), 'precious');
    const log = await sealed(300);
    mkdirSync(join(log.tiles, 'tile'), { recursive: true });
    symlinkSync(outside, join(log.tiles, 'tile', '0'));
    expect(thrown(() => publish(log)).message).toMatch(/tile\/0 should be a directory but is a symlink/);
    expect(readdirSync(outside)).toEqual(['victim']);

    rmSync(join(log.tiles, 'tile', '0'));
    mkdirSync(join(log.tiles, 'tile', '0'));
    symlinkSync(join(outside, 'victim'), join(log.tiles, 'tile', '0', '000'));
    expect(thrown(() => publish(log)).message).toMatch(/tile\/0\/000 is a symlink/);
    expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('precious');

    rmSync(join(log.tiles, 'tile', '0', '000'));
    // The refused runs already wrote tile/entries/000 (derived, harmless without a checkpoint).
    rmSync(join(log.tiles, 'tile', 'entries', '000'));
    execFileSync('mkfifo', [join(log.tiles, 'tile', 'entries', '000')]);
    expect(thrown(() => publish(log)).message).toMatch(/tile\/entries\/000 is not a regular file/);
    expect(existsSync(join(log.tiles, 'checkpoint'))).toBe(false);
  });
});

describe('sealog tiles: the command', () => {
  it('publishes with --key, reports in JSON, and refuses a --key that is a path', async () => {
    const log = await sealed(10);
    const keyFile = join(log.tiles, '..', 'keys.txt');
    writeFileSync(keyFile, `${log.vkeys.join('\n')}\n`);
    const r = await runCli(['tiles', log.path, log.tiles, '--key-file', keyFile, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as { size: number; written: string[]; root: string };
    expect(out.size).toBe(10);
    expect(out.written.at(-1)).toBe('checkpoint');
    expect(readFileSync(join(log.tiles, 'checkpoint'), 'utf8').split('\n')[2]).toBe(out.root);
    const again = await runCli(['tiles', log.path, log.tiles, '--key', log.vkeys[0]!]);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/0 file\(s\) written, 3 unchanged/);
    expect((await runCli(['tiles', log.path, log.tiles, '--key', keyFile])).code).toBe(2);
    expect((await runCli(['tiles', log.path])).code).toBe(2);
  });
});
