import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SealogError } from '../errors.js';
import { got } from '../options.js';
import {
  type BatchBuffers,
  type DecoderSpec,
  openPreparer,
  PreparedBatch,
  type Preparer,
  type PrepareSinkOptions,
  prepareLines,
} from './decoders.js';
import type { FromPoolWorker, PoolWorkerData, ToPoolWorker, WireError } from './pool-worker.js';

// The batch format lives with the code that fills it; callers know it from here.
export { PreparedBatch };

// The parallel half of the write path (issue 15, item 1): parse, privacy,
// noise and encoding run on a pool of worker threads; the one committer
// (the transport's thread) hashes and commits the entries in arrival order.
// The pool keeps every batch until its result is back, so a worker that dies
// (crash, terminate, process.exit, out of memory) loses nothing: its batches
// go to a fresh worker, and a batch that killed MAX_TRIES workers is prepared
// on this thread with the same functions (decoders.ts, prepare.ts).

/**
 * Worker threads a transport starts by default (its `workers` option): one
 * core stays with the application, one with the committer, the rest prepare.
 * 0 on a 2-core machine, where a pool thread only takes CPU from the app:
 * measured there, the app thread paid 1.76x pino/file per call with a pool of
 * 1 (docs/performance.md, issue 15), and the pool prepared no faster.
 */
export const DEFAULT_POOL_SIZE = Math.max(0, availableParallelism() - 2);
/** Largest pool accepted (a typo must not start thousands of threads). */
export const MAX_POOL_SIZE = 64;
/** Batches posted to one worker at once: one running, one waiting in its port so it never idles. */
const MAX_IN_FLIGHT = 2;
/** Workers a batch may kill before it is prepared on this thread. */
const MAX_TRIES = 2;
/** Longest string posted to a worker (see {@link parts}). */
const PART_CHARS = 64 * 1024;
/** How long close() waits for a worker to hand back its ε leases before terminating it. */
const CLOSE_TIMEOUT_MS = 5000;

// The sources (run by vitest) start the built worker: build before running pool tests.
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/pipeline/pool-worker.js', import.meta.url)
  : new URL('./pool-worker.js', import.meta.url);

const SINK_KEYS = [
  'privacy',
  'maxDepth',
  'maxStringLength',
  'maxEntryBytes',
  'busyTimeoutMs',
  'durability',
] as const;

/** Test access to the live workers (to kill one); not exported from the package. */
export const kWorkers = Symbol('sealog.pool.workers');

/** How a pool is built; every field crosses to the workers by structured clone. */
export interface PoolSpec {
  /** Worker threads, 1 to {@link MAX_POOL_SIZE}. */
  size: number;
  decoder: DecoderSpec;
  sink: PrepareSinkOptions;
}

interface Batch {
  readonly id: number;
  readonly text: string;
  readonly now: number;
  tries: number;
  result?: PreparedBatch;
  warnings: WireError[];
  resolve(b: PreparedBatch): void;
}

interface Slot {
  worker: Worker;
  /** Posted to this worker, oldest first; a worker answers in order. */
  inFlight: Batch[];
  ready: boolean;
  exited: boolean;
}

/**
 * `text` cut at line ends into strings of at most PART_CHARS (a longer line is
 * one part). A string above ~128 KB lands in V8's large-object space, on fresh
 * pages for every message: measured on a 2-core VM, 512 lines of 413 bytes
 * (210 KB) cost 3.5 µs of CPU a record to hand over in one string, 0.6-0.8 µs in parts.
 */
export function parts(text: string): string[] {
  if (text.length <= PART_CHARS) return [text];
  const out: string[] = [];
  let at = 0;
  while (text.length - at > PART_CHARS) {
    let nl = text.lastIndexOf('\n', at + PART_CHARS);
    if (nl < at) nl = text.indexOf('\n', at + PART_CHARS);
    if (nl < 0) break;
    out.push(text.slice(at, nl));
    at = nl + 1;
  }
  out.push(text.slice(at));
  return out;
}

/** Restores a worker's error on this thread. */
export function fromWire(e: WireError): SealogError {
  return new SealogError(e.code, e.message);
}

/**
 * Prepares batches of input lines on worker threads; results resolve strictly
 * in submission order. The pool itself does not bound memory: the caller
 * bounds how many lines it submits before their batches resolve.
 */
export class PreparePool {
  readonly #spec: PoolSpec;
  readonly #fallback: Preparer;
  readonly #onError: (err: SealogError) => void;
  readonly #slots: Slot[] = [];
  /** Every batch not yet resolved, in submission order. */
  readonly #order: Batch[] = [];
  /** Batches waiting for a worker, in submission order. */
  #queue: Batch[] = [];
  #nextId = 1;
  #closing: Promise<void> | undefined;
  /** Workers are being ended on purpose (close, or open failing): none is replaced. */
  #stopping = false;
  #drained: (() => void) | undefined;

  private constructor(spec: PoolSpec, fallback: Preparer, onError: (err: SealogError) => void) {
    this.#spec = spec;
    this.#fallback = fallback;
    this.#onError = onError;
  }

  /**
   * Loads the decoder and builds the transforms on this thread (for batches
   * that kill workers, and so that a bad key or decoder fails here with its
   * cause), then starts `spec.size` workers and waits until each is ready.
   * `onError` receives warnings (E_PRIVACY, E_IO) with value-free messages,
   * in the order of the batches they belong to; default: one line to stderr.
   * @throws SealogError E_CONFIG (size, decoder, budget table not creatable), E_KEY, E_IO, E_NOT_LEDGER.
   */
  static async open(spec: PoolSpec, onError?: (err: SealogError) => void): Promise<PreparePool> {
    const { size } = spec;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > MAX_POOL_SIZE)
      throw new SealogError(
        'E_CONFIG',
        `pool size must be an integer from 1 to ${MAX_POOL_SIZE}, got ${got(size)}`,
      );
    // Only what a worker needs crosses: the rest of the sink options (checkpoint, ...) stays here.
    const sink: PrepareSinkOptions = { path: spec.sink.path };
    for (const k of SINK_KEYS) if (spec.sink[k] !== undefined) Object.assign(sink, { [k]: spec.sink[k] });
    const decoder: DecoderSpec = {
      module: spec.decoder.module,
      name: spec.decoder.name,
      config: spec.decoder.config,
    };
    const fallback = await openPreparer(decoder, sink);
    const report = onError ?? ((err) => process.stderr.write(`sealog: ${err.code}: ${err.message}\n`));
    const pool = new PreparePool({ size, decoder, sink }, fallback, report);
    try {
      await Promise.all(Array.from({ length: size }, () => pool.#spawn()));
    } catch (err) {
      await pool.#stopWorkers();
      fallback.close();
      throw err;
    }
    return pool;
  }

  /** Worker threads configured. */
  get size(): number {
    return this.#spec.size;
  }

  /**
   * Prepares `text`, lines joined by '\n' ('' is one empty line), with receive
   * time `now` (the committer decides it). Resolves after every batch submitted
   * before it, never rejects once accepted.
   * @throws SealogError E_CLOSED (rejects) after close().
   */
  prepare(text: string, now: number = Date.now()): Promise<PreparedBatch> {
    if (this.#closing !== undefined)
      return Promise.reject(new SealogError('E_CLOSED', 'the prepare pool is closed; open a new one'));
    if (typeof text !== 'string' || !Number.isFinite(now))
      return Promise.reject(
        new SealogError('E_CONFIG', 'prepare() takes a string of lines and a finite time'),
      );
    return new Promise((resolve) => {
      const batch: Batch = { id: this.#nextId++, text, now, tries: 0, warnings: [], resolve };
      this.#order.push(batch);
      this.#queue.push(batch);
      this.#dispatch();
    });
  }

  /** Waits for every accepted batch, then lets each worker close its budget connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#order.length > 0) await new Promise<void>((r) => (this.#drained = r));
      await this.#stopWorkers();
      this.#fallback.close();
    })();
    return this.#closing;
  }

  /** Live workers, for tests that kill one. */
  [kWorkers](): Worker[] {
    return this.#slots.filter((s) => !s.exited).map((s) => s.worker);
  }

  /** Starts a worker in a new slot or in place of a dead one; resolves when it is ready. */
  #spawn(slot?: Slot): Promise<void> {
    const data: PoolWorkerData = { decoder: this.#spec.decoder, sink: this.#spec.sink };
    const worker = new Worker(WORKER_URL, { workerData: data });
    const s: Slot = slot ?? { worker, inFlight: [], ready: false, exited: false };
    if (slot === undefined) this.#slots.push(s);
    Object.assign(s, { worker, ready: false, exited: false });
    let failure: unknown;
    return new Promise((resolve, reject) => {
      worker.on('message', (m: FromPoolWorker) => {
        if (m.t === 'ready') {
          s.ready = true;
          this.#idle(s);
          resolve();
        } else if (m.t === 'openFailed') reject(fromWire(m.error));
        else this.#done(s, m);
      });
      // An uncaught error in the worker: 'exit' follows, and its batches are resubmitted there.
      worker.on('error', (err) => {
        failure ??= err;
      });
      worker.on('exit', () => {
        const wasReady = s.ready;
        s.exited = true;
        s.ready = false;
        // The cause stays on this thread; it is never passed to onError (it may quote a record).
        reject(
          new SealogError('E_IO', 'a prepare worker stopped while starting (is @sealog/core built?)', {
            cause: failure,
          }),
        );
        this.#lost(s, wasReady);
      });
      // Referenced until ready (open() waits for it), then only while it holds batches.
      worker.ref();
    });
  }

  /** Replaces a worker that died while working; one that could not even start is not retried. */
  #respawn(s: Slot): void {
    const failed = (err: unknown) =>
      this.#report(
        new SealogError(
          'E_IO',
          `a prepare worker could not be restarted${err instanceof SealogError ? ` (${err.code}: ${err.message})` : ''}; ` +
            'its share is prepared by the other workers or on the committing thread',
        ),
      );
    try {
      this.#spawn(s).catch(failed);
    } catch (err) {
      failed(err); // no thread to be had (resource limits)
    }
  }

  /** Posts waiting batches to the least-loaded workers, at most MAX_IN_FLIGHT each. */
  #dispatch(): void {
    while (this.#queue.length > 0) {
      let best: Slot | undefined;
      for (const s of this.#slots)
        if (
          !s.exited &&
          s.inFlight.length < MAX_IN_FLIGHT &&
          (!best || s.inFlight.length < best.inFlight.length)
        )
          best = s;
      if (best === undefined) break;
      const b = this.#queue.shift()!;
      best.inFlight.push(b);
      best.worker.ref(); // a batch in flight keeps the process alive until it resolves
      best.worker.postMessage({
        t: 'batch',
        id: b.id,
        parts: parts(b.text),
        now: b.now,
      } satisfies ToPoolWorker);
    }
    if (this.#queue.length > 0 && this.#slots.every((s) => s.exited)) {
      // No worker left that could start: everything waiting is prepared here.
      for (const b of this.#queue.splice(0)) this.#inThread(b);
      this.#settle();
    }
  }

  #done(s: Slot, m: Extract<FromPoolWorker, { t: 'done' }>): void {
    const i = s.inFlight.findIndex((b) => b.id === m.id);
    if (i < 0) return;
    const [b] = s.inFlight.splice(i, 1);
    this.#idle(s);
    // A batch resubmitted after its worker was given up on may answer twice; the first answer counts.
    if (b!.result === undefined) {
      b!.result = new PreparedBatch(m);
      b!.warnings = m.warnings;
    }
    this.#dispatch();
    this.#settle();
  }

  /** A worker ended: its unfinished batches are resubmitted in order, and the worker replaced. */
  #lost(s: Slot, wasReady: boolean): void {
    const unfinished = s.inFlight.splice(0).filter((b) => b.result === undefined);
    // A worker runs its batches one at a time: only the oldest was running when it died.
    const head = unfinished[0];
    if (head !== undefined && wasReady) head.tries++;
    for (const b of unfinished) {
      if (b.tries >= MAX_TRIES) this.#inThread(b, true);
      else this.#queue.push(b);
    }
    this.#queue.sort((a, b) => a.id - b.id);
    if (wasReady && !this.#stopping) this.#respawn(s);
    this.#dispatch();
    this.#settle();
  }

  /** Prepares a batch on this thread, with the transforms built at open(). */
  #inThread(b: Batch, poisoned = false): void {
    const warnings: WireError[] = [];
    if (poisoned) {
      warnings.push({
        code: 'E_IO',
        message: `a batch of records stopped ${MAX_TRIES} prepare workers; it was prepared on the committing thread`,
      });
    }
    let out: BatchBuffers;
    try {
      out = prepareLines(b.text, b.now, this.#fallback, (e) =>
        warnings.push({ code: e.code, message: e.message }),
      );
    } catch {
      // prepareLines does not throw for any input; if it ever does (out of memory), the
      // lines are counted as refused rather than the committer waiting for ever.
      const lengths = new Int32Array(b.text.split('\n').length).fill(-1);
      out = {
        bytes: new ArrayBuffer(0),
        lengths,
        ts: new Float64Array(lengths.length).fill(Number.NaN),
        refused: lengths.length,
      };
      warnings.push({
        code: 'E_IO',
        message: `a batch could not be prepared; its ${lengths.length} record(s) were refused`,
      });
    }
    b.result = new PreparedBatch(out);
    b.warnings = warnings;
  }

  /** Resolves finished batches in submission order; a later one that finished first waits. */
  #settle(): void {
    while (this.#order.length > 0 && this.#order[0]!.result !== undefined) {
      const b = this.#order.shift()!;
      for (const w of b.warnings) this.#report(fromWire(w));
      b.resolve(b.result!);
    }
    if (this.#order.length === 0) this.#drained?.();
  }

  #report(err: SealogError): void {
    try {
      this.#onError(err);
    } catch {
      // a throwing hook must not stop batches from resolving, nor escape a worker's 'exit'
    }
  }

  #idle(s: Slot): void {
    if (s.inFlight.length === 0) s.worker.unref();
  }

  /** Asks live workers to close (they hand back ε leases), terminating any that do not exit in time. */
  async #stopWorkers(): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      this.#slots.map(async (s) => {
        if (s.exited) return;
        const exited = new Promise<void>((r) => s.worker.once('exit', () => r()));
        s.worker.postMessage({ t: 'close' } satisfies ToPoolWorker);
        s.worker.ref();
        const timer = setTimeout(() => void s.worker.terminate(), CLOSE_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

/**
 * The pool a transport runs, or none: `workers` threads (its option, default
 * {@link DEFAULT_POOL_SIZE}), undefined when that is 0. Both transports open
 * theirs here; each decides what an open failure means for it.
 */
export function openTransportPool(
  workers: number | undefined,
  decoder: DecoderSpec,
  sink: PrepareSinkOptions,
  onError: (err: SealogError) => void,
): Promise<PreparePool | undefined> {
  const size = workers ?? DEFAULT_POOL_SIZE;
  return size > 0 ? PreparePool.open({ size, decoder, sink }, onError) : Promise.resolve(undefined);
}
