import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { AnchorHeads } from '../chain/trust.js';
import { appendAnchorAsync } from '../checkpoint/anchor.js';
import { SealogError } from '../errors.js';
import type { SqliteStore, SqliteStoreOptions } from '../store/sqlite.js';
import type {
  CommitResult,
  LedgerHead,
  LockedSeal,
  PendingEntry,
  SealSigner,
  Store,
  WriterTrust,
} from '../store/types.js';
import type { SegmentBinding } from './binding.js';
import { bindingMismatch, prepareDir, readRow0, sealedAt } from './checks.js';
import { createSegment, removeStaleTemps } from './create.js';
import { listSegments, segmentAnchorFile, segmentFileName } from './layout.js';
import { bindingAfter, type Expected, expectedBinding, type ReopenContext } from './reopen.js';
import {
  closeMarker,
  isClosed,
  openBudgets,
  openSegment,
  rowCount,
  type Segment,
  SegmentClosed,
  segmentBytes,
  writeBinding,
} from './segment.js';
import { NextSegment } from './spare.js';
import { SegmentWal } from './wal.js';

export { BUDGETS_FILE } from './segment.js';

// A ledger written as a directory of segment files (layout.ts). Appends go to
// the newest segment, an ordinary SqliteStore derived with the writer's own
// trust. Rotation, in stages (docs/lifecycle.md "Segments"):
//
//   close k (marker row, BEGIN IMMEDIATE) → derive k's final head → create k+1
//   bound to that head (temp file + link) → append to k+1 → seal k (sealer)
//
// Several processes may write one directory: every append checks k's marker
// inside its own transaction, so nothing lands in k after it closed, and
// link() decides which writer's k+1 exists; the others check it binds the head
// they derived themselves. Signing never happens on the append path.

/** `segments` option: rotate when the segment reaches maxBytes, or is maxAgeMs old. */
export interface SegmentsOptions {
  maxBytes?: number;
  maxAgeMs?: number;
}

export interface SegmentedStoreOptions extends Omit<SqliteStoreOptions, 'beforeAppend'> {
  segments: SegmentsOptions;
  /** `checkpoint.anchorFile`: segment k's notes go to segmentAnchorFile(anchorFile, k). */
  anchorFile?: string;
  /** Milliseconds since the epoch (binding times, segment age); injectable for tests. */
  now?: () => number;
}

/** Appends that find their segment closed follow to the next this many times before failing. */
const MAX_FOLLOWS = 8;
/** How long a segment done with stays open (its connection's close copies and syncs its WAL). */
const RETIRE_DELAY_MS = 200;
/** After a close marker could not be written (a busy lock), rotation is retried this much later. */
const ROTATE_RETRY_MS = 1000;

export class SegmentedStore implements Store {
  readonly dir: string;
  readonly display: string;
  /** Called after each rotation (the sink asks its sealer to seal the closed segment soon). */
  onRotate: (() => void) | undefined;
  readonly #o: SegmentedStoreOptions;
  readonly #now: () => number;
  readonly #trust: WriterTrust | undefined;
  #cur!: Segment;
  /** Closed segments whose final head this writer derived and has not yet sealed. */
  #finals: { seg: Segment; head: LedgerHead }[] = [];
  #divergence: SealogError | undefined;
  #bytes = 0;
  #rows = 0;
  #rotateAfter = 0;
  #budgets: Database.Database | undefined;
  #wal: SegmentWal | undefined;
  /** Segments done with (sealed, or nothing to seal), closed a moment later, off the append path. */
  #retired: SqliteStore[] = [];
  #retireTimer: NodeJS.Timeout | undefined;
  /** The next segment's file, built ahead (create.ts). */
  #next!: NextSegment;

  /** @throws SealogError E_CONFIG (path is a file), E_IO, E_STATE, E_NOT_LEDGER. */
  constructor(dir: string, options: SegmentedStoreOptions) {
    this.dir = dir;
    this.display = dir;
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#trust = options.trust;
    this.#next = new NextSegment(dir, options.durability, this.#now);
    prepareDir(dir);
    removeStaleTemps(dir);
    const { slots } = listSegments(dir);
    const newest = slots.at(-1);
    try {
      if (newest === undefined) {
        createSegment(dir, { index: 1, base: 0 }, this.#now());
        this.#current(this.#open(1));
        this.#check(this.#cur, { index: 1, base: 0 });
      } else {
        if (newest.file === undefined) {
          throw new SealogError(
            'E_STATE',
            `segment directory ${dir}: its newest segment ${newest.index} is only a tombstone (the open segment was pruned); restore ${segmentFileName(newest.index)} from a backup`,
          );
        }
        this.#current(this.#open(newest.index));
        let expected: Expected | undefined;
        if (this.#trust) {
          const found = expectedBinding(this.#reopen(), this.#trust.own, slots, newest.index);
          expected = found.expected;
          this.#finals.push(...found.finals);
        }
        // Empty: its creator died between linking it and writing its binding.
        if (this.#rows === 0) {
          const full = expected?.base !== undefined ? (expected as SegmentBinding) : undefined;
          this.#bind(this.#cur, full ?? bindingAfter(this.#reopen(), newest.index));
        } else this.#check(this.#cur, expected);
        if (isClosed(this.#cur)) this.#follow();
      }
    } catch (err) {
      void this.close();
      throw err;
    }
    this.#current(this.#cur);
    if (options.backgroundCheckpoint === true) this.#wal = new SegmentWal(this.#cur.store.path);
    this.#planSpare();
  }

  /** Appends to the newest segment, rotating first when it is due. Sizes in the result are global (base + seq). */
  append(batch: readonly PendingEntry[]): CommitResult {
    if (this.#due()) this.#rotate();
    for (let follows = 0; ; follows++) {
      const seg = this.#cur;
      try {
        const r = seg.store.append(batch);
        this.#rows = r.size;
        this.#measure();
        return { ...r, firstSeq: seg.base + r.firstSeq, size: seg.base + r.size };
      } catch (err) {
        if (!(err instanceof SegmentClosed) || follows >= MAX_FOLLOWS) throw err;
        this.#follow();
      }
    }
  }

  /** The current segment's derived head (segment-local sizes). @throws SealogError E_TAMPER after a divergence. */
  head(): LedgerHead {
    if (this.#divergence) throw this.#divergence;
    return this.#cur.store.head();
  }

  refresh(): void {
    this.#cur.store.refresh();
  }

  addCheckpoint(head: LedgerHead, note: string, createdAt: number): void | Promise<void> {
    return this.#cur.store.addCheckpoint(head, note, createdAt);
  }

  leafHashes(from: number, to: number): Buffer[] {
    return this.#cur.store.leafHashes(from, to);
  }

  get divergence(): SealogError | undefined {
    return (
      this.#divergence ??
      this.#cur.store.divergence ??
      this.#finals.find((f) => f.seg.store.divergence)?.seg.store.divergence
    );
  }

  /** The current segment's index and file (for tests and tools). */
  get current(): { index: number; base: number; path: string } {
    return { index: this.#cur.index, base: this.#cur.base, path: this.#cur.store.path };
  }

  /**
   * Seals every closed segment this writer derived but has not sealed at its
   * final size, then the current segment at its head: each note is stored in
   * its own segment and appended to that segment's anchor. `size` in the result
   * is global (base + size), like the commit results the sealer compares it with.
   */
  async sealLocked(sign: SealSigner): Promise<LockedSeal> {
    while (this.#finals.length > 0) {
      const { seg, head } = this.#finals[0]!;
      if (!(this.#trust && sealedAt(seg.store, head, this.#trust.own))) await this.#store(seg, head, sign);
      this.#finals.shift();
      this.#retire(seg.store);
    }
    const seg = this.#cur;
    seg.store.refresh();
    const head = this.head();
    const { note, createdAt } = await this.#store(seg, head, sign);
    return { size: seg.base + head.size, note, createdAt, fresh: true, head };
  }

  async #store(
    seg: Segment,
    head: LedgerHead,
    sign: SealSigner,
  ): Promise<{ note: string; createdAt: number }> {
    const signed = await sign(head);
    await seg.store.addCheckpoint(head, signed.note, signed.createdAt);
    if (this.#o.anchorFile !== undefined) {
      // The anchor must never name a head of a segment whose file a power loss could unname.
      await seg.named;
      await appendAnchorAsync(segmentAnchorFile(this.#o.anchorFile, seg.index), signed.note);
    }
    return signed;
  }

  /**
   * The connection privacy.noise keeps its ε budgets in: `<dir>/budgets.db`,
   * shared by every writer and every segment. Budgets in a segment would start
   * over at each rotation and multiply the spent ε. It holds no records.
   */
  get db(): Database.Database {
    this.#budgets ??= openBudgets(this.dir, this.#o.busyTimeoutMs);
    return this.#budgets;
  }

  async close(): Promise<void> {
    this.#next?.close();
    this.#budgets?.close();
    this.#budgets = undefined;
    clearTimeout(this.#retireTimer);
    // The thread's connection goes first: the last one to close folds the WAL into the file.
    await this.#wal?.close();
    this.#wal = undefined;
    const stores = [
      ...this.#retired,
      ...this.#finals.map((f) => f.seg.store),
      ...(this.#cur ? [this.#cur.store] : []),
    ];
    this.#retired = [];
    this.#finals = [];
    await Promise.all(stores.map((s) => s.close()));
  }

  /**
   * Closes `store` soon, not now: closing the last connection to a file copies its
   * WAL into it and syncs it, which must not stall the commit that rotated.
   */
  #retire(store: SqliteStore): void {
    this.#retired.push(store);
    if (this.#retireTimer !== undefined) return;
    this.#retireTimer = setTimeout(() => {
      this.#retireTimer = undefined;
      for (const s of this.#retired.splice(0)) void s.close();
    }, RETIRE_DELAY_MS);
    this.#retireTimer.unref();
  }

  // ---- opening and checking ------------------------------------------------

  #open(index: number): Segment {
    const options = { ...this.#storeOptions(), ...(this.#trust ? { trust: this.#trustFor(index) } : {}) };
    return openSegment(join(this.dir, segmentFileName(index)), index, options, this.#now());
  }

  #storeOptions(): SqliteStoreOptions {
    // No thread per segment: one SegmentWal follows the writer (wal.ts).
    const { durability, busyTimeoutMs } = this.#o;
    return {
      ...(durability !== undefined ? { durability } : {}),
      ...(busyTimeoutMs !== undefined ? { busyTimeoutMs } : {}),
    };
  }

  /** Segment k's trust: the writer's key, and the heads it signed in segment k's own anchor. */
  #trustFor(index: number): WriterTrust {
    const t = this.#trust!;
    const onDiverge = (err: SealogError) => {
      this.#divergence ??= err;
      t.onDiverge?.(err);
    };
    if (this.#o.anchorFile === undefined) return { own: t.own, heads: [], onDiverge };
    const anchor = new AnchorHeads(t.own, segmentAnchorFile(this.#o.anchorFile, index));
    return { own: t.own, heads: [...anchor.read()], anchor, onDiverge };
  }

  #reopen(): ReopenContext {
    return {
      dir: this.dir,
      open: (index) => this.#open(index),
      now: this.#now,
      diverged: (what) => this.#diverged(what),
      retire: (store) => this.#retire(store),
    };
  }

  #check(seg: Segment, expected: Expected | undefined): void {
    if (expected === undefined || !this.#trust) return;
    const problem = bindingMismatch(readRow0(seg.store).binding, expected);
    if (problem) this.#diverged(`${seg.store.path}: ${problem}`);
  }

  #diverged(what: string): void {
    if (this.#divergence) return;
    this.#divergence = new SealogError(
      'E_TAMPER',
      `segment directory ${this.dir}: ${what}; the segments do not form the history this key sealed, so nothing will be signed: run \`sealog verify\` with the verifier key`,
    );
    this.#trust?.onDiverge?.(this.#divergence);
  }

  // ---- rotation --------------------------------------------------------------

  #due(): boolean {
    const { maxBytes, maxAgeMs } = this.#o.segments;
    if (this.#rows <= 1) return false; // only the binding row: nothing to rotate away
    const now = this.#now();
    if (now < this.#rotateAfter) return false;
    if (maxBytes !== undefined && this.#bytes >= maxBytes) return true;
    return maxAgeMs !== undefined && now - this.#cur.bornAt >= maxAgeMs;
  }

  /** Closes the current segment and moves on. A close marker that cannot be written now (busy) is retried later. */
  #rotate(): void {
    try {
      closeMarker(this.#cur, this.#now());
    } catch {
      this.#rotateAfter = this.#now() + ROTATE_RETRY_MS;
      return;
    }
    this.#follow();
  }

  /**
   * The current segment is closed (by us or another writer): derive its final
   * head, create the next segment bound to it (or find another writer's and
   * check it binds the same head), and append there from now on.
   */
  #follow(): void {
    const cur = this.#cur;
    const index = cur.index + 1;
    cur.store.refresh();
    let expected: SegmentBinding | undefined;
    let head: LedgerHead | undefined;
    let named: Promise<void> | undefined;
    if (!cur.store.divergence) {
      head = cur.store.head();
      expected = { index, base: cur.base + head.size, prev: { size: head.size, root: head.root } };
      named = this.#next.create(expected);
    } else if (!existsSync(join(this.dir, segmentFileName(index)))) {
      throw new SealogError(
        'E_STATE',
        `segment ${cur.store.path} was closed but its records do not derive a head to bind the next segment to; run \`sealog verify\` on it`,
      );
    }
    const next = this.#open(index);
    if (named !== undefined) next.named = named;
    this.#bind(next, expected);
    this.#current(next);
    this.#wal?.follow(next.store.path);
    if (head !== undefined && this.#trust) this.#finals.push({ seg: cur, head });
    else this.#retire(cur.store);
    this.#planSpare();
    this.onRotate?.();
  }

  #planSpare(): void {
    const index = this.#cur.index + 1;
    this.#next.prepare(index, () => this.#cur.index + 1 !== index);
  }

  /**
   * Writes the binding as row 0 of a segment made from a spare, unless a writer
   * already did (inside BEGIN IMMEDIATE, so exactly one does), then checks it.
   */
  #bind(seg: Segment, expected: SegmentBinding | undefined): void {
    if (rowCount(seg) === 0) {
      if (expected === undefined) {
        throw new SealogError(
          'E_STATE',
          `segment ${seg.store.path} has no binding and the segment before it does not derive one; run \`sealog verify\` on the directory`,
        );
      }
      writeBinding(seg, expected, this.#now(), this.#o.durability);
    }
    this.#check(seg, expected);
  }

  #current(seg: Segment): void {
    this.#cur = seg;
    this.#rows = rowCount(seg);
    this.#measure();
  }

  #measure(): void {
    this.#bytes = segmentBytes(this.#cur);
  }
}
