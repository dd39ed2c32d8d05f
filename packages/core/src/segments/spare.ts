import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Durability } from '../store/sqlite.js';
import type { SegmentBinding } from './binding.js';
import { buildFile, createSegment, linkSegment, syncDir } from './create.js';
import { segmentFileName } from './layout.js';

/**
 * A segment file built ahead of need, for the next index: schema, marker table,
 * WAL mode, no rows, synced on libuv's thread pool. Rotation then only links it
 * (no fsync on the append path) and writes the binding as the segment's first
 * commit. A writer killed in between leaves an empty segment, which the next
 * writer binds the same way (store.ts).
 */
export class Spare {
  readonly index: number;
  readonly path: string;
  #ready = false;

  /** Builds it now (a few ms, off the append path) and syncs it in the background. @throws the fs/SQLite error. */
  constructor(dir: string, index: number, now: number) {
    this.index = index;
    this.path = join(dir, `.${segmentFileName(index)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    buildFile(this.path, undefined, now, false);
    void syncFile(this.path).then(
      () => {
        this.#ready = true;
      },
      () => this.discard(),
    );
  }

  /** The file, when it is synced and meant for `index`; it is the caller's from then on. */
  take(index: number): string | undefined {
    return this.#ready && index === this.index ? this.path : undefined;
  }

  discard(): void {
    this.#ready = false;
    try {
      unlinkSync(this.path);
    } catch {
      // gone already
    }
  }
}

async function syncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync of a directory on libuv's thread pool (a new name in it is then durable). */
export async function syncDirAsync(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  await syncFile(dir);
}

/**
 * How a writer creates the next segment: from the spare it built after the
 * last rotation when that is ready (link, no fsync on the append path), else
 * whole and synced (create.ts).
 */
export class NextSegment {
  readonly #dir: string;
  readonly #durability: Durability | undefined;
  readonly #now: () => number;
  #spare: Spare | undefined;
  #closed = false;

  constructor(dir: string, durability: Durability | undefined, now: () => number) {
    this.#dir = dir;
    this.#durability = durability;
    this.#now = now;
  }

  /** Builds segment `index`'s spare soon, off the append path (unless `stale()` by then). */
  prepare(index: number, stale: () => boolean): void {
    if (this.#spare?.index === index) return;
    this.discard();
    setImmediate(() => {
      if (this.#closed || this.#spare !== undefined || stale()) return;
      try {
        this.#spare = new Spare(this.#dir, index, this.#now());
      } catch {
        // no spare: the rotation builds the segment itself
      }
    }).unref();
  }

  /**
   * Creates segment `b.index` (row 0 is written by the caller when it came from a
   * spare). Resolves when its name is durable: the directory is synced in the
   * background, or at once for durability "power".
   */
  create(b: SegmentBinding): Promise<void> | undefined {
    const spare = this.#spare?.take(b.index);
    if (spare === undefined) {
      createSegment(this.#dir, b, this.#now());
      return undefined;
    }
    this.#spare = undefined;
    if (!linkSegment(spare, join(this.#dir, segmentFileName(b.index)))) return undefined;
    if (this.#durability === 'power') {
      syncDir(this.#dir);
      return undefined;
    }
    const named = syncDirAsync(this.#dir);
    named.catch(() => {}); // a failure surfaces where it is awaited (before anchoring)
    return named;
  }

  discard(): void {
    this.#spare?.discard();
    this.#spare = undefined;
  }

  close(): void {
    this.#closed = true;
    this.discard();
  }
}
