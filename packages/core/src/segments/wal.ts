// One background WAL checkpointer for a segmented writer (the single-file
// writer's is store/wal-checkpointer.ts). Each thread costs a new V8 isolate
// and a load of better-sqlite3, tens of ms of CPU: one per segment made every
// rotation a stall (measured: rotating commits 178 ms at p50 against 0.9 ms,
// benchmarks/segments.mjs). So one thread serves the writer's whole life and
// follows it from segment to segment.

import { Worker } from 'node:worker_threads';
import { WAL_CHECKPOINT_INTERVAL_MS } from '../store/wal-checkpointer.js';

// The sources (run by vitest) start the built worker: build before running store tests.
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/segments/wal-worker.js', import.meta.url)
  : new URL('./wal-worker.js', import.meta.url);

export interface SegmentWalData {
  path: string;
  intervalMs: number;
}

export type SegmentWalMessage = { type: 'follow'; path: string } | { type: 'close' };

export class SegmentWal {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;

  constructor(path: string, intervalMs = WAL_CHECKPOINT_INTERVAL_MS) {
    const workerData: SegmentWalData = { path, intervalMs };
    this.#worker = new Worker(WORKER_URL, { workerData });
    this.#worker.unref();
    // A dead checkpointer costs speed, not data: SQLite's inline checkpoint takes over.
    this.#worker.on('error', () => {});
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
  }

  /** Drains the closed segment's WAL, then checkpoints `path` from now on. */
  follow(path: string): void {
    this.#worker.postMessage({ type: 'follow', path } satisfies SegmentWalMessage);
  }

  /** Stops the thread; resolves once it closed its connection. */
  close(): Promise<void> {
    this.#worker.ref();
    this.#worker.postMessage({ type: 'close' } satisfies SegmentWalMessage);
    return this.#exited;
  }
}
