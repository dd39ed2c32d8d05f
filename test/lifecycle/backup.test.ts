// `sealog backup` of a SQLite ledger (issue 18 §3), through the built binary
// and a real writer process: every record acknowledged before the backup began
// is in the copy, the copy is one self-contained file that verifies with the
// key, and a plain copy of the ledger's file, which loses records, is shown to.
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { backupLedger, openSink } from '../../packages/core/src/index.js';
import { attackerOpen, BIN, type Keys, keygen, sealog, WriterProcess } from '../attacks/harness.js';
import { tempDir } from '../helpers/tmp.js';

type Row = { seq: number; ts: number; entry: Buffer; chain: Buffer };

function rows(path: string): Row[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT seq, ts, entry, chain FROM records ORDER BY seq').all() as Row[];
  } finally {
    db.close();
  }
}

/**
 * The first row of `prefix` that is not the same row of `all`, byte for byte
 * (a message), or undefined. Deep equality on megabytes of Buffers is too slow.
 */
function firstDifference(prefix: Row[], all: Row[]): string | undefined {
  if (prefix.length > all.length) return `${prefix.length} rows, more than ${all.length}`;
  for (let i = 0; i < prefix.length; i++) {
    const a = prefix[i]!;
    const b = all[i]!;
    if (a.seq !== b.seq || a.ts !== b.ts || !a.entry.equals(b.entry) || !a.chain.equals(b.chain)) {
      return `row ${i} differs (seq ${a.seq} / ${b.seq})`;
    }
  }
  return undefined;
}

/** The files of `dir`, but the ledger's own -wal/-shm, which any reader may create. */
function listing(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !/^audit\.db-(wal|shm)$/.test(f))
    .sort();
}

/** Records of a ledger of ~`n` × 500 bytes, made by a sink and closed. */
async function ledger(path: string, keys: Keys, n: number): Promise<void> {
  const sink = await openSink({ path, checkpoint: { keyFile: keys.keyFile, everyRecords: 500 } });
  for (let i = 0; i < n; i++)
    sink.write({ level: 30, time: Date.now(), msg: 'seed', i, pad: 'p'.repeat(400) });
  await sink.close();
}

describe('sealog backup of a live SQLite ledger', () => {
  it('keeps every record acknowledged before it began, while another process writes', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = join(dir, 'audit.db');
    const copy = join(dir, 'copy.db');
    const w = new WriterProcess({ path, checkpoint: { keyFile: keys.keyFile, everyRecords: 500 } });
    await w.ready();
    // ~12 MB: several steps of the backup API, so commits land between them.
    await w.send('write', 4000, 'x'.repeat(2500));
    await w.send('flush');
    let acked = 4000;
    let stop = false;
    const writing = (async () => {
      while (!stop) {
        await w.send('write', 50, 'live');
        await w.send('flush');
        acked += 50;
      }
    })();
    await new Promise((r) => setTimeout(r, 200)); // the writer is mid-stream
    const ackedAtStart = acked;
    const t0 = Date.now();
    const r = await sealog(['backup', path, copy, '--key-file', keys.vkeyFile, '--progress']);
    const seconds = (Date.now() - t0) / 1000;
    const ackedAtEnd = acked;
    stop = true;
    await writing;
    expect(await w.close()).toBe(0);

    expect(r.code, r.out + r.err).toBe(0);
    const copied = rows(copy);
    expect(copied.length).toBeGreaterThanOrEqual(ackedAtStart);
    expect(ackedAtEnd, 'the writer went on during the backup').toBeGreaterThan(ackedAtStart);
    // What the CLI reports is what the copy holds.
    expect(r.out).toContain(`: ${copied.length} record(s),`);
    expect(r.out).toMatch(/OK: intact/);
    const progress = r.err.split('\n').filter((l) => /^ {2}copied \d+ of \d+ pages \(\d+%\)$/.test(l));
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.length, 'at most a line a second').toBeLessThanOrEqual(Math.ceil(seconds));
    // The copy is a prefix of the ledger, byte for byte, and the ledger went on past it.
    const all = rows(path);
    expect(all.length).toBeGreaterThan(copied.length);
    expect(firstDifference(copied, all)).toBeUndefined();
    expect(copied.filter((x) => x.entry.includes('"tag":"live"')).length).toBeGreaterThan(0);
    // One self-contained file: rollback journal, nothing beside it, no temporary left over.
    expect(readFileSync(copy).subarray(18, 20)).toEqual(Buffer.from([1, 1]));
    const v = await sealog(['verify', copy, '--key-file', keys.vkeyFile]);
    expect(v.code, v.out + v.err).toBe(0);
    expect(v.out).toContain(`${copied.length} records`);
    expect(readdirSync(dir).filter((f) => f.startsWith('copy') || f.startsWith('.copy'))).toEqual([
      'copy.db',
    ]);
  });

  it('a plain copy of the live file misses records and still verifies; backup does not miss them', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = join(dir, 'audit.db');
    const w = new WriterProcess({ path, checkpoint: { keyFile: keys.keyFile, everyRecords: 4 } });
    await w.ready();
    await w.send('write', 4, 'first');
    await w.send('flush');
    // The checkpoint at 4 is sealed after the commit; wait for it, then let the WAL reach the file.
    const ops = new Database(path);
    for (
      let i = 0;
      (ops.prepare('SELECT count(*) AS n FROM checkpoints').get() as { n: number }).n < 1;
      i++
    ) {
      if (i > 500) throw new Error('no checkpoint at 4');
      await new Promise((r) => setTimeout(r, 10));
    }
    ops.pragma('wal_checkpoint(PASSIVE)');
    // A reader holding a snapshot (tail -f, verify, query: ordinary on a live ledger) keeps
    // what is committed after it in the -wal file: no checkpoint may copy it into audit.db.
    const reader = new Database(path, { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM records').get();
    await w.send('write', 24, 'second');
    await w.send('flush');

    const plain = join(dir, 'plain.db');
    copyFileSync(path, plain); // what the new user did: audit.db without audit.db-wal
    const safe = join(dir, 'safe.db');
    const b = await sealog(['backup', path, safe, '--key-file', keys.vkeyFile]);
    reader.exec('COMMIT');
    reader.close();
    ops.close();
    expect(await w.close()).toBe(0);

    expect(rows(plain).length).toBe(4);
    const pv = await sealog(['verify', plain, '--key-file', keys.vkeyFile]);
    expect(pv.out).toContain('4 records');
    expect(pv.code, 'verify cannot tell a stale copy from the ledger').toBe(0);

    expect(b.code, b.out + b.err).toBe(0);
    expect(b.out).toContain(': 28 record(s),');
    expect(firstDifference(rows(safe), rows(path))).toBeUndefined();
    expect(rows(safe).length).toBe(rows(path).length);
    const sv = await sealog(['verify', safe, '--key-file', keys.vkeyFile]);
    expect(sv.code, sv.out).toBe(0);
    expect(sv.out).toContain('28 records');
  });

  it('a restored copy takes writers again and still verifies', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = join(dir, 'audit.db');
    const copy = join(dir, 'copy.db');
    await ledger(path, keys, 1000);
    expect((await sealog(['backup', path, copy, '--key-file', keys.vkeyFile])).code).toBe(0);
    await ledger(copy, keys, 300);
    expect(readFileSync(copy).subarray(18, 20), 'the writer switched it back to WAL').toEqual(
      Buffer.from([2, 2]),
    );
    const v = await sealog(['verify', copy, '--key-file', keys.vkeyFile, '--strict']);
    expect(v.code, v.out).toBe(0);
    expect(v.out).toContain('1300 records');
    expect(firstDifference(rows(path), rows(copy))).toBeUndefined();
  });

  it('a copy that does not verify is kept, and the exit status is 1', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = join(dir, 'audit.db');
    await ledger(path, keys, 100);
    const db = attackerOpen(path);
    db.prepare('UPDATE records SET entry = ? WHERE seq = 7').run(Buffer.from('{"msg":"edited"}'));
    db.close();
    const copy = join(dir, 'copy.db');
    const r = await sealog(['backup', path, copy, '--key-file', keys.vkeyFile]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/modified/);
    expect(r.out).toMatch(/FAILED/);
    expect(r.err).toMatch(/does not verify/);
    expect(firstDifference(rows(copy), rows(path))).toBeUndefined();
    expect(rows(copy).length).toBe(100);
  });

  it('without keys checks the chain only, and says so', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = join(dir, 'audit.db');
    await ledger(path, keys, 10);
    const r = await sealog(['backup', path, join(dir, 'copy.db')]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/OK \(chain only\)/);
    expect(r.err, 'no progress unless asked (stderr is not a terminal)').toBe('');
  });
});

describe('sealog backup refuses', () => {
  async function setup(): Promise<{ dir: string; path: string; keys: Keys }> {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = join(dir, 'audit.db');
    await ledger(path, keys, 20);
    return { dir, path, keys };
  }

  /** Runs a backup that must fail with exit 2 and leave the directory as it was. */
  async function refused(dir: string, args: string[], message: RegExp): Promise<void> {
    const before = listing(dir);
    const r = await sealog(['backup', ...args]);
    expect(r.code, r.out + r.err).toBe(2);
    expect(r.err).toMatch(message);
    expect(listing(dir)).toEqual(before);
  }

  it('an existing destination, never overwriting it', async () => {
    const { dir, path } = await setup();
    const dest = join(dir, 'old.db');
    writeFileSync(dest, 'yesterday');
    await refused(dir, [path, dest], /old\.db already exists; backup never overwrites/);
    expect(readFileSync(dest, 'utf8')).toBe('yesterday');
    symlinkSync(join(dir, 'nowhere.db'), join(dir, 'dangling.db'));
    await refused(dir, [path, join(dir, 'dangling.db')], /already exists/);
  });

  it('the ledger itself, under any spelling, and its side files', async () => {
    const { dir, path } = await setup();
    await refused(dir, [path, path], /is the ledger itself/);
    await refused(dir, [path, join(dir, '.', 'x', '..', 'audit.db')], /is the ledger itself/);
    symlinkSync(dir, join(dir, 'link'));
    await refused(dir, [path, join(dir, 'link', 'audit.db')], /is the ledger itself/);
    await refused(dir, [path, `${path}-journal`], /the ledger's journal file/);
  });

  it('a source that is not a ledger', async () => {
    const { dir } = await setup();
    writeFileSync(join(dir, 'notes.txt'), 'not a database');
    await refused(dir, [join(dir, 'notes.txt'), join(dir, 'c1.db')], /E_NOT_LEDGER: .*not a SQLite database/);
    new Database(join(dir, 'other.db')).exec('CREATE TABLE t (x)').close();
    await refused(dir, [join(dir, 'other.db'), join(dir, 'c2.db')], /not a sealog ledger/);
    await refused(dir, [join(dir, 'missing.db'), join(dir, 'c3.db')], /does not exist/);
  });

  it('a destination in a missing directory, a PostgreSQL destination, a bad key', async () => {
    const { dir, path } = await setup();
    await refused(dir, [path, join(dir, 'no', 'c.db')], /does not exist; create it first/);
    await refused(dir, [path, 'postgres://h/db'], /a backup is a SQLite file/);
    await refused(dir, [path, join(dir, 'c.db'), '--key', 'nonsense'], /key/);
  });

  it('an interrupted copy, leaving nothing behind', async () => {
    const { dir, path } = await setup();
    const before = listing(dir);
    await expect(
      backupLedger(path, join(dir, 'c.db'), {
        verify: { keys: [], chainOnly: true },
        signal: AbortSignal.abort(),
      }),
    ).rejects.toThrow(/interrupted/);
    expect(listing(dir)).toEqual(before);
  });
});

describe('progress and interruption', () => {
  /** A ledger made ~`mb` MB larger by a table of zeros, so the copy takes many steps. */
  async function big(dir: string, mb: number): Promise<string> {
    const keys = await keygen(dir);
    const path = join(dir, 'audit.db');
    await ledger(path, keys, 10);
    const db = new Database(path);
    db.exec(
      `CREATE TABLE pad (x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${mb})
       INSERT INTO pad SELECT zeroblob(1048576) FROM n`,
    );
    db.close();
    return path;
  }

  it('is shown by default on a terminal', async () => {
    const dir = tempDir();
    const path = await big(dir, 8);
    const cmd = [process.execPath, BIN, 'backup', path, join(dir, 'c.db')].map((a) => `'${a}'`).join(' ');
    // util-linux script(1) runs the command on a pseudo-terminal.
    const out = execFileSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8' });
    expect(out).toMatch(/copied \d+ of \d+ pages \(\d+%\)/);
    expect(out).toContain('OK (chain only)');
  });

  it('a backup killed mid-copy leaves no file at the destination, only its temporary', async () => {
    const dir = tempDir();
    const path = await big(dir, 200);
    const child = spawn(process.execPath, [BIN, 'backup', path, join(dir, 'c.db'), '--progress']);
    await new Promise<void>((resolve) => child.stderr.once('data', () => resolve()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const left = listing(dir).filter((f) => f.includes('c.db'));
    expect(left).not.toContain('c.db');
    expect(left.length).toBeGreaterThan(0);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^\.c\.db\.sealog-backup-[A-Za-z0-9]{6}$/);
    expect(statSync(join(dir, left[0]!)).mode & 0o777, 'a private directory').toBe(0o700);
  });
});

describe('the copy', () => {
  it('is no more readable than the source', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = join(dir, 'audit.db');
    await ledger(path, keys, 5);
    chmodSync(path, 0o600);
    expect((await sealog(['backup', path, join(dir, 'c.db')])).code).toBe(0);
    expect(statSync(join(dir, 'c.db')).mode & 0o777).toBe(0o600);
  });
});
