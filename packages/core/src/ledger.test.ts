import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { checkChain } from '../../../test/helpers/chain.js';
import { tempDir } from '../../../test/helpers/tmp.js';
import { SealogError } from './errors.js';
import { Ledger, recordTime } from './ledger.js';
import { LedgerReader } from './store/reader.js';

const rec = (i: number) => ({ level: 30, time: 1_700_000_000_000 + i, msg: `event ${i}`, i });

describe('Ledger', () => {
  it('append resolves only after the record is committed and readable by another connection', async () => {
    const path = join(tempDir(), 'a.db');
    const ledger = Ledger.open({ path, batchDelayMs: 10_000 });
    const p = ledger.append(rec(0));
    // Not yet committed: a separate reader sees nothing.
    const reader = new LedgerReader(path);
    expect(reader.size()).toBe(0);
    await ledger.flush();
    await p;
    expect(reader.size()).toBe(1);
    reader.close();
    await ledger.close();
  });

  it('commits in batches bounded by size and time, then the chain checks out', async () => {
    const path = join(tempDir(), 'a.db');
    const commits: number[] = [];
    const ledger = Ledger.open({
      path,
      batchSize: 100,
      batchDelayMs: 5,
      onCommit: (r) => commits.push(r.size),
    });
    for (let i = 0; i < 250; i++) ledger.write(rec(i));
    // Two full batches are committed synchronously inside write(): that is the backpressure.
    expect(commits).toEqual([100, 200]);
    await new Promise((r) => setTimeout(r, 50));
    expect(commits).toEqual([100, 200, 250]);
    await ledger.close();
    const { size, entries } = checkChain(path);
    expect(size).toBe(250);
    expect(JSON.parse(entries[249]!)).toEqual(rec(249));
  });

  it('reopening resumes the chain and Merkle tree from the stored state', async () => {
    const path = join(tempDir(), 'a.db');
    for (let round = 0; round < 3; round++) {
      const ledger = Ledger.open({ path });
      for (let i = 0; i < 7; i++) ledger.write(rec(round * 7 + i));
      await ledger.close();
    }
    const { size, entries } = checkChain(path);
    expect(size).toBe(21);
    expect(entries.map((e) => JSON.parse(e).i)).toEqual([...Array(21).keys()]);
  });

  it('stores the time index from pino time, winston timestamp, or now', () => {
    expect(recordTime({ time: 1234.9 }, 5)).toBe(1234);
    expect(recordTime({ timestamp: '2024-01-01T00:00:00.000Z' }, 5)).toBe(Date.UTC(2024, 0, 1));
    expect(recordTime({ timestamp: 'not a date' }, 5)).toBe(5);
    expect(recordTime('x', 5)).toBe(5);
  });

  it('refuses UPDATE and DELETE on records through the append-only triggers', async () => {
    const path = join(tempDir(), 'a.db');
    const ledger = Ledger.open({ path });
    await ledger.append(rec(0));
    await ledger.close();
    const db = new Database(path);
    expect(() => db.prepare("UPDATE records SET entry = x'00'").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM records').run()).toThrow(/append-only/);
    db.close();
  });

  it('refuses to open a file whose stored head does not match its rows', async () => {
    const path = join(tempDir(), 'a.db');
    const ledger = Ledger.open({ path });
    for (let i = 0; i < 3; i++) ledger.write(rec(i));
    await ledger.close();
    const db = new Database(path);
    db.exec('DROP TRIGGER records_no_delete; DELETE FROM records WHERE seq = 2;');
    db.close();
    expect(() => Ledger.open({ path })).toThrow(
      expect.objectContaining({ code: 'E_STATE', message: expect.stringMatching(/sealog verify/) }),
    );
  });

  it('gives coded, actionable errors for bad locations and foreign files', () => {
    const dir = tempDir();
    const missing = join(dir, 'nope', 'a.db');
    expect(() => Ledger.open({ path: missing })).toThrow(
      expect.objectContaining({ code: 'E_IO', message: expect.stringMatching(/does not exist; create it/) }),
    );
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello, this is not a database at all'.repeat(100));
    expect(() => Ledger.open({ path: text })).toThrow(expect.objectContaining({ code: 'E_NOT_LEDGER' }));
    const other = join(dir, 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE users (id INTEGER)');
    db.close();
    expect(() => Ledger.open({ path: other })).toThrow(
      expect.objectContaining({
        code: 'E_NOT_LEDGER',
        message: expect.stringMatching(/not a sealog ledger/),
      }),
    );
    if (process.getuid?.() !== 0) {
      const ro = join(dir, 'ro');
      mkdirSync(ro);
      chmodSync(ro, 0o500);
      expect(() => Ledger.open({ path: join(ro, 'a.db') })).toThrow(
        expect.objectContaining({ code: 'E_IO' }),
      );
    }
  });

  it('validates options at open with E_CONFIG', () => {
    const path = join(tempDir(), 'a.db');
    expect(() => Ledger.open({ path: '' })).toThrow(SealogError);
    expect(() => Ledger.open({ path, batchSize: 0 })).toThrow(/option "batchSize" must be an integer from 1/);
    expect(() => Ledger.open({ path, durability: 'disk' as never })).toThrow(
      /option "durability" must be "process" or "power"/,
    );
    // the caps are checked too, not silently disabled (issue 14 finding 10)
    expect(() => Ledger.open({ path, maxDepth: 'x' as never })).toThrow(
      /option "maxDepth" must be an integer/,
    );
  });

  it('keeps records queued and retries when the store fails, losing nothing', async () => {
    const path = join(tempDir(), 'a.db');
    const errors: SealogError[] = [];
    const ledger = Ledger.open({ path, busyTimeoutMs: 0, onError: (e) => errors.push(e) });
    // Another connection holds the write lock: commits fail with SQLITE_BUSY.
    const blocker = new Database(path);
    blocker.exec('BEGIN IMMEDIATE');
    const done = ledger.append(rec(0));
    await new Promise((r) => setTimeout(r, 150));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.code).toBe('E_IO');
    expect(ledger.stats.pending).toBe(1);
    blocker.exec('COMMIT');
    blocker.close();
    await done;
    expect(ledger.stats).toMatchObject({ committed: 1, pending: 0 });
    await ledger.close();
    expect(checkChain(path).size).toBe(1);
  });

  it('close is idempotent: concurrent calls settle together, after the commit', async () => {
    const path = join(tempDir(), 'a.db');
    const ledger = Ledger.open({ path, batchDelayMs: 10_000 });
    ledger.write(rec(0));
    const [a, b] = [ledger.close(), ledger.close()];
    expect(a).toBe(b);
    await b;
    expect(checkChain(path).size).toBe(1);
  });

  it('rejects writes after close with E_CLOSED', async () => {
    const ledger = Ledger.open({ path: join(tempDir(), 'a.db') });
    await ledger.close();
    expect(() => ledger.write(rec(0))).toThrow(expect.objectContaining({ code: 'E_CLOSED' }));
  });
});
