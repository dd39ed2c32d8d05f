import { join } from 'node:path';
import { AnchorHeads } from '../chain/trust.js';
import { SealogError } from '../errors.js';
import type { Durability, SqliteStore, SqliteStoreOptions } from '../store/sqlite.js';
import type { WriterTrust } from '../store/types.js';
import { bindingMismatch, readRow0 } from './checks.js';
import { segmentAnchorFile, segmentFileName } from './layout.js';
import type { Expected, ReopenContext } from './reopen.js';
import type { Retired } from './retire.js';
import type { RotationContext } from './rotation.js';
import { openSegment, type Segment } from './segment.js';
import { NextSegment } from './spare.js';

// How a segmented writer (store.ts) opens segment k: an ordinary SqliteStore
// with the writer's options, derived with the writer's own key and the heads it
// signed in segment k's own anchor file; and how it checks a segment's binding.
// The first divergence (a segment's, or a binding that differs from the one
// derived) is the writer's: it signs nothing from then on. It is what the steps
// of opening a directory (reopen.ts) and of a rotation (rotation.ts) work with.

export interface OpenerOptions {
  durability?: Durability;
  busyTimeoutMs?: number;
  /** `checkpoint.anchorFile`: segment k's notes go to segmentAnchorFile(anchorFile, k). */
  anchorFile?: string;
}

export class SegmentOpener implements ReopenContext, RotationContext {
  readonly dir: string;
  readonly durability: Durability | undefined;
  readonly next: NextSegment;
  readonly now: () => number;
  readonly #o: OpenerOptions;
  readonly #trust: WriterTrust | undefined;
  readonly #retired: Retired;
  #divergence: SealogError | undefined;

  constructor(
    dir: string,
    options: OpenerOptions,
    trust: WriterTrust | undefined,
    now: () => number,
    retired: Retired,
  ) {
    this.dir = dir;
    this.durability = options.durability;
    this.now = now;
    this.#o = options;
    this.#trust = trust;
    this.#retired = retired;
    this.next = new NextSegment(dir, options.durability, now);
  }

  /** The writer's first divergence, if any. */
  get divergence(): SealogError | undefined {
    return this.#divergence;
  }

  open(index: number): Segment {
    const options = { ...this.#storeOptions(), ...(this.#trust ? { trust: this.#trustFor(index) } : {}) };
    return openSegment(join(this.dir, segmentFileName(index)), index, options, this.now());
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

  /** Closes `store` a moment later, off the append path (retire.ts). */
  retire(store: SqliteStore): void {
    this.#retired.add(store);
  }

  /** Reports `seg`'s binding as a divergence when it differs from `expected` (a writer with a key only). */
  check(seg: Segment, expected: Expected | undefined): void {
    if (expected === undefined || !this.#trust) return;
    const problem = bindingMismatch(readRow0(seg.store).binding, expected);
    if (problem) this.diverged(`${seg.store.path}: ${problem}`);
  }

  diverged(what: string): void {
    if (this.#divergence) return;
    this.#divergence = new SealogError(
      'E_TAMPER',
      `segment directory ${this.dir}: ${what}; the segments do not form the history this key sealed, so nothing will be signed: run \`sealog verify\` with the verifier key`,
    );
    this.#trust?.onDiverge?.(this.#divergence);
  }
}
