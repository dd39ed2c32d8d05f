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
import type { SealogError } from './errors.js';
import { GapCounter, type GapReason, type GapSummary } from './gap.js';
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

/** What the intake knows of a line it sheds without parsing it. */
export interface LinePeek {
  level: string | number | undefined;
  /** Its own time in ms (the receive time when it shows none). */
  time: number;
}

export interface IntakeOptions {
  policy: OverloadPolicy;
  /** Turns one line into the record to store. Must not throw (return a marker record instead). */
  decode(line: string): Record<string, unknown>;
  /** Level and time of a line being shed, cheaply: it runs at the rate the app logs. */
  peek(line: string): LinePeek;
  stallMs?: number;
  onError?: (err: SealogError) => void;
}

export class Intake {
  readonly #sink: Sink;
  readonly #policy: OverloadPolicy;
  readonly #decode: (line: string) => Record<string, unknown>;
  readonly #peek: (line: string) => LinePeek;
  readonly #stallMs: number;
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
  /** Shedding goes on until the queue is below half its bound: one gap record per overload, not one per record. */
  #shedding = false;

  constructor(sink: Sink, options: IntakeOptions) {
    this.#sink = sink;
    this.#policy = options.policy;
    this.#decode = options.decode;
    this.#peek = options.peek;
    this.#stallMs = options.stallMs ?? DEFAULT_STALL_MS;
  }

  /** Lines queued and not yet prepared. */
  get queued(): number {
    return this.#lines.length - this.#head;
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
    while (this.queued > 0) {
      this.#schedule();
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    await this.#sink.flush();
  }

  /** Flushes, then closes the sink (final checkpoint, ledger). Nothing accepted is shed on close. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      clearTimeout(this.#timer);
      clearTimeout(this.#stallTimer);
      await this.#sink.close();
    }
  }

  /** Queues the shed counts so far, in their place before the next line. */
  #closeGaps(): void {
    for (const counter of Object.values(this.#gaps)) {
      const g = counter.take();
      if (g !== undefined) {
        this.#lines.push(g);
        this.#schedule();
      }
    }
  }

  #full(): boolean {
    return this.#bytes + this.#sink.ledger.queuedBytes >= this.#sink.ledger.maxQueueBytes;
  }

  #belowHalf(): boolean {
    return this.#bytes + this.#sink.ledger.queuedBytes < this.#sink.ledger.maxQueueBytes / 2;
  }

  #schedule(): void {
    if (this.#scheduled || this.#timer !== undefined) return;
    this.#scheduled = true;
    setImmediate(this.#pump);
  }

  readonly #pump = (): void => {
    this.#scheduled = false;
    this.#timer = undefined;
    const ledger = this.#sink.ledger;
    const half = ledger.maxQueueBytes / 2;
    const deadline = performance.now() + SLICE_MS;
    let n = 0;
    while (this.#head < this.#lines.length) {
      if (ledger.queuedBytes >= half) {
        // The store is behind (an async commit in flight, or failing): look again shortly.
        this.#timer = setTimeout(this.#pump, RETRY_MS);
        break;
      }
      const item = this.#lines[this.#head] as string | GapSummary;
      this.#lines[this.#head++] = undefined;
      if (typeof item !== 'string') {
        this.#sink.ledger.shedSummary(item);
        continue;
      }
      this.#bytes -= item.length;
      this.#sink.write(this.#decode(item));
      if ((++n & 31) === 0 && performance.now() > deadline) break;
    }
    if (this.#head >= COMPACT_AT && this.#head * 2 >= this.#lines.length) {
      this.#lines = this.#lines.slice(this.#head);
      this.#head = 0;
    }
    if (this.#head < this.#lines.length && this.#timer === undefined) this.#schedule();
    this.#wake();
  };

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
      if (committed === this.#progressMark) {
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
