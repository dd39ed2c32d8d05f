// The app-thread end of the ledger worker: batches lines, posts them once per
// event-loop turn (or when a batch is full), bounds the records in flight,
// answers `stats` from the shared counters, and blocks at process exit until
// the worker has committed what was logged (pino's thread-stream does the
// same with Atomics.wait; a worker keeps running while the app thread waits).
import { Worker } from 'node:worker_threads';
import { type LedgerStats, SealogError, type SealogErrorCode } from '@sealog/core';
import { type FromWorker, SLOT, SLOT_COUNT, type ToWorker, type WireError } from './protocol.js';

/** Lines per postMessage: one message per turn unless the app logs more than this in one turn. */
const MAX_BATCH = 2000;
/** Records posted but not yet committed before log() waits for the worker (bounds memory). */
export const DEFAULT_MAX_IN_FLIGHT = 200_000;
/** Longest log() waits for the worker to make progress before it accepts without waiting. */
const STALL_WAIT_MS = 1000;

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
  readonly #maxInFlight: number;
  #batch: string[] = [];
  #scheduled = false;
  #posted = 0;
  #refusedHere = 0; // counted on this thread: never posted because the worker cannot take them
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #dead: SealogError | undefined; // the ledger is unusable: records are refused here
  #gone = false; // the worker thread itself has ended
  #closing = false;
  #stalledAt = -1n; // committed count when log() last gave up waiting
  #closed = false;
  readonly #postTick = () => {
    this.#scheduled = false;
    this.#post();
  };

  /** @throws SealogError E_CONFIG when the options cannot cross to a worker (functions, class instances). */
  constructor(options: Record<string, unknown>, hooks: ThreadHooks, maxInFlight = DEFAULT_MAX_IN_FLIGHT) {
    this.#hooks = hooks;
    this.#maxInFlight = maxInFlight;
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
      pending: this.#batch.length + Math.max(0, this.#posted - committed - refusedThere),
      refused: refusedThere + this.#refusedHere,
      failedCommits: Number(Atomics.load(this.#slots, SLOT.failedCommits)),
    };
  }

  /** Queues one line (wire.ts) for the worker. Never throws. */
  write(line: string): void {
    if (this.#dead !== undefined || this.#closed) {
      this.#refusedHere++;
      return;
    }
    this.#batch.push(line);
    if (this.#batch.length >= MAX_BATCH) this.#post();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#postTick);
    }
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

  #post(): void {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    if (this.#dead !== undefined || this.#closed) {
      this.#refusedHere += batch.length;
      return;
    }
    this.#worker.postMessage(batch.join('\n') satisfies ToWorker);
    this.#posted += batch.length;
    if (this.#inFlight() > this.#maxInFlight) this.#waitForWorker();
  }

  #inFlight(): number {
    const done = Atomics.load(this.#slots, SLOT.committed) + Atomics.load(this.#slots, SLOT.refused);
    return this.#posted - Number(done);
  }

  /**
   * Backpressure: the app outruns the ledger. Wait (blocking, like a
   * synchronous file write) until half the bound is committed, but stop
   * waiting when the worker makes no progress for STALL_WAIT_MS (a locked or
   * full disk): then records are accepted and the ledger's own maxPending
   * bound refuses and counts what it cannot hold.
   */
  #waitForWorker(): void {
    let last = Atomics.load(this.#slots, SLOT.committed);
    // Stalled before and no commit since: do not block the app again for every batch.
    if (last === this.#stalledAt) return;
    while (this.#inFlight() > this.#maxInFlight / 2) {
      if (Atomics.wait(this.#slots, SLOT.committed, last, STALL_WAIT_MS) === 'timed-out') {
        this.#stalledAt = last;
        return;
      }
      last = Atomics.load(this.#slots, SLOT.committed);
    }
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
