// The thread of a WalCheckpointer (wal-checkpointer.ts): its own connection to
// the ledger file and a PASSIVE checkpoint every intervalMs, until told to close.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { WalWorkerData } from './wal-checkpointer.js';

const { path, intervalMs } = workerData as WalWorkerData;
// No busy wait: PASSIVE gives up on a lock instead of waiting, and the next tick tries again.
const db = new Database(path, { fileMustExist: true, timeout: 0 });

function checkpoint(): void {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // SQLITE_BUSY (another checkpointer, a writer mid-restart): the next tick tries again.
  }
}

const timer = setInterval(checkpoint, intervalMs);
parentPort?.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort?.close();
});
