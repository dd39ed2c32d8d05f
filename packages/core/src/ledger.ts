import type { EncodeLimits } from './encode.js';
import { SealogError } from './errors.js';
import { GapCounter, type GapSummary, gapEntry } from './gap.js';
import { validateLedgerOptions } from './options.js';
import { encodeEntry } from './prepare.js';
import { SegmentedStore, type SegmentsOptions } from './segments/store.js';
import { type ConnectOptions, connectStore } from './store/connect.js';
import { type Durability, SqliteStore, type SqliteStoreOptions } from './store/sqlite.js';
import type { CommitResult, PendingEntry, Store, WriterTrust } from './store/types.js';

/** Records per transaction before a commit is forced. */
export const DEFAULT_BATCH_SIZE = 1000;
/** Longest a record waits in memory before its batch is committed. */
export const DEFAULT_BATCH_DELAY_MS = 25;
/** Records held in memory while the store is failing, before new ones are refused (and counted). */
export const DEFAULT_MAX_PENDING = 1_000_000;
/**
 * Bytes of records accepted but not yet committed before new ones are shed
 * (counted in a gap record). Large enough to absorb a second of a 20k/s
 * service's burst (a cold start: 4 MiB shed 3–27% of a 20k/s paced run on
 * the 2-core box, 8 MiB none; peak RSS flat out 265–312 MB, issue 15 session
 * 6); small enough that what is held drains on close in one to two seconds
 * (≈ 20k records), well inside the 10 s pino's thread-stream gives a
 * transport to end before it tears the worker down.
 */
export const DEFAULT_MAX_QUEUE_BYTES = 8 * 1024 * 1024;
const RETRY_MIN_MS = 50;
/** Shed records are reported at most this often (each gap record is sealed regardless). */
const GAP_REPORT_MS = 10_000;
const RETRY_MAX_MS = 5000;
/** Failed commits retried while closing (backoff 50 ms … 1.6 s, ~3 s in all) before close() rejects. */
const CLOSE_RETRIES = 6;

export interface LedgerOptions extends EncodeLimits {
  /** Path of the SQLite ledger file (created if absent; its directory must exist). */
  path: string;
  durability?: Durability;
  batchSize?: number;
  batchDelayMs?: number;
  busyTimeoutMs?: number;
  maxPending?: number;
  /**
   * Bytes of encoded entries queued for commit before new records are shed:
   * counted, and sealed as a gap record once there is room (gap.ts).
   */
  maxQueueBytes?: number;
  /** Called with every commit (for checkpointing). Must not throw. */
  onCommit?: (result: CommitResult) => void;
  /** Store failures and refused records are reported here; the default writes one line to stderr. */
  onError?: (err: SealogError) => void;
  /** A signing writer's trust root: the store derives its state from it (chain/derive.ts). */
  trust?: WriterTrust;
  /**
   * Rotate into segment files by size and/or age; `path` is then a directory
   * (created 0700 if missing). SQLite only. See docs/lifecycle.md "Segments".
   */
  segments?: SegmentsOptions;
}

interface Waiter {
  upTo: number; // resolves once this many queued-ever records are committed
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Counters a transport reports so nothing is ever lost silently. */
export interface LedgerStats {
  committed: number;
  pending: number;
  /**
   * Records not stored because the queue was full (maxPending, maxQueueBytes)
   * or shed by the transport under overload; each is counted in a sealed gap record.
   */
  refused: number;
  failedCommits: number;
}

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw new SealogError('E_CONFIG', `${name} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function nonNegative(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new SealogError('E_CONFIG', `${name} must be a number ≥ 0, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Event time of a record: pino's `time` (ms), winston's `timestamp` (ISO), else now. */
export function recordTime(record: unknown, now: number): number {
  if (typeof record !== 'object' || record === null) return now;
  const r = record as { time?: unknown; timestamp?: unknown };
  if (typeof r.time === 'number' && Number.isFinite(r.time)) return Math.trunc(r.time);
  const t = r.time ?? r.timestamp;
  if (typeof t === 'string' || t instanceof Date) {
    const ms = new Date(t).getTime();
    if (Number.isFinite(ms)) return ms;
  }
  return now;
}

/**
 * The write side of a ledger: encodes records, batches them into atomic
 * commits bounded by size and time, and resolves `append` only once the record
 * is durable (Tessera's rule: an acknowledgement means committed).
 */
export class Ledger {
  readonly store: Store;
  readonly #opts: Required<
    Pick<LedgerOptions, 'batchSize' | 'batchDelayMs' | 'maxPending' | 'maxQueueBytes'>
  > &
    LedgerOptions;
  #queue: PendingEntry[] = [];
  #queuedBytes = 0;
  #unreported = 0; // shed records sealed in gap records and not yet reported
  #reportedAt = Number.NEGATIVE_INFINITY;
  /** Shed records not yet sealed as a gap record, per reason. */
  readonly #gaps = { overload: new GapCounter('overload'), 'store-failing': new GapCounter('store-failing') };
  #enqueued = 0; // records accepted ever
  #committed = 0; // of those, committed
  #refused = 0;
  #failedCommits = 0;
  #waiters: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;
  #retryMs = 0;
  #committing = false;
  #closed = false;
  #closing = false;
  #closePromise: Promise<void> | undefined;
  #lastError: unknown;
  #closeFailures = 0;

  constructor(store: Store, options: Omit<LedgerOptions, 'path'> & { path?: string }) {
    this.store = store;
    this.#opts = {
      ...options,
      batchSize: positiveInt('batchSize', options.batchSize, DEFAULT_BATCH_SIZE),
      batchDelayMs: nonNegative('batchDelayMs', options.batchDelayMs, DEFAULT_BATCH_DELAY_MS),
      maxPending: positiveInt('maxPending', options.maxPending, DEFAULT_MAX_PENDING),
      maxQueueBytes: positiveInt('maxQueueBytes', options.maxQueueBytes, DEFAULT_MAX_QUEUE_BYTES),
      path: options.path ?? '',
    };
  }

  /** Opens (creating if needed) the SQLite ledger at `options.path`. Validates options first. */
  static open(options: LedgerOptions): Ledger {
    // The one validator of every ledger option (options.ts), as for a sink.
    validateLedgerOptions((options ?? {}) as unknown as Record<string, unknown>);
    const storeOpts: SqliteStoreOptions = {};
    if (options.trust !== undefined) storeOpts.trust = options.trust;
    if (options.durability !== undefined) storeOpts.durability = options.durability;
    if (options.busyTimeoutMs !== undefined) {
      storeOpts.busyTimeoutMs = nonNegative('busyTimeoutMs', options.busyTimeoutMs, 0);
    }
    const store =
      options.segments !== undefined
        ? new SegmentedStore(options.path, { ...storeOpts, segments: options.segments })
        : new SqliteStore(options.path, storeOpts);
    return new Ledger(store, options);
  }

  /**
   * Opens (creating it if needed) the ledger at `options.path`: a file opens
   * SQLite, a `postgres://` URL opens PostgreSQL, where `busyTimeoutMs` bounds
   * the wait for other writers' locks. Validates options first.
   */
  static async connect(
    options: LedgerOptions,
    /** @internal How the transports' sink opens a long-running writer (store/wal-checkpointer.ts). */
    store: Pick<ConnectOptions, 'backgroundCheckpoint' | 'anchorFile'> = {},
  ): Promise<Ledger> {
    validateLedgerOptions((options ?? {}) as unknown as Record<string, unknown>);
    const connect: ConnectOptions = { ...store };
    if (options.segments !== undefined) connect.segments = options.segments;
    if (options.trust !== undefined) connect.trust = options.trust;
    if (options.durability !== undefined) connect.durability = options.durability;
    if (options.busyTimeoutMs !== undefined) {
      connect.busyTimeoutMs = nonNegative('busyTimeoutMs', options.busyTimeoutMs, 0);
    }
    return new Ledger(await connectStore(options.path, connect), options);
  }

  get stats(): LedgerStats {
    return {
      committed: this.#committed,
      pending: this.#queue.length,
      refused: this.#refused,
      failedCommits: this.#failedCommits,
    };
  }

  /**
   * Queues a record without waiting. Never throws for bad record content (it is
   * encoded and marked). Throws E_CLOSED after close().
   */
  write(record: unknown): void {
    this.#checkOpen();
    if (!this.#hasRoom()) {
      this.#refuse(record);
      return;
    }
    this.#push(encodeEntry(record, this.#opts, Date.now()));
  }

  /**
   * Queues entries prepared elsewhere (prepare.ts, on a worker pool), in
   * order. The caller bounds them (the intake counts entries at the pool
   * against maxQueueBytes until they are queued here), so none is shed here.
   */
  writeEntries(entries: Iterable<PendingEntry>): void {
    this.#checkOpen();
    for (const e of entries) this.#push(e);
  }

  /**
   * Counts a record the caller did not keep (a transport shedding under
   * overload); the count is sealed as a gap record before the next record.
   * `level` as logged; `time` its own time in ms.
   * @throws SealogError E_CONFIG when `n` is not a whole number ≥ 1 (a NaN here
   *   would make the gap record, and every write after it, unencodable).
   */
  shed(level: string | number | undefined, time: number, n = 1): void {
    this.#checkOpen();
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new SealogError('E_CONFIG', `shed count must be a whole number ≥ 1, got ${String(n)}`);
    }
    this.#gaps[this.#retryMs > 0 ? 'store-failing' : 'overload'].add(level, time, n);
    this.#refused += n;
  }

  /** Adds a gap counted on another thread (a transport's app side). */
  shedSummary(g: GapSummary): void {
    this.#checkOpen();
    this.#gaps[g.reason].merge(g);
    this.#refused += g.records;
  }

  /**
   * Commits what is queued now, without waiting for batchSize or
   * batchDelayMs (a transport's intake calls it when half its byte bound sits
   * here: its producer may be waiting). No-op while a commit runs or retries.
   */
  commitSoon(): void {
    if (this.#retryMs === 0) this.#commitNow();
  }

  /** Bytes of entries queued for commit (the transports' overload policy reads it). */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** True once close() began: nothing more can be queued. */
  get closed(): boolean {
    return this.#closed || this.#closing;
  }

  /** True while commits fail and are retried (what a shed record is counted as). */
  get failing(): boolean {
    return this.#retryMs > 0;
  }

  /** The bound on {@link queuedBytes}. */
  get maxQueueBytes(): number {
    return this.#opts.maxQueueBytes;
  }

  #checkOpen(): void {
    if (this.#closed || this.#closing)
      throw new SealogError('E_CLOSED', 'the ledger is closed; open a new one to keep writing');
  }

  /**
   * While commits succeed the queue is bounded by them (and, in a transport,
   * by the intake); the bounds refuse records only while the store fails.
   */
  #hasRoom(): boolean {
    if (this.#queue.length >= this.#opts.maxPending) return false;
    return this.#retryMs === 0 || this.#queuedBytes < this.#opts.maxQueueBytes;
  }

  #push(e: PendingEntry): void {
    this.#sealGaps();
    this.#queue.push(e);
    this.#queuedBytes += e.entry.length;
    this.#enqueued++;
    this.#schedule();
  }

  /** Queues one gap record per reason with shed records, ahead of the next record. */
  #sealGaps(): void {
    // Runs for every record queued: no allocation and no clock read unless something was shed.
    const { overload, 'store-failing': failing } = this.#gaps;
    if (overload.records === 0 && failing.records === 0 && this.#unreported === 0) return;
    for (const counter of Object.values(this.#gaps)) {
      const g = counter.take();
      if (g === undefined) continue;
      const e = gapEntry(g, Date.now());
      this.#queue.push(e);
      this.#queuedBytes += e.entry.length;
      this.#enqueued++;
      this.#unreported += g.records;
    }
    // Under a sustained overload a gap is sealed every few thousand records: say so once per interval.
    const now = Date.now();
    if (this.#unreported > 0 && now - this.#reportedAt >= GAP_REPORT_MS) {
      this.#report(
        new SealogError(
          'E_IO',
          `ledger ${this.store.display ?? this.#opts.path}: ${this.#unreported} record(s) were not stored (overload or a failing store); sealed gap records count them`,
          { cause: this.#lastError },
        ),
      );
      this.#unreported = 0;
      this.#reportedAt = now;
    }
  }

  #refuse(record: unknown): void {
    const r = typeof record === 'object' && record !== null ? (record as { level?: unknown }) : {};
    const level = typeof r.level === 'number' || typeof r.level === 'string' ? r.level : undefined;
    this.shed(level, recordTime(record, Date.now()));
  }

  /** Queues a record; resolves once it is committed. */
  append(record: unknown): Promise<void> {
    try {
      this.write(record);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#waitFor(this.#enqueued);
  }

  /** Commits everything queued so far; resolves when it is durable. */
  flush(): Promise<void> {
    this.#sealGaps();
    const p = this.#waitFor(this.#enqueued);
    this.#commitNow();
    return p;
  }

  /** Commits everything, then closes the store. Rejects if pending records could not be committed. Idempotent. */
  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      this.#closing = true;
      try {
        await this.flush();
      } finally {
        this.#closed = true;
        clearTimeout(this.#timer);
        this.#timer = undefined;
        await this.store.close();
      }
    })();
    return this.#closePromise;
  }

  #waitFor(upTo: number): Promise<void> {
    if (this.#committed >= upTo) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ upTo, resolve, reject }));
  }

  #schedule(): void {
    if (this.#queue.length >= this.#opts.batchSize && this.#retryMs === 0) {
      // A full batch commits now, inside the caller's write: that is the backpressure.
      this.#commitNow();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#commitNow();
      }, this.#retryMs || this.#opts.batchDelayMs);
    }
  }

  #commitNow(): void {
    if (this.#committing || this.#queue.length === 0) {
      this.#settle();
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#queue.splice(0, this.#opts.batchSize);
    for (const e of batch) this.#queuedBytes -= e.entry.length;
    this.#committing = true;
    let result: CommitResult | Promise<CommitResult>;
    try {
      result = this.store.append(batch);
    } catch (err) {
      this.#failed(batch, err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (r) => this.#done(batch.length, r),
        (err) => this.#failed(batch, err),
      );
    } else {
      this.#done(batch.length, result);
    }
  }

  #done(n: number, result: CommitResult): void {
    this.#committing = false;
    this.#committed += n;
    this.#retryMs = 0;
    try {
      this.#opts.onCommit?.(result);
    } catch (err) {
      this.#report(
        new SealogError('E_IO', 'the onCommit hook threw; checkpointing may be behind', { cause: err }),
      );
    }
    if (this.#queue.length > 0) {
      if (this.#queue.length >= this.#opts.batchSize || this.#waiters.length > 0) {
        // The next batch commits on the next turn, not in this one: back-to-back
        // commits of a long queue would hold the thread for tens of ms, and a
        // transport's worker must keep reading what the app writes meanwhile.
        setImmediate(() => this.#commitNow());
      } else this.#schedule();
    }
    this.#settle();
  }

  #failed(batch: PendingEntry[], err: unknown): void {
    this.#committing = false;
    this.#failedCommits++;
    this.#lastError = err;
    // Nothing is dropped: the batch goes back to the front and is retried with backoff.
    this.#queue = batch.concat(this.#queue);
    for (const e of batch) this.#queuedBytes += e.entry.length;
    this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs ? this.#retryMs * 2 : RETRY_MIN_MS);
    const e = err instanceof SealogError ? err : new SealogError('E_IO', String(err), { cause: err });
    this.#report(e);
    if (this.#closing && ++this.#closeFailures > CLOSE_RETRIES) {
      // close() is waiting: after a few retries (a dropped connection comes back within
      // them), fail it with the count instead of retrying forever.
      const lost = this.#queue.length;
      for (const w of this.#waiters.splice(0)) {
        w.reject(
          new SealogError('E_IO', `${lost} record(s) could not be committed: ${e.message}`, { cause: err }),
        );
      }
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#commitNow();
    }, this.#retryMs);
  }

  #settle(): void {
    if (this.#waiters.length === 0) return;
    const still: Waiter[] = [];
    const done: Waiter[] = [];
    for (const w of this.#waiters) (this.#committed >= w.upTo ? done : still).push(w);
    this.#waiters = still;
    // Acknowledged on the next turn, not in this one: a writer that awaits every
    // flush of a synchronous store would otherwise run in microtasks for ever, and
    // the sealer's fsyncs (libuv's thread pool) could not complete in between.
    if (done.length === 0) return;
    setImmediate(() => {
      for (const w of done) w.resolve();
    });
  }

  #report(err: SealogError): void {
    if (this.#opts.onError) {
      try {
        this.#opts.onError(err);
        return;
      } catch {
        // fall through to stderr
      }
    }
    process.stderr.write(`sealog: ${err.code}: ${err.message}\n`);
  }
}
