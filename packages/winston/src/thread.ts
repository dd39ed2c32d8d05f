// The app-thread end of the ledger worker: batches lines, posts them once per
// event-loop turn (or when a batch is full), bounds the bytes in flight
// (maxQueueBytes) under the overload policy, answers `stats` from the shared
// counters, and blocks at process exit until the worker has committed what
// was logged (pino's thread-stream does the same with Atomics.wait; a worker
// keeps running while the app thread waits).
//
// Overload (docs/performance.md): with `shed` a record that does not fit is
// not posted; its level and time are counted and the count is posted in its
// place, where the worker seals it as a gap record. With `block` log() waits
// until the worker has room, at most STALL_WAIT_MS without progress, and then
// sheds until the worker moves again: a stalled disk never stalls the app.
import { Worker } from 'node:worker_threads';
import {
  DEFAULT_MAX_QUEUE_BYTES,
  GapCounter,
  type LedgerStats,
  type OverloadPolicy,
  recordTime,
  SealogError,
  type SealogErrorCode,
} from '@sealog/core';
import { type FromWorker, SLOT, SLOT_COUNT, type ToWorker, type WireError } from './protocol.js';

/** Lines per postMessage: one message per turn unless the app logs more than this in one turn. */
const MAX_BATCH = 2000;
/** Longest log() waits (`block`) for the worker to make progress before it sheds instead. */
const STALL_WAIT_MS = 1000;
/** The same while the worker is still opening the ledger (and its pool): opening is not a stall. */
const OPEN_WAIT_MS = 10_000;

/** How much the app thread may hold for the worker, and what happens beyond it. */
export interface ThreadBounds {
  policy: OverloadPolicy;
  /** Bytes (UTF-16 units of the lines) posted or batched and not yet settled by the worker. */
  maxQueueBytes: number;
}

const DEFAULT_BOUNDS: ThreadBounds = { policy: 'shed', maxQueueBytes: DEFAULT_MAX_QUEUE_BYTES };

// The sources (run by vitest) start the built worker: build before running worker tests.
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../dist/worker.js', import.meta.url)
  : new URL('./worker.js', import.meta.url);

export interface ThreadHooks {
  /** A failure the worker reported (commit failed, transform failed, ...). */
  onWarn(err: SealogError): void;
  /** The ledger cannot be used at all (failed to open, worker died). */
  onFatal(err: SealogError): void;
}

interface Pending {
  resolve(): void;
  reject(err: SealogError): void;
}

export function fromWire(e: WireError): SealogError {
  return new SealogError(e.code as SealogErrorCode, e.message);
}

/** Owns the worker thread of one transport. */
export class LedgerThread {
  readonly #worker: Worker;
  readonly #slots: BigInt64Array;
  readonly #hooks: ThreadHooks;
  readonly #bounds: ThreadBounds;
  #batch: string[] = [];
  #batchBytes = 0;
  #postedBytes = 0;
  /** Posted batches not yet settled: [lines posted up to and including it, bytes likewise]. */
  readonly #marks: [number, number][] = [];
  #settledBytes = 0;
  readonly #gap = new GapCounter('overload');
  #shedding = false;
  #scheduled = false;
  #posted = 0;
  #refusedHere = 0; // counted on this thread: never posted because the worker cannot take them
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #dead: SealogError | undefined; // the ledger is unusable: records are refused here
  #gone = false; // the worker thread itself has ended
  #closing = false;
  #stalledAt = -1n; // settled count when log() last gave up waiting
  #closed = false;
  readonly #postTick = () => {
    this.#scheduled = false;
    this.#post();
  };

  /** @throws SealogError E_CONFIG when the options cannot cross to a worker (functions, class instances). */
  constructor(options: Record<string, unknown>, hooks: ThreadHooks, bounds: ThreadBounds = DEFAULT_BOUNDS) {
    this.#hooks = hooks;
    this.#bounds = bounds;
    const counters = new SharedArrayBuffer(SLOT_COUNT * BigInt64Array.BYTES_PER_ELEMENT);
    this.#slots = new BigInt64Array(counters);
    try {
      this.#worker = new Worker(WORKER_URL, { workerData: { options, counters } });
    } catch (err) {
      throw new SealogError(
        'E_CONFIG',
        'sealog options must be plain JSON (no functions or class instances)',
        {
          cause: err,
        },
      );
    }
    this.#worker.on('message', (m: FromWorker) => this.#onMessage(m));
    this.#worker.on('error', (err) =>
      this.#die(new SealogError('E_IO', `the ledger worker failed: ${err.message}`)),
    );
    this.#worker.on('exit', () => {
      this.#gone = true;
      if (!this.#closing) this.#die(new SealogError('E_IO', 'the ledger worker stopped before close'));
      for (const id of [...this.#pending.keys()]) this.#settle(id, this.#dead);
    });
    // Never keep the app alive: records still in flight at exit are committed by syncFlush().
    // (After the listeners: attaching a 'message' listener refs the worker's port again.)
    this.#worker.unref();
  }

  get stats(): LedgerStats {
    const committed = Number(Atomics.load(this.#slots, SLOT.committed));
    const refusedThere = Number(Atomics.load(this.#slots, SLOT.refused));
    return {
      committed,
      pending:
        this.#batch.length + Math.max(0, this.#posted - Number(Atomics.load(this.#slots, SLOT.settled))),
      // Shed here and not yet posted: the worker adds them to its count once the gap reaches it.
      refused: refusedThere + this.#refusedHere + this.#gap.records,
      failedCommits: Number(Atomics.load(this.#slots, SLOT.failedCommits)),
    };
  }

  /**
   * Queues one line (wire.ts) for the worker, or sheds it (counted by the
   * record's level and time) when the bound is reached. Never throws.
   */
  write(line: string, record?: Record<string, unknown>): void {
    if (this.#dead !== undefined || this.#closed) {
      this.#refusedHere++;
      return;
    }
    if (this.#overBound(line.length)) {
      // What was batched was logged before this record: it goes ahead of the gap.
      if (this.#gap.records === 0) this.#postLines();
      const level = record?.level;
      this.#gap.add(
        typeof level === 'string' || typeof level === 'number' ? level : undefined,
        recordTime(record, Date.now()),
      );
      return;
    }
    // Records shed before this one are counted in their place, ahead of it.
    if (this.#gap.records > 0) this.#postGap();
    this.#batch.push(line);
    this.#batchBytes += line.length;
    if (this.#batch.length >= MAX_BATCH) this.#post();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#postTick);
    }
  }

  /** True when `bytes` more would exceed the bound and the policy (or a stalled worker) says shed. */
  #overBound(bytes: number): boolean {
    const max = this.#bounds.maxQueueBytes;
    let held = this.#held();
    if (this.#shedding) {
      // Shed until half the bound is free again: one gap record per overload, not one per record.
      if (held >= max / 2) return true;
      this.#shedding = false;
    }
    if (held + bytes <= max) return false;
    if (this.#bounds.policy === 'block') {
      this.#post();
      held = this.#waitForRoom(max - bytes);
      if (held + bytes <= max) return false;
    }
    this.#shedding = true;
    return true;
  }

  /** Bytes batched, or posted and not yet settled by the worker. */
  #held(): number {
    const settled = Number(Atomics.load(this.#slots, SLOT.settled));
    while (this.#marks.length > 0 && (this.#marks[0] as [number, number])[0] <= settled) {
      this.#settledBytes = (this.#marks.shift() as [number, number])[1];
    }
    return this.#batchBytes + this.#postedBytes - this.#settledBytes;
  }

  /** Resolves once everything written so far is committed. */
  async flush(): Promise<void> {
    await this.#request('flush');
    if (this.#dead !== undefined) throw this.#dead;
  }

  /** Commits everything, writes the final checkpoint, closes the ledger and ends the worker. */
  async close(): Promise<void> {
    this.#closing = true;
    try {
      await this.#request('close');
    } finally {
      this.#closed = true;
    }
  }

  /**
   * For process `exit`: posts what is batched and blocks until the worker has
   * committed it, at most `timeoutMs`. Returns false on timeout.
   */
  syncFlush(timeoutMs: number): boolean {
    this.#post();
    if (this.#gone || this.#closed) return true;
    const id = this.#nextId++;
    this.#worker.postMessage({ t: 'sync', id } satisfies ToWorker);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = Atomics.load(this.#slots, SLOT.synced);
      if (seen >= BigInt(id)) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.#slots, SLOT.synced, seen, left);
    }
  }

  /** Posts the batched lines, then the gap counted after them (write() keeps that order). */
  #post(): void {
    this.#postLines();
    this.#postGap();
  }

  #postGap(): void {
    const g = this.#gap.take();
    if (g === undefined) return;
    if (this.#dead !== undefined || this.#closed) this.#refusedHere += g.records;
    else this.#worker.postMessage({ t: 'gap', gap: g } satisfies ToWorker);
  }

  #postLines(): void {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    const bytes = this.#batchBytes;
    this.#batchBytes = 0;
    if (this.#dead !== undefined || this.#closed) {
      this.#refusedHere += batch.length;
      return;
    }
    this.#worker.postMessage(batch.join('\n') satisfies ToWorker);
    this.#posted += batch.length;
    this.#postedBytes += bytes;
    this.#marks.push([this.#posted, this.#postedBytes]);
  }

  /**
   * `block`: the app outruns the ledger. Wait (blocking, like a synchronous
   * file write) until at most `target` bytes are held, but stop waiting when
   * the worker settles nothing for STALL_WAIT_MS (a locked or full disk):
   * the caller then sheds, and counts, until the worker moves again.
   * Returns the bytes held when it stopped waiting.
   */
  #waitForRoom(target: number): number {
    let held = this.#held();
    let last = Atomics.load(this.#slots, SLOT.settled);
    // Stalled before and nothing settled since: do not block the app again for every record.
    if (last === this.#stalledAt) return held;
    while (held > target) {
      const opened = Atomics.load(this.#slots, SLOT.opened) === 1n;
      if (
        Atomics.wait(this.#slots, SLOT.settled, last, opened ? STALL_WAIT_MS : OPEN_WAIT_MS) === 'timed-out'
      ) {
        this.#stalledAt = last;
        return this.#held();
      }
      last = Atomics.load(this.#slots, SLOT.settled);
      held = this.#held();
    }
    return held;
  }

  #request(t: 'flush' | 'close'): Promise<void> {
    this.#post();
    if (this.#gone)
      return t === 'close' || this.#dead === undefined ? Promise.resolve() : Promise.reject(this.#dead);
    if (this.#closed) return Promise.resolve();
    const id = this.#nextId++;
    // While the app waits for an answer, the worker must keep the process alive.
    this.#worker.ref();
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ t, id } satisfies ToWorker);
    });
  }

  #settle(id: number, err?: SealogError): void {
    const p = this.#pending.get(id);
    if (p === undefined) return;
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#worker.unref();
    if (err === undefined) p.resolve();
    else p.reject(err);
  }

  #onMessage(m: FromWorker): void {
    if (m.t === 'warn') this.#hooks.onWarn(fromWire(m.error));
    else if (m.t === 'openFailed') this.#die(fromWire(m.error));
    else this.#settle(m.id, m.error === undefined ? undefined : fromWire(m.error));
  }

  /** The ledger is unusable: later records are refused and counted (a live worker still answers requests). */
  #die(err: SealogError): void {
    if (this.#dead !== undefined) return;
    this.#dead = err;
    this.#hooks.onFatal(err);
  }
}
