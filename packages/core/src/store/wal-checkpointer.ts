// SQLite copies the WAL back into the database file (a "checkpoint") inside
// whichever commit takes the WAL past wal_autocheckpoint pages (1000, ~4 MiB):
// that commit then copies ~4 MiB and fsyncs the file, tens of ms instead of a
// few (measured: worst commit 47–100 ms). On a transport's worker that stall is
// the app's problem: pino's buffer grows while the worker is held, and past
// V8's large-string size thread-stream's decode of it is ~20× slower per byte.
//
// So a long-running writer also checkpoints from a thread of its own, on its
// own connection, in PASSIVE mode (never waits for, nor blocks, the writer),
// every WAL_CHECKPOINT_INTERVAL_MS. The writer's inline checkpoint still runs
// at its threshold — only it can restart the WAL while it holds the write lock,
// which keeps the file bounded — but it finds the frames already copied except
// the last interval's, so it copies little.

import { Worker } from 'node:worker_threads';

/** How often the background thread checkpoints (a no-op when nothing is new). */
export const WAL_CHECKPOINT_INTERVAL_MS = 50;

// The sources (run by vitest) start the built worker: build before running store tests.
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/store/wal-worker.js', import.meta.url)
  : new URL('./wal-worker.js', import.meta.url);

/** What the worker is given: the database file, and how often to checkpoint. */
export interface WalWorkerData {
  path: string;
  intervalMs: number;
}

/**
 * Checkpoints the WAL of the SQLite file at `path` from a worker thread until
 * {@link close}. The thread never keeps the process alive, and if it fails
 * (the file went away, a busy lock) SQLite's own checkpoint in the writer's
 * commits still bounds the WAL, only slower.
 */
export class WalCheckpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;

  constructor(path: string, intervalMs = WAL_CHECKPOINT_INTERVAL_MS) {
    const workerData: WalWorkerData = { path, intervalMs };
    this.#worker = new Worker(WORKER_URL, { workerData });
    this.#worker.unref();
    // A dead checkpointer costs speed, not data: SQLite's inline checkpoint takes over.
    this.#worker.on('error', () => {});
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
  }

  /**
   * Stops the thread; resolves once it has closed its connection (the last
   * connection to close checkpoints the WAL into the file and removes it).
   */
  close(): Promise<void> {
    // Held open until the thread is gone (it closes its connection in a moment),
    // so a caller awaiting this is not cut short by an otherwise idle process.
    this.#worker.ref();
    this.#worker.postMessage('close');
    return this.#exited;
  }
}
