import type Database from 'better-sqlite3';
import { appendAnchorAsync } from '../checkpoint/anchor.js';
import { SealogError } from '../errors.js';
import type { SqliteStoreOptions } from '../store/sqlite.js';
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
import { prepareDir, sealedAt } from './checks.js';
import { createSegment, removeStaleTemps } from './create.js';
import { listSegments, segmentAnchorFile, segmentFileName } from './layout.js';
import { SegmentOpener } from './opener.js';
import { bindingAfter, type Expected, expectedBinding } from './reopen.js';
import { Retired } from './retire.js';
import {
  bindSegment,
  isDue,
  ROTATE_RETRY_MS,
  type SegmentsOptions,
  successor,
  tryClose,
} from './rotation.js';
import { isClosed, openBudgets, rowCount, type Segment, SegmentClosed, segmentBytes } from './segment.js';
import { SegmentWal } from './wal.js';

export type { SegmentsOptions } from './rotation.js';
export { BUDGETS_FILE } from './segment.js';

// A ledger written as a directory of segment files (layout.ts). Appends go to
// the newest segment, an ordinary SqliteStore derived with the writer's own
// trust (opener.ts); the commit that finds it due rotates first (rotation.ts).
// Closed segments are sealed by the sealer (sealLocked), never on the append path.

export interface SegmentedStoreOptions extends Omit<SqliteStoreOptions, 'beforeAppend'> {
  segments: SegmentsOptions;
  /** `checkpoint.anchorFile`: segment k's notes go to segmentAnchorFile(anchorFile, k). */
  anchorFile?: string;
  /** Milliseconds since the epoch (binding times, segment age); injectable for tests. */
  now?: () => number;
}

/** Appends that find their segment closed follow to the next this many times before failing. */
const MAX_FOLLOWS = 8;

export class SegmentedStore implements Store {
  readonly dir: string;
  readonly display: string;
  /** Called after each rotation (the sink asks its sealer to seal the closed segment soon). */
  onRotate: (() => void) | undefined;
  readonly #o: SegmentedStoreOptions;
  readonly #now: () => number;
  readonly #trust: WriterTrust | undefined;
  /** Opens and checks segments with the writer's trust; the context of every step below. */
  readonly #opener: SegmentOpener;
  #cur!: Segment;
  /** Closed segments whose final head this writer derived and has not yet sealed. */
  #finals: { seg: Segment; head: LedgerHead }[] = [];
  #bytes = 0;
  #rows = 0;
  #rotateAfter = 0;
  /** A rotation planned for the turn after the commit that filled the segment. */
  #soon: NodeJS.Immediate | undefined;
  #budgets: Database.Database | undefined;
  #wal: SegmentWal | undefined;
  readonly #retired = new Retired();

  /** @throws SealogError E_CONFIG (path is a file), E_IO, E_STATE, E_NOT_LEDGER. */
  constructor(dir: string, options: SegmentedStoreOptions) {
    this.dir = dir;
    this.display = dir;
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#trust = options.trust;
    this.#opener = new SegmentOpener(dir, options, options.trust, this.#now, this.#retired);
    prepareDir(dir);
    removeStaleTemps(dir);
    const { slots } = listSegments(dir);
    const newest = slots.at(-1);
    try {
      if (newest === undefined) {
        createSegment(dir, { index: 1, base: 0 }, this.#now());
        this.#current(this.#opener.open(1));
        this.#opener.check(this.#cur, { index: 1, base: 0 });
      } else {
        if (newest.file === undefined) {
          throw new SealogError(
            'E_STATE',
            `segment directory ${dir}: its newest segment ${newest.index} is only a tombstone (the open segment was pruned); restore ${segmentFileName(newest.index)} from a backup`,
          );
        }
        this.#current(this.#opener.open(newest.index));
        let expected: Expected | undefined;
        if (this.#trust) {
          const found = expectedBinding(this.#opener, this.#trust.own, slots, newest.index);
          expected = found.expected;
          this.#finals.push(...found.finals);
        }
        // Empty: its creator died between linking it and writing its binding.
        if (this.#rows === 0) {
          const full = expected?.base !== undefined ? (expected as SegmentBinding) : undefined;
          bindSegment(this.#opener, this.#cur, full ?? bindingAfter(this.#opener, newest.index));
        } else this.#opener.check(this.#cur, expected);
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
        this.#rotateSoon();
        return { ...r, firstSeq: seg.base + r.firstSeq, size: seg.base + r.size };
      } catch (err) {
        if (!(err instanceof SegmentClosed) || follows >= MAX_FOLLOWS) throw err;
        this.#follow();
      }
    }
  }

  /** The current segment's derived head (segment-local sizes). @throws SealogError E_TAMPER after a divergence. */
  head(): LedgerHead {
    const divergence = this.#opener.divergence;
    if (divergence) throw divergence;
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
      this.#opener.divergence ??
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
      this.#opener.retire(seg.store);
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
    clearImmediate(this.#soon);
    this.#opener?.next.close();
    this.#budgets?.close();
    this.#budgets = undefined;
    this.#retired.stop();
    // The thread's connection goes first: the last one to close folds the WAL into the file.
    await this.#wal?.close();
    this.#wal = undefined;
    const stores = [
      ...this.#retired.take(),
      ...this.#finals.map((f) => f.seg.store),
      ...(this.#cur ? [this.#cur.store] : []),
    ];
    this.#finals = [];
    await Promise.all(stores.map((s) => s.close()));
  }

  // ---- rotation (rotation.ts) ---------------------------------------------------

  #due(): boolean {
    const seg = { rows: this.#rows, bytes: this.#bytes, bornAt: this.#cur.bornAt };
    return isDue(this.#o.segments, seg, this.#rotateAfter, this.#now);
  }

  /**
   * A commit that leaves its segment due has it rotated in the event loop's next
   * turn, after this commit is acknowledged and between commits, so no commit
   * (and no batch waiting for one) carries the rotation. The steps and their
   * guarantees are those of a rotation inside a commit; an append that still
   * finds its segment due (age, or no turn in between) rotates first, as before.
   */
  #rotateSoon(): void {
    if (this.#soon !== undefined || !this.#due()) return;
    this.#soon = setImmediate(() => {
      this.#soon = undefined;
      try {
        if (this.#due()) this.#rotate();
      } catch {
        // Not lost: the next append rotates or follows itself and throws what fails to its caller.
      }
    });
    this.#soon.unref();
  }

  /** Closes the current segment and moves on. A close marker that cannot be written now (busy) is retried later. */
  #rotate(): void {
    if (!tryClose(this.#cur, this.#now())) {
      this.#rotateAfter = this.#now() + ROTATE_RETRY_MS;
      return;
    }
    this.#follow();
  }

  /** The current segment is closed (by us or another writer): append to its successor from now on. */
  #follow(): void {
    const cur = this.#cur;
    const { next, head } = successor(this.#opener, cur);
    this.#current(next);
    this.#wal?.follow(next.store.path);
    if (head !== undefined && this.#trust) this.#finals.push({ seg: cur, head });
    else this.#opener.retire(cur.store);
    this.#planSpare();
    this.onRotate?.();
  }

  #planSpare(): void {
    const index = this.#cur.index + 1;
    this.#opener.next.prepare(index, () => this.#cur.index + 1 !== index);
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
