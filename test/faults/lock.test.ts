import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSink, type SealogError, verifyLedger } from '../../packages/core/src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { makeKey, recordsByWriter, upTo } from './harness.js';

// Another process holds the write lock (BEGIN IMMEDIATE) for 3 s while the app
// logs. With a busy timeout longer than the lock, commits just wait; with a
// shorter one they fail with E_IO "locked", the records are kept and retried.
// Either way: no crash, no loss, one valid chain.

const HOLD_MS = 3000;

/** A separate process that takes the write lock, says "locked", holds it, then commits. */
function holdLock(path: string): { locked: Promise<void>; done: Promise<number | null> } {
  const script = `
    import Database from 'better-sqlite3';
    const db = new Database(${JSON.stringify(path)});
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('COMMIT'); db.close(); process.stdout.write('released\\n'); }, ${HOLD_MS});
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: join(import.meta.dirname, '..', '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const locked = new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => d.includes('locked') && resolve());
    child.on('error', reject);
    child.on('exit', () => reject(new Error('locker exited before locking')));
  });
  const done = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { locked, done };
}

async function logThroughLock(busyTimeoutMs: number): Promise<{ errors: SealogError[]; failed: number }> {
  const dir = tempDir();
  const path = join(dir, 'locked.db');
  const key = makeKey(dir);
  const errors: SealogError[] = [];
  const sink = await openSink(
    { path, busyTimeoutMs, batchDelayMs: 5, checkpoint: { keyFile: key.keyFile, everyRecords: 100 } },
    { onError: (e) => errors.push(e) },
  );
  let n = 0;
  for (; n < 200; n++) sink.write({ w: 'w', n });
  await sink.flush();
  const locker = holdLock(path);
  await locker.locked;
  const acks: Promise<void>[] = [];
  // Keep logging while the file is locked, across the whole hold.
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 50; i++, n++) acks.push(sink.ledger.append({ w: 'w', n }));
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(await locker.done).toBe(0);
  await Promise.all(acks);
  const failed = sink.stats.failedCommits;
  await sink.close();
  expect(recordsByWriter(path).get('w')).toEqual(upTo(n));
  const report = verifyLedger(path, { keys: [key.vkey], strict: true });
  expect(report.findings).toEqual([]);
  return { errors, failed };
}

describe('ledger locked by another process for 3 s', () => {
  it('busy timeout longer than the lock: commits wait, no error, no loss', async () => {
    const { errors, failed } = await logThroughLock(10_000);
    expect(errors).toEqual([]);
    expect(failed).toBe(0);
  }, 30_000);

  it('busy timeout shorter than the lock: E_IO "locked" reported, records retried, no loss', async () => {
    const { errors, failed } = await logThroughLock(300);
    expect(failed).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) {
      expect(e.code).toBe('E_IO');
      expect(e.message).toMatch(/locked/);
    }
  }, 30_000);
});
