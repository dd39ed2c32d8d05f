// Resource names of a C2SP tlog-tiles log (c2sp.org/tlog-tiles, §"Merkle Tree"
// and §"Log entries"), relative to the log's prefix.

/** Tile height: each tile is a subtree of height 8 (§"Merkle Tree"). */
export const TILE_HEIGHT = 8;
/** Hashes in a full tile, and entries in a full entry bundle: 2^8 (8,192 bytes of hashes). */
export const TILE_WIDTH = 256;
/** Largest entry an entry bundle can hold: its length is a big-endian uint16 (§"Log entries"). */
export const MAX_BUNDLE_ENTRY_BYTES = 0xffff;
/** The mutable signed tree head (§"Checkpoints"). */
export const CHECKPOINT_PATH = 'checkpoint';

/**
 * `<N>` of §"Merkle Tree": the index as zero-padded 3-digit path elements, all
 * but the last prefixed with `x` (1234067 → `x001/x234/067`).
 * @throws RangeError for an index that is not a non-negative safe integer.
 */
export function tileIndexPath(index: number): string {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`invalid tile index ${index}`);
  const groups: string[] = [];
  let n = index;
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/** The `.p/<W>` suffix of a partial tile (1 ≤ W ≤ 255); none for a full one. */
function widthSuffix(width: number): string {
  if (width === TILE_WIDTH) return '';
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new RangeError(`invalid tile width ${width}`);
  }
  return `.p/${width}`;
}

/**
 * `tile/<L>/<N>[.p/<W>]`: the Merkle tree tile at `level` (0–63, no leading
 * zeros), `index`, holding `width` hashes (256 for a full tile).
 * @throws RangeError for a level, index or width out of range.
 */
export function tilePath(level: number, index: number, width: number): string {
  if (!Number.isInteger(level) || level < 0 || level > 63)
    throw new RangeError(`invalid tile level ${level}`);
  return `tile/${level}/${tileIndexPath(index)}${widthSuffix(width)}`;
}

/**
 * `tile/entries/<N>[.p/<W>]`: the entry bundle of level-0 tile `index`.
 * @throws RangeError for an index or width out of range.
 */
export function entriesPath(index: number, width: number): string {
  return `tile/entries/${tileIndexPath(index)}${widthSuffix(width)}`;
}
