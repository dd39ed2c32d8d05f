import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { HASH_SIZE } from '../hash.js';
import { type CleanPage, PAGE_ROWS, pageReader } from './page.js';

// Where the verifier's pages come from: read and hashed on this thread, or by
// worker threads on the other cores (issue 8: SHA-256 through node:crypto
// costs ~0.85 µs a call, three calls a record, so one core tops out near 250k
// records/s). Workers take pages round-robin and hand back leaves and chains
// through SharedArrayBuffer slots; this thread consumes them in order and
// keeps the Merkle tree. verifyLedger is synchronous, so the hand-off uses
// Atomics.wait, not messages. A worker that fails, for any reason, only turns
// its pages "dirty": they are then read row by row here.
// Not piscina or workerpool: both hand results back as promises, which a
// synchronous verifyLedger (public API, also run inside one SQLite read
// transaction) cannot await.

/** Fewer rows than this are verified on this thread: starting workers costs more than it saves. */
export const MIN_PARALLEL_ROWS = 4 * PAGE_ROWS;
/** Default worker count: one per core when there are several, at most 4. */
export const DEFAULT_THREADS = availableParallelism() > 1 ? Math.min(4, availableParallelism()) : 0;
/** Slots per worker: how many pages a worker may run ahead. */
const SLOTS = 3;
/** How long to wait for a worker thread to start before doing its pages here. */
const START_TIMEOUT_MS = 15_000;
/**
 * How long one page may take once the worker runs (8192 rows take milliseconds):
 * a worker that died without reaching its catch (out of memory) never says so.
 */
const PAGE_TIMEOUT_MS = 60_000;

/** Shared control block, Int32 indexes. */
const STARTED = 0;
const DEAD = 1;
const STATE = 2; // + slot: 0 free, 1 filled by the worker
const COUNT = STATE + SLOTS; // + slot: rows in the page, 0 when dirty
const HEADER_BYTES = 4 * (COUNT + SLOTS);
const SLOT_BYTES = 2 * PAGE_ROWS * HASH_SIZE;

/** Pages by index k, each the rows seq in [k·PAGE_ROWS, min((k+1)·PAGE_ROWS, lastSeq+1)). */
export interface PageSource {
  /** Page k, or undefined when it must be read row by row. Called once per k, in order. */
  page(k: number): CleanPage | undefined;
  close(): void;
}

/** Data shared with one worker (page-worker.ts). */
export interface PageWorkerData {
  path: string;
  lastSeq: number;
  index: number;
  threads: number;
  shared: SharedArrayBuffer;
}

/** Pages read and hashed on this thread, in `db`'s snapshot. */
export function inThreadPages(db: Database.Database, lastSeq: number): PageSource {
  const read = pageReader(db);
  return {
    page: (k) => read(k * PAGE_ROWS, Math.min((k + 1) * PAGE_ROWS, lastSeq + 1)),
    close: () => {},
  };
}

const WORKER_URL = new URL('./page-worker.js', import.meta.url);

/**
 * Pages read and hashed by `threads` worker threads on their own read-only
 * connections; undefined when the worker script is not there (running from
 * TypeScript sources in a test runner), so the caller reads on this thread.
 */
export function workerPages(path: string, lastSeq: number, threads: number): PageSource | undefined {
  if (!existsSync(fileURLToPath(WORKER_URL))) return undefined;
  const workers: { worker: Worker; head: Int32Array; data: Buffer }[] = [];
  try {
    for (let index = 0; index < threads; index++) {
      const shared = new SharedArrayBuffer(HEADER_BYTES + SLOTS * SLOT_BYTES);
      const workerData: PageWorkerData = { path, lastSeq, index, threads, shared };
      const worker = new Worker(WORKER_URL, { workerData });
      worker.unref();
      worker.on('error', () => {}); // it marks itself dead first; its pages are read here
      workers.push({ worker, head: new Int32Array(shared, 0, HEADER_BYTES / 4), data: Buffer.from(shared) });
    }
  } catch {
    // No threads to be had (resource limits): verify on this thread rather than fail.
    for (const w of workers) void w.worker.terminate();
    return undefined;
  }
  return {
    page(k) {
      const w = workers[k % threads]!;
      const j = Math.floor(k / threads);
      const slot = j % SLOTS;
      if (!waitFilled(w.head, slot)) {
        void w.worker.terminate(); // declared dead: it must not fill slots out of turn later
        return undefined;
      }
      const count = w.head[COUNT + slot]!;
      let page: CleanPage | undefined;
      if (count > 0) {
        const at = HEADER_BYTES + slot * SLOT_BYTES;
        const n = count * HASH_SIZE;
        // Copies: the slot is reused, and the Merkle tree keeps some leaves.
        page = {
          count,
          leaves: Buffer.from(w.data.subarray(at, at + n)),
          chains: Buffer.from(w.data.subarray(at + SLOT_BYTES / 2, at + SLOT_BYTES / 2 + n)),
        };
      }
      Atomics.store(w.head, STATE + slot, 0);
      Atomics.notify(w.head, STATE + slot);
      return page;
    },
    close() {
      for (const w of workers) void w.worker.terminate();
    },
  };
}

/** Blocks until the worker filled `slot`; false if it died, never started, or stopped making progress. */
function waitFilled(head: Int32Array, slot: number): boolean {
  const since = Date.now();
  for (;;) {
    if (Atomics.load(head, STATE + slot) === 1) return true;
    if (Atomics.load(head, DEAD) === 1) return false;
    const waited = Date.now() - since;
    if (waited > (Atomics.load(head, STARTED) === 0 ? START_TIMEOUT_MS : PAGE_TIMEOUT_MS)) {
      Atomics.store(head, DEAD, 1);
      return false;
    }
    Atomics.wait(head, STATE + slot, 0, 100);
  }
}

/** The worker side of the slot protocol (called from page-worker.ts). */
export function servePages(db: Database.Database, data: PageWorkerData): void {
  const head = new Int32Array(data.shared, 0, HEADER_BYTES / 4);
  const bytes = Buffer.from(data.shared);
  const read = pageReader(db);
  for (let j = 0; ; j++) {
    const from = (data.index + j * data.threads) * PAGE_ROWS;
    if (from > data.lastSeq) return;
    const slot = j % SLOTS;
    while (Atomics.load(head, STATE + slot) !== 0) Atomics.wait(head, STATE + slot, 1);
    const page = read(from, Math.min(from + PAGE_ROWS, data.lastSeq + 1));
    const at = HEADER_BYTES + slot * SLOT_BYTES;
    if (page) {
      page.leaves.copy(bytes, at);
      page.chains.copy(bytes, at + SLOT_BYTES / 2);
    }
    head[COUNT + slot] = page ? page.count : 0;
    Atomics.store(head, STATE + slot, 1);
    Atomics.notify(head, STATE + slot);
  }
}

/** Marks the worker started (or dead) and wakes this thread if it waits. */
export function signal(shared: SharedArrayBuffer, what: 'started' | 'dead'): void {
  const head = new Int32Array(shared, 0, HEADER_BYTES / 4);
  Atomics.store(head, what === 'started' ? STARTED : DEAD, 1);
  for (let s = 0; s < SLOTS; s++) Atomics.notify(head, STATE + s);
}
