import { SealogError } from '../errors.js';
import { HASH_SIZE, leafHash, nodeHash } from '../hash.js';
import { entriesPath, MAX_BUNDLE_ENTRY_BYTES, TILE_WIDTH, tilePath } from './path.js';

// Builds the tiles and entry bundles of c2sp.org/tlog-tiles from entry bytes
// streamed in sequence order, with memory bounded by one tile per level: the
// n-th tile at level l is MTH(D[(n·256+i)·256^l : (n·256+i+1)·256^l]) for
// i < 256 (§"Merkle Tree"), so each full tile's own MTH becomes one hash of
// the tile above, and whatever is left at each level when the stream ends is
// that level's partial tile (§"Partial Tiles": floor(s/256^l) mod 256 hashes).

/** One resource of the log, named relative to its prefix. */
export interface TileFile {
  path: string;
  bytes: Buffer;
  /** False only for a partial tile or bundle (its name carries its width, so it never changes either). */
  full: boolean;
}

/** MTH of a perfect run of 2^k hashes (a full tile: 256 of them). */
function perfectRoot(hashes: readonly Buffer[]): Buffer {
  let level = hashes.slice();
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    level = next;
  }
  return level[0]!;
}

/**
 * Big-endian uint16 length-prefixed entries (§"Log entries").
 * @throws SealogError E_FORMAT for an entry over 65,535 bytes: the format cannot hold it.
 */
export function encodeBundle(entries: readonly Uint8Array[], firstIndex: number): Buffer {
  let total = 0;
  for (const [i, e] of entries.entries()) {
    if (e.length > MAX_BUNDLE_ENTRY_BYTES) throw tooLarge(firstIndex + i, e.length);
    total += 2 + e.length;
  }
  const out = Buffer.allocUnsafe(total);
  let o = 0;
  for (const e of entries) {
    o = out.writeUInt16BE(e.length, o);
    out.set(e, o);
    o += e.length;
  }
  return out;
}

/** The error for record `index` of `length` bytes (never truncated to fit). */
export function tooLarge(index: number, length: number): SealogError {
  return new SealogError(
    'E_FORMAT',
    `record ${index} is ${length} bytes; a tlog-tiles entry bundle holds at most ${MAX_BUNDLE_ENTRY_BYTES} bytes per entry (a uint16 length), so this ledger cannot be published as tiles up to this record`,
  );
}

/**
 * Streaming tile builder. `add` every entry in order, then `finish` once; each
 * complete tile, bundle and (at the end) partial tile is passed to `emit`.
 * It hashes the entries itself: nothing stored beside them is used.
 */
export class TileBuilder {
  readonly #emit: (file: TileFile) => void;
  /** Hashes of the unfinished tile at each level (index = level). */
  readonly #levels: Buffer[][] = [[]];
  /** Index of the unfinished tile at each level. */
  readonly #next: number[] = [0];
  #entries: Uint8Array[] = [];
  #size = 0;
  #finished = false;

  constructor(emit: (file: TileFile) => void) {
    this.#emit = emit;
  }

  /** Entries added so far. */
  get size(): number {
    return this.#size;
  }

  /**
   * Adds the next entry; returns its leaf hash.
   * @throws SealogError E_FORMAT for an entry an entry bundle cannot hold.
   */
  add(entry: Uint8Array): Buffer {
    if (this.#finished) throw new Error('TileBuilder.add after finish');
    if (entry.length > MAX_BUNDLE_ENTRY_BYTES) throw tooLarge(this.#size, entry.length);
    const leaf = leafHash(entry);
    this.#entries.push(entry);
    this.#size++;
    if (this.#entries.length === TILE_WIDTH) {
      const index = this.#next[0]!;
      this.#emit({
        path: entriesPath(index, TILE_WIDTH),
        bytes: encodeBundle(this.#entries, index * TILE_WIDTH),
        full: true,
      });
      this.#entries = [];
    }
    this.#push(0, leaf);
    return leaf;
  }

  #push(level: number, hash: Buffer): void {
    const row = this.#levels[level]!;
    row.push(hash);
    if (row.length < TILE_WIDTH) return;
    const index = this.#next[level]!;
    this.#emit({
      path: tilePath(level, index, TILE_WIDTH),
      bytes: Buffer.concat(row, TILE_WIDTH * HASH_SIZE),
      full: true,
    });
    this.#next[level] = index + 1;
    this.#levels[level] = [];
    if (this.#levels.length === level + 1) {
      this.#levels.push([]);
      this.#next.push(0);
    }
    // §"Merkle Tree": a hash at level l+1 is the MTH of a *full* tile at level l.
    this.#push(level + 1, perfectRoot(row));
  }

  /** Emits the partial tile of every level that has one, and the partial entry bundle. Empty tiles are never emitted. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#entries.length > 0) {
      const index = this.#next[0]!;
      this.#emit({
        path: entriesPath(index, this.#entries.length),
        bytes: encodeBundle(this.#entries, index * TILE_WIDTH),
        full: false,
      });
    }
    for (const [level, row] of this.#levels.entries()) {
      if (row.length === 0) continue;
      this.#emit({
        path: tilePath(level, this.#next[level]!, row.length),
        bytes: Buffer.concat(row),
        full: false,
      });
    }
  }
}
