import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database, { type Statement } from 'better-sqlite3';
import { AnchorHeads } from '../chain/trust.js';
import { appendAnchorAsync } from '../checkpoint/anchor.js';
import { SealogError } from '../errors.js';
import { ioError } from '../store/open.js';
import { DEFAULT_BUSY_TIMEOUT_MS, SqliteStore, type SqliteStoreOptions } from '../store/sqlite.js';
import type {
  CommitResult,
  LedgerHead,
  LockedSeal,
  PendingEntry,
  SealSigner,
  Store,
  WriterTrust,
} from '../store/types.js';
import { bindingEntry, type SegmentBinding } from './binding.js';
import { bindingMismatch, prepareDir, readRow0, sealedAt, tombstoneHead } from './checks.js';
import {
  CLOSE_TABLE_DDL,
  createSegment,
  linkSpare,
  removeStaleTemps,
  Spare,
  syncDir,
  syncDirAsync,
} from './create.js';
import { listSegments, type SegmentSlot, segmentAnchorFile, segmentFileName } from './layout.js';
import { SegmentWal } from './wal.js';

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

/** An append found its segment closed by a writer (maybe another process). */
class SegmentClosed extends SealogError {}

/** Where privacy.noise's ε budgets live (see {@link SegmentedStore.db}); not a segment name. */
export const BUDGETS_FILE = 'budgets.db';

/** Appends that find their segment closed follow to the next this many times before failing. */
const MAX_FOLLOWS = 8;
/** How long a segment done with stays open (its connection's close copies and syncs its WAL). */
const RETIRE_DELAY_MS = 200;
/** After a close marker could not be written (a busy lock), rotation is retried this much later. */
const ROTATE_RETRY_MS = 1000;

interface Segment {
  index: number;
  /** Records in all earlier segments (row 0's base). */
  base: number;
  /** Row 0's time: the segment's age counts from it. */
  bornAt: number;
  store: SqliteStore;
  pageSize: number;
  /** Resolves once its name in the directory is durable (a spare's link is synced in the background). */
  named?: Promise<void>;
}

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
  #spare: Spare | undefined;
  #closed = false;

  /** @throws SealogError E_CONFIG (path is a file), E_IO, E_STATE, E_NOT_LEDGER. */
  constructor(dir: string, options: SegmentedStoreOptions) {
    this.dir = dir;
    this.display = dir;
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#trust = options.trust;
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
        const expected = this.#expected(slots, newest.index);
        // Empty: its creator died between linking it and writing its binding.
        if (this.#rows === 0) {
          const full = expected?.base !== undefined ? (expected as SegmentBinding) : undefined;
          this.#bind(this.#cur, full ?? this.#bindingAfter(newest.index));
        } else this.#check(this.#cur, expected);
        if (this.#isClosed(this.#cur)) this.#follow();
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
    if (this.#budgets === undefined) {
      const path = join(this.dir, BUDGETS_FILE);
      try {
        const db = new Database(path, { timeout: this.#o.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
        db.pragma('journal_mode = WAL');
        this.#budgets = db;
      } catch (err) {
        throw ioError(path, 'open', err);
      }
    }
    return this.#budgets;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#spare?.discard();
    this.#spare = undefined;
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
    const path = join(this.dir, segmentFileName(index));
    let closed: Statement<[], unknown> | undefined;
    const store = new SqliteStore(path, {
      ...this.#storeOptions(),
      ...(this.#trust ? { trust: this.#trustFor(index) } : {}),
      beforeAppend: (db) => {
        closed ??= db.prepare('SELECT 1 FROM segment_close WHERE id = 0');
        if (closed.get() !== undefined) {
          throw new SegmentClosed('E_STATE', `segment ${path} is closed; appends go to the next segment`);
        }
      },
    });
    try {
      const db = store.db;
      if (
        db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'segment_close'").get() ===
        undefined
      ) {
        db.exec(CLOSE_TABLE_DDL);
      }
      const { binding, ts } = readRow0(store);
      const pageSize = db.pragma('page_size', { simple: true }) as number;
      return { index, base: binding?.base ?? 0, bornAt: ts ?? this.#now(), store, pageSize };
    } catch (err) {
      void store.close();
      throw err;
    }
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

  /**
   * The binding segment `index` must carry, from the segment before it derived
   * here (or its tombstone's signed head), and the closed segments before it
   * whose final head this key has not sealed (queued for the sealer). Undefined
   * when it cannot be known (a keyless writer checks nothing; it signs nothing).
   */
  #expected(slots: SegmentSlot[], index: number): Parameters<typeof bindingMismatch>[1] | undefined {
    if (index === 1) return { index: 1, base: 0 };
    if (!this.#trust) return undefined;
    const slot = slots.find((s) => s.index === index - 1);
    if (slot?.file !== undefined) {
      const prev = this.#open(index - 1);
      const head = this.#finalHead(prev);
      if (head === undefined) {
        void prev.store.close();
        return undefined; // diverged: reported, nothing is signed
      }
      this.#queueFinal(prev, head);
      // Older closed segments left unsealed by a crash: back to the first one that is sealed.
      for (let k = index - 2; k >= 1; k--) {
        if (slots.find((s) => s.index === k)?.file === undefined) break;
        const seg = this.#open(k);
        const h = this.#finalHead(seg);
        if (h === undefined || sealedAt(seg.store, h, this.#trust.own)) {
          void seg.store.close();
          break;
        }
        this.#finals.unshift({ seg, head: h });
      }
      return { index, base: prev.base + head.size, prev: { size: head.size, root: head.root } };
    }
    if (slot?.tombstone !== undefined) {
      const h = tombstoneHead(slot.tombstone, this.#trust.own);
      if (h === undefined) {
        this.#diverged(
          `the tombstone ${slot.tombstone} of segment ${index - 1} holds no checkpoint this key signed`,
        );
        return undefined;
      }
      return { index, prev: { size: h.size, root: h.root } };
    }
    this.#diverged(`segment ${index - 1} is missing (no file and no tombstone)`);
    return undefined;
  }

  /** A closed segment's final head, derived here (undefined when its store diverged). Closes it first if it is not. */
  #finalHead(seg: Segment): LedgerHead | undefined {
    if (!this.#isClosed(seg)) this.#closeMarker(seg);
    seg.store.refresh();
    return seg.store.divergence ? undefined : seg.store.head();
  }

  #queueFinal(seg: Segment, head: LedgerHead): void {
    if (this.#trust && !sealedAt(seg.store, head, this.#trust.own)) this.#finals.push({ seg, head });
    else void seg.store.close();
  }

  #check(seg: Segment, expected: Parameters<typeof bindingMismatch>[1] | undefined): void {
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
      this.#closeMarker(this.#cur);
    } catch {
      this.#rotateAfter = this.#now() + ROTATE_RETRY_MS;
      return;
    }
    this.#follow();
  }

  #closeMarker(seg: Segment): void {
    const db = seg.store.db;
    db.transaction(() => {
      db.prepare(
        'INSERT OR IGNORE INTO segment_close (id, size, closed_at) SELECT 0, coalesce(max(seq) + 1, 0), ? FROM records',
      ).run(this.#now());
    }).immediate();
  }

  #isClosed(seg: Segment): boolean {
    return seg.store.db.prepare('SELECT 1 FROM segment_close WHERE id = 0').get() !== undefined;
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
      named = this.#create(expected);
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

  /**
   * Creates segment `b.index`: links the spare built ahead when it is ready (no
   * fsync here; the directory is synced in the background, or now for
   * durability "power"), else builds it whole, synced. Resolves when the name is durable.
   */
  #create(b: SegmentBinding): Promise<void> | undefined {
    const spare = this.#spare?.take(b.index);
    if (spare === undefined) {
      createSegment(this.dir, b, this.#now());
      return undefined;
    }
    this.#spare = undefined;
    if (!linkSpare(spare, join(this.dir, segmentFileName(b.index)))) return undefined;
    if (this.#o.durability === 'power') {
      syncDir(this.dir);
      return undefined;
    }
    const named = syncDirAsync(this.dir);
    named.catch(() => {}); // a failure surfaces where it is awaited (before anchoring)
    return named;
  }

  /** Builds the next segment's spare soon, off the append path. */
  #planSpare(): void {
    const index = this.#cur.index + 1;
    if (this.#spare?.index === index) return;
    this.#spare?.discard();
    this.#spare = undefined;
    setImmediate(() => {
      if (this.#closed || this.#spare !== undefined || this.#cur.index + 1 !== index) return;
      try {
        this.#spare = new Spare(this.dir, index, this.#now());
      } catch {
        // no spare: the rotation builds the segment itself
      }
    }).unref();
  }

  /**
   * Writes the binding as row 0 of a segment made from a spare, unless a writer
   * already did (inside BEGIN IMMEDIATE, so exactly one does), then checks it.
   */
  #bind(seg: Segment, expected: SegmentBinding | undefined): void {
    const db = seg.store.db;
    const empty = db.prepare('SELECT 1 FROM records LIMIT 1');
    if (empty.get() === undefined) {
      if (expected === undefined) {
        throw new SealogError(
          'E_STATE',
          `segment ${seg.store.path} has no binding and the segment before it does not derive one; run \`sealog verify\` on the directory`,
        );
      }
      // The first frame of a new WAL file makes SQLite fsync its header, even at
      // synchronous=NORMAL: measured 3–110 ms inside the rotating commit. A fresh WAL
      // has no stale frames for that sync to fence off, so under "process" durability
      // (no promise across power loss) this one commit runs without it.
      const fast = this.#o.durability !== 'power';
      if (fast) db.pragma('synchronous = OFF');
      try {
        db.transaction(() => {
          if (empty.get() === undefined) seg.store.append([bindingEntry(expected, this.#now())]);
        }).immediate();
      } finally {
        if (fast) db.pragma('synchronous = NORMAL');
      }
      const row0 = readRow0(seg.store);
      seg.base = row0.binding?.base ?? expected.base;
      seg.bornAt = row0.ts ?? this.#now();
    }
    this.#check(seg, expected);
  }

  /** What segment `index` must carry, derived from the one before it without a key (a keyless writer binding an empty segment). */
  #bindingAfter(index: number): SegmentBinding | undefined {
    if (index === 1) return { index: 1, base: 0 };
    if (!existsSync(join(this.dir, segmentFileName(index - 1)))) return undefined;
    const prev = this.#open(index - 1);
    try {
      if (!this.#isClosed(prev)) this.#closeMarker(prev);
      prev.store.refresh();
      const head = prev.store.head();
      return { index, base: prev.base + head.size, prev: { size: head.size, root: head.root } };
    } catch {
      return undefined;
    } finally {
      this.#retire(prev.store);
    }
  }

  #current(seg: Segment): void {
    this.#cur = seg;
    const r = seg.store.db.prepare('SELECT max(seq) AS m FROM records').get() as { m: unknown };
    this.#rows = typeof r.m === 'number' ? r.m + 1 : 0;
    this.#measure();
  }

  /** Logical size of the current segment: its pages as this connection sees them (WAL frames included). */
  #measure(): void {
    this.#bytes = (this.#cur.store.db.pragma('page_count', { simple: true }) as number) * this.#cur.pageSize;
  }
}
