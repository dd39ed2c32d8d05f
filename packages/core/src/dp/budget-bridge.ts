import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { SealogError, type SealogErrorCode } from '../errors.js';
import type { PgTarget } from '../store/postgres/url.js';
import type { BudgetStore, Settlement } from './budget.js';
import type { Currency } from './budget-accounting.js';
import {
  ABANDONED,
  type BudgetReply,
  type BudgetRequest,
  type BudgetWorkerData,
  DONE,
  IDLE,
  PENDING,
} from './budget-worker.js';

// The record path is synchronous (a transform returns the record it rewrote),
// and a PostgreSQL budget store is not: its driver needs an event loop. So the
// store runs on a worker thread with its own connection, and this facade waits
// for each step with Atomics.wait, for at most `waitMs`. Most records never get
// here (they spend from a lease held in memory); a take is one round trip.
// What it guarantees:
//   - budget is used only after the take that leased it committed and its
//     answer arrived in time; a take answered late (or not at all) is given back
//     by the worker, and the record's fields are suppressed (budget-unavailable);
//   - while the worker is still busy with a step the caller gave up on (a slow
//     or unreachable server), further steps fail at once instead of each
//     waiting again: at most one wait of `waitMs` per outstanding step.

/** Longest a record waits for a budget take (ms): beyond it, its fields are suppressed. */
export const DEFAULT_LEASE_WAIT_MS = 100;
/** Longest startup waits to connect and find (or create) the budget table. */
const OPEN_WAIT_MS = 15_000;
/** Longest close waits to give leases back. */
const CLOSE_WAIT_MS = 5_000;

// The sources (run by vitest) start the built worker: build before running these tests.
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/dp/budget-worker.js', import.meta.url)
  : new URL('./budget-worker.js', import.meta.url);

export interface BridgeOptions {
  target: PgTarget;
  /** PostgreSQL lock_timeout for budget statements. */
  lockTimeoutMs?: number;
  /** Longest wait for one take; default {@link DEFAULT_LEASE_WAIT_MS}. */
  waitMs?: number;
  /**
   * The currencies (budget-accounting.ts) to keep, by index, each with its
   * lifetime cap; default: ε only, no cap.
   */
  lifetimes?: readonly ({ lifetime?: number | undefined } | undefined)[];
}

const unavailable = (why: string) => new SealogError('E_IO', `the ε budget store ${why}`);

/** A synchronous {@link BudgetStore} over a PostgreSQL budget store on a worker thread. */
export class BridgedBudgetStore implements BudgetStore {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #state: Int32Array;
  readonly #waitMs: number;
  #patience: number;
  #id = 0;
  #closed = false;

  /**
   * Starts the worker and waits (up to 15 s) until it is connected and the budget table exists.
   * @throws SealogError E_IO (server unreachable, too slow), E_CONFIG (table missing, not creatable).
   */
  constructor(options: BridgeOptions) {
    const { port1, port2 } = new MessageChannel();
    const state = new SharedArrayBuffer(4);
    const data: BudgetWorkerData = {
      port: port2,
      state,
      target: options.target,
      currencies: (options.lifetimes ?? [{}]).map((o) =>
        o ? (o.lifetime !== undefined ? { lifetime: o.lifetime } : {}) : undefined,
      ),
      ...(options.lockTimeoutMs !== undefined ? { lockTimeoutMs: options.lockTimeoutMs } : {}),
      // A statement past this is dropped with its session, so the worker does not stay busy for long.
      queryTimeoutMs: (options.lockTimeoutMs ?? 5000) + 30_000,
    };
    this.#worker = new Worker(WORKER_URL, {
      workerData: data,
      transferList: [port2],
      // A host run as `node --input-type=module -e …` would pass that flag on, and a worker file refuses it.
      execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')),
    });
    // A worker that dies leaves every later step unanswered (suppressed), never an uncaught error.
    this.#worker.on('error', () => {
      this.#closed = true;
    });
    this.#worker.unref();
    this.#port = port1;
    this.#state = new Int32Array(state);
    this.#waitMs = options.waitMs ?? DEFAULT_LEASE_WAIT_MS;
    this.#patience = this.#waitMs;
    try {
      this.#call({ id: 0, op: 'open' }, OPEN_WAIT_MS);
    } catch (err) {
      this.#closed = true;
      void this.#worker.terminate();
      throw err;
    }
  }

  take(unit: string, window: number, need: number, want: number, limit: number, flush = 0): number {
    return this.store(0).take(unit, window, need, want, limit, flush);
  }

  settle(window: number, entries: readonly Settlement[], release: boolean): void {
    this.store(0).settle(window, entries, release);
  }

  prune(window: number): void {
    this.store(0).prune(window);
  }

  /** The store of one currency (opened with `lifetimes`), through this worker. */
  store(c: Currency): BudgetStore {
    return {
      take: (unit, window, need, want, limit, flush = 0) => {
        // Reservations are not offered (no reserve()), so the tracker never flushes through a take.
        if (flush !== 0) throw unavailable('takes no reservations');
        return this.#call({ id: 0, c, op: 'take', args: [unit, window, need, want, limit] }, this.#patience);
      },
      settle: (window, entries, release) => {
        this.#call({ id: 0, c, op: 'settle', args: [window, [...entries], release] }, this.#patience);
      },
      prune: (window) => {
        this.#call({ id: 0, c, op: 'prune', args: [window] }, this.#patience);
      },
    };
  }

  /** From now on each step may wait up to 5 s (closing: leases are given back before the connection ends). */
  closing(): void {
    this.#patience = Math.max(this.#waitMs, CLOSE_WAIT_MS);
  }

  /** Ends the connection and the worker. */
  close(): void {
    if (this.#closed) return;
    try {
      this.#call({ id: 0, op: 'close' }, CLOSE_WAIT_MS);
    } catch {
      // terminated below; the server drops the session
    }
    this.#closed = true;
    this.#port.close();
    void this.#worker.terminate();
  }

  /** Sends one request and waits for its reply. @throws SealogError when late, busy or failed. */
  #call(request: BudgetRequest, waitMs: number): number {
    if (this.#closed) throw unavailable('is closed');
    const s = this.#state;
    if (Atomics.load(s, 0) !== IDLE) throw unavailable('is still busy with a step it did not answer in time');
    const id = ++this.#id;
    Atomics.store(s, 0, PENDING);
    this.#port.postMessage({ ...request, id });
    Atomics.wait(s, 0, PENDING, waitMs);
    if (Atomics.compareExchange(s, 0, PENDING, ABANDONED) === PENDING) {
      throw unavailable(`did not answer within ${waitMs} ms`);
    }
    // DONE: the reply was posted before the state changed; older replies were abandoned.
    let reply: BudgetReply | undefined;
    for (let m = receiveMessageOnPort(this.#port); m; m = receiveMessageOnPort(this.#port)) {
      if ((m.message as BudgetReply).id === id) {
        reply = m.message as BudgetReply;
        break;
      }
    }
    Atomics.compareExchange(s, 0, DONE, IDLE);
    if (!reply) throw unavailable('sent no answer');
    if (!reply.ok)
      throw new SealogError((reply.code as SealogErrorCode | undefined) ?? 'E_IO', reply.message);
    return reply.value;
  }
}
