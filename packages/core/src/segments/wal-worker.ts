// The thread of a SegmentWal (wal.ts): a PASSIVE checkpoint of the current
// segment every intervalMs, on its own connection. Told to follow the next
// segment, it first drains the closed one (TRUNCATE: nothing is appended there
// any more), so the writer's own close of that file finds nothing to copy.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { SegmentWalData, SegmentWalMessage } from './wal.js';

const { path, intervalMs } = workerData as SegmentWalData;
// No busy wait: PASSIVE gives up on a lock instead of waiting, and the next tick tries again.
const open = (p: string) => new Database(p, { fileMustExist: true, timeout: 0 });
let db: Database.Database | undefined;
try {
  db = open(path);
} catch {
  // the writer's inline checkpoints still bound the WAL
}

function run(mode: 'PASSIVE' | 'TRUNCATE'): void {
  try {
    db?.pragma(`wal_checkpoint(${mode})`);
  } catch {
    // SQLITE_BUSY (a writer mid-restart): the next tick tries again.
  }
}

const timer = setInterval(() => run('PASSIVE'), intervalMs);
parentPort?.on('message', (m: SegmentWalMessage) => {
  if (m.type === 'follow') {
    run('TRUNCATE');
    db?.close();
    try {
      db = open(m.path);
    } catch {
      db = undefined;
    }
    return;
  }
  clearInterval(timer);
  db?.close();
  parentPort?.close();
});
