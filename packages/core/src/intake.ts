// The front of a transport's worker: raw lines arrive here as fast as the app
// logs them, and leave, in order, for preparation and commit as fast as the
// ledger takes them. Between the two sits one bounded queue and the overload
// policy (docs/performance.md "Overload"):
//
//   shed   the line is not kept: its level and time are counted and sealed
//          into the ledger as a gap record before the next stored record.
//          The producer is never slowed, so the app never waits on sealog.
//   block  the line is kept and push() answers false: the caller stops
//          reading until room() resolves, which slows the producer (pino:
//          `sync: true`). If the ledger makes no progress for stallMs (a
//          failing disk or database), the intake sheds until it does: a
//          stalled store must never stall the app for long.
//
// Preparation (decode, privacy, encoding) runs in slices of at most SLICE_MS
// so the worker's event loop keeps reading while it works: a transport that
// stops reading makes the app buffer (pino's thread-stream keeps the overflow
// in the app's heap, then blocks it), which is the outage this module exists
// to prevent.

import { performance } from 'node:perf_hooks';
import { SealogError } from './errors.js';
import { GapCounter, type GapReason, type GapSummary } from './gap.js';
import { REFUSE_LINE } from './pipeline/decoders.js';
import type { PreparedBatch, PreparePool } from './pipeline/pool.js';
import type { Sink } from './sink.js';

export type OverloadPolicy = 'shed' | 'block';

/** Longest stretch of preparation before the event loop gets a turn. */
const SLICE_MS = 4;
/** How often a paused pump looks again for room in the ledger's queue. */
const RETRY_MS = 2;
/** With `block`: how long the ledger may make no progress before the intake sheds instead. */
export const DEFAULT_STALL_MS = 1000;
/** A queue this much shorter (head dropped) is compacted. */
const COMPACT_AT = 4096;
/** Lines per batch handed to a prepare pool (one postMessage, one transfer back). */
const POOL_BATCH_LINES = 512;
/** Batches at the pool at once, per worker: one being prepared, one waiting, one coming back. */
const POOL_BATCHES_PER_WORKER = 3;

/** What the intake knows of a line it sheds without parsing it. */
export interface LinePeek {
  level: string | number | undefined;
  /** Its own time in ms (the receive time when it shows none). */
  time: number;
}

export interface IntakeOptions {
  policy: OverloadPolicy;
  /**
   * Turns one line into the record to store, or REFUSE_LINE for a line that
   * cannot be one (counted in a sealed gap record and reported, never stored
   * raw: it may hold values the privacy pipeline would remove). Must not throw.
   */
  decode(line: string): Record<string, unknown> | typeof REFUSE_LINE;
  /** Level and time of a line being shed, cheaply: it runs at the rate the app logs. */
  peek(line: string): LinePeek;
  stallMs?: number;
  onError?: (err: SealogError) => void;
  /**
   * The bound on queued line bytes plus the ledger's queued entry bytes
   * (default: the ledger's maxQueueBytes). A host that bounds what it sends
   * in other units (winston's app thread counts line characters) gives more.
   */
  maxBytes?: number;
  /**
   * Prepares lines on worker threads (pipeline/pool.ts); its decoder must do
   * what `decode` does. Without it lines are prepared on this thread.
   */
  pool?: PreparePool;
}

export class Intake {
  readonly #sink: Sink;
  readonly #policy: OverloadPolicy;
  readonly #decode: (line: string) => Record<string, unknown> | typeof REFUSE_LINE;
  readonly #peek: (line: string) => LinePeek;
  readonly #stallMs: number;
  readonly #maxBytes: number | undefined;
  readonly #pool: PreparePool | undefined;
  readonly #onError: (err: SealogError) => void;
  #atPool = 0; // batches handed to the pool, not yet in the ledger
  #linesAtPool = 0; // the lines in them
  /** The pool's batches reach the ledger one after another, in the order they were cut. */
  #delivered: Promise<void> = Promise.resolve();
  /** Lines in arrival order, and the gaps between them: a gap is sealed where its records were. */
  #lines: (string | GapSummary | undefined)[] = [];
  readonly #gaps: Record<GapReason, GapCounter> = {
    overload: new GapCounter('overload'),
    'store-failing': new GapCounter('store-failing'),
  };
  #head = 0;
  #bytes = 0;
  #scheduled = false;
  #timer: NodeJS.Timeout | undefined;
  #waiters: (() => void)[] = []; // room() and drained() callers
  #stallTimer: NodeJS.Timeout | undefined;
  #stalled = false;
  #progressMark = -1;
  #shed = 0;
  #closing = false;
  /** Shedding goes on until the queue is below half its bound: one gap record per overload, not one per record. */
  #shedding = false;

  constructor(sink: Sink, options: IntakeOptions) {
    this.#sink = sink;
    this.#policy = options.policy;
    this.#decode = options.decode;
    this.#peek = options.peek;
    this.#stallMs = options.stallMs ?? DEFAULT_STALL_MS;
    this.#pool = options.pool;
    this.#maxBytes = options.maxBytes;
    this.#onError =
      options.onError ?? ((err) => process.stderr.write(`sealog: ${err.code}: ${err.message}\n`));
  }

  /** Lines (and gaps) queued and not yet prepared. */
  get queued(): number {
    return this.#lines.length - this.#head;
  }

  /** Lines at the prepare pool, not yet handed to the ledger. */
  get preparing(): number {
    return this.#linesAtPool;
  }

  /** Lines this intake shed (each also counted in a sealed gap record). */
  get shed(): number {
    return this.#shed;
  }

  /**
   * Takes one line. Returns false when the caller should stop reading until
   * {@link room} resolves (`block`, queue full); the line itself is kept.
   */
  push(line: string): boolean {
    if (this.#closing) {
      // Too late to store: counted (and sealed by close) like a shed line, never lost silently.
      const p = this.#peek(line);
      this.#gaps.overload.add(p.level, p.time);
      this.#shed++;
      return true;
    }
    const full = this.#full();
    if (this.#shedding && !full && this.#belowHalf()) this.#shedding = false;
    if ((full || this.#shedding) && (this.#policy === 'shed' || this.#stalled)) {
      this.#shedding = true;
      const p = this.#peek(line);
      this.#gaps[this.#sink.ledger.failing ? 'store-failing' : 'overload'].add(p.level, p.time);
      this.#shed++;
      return true;
    }
    this.#closeGaps();
    this.#lines.push(line);
    this.#bytes += line.length;
    this.#schedule();
    if (!full) return true;
    this.#watchStall();
    return false;
  }

  /**
   * Counts a line the caller will not hand over (longer than it can hold) as
   * shed, by what `peek` reads at its start.
   */
  refuse(line: string): void {
    const p = this.#peek(line.slice(0, 256));
    this.#gaps.overload.add(p.level, p.time);
    this.#shed++;
    this.#onError(
      new SealogError('E_IO', 'a record too long to hold was not stored; a sealed gap record counts it'),
    );
  }

  /**
   * Seals a gap counted elsewhere (a transport's app thread) in its place:
   * after every line pushed before it, before every line pushed after it.
   */
  addGap(g: GapSummary): void {
    this.#closeGaps();
    this.#lines.push(g);
    this.#schedule();
  }

  /** Resolves when a blocked producer may go on (the queue is below half its bound, or the ledger stalled). */
  room(): Promise<void> {
    if (!this.#full() || this.#stalled) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Prepares and commits everything pushed so far, and seals what was shed. */
  async flush(): Promise<void> {
    this.#closeGaps();
    while (this.queued > 0 || this.#atPool > 0) {
      this.#schedule();
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    await this.#sink.flush();
  }

  /**
   * Flushes, then closes the sink (final checkpoint, ledger). Lines still
   * unprepared after `drainMs` are shed, counted in a sealed gap record: a
   * host that ends its transport within a deadline (pino's thread-stream
   * tears the worker down 10 s after `end()`) gets a count, not a silent loss.
   */
  async close(drainMs = Number.POSITIVE_INFINITY): Promise<void> {
    const deadline = Number.isFinite(drainMs)
      ? setTimeout(() => this.#shedRest(drainMs), drainMs)
      : undefined;
    try {
      await this.flush();
      this.#closing = true;
      // Lines pushed while the flush ran are prepared; what is pushed from now on is counted.
      await this.flush();
    } finally {
      this.#closing = true;
      clearTimeout(deadline);
      clearTimeout(this.#timer);
      clearTimeout(this.#stallTimer);
      try {
        await this.#pool?.close();
      } finally {
        await this.#sink.close();
      }
    }
  }

  /** Close ran out of time: every line not yet prepared is counted instead, in order with the gaps. */
  #shedRest(drainMs: number): void {
    const before = this.#shed;
    for (let i = this.#head; i < this.#lines.length; i++) {
      const item = this.#lines[i] as string | GapSummary;
      if (typeof item === 'string') {
        const p = this.#peek(item);
        this.#gaps.overload.add(p.level, p.time);
        this.#bytes -= item.length;
        this.#shed++;
      } else this.#gaps[item.reason].merge(item);
    }
    this.#lines = [];
    this.#head = 0;
    this.#closeGaps();
    this.#onError(
      new SealogError(
        'E_IO',
        `closing took over ${drainMs} ms: ${this.#shed - before} record(s) still queued were not stored; a sealed gap record counts them`,
      ),
    );
  }

  /** Queues the shed counts so far, in their place before the next line. */
  #closeGaps(): void {
    // Runs for every line pushed: nothing to do (and nothing allocated) unless something was shed.
    if (this.#gaps.overload.records === 0 && this.#gaps['store-failing'].records === 0) return;
    for (const counter of Object.values(this.#gaps)) {
      const g = counter.take();
      if (g !== undefined) {
        this.#lines.push(g);
        this.#schedule();
      }
    }
  }

  #max(): number {
    return this.#maxBytes ?? this.#sink.ledger.maxQueueBytes;
  }

  #full(): boolean {
    return this.#bytes + this.#sink.ledger.queuedBytes >= this.#max();
  }

  #belowHalf(): boolean {
    return this.#bytes + this.#sink.ledger.queuedBytes < this.#max() / 2;
  }

  #schedule(): void {
    if (this.#scheduled || this.#timer !== undefined) return;
    this.#scheduled = true;
    setImmediate(this.#pump);
  }

  readonly #pump = (): void => {
    this.#scheduled = false;
    this.#timer = undefined;
    if (this.#pool !== undefined) this.#dispatch(this.#pool);
    else this.#prepareHere();
    if (this.#head >= COMPACT_AT && this.#head * 2 >= this.#lines.length) {
      this.#lines = this.#lines.slice(this.#head);
      this.#head = 0;
    }
    this.#wake();
  };

  /** True when the ledger's own queue is half full: the store is behind (async commit, or failing). */
  #ledgerBehind(): boolean {
    if (this.#sink.ledger.queuedBytes < this.#sink.ledger.maxQueueBytes / 2) return false;
    // Half the bound waits for a commit: start it now rather than on the batch timer.
    this.#sink.ledger.commitSoon();
    this.#timer ??= setTimeout(this.#pump, RETRY_MS);
    return true;
  }

  #prepareHere(): void {
    const deadline = performance.now() + SLICE_MS;
    let n = 0;
    let refused = 0;
    while (this.#head < this.#lines.length) {
      if (this.#ledgerBehind()) break;
      const item = this.#lines[this.#head] as string | GapSummary;
      this.#lines[this.#head++] = undefined;
      if (typeof item !== 'string') {
        this.#sink.ledger.shedSummary(item);
        continue;
      }
      this.#bytes -= item.length;
      const record = this.#decode(item);
      if (record === REFUSE_LINE) refused++;
      else this.#sink.write(record);
      if ((++n & 31) === 0 && performance.now() > deadline) break;
    }
    this.#refused(refused);
    if (this.#head < this.#lines.length) this.#schedule();
  }

  /**
   * Cuts the queue into batches for the pool, at most POOL_BATCHES_PER_WORKER
   * per worker at once. Each batch's entries, and each gap between them, are
   * handed to the ledger in queue order (#delivered), so the pool's size
   * never changes what is stored or where.
   */
  #dispatch(pool: PreparePool): void {
    const ledger = this.#sink.ledger;
    while (this.#head < this.#lines.length && this.#atPool < pool.size * POOL_BATCHES_PER_WORKER) {
      if (this.#ledgerBehind()) return;
      const first = this.#lines[this.#head] as string | GapSummary;
      if (typeof first !== 'string') {
        this.#lines[this.#head++] = undefined;
        this.#delivered = this.#delivered.then(() => ledger.shedSummary(first));
        continue;
      }
      const batch: string[] = [];
      let bytes = 0;
      // A batch holds at most a quarter of the bound, so several are in flight before it is reached.
      const maxBytes = ledger.maxQueueBytes / 4;
      while (this.#head < this.#lines.length && batch.length < POOL_BATCH_LINES && bytes < maxBytes) {
        const item = this.#lines[this.#head];
        if (typeof item !== 'string') break;
        this.#lines[this.#head++] = undefined;
        batch.push(item);
        bytes += item.length;
      }
      this.#atPool++;
      this.#linesAtPool += batch.length;
      const prepared = pool.prepare(batch.join('\n'), Date.now());
      this.#delivered = this.#delivered
        .then(() => prepared)
        .then(
          (b) => this.#deliver(b),
          (err: unknown) => this.#lost(batch, err),
        )
        .finally(() => {
          this.#atPool--;
          this.#linesAtPool -= batch.length;
          this.#bytes -= bytes;
          this.#schedule();
          this.#wake();
        });
    }
  }

  #deliver(b: PreparedBatch): void {
    if (this.#sink.ledger.closed) return;
    this.#sink.ledger.writeEntries(b);
    this.#refused(b.refused);
  }

  /** Lines the decoder refused: counted in a sealed gap record and reported, never silent. */
  #refused(n: number): void {
    if (n === 0) return;
    this.#sink.ledger.shed(undefined, Date.now(), n);
    this.#onError(
      new SealogError(
        'E_IO',
        `${n} record(s) arrived unreadable and were not stored; a sealed gap record counts them`,
      ),
    );
  }

  /** The pool refused a batch (it was closed under us): its lines are counted as not stored. */
  #lost(lines: string[], err: unknown): void {
    this.#onError(
      new SealogError(
        'E_IO',
        `${lines.length} record(s) could not be prepared; a sealed gap record counts them`,
        {
          cause: err,
        },
      ),
    );
    if (this.#sink.ledger.closed) return;
    for (const l of lines) {
      const p = this.#peek(l);
      this.#sink.ledger.shed(p.level, p.time);
    }
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    if (!this.#belowHalf() && !this.#stalled && this.queued > 0) return;
    for (const w of this.#waiters.splice(0)) w();
  }

  /** `block`: if the ledger commits nothing for stallMs while the producer waits, shed instead. */
  #watchStall(): void {
    if (this.#stallTimer !== undefined) return;
    this.#progressMark = this.#sink.ledger.stats.committed;
    this.#stallTimer = setTimeout(() => {
      this.#stallTimer = undefined;
      const committed = this.#sink.ledger.stats.committed;
      // Only a failing store is a stall: a healthy one commits on its batch timer (batchDelayMs).
      if (committed === this.#progressMark && this.#sink.ledger.failing) {
        this.#stalled = true;
        this.#wake();
        // Look again: shedding ends as soon as the ledger commits again.
        this.#progressMark = committed;
        this.#stallTimer = setTimeout(this.#unstall, this.#stallMs);
        this.#stallTimer.unref();
      } else if (this.#full()) {
        this.#watchStall();
      }
    }, this.#stallMs);
    this.#stallTimer.unref();
  }

  readonly #unstall = (): void => {
    this.#stallTimer = undefined;
    if (this.#sink.ledger.stats.committed !== this.#progressMark) this.#stalled = false;
    else {
      this.#progressMark = this.#sink.ledger.stats.committed;
      this.#stallTimer = setTimeout(this.#unstall, this.#stallMs);
      this.#stallTimer.unref();
    }
  };
}
