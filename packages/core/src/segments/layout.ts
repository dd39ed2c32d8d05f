import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SealogError } from '../errors.js';

// A segmented ledger is a directory of ordinary ledger files, one per segment:
//
//   audit/seg-000001.db   seg-000002.db   …   (each with its own -wal/-shm)
//   audit/seg-000001.tomb                      (a pruned segment's tombstone)
//
// Each segment is a complete ledger on its own (seq from 0, its own RFC 6962
// tree, its own checkpoints), so every single-ledger tool works on one file.
// What makes the files one history is inside the hashed data: row 0 of every
// segment is a `_sealog.segment` entry (binding.ts) naming the segment's index
// and committing to the previous segment's final tree head. The file names are
// only where to look: a verifier trusts the index in row 0, never the name.

/** `seg-` + the index, zero-padded to 6 digits (wider once past 999999). */
const SEGMENT_NAME = /^seg-(\d{6,15})\.(db|tomb)$/;
/** `seg-NNNNNN.db-wal`, `-shm`, `-journal`: SQLite's companions of a segment file, neither segments nor strays. */
const COMPANION = /^seg-\d{6,15}\.db-(wal|shm|journal)$/;
/** Largest segment index: far beyond any real ledger, and exact as a JS number. */
export const MAX_SEGMENT_INDEX = 999_999_999_999_999;
/** Most entries a directory listing may hold before we refuse to read it as a ledger. */
export const MAX_DIR_ENTRIES = 1_000_000;

export function segmentFileName(index: number): string {
  return `seg-${String(index).padStart(6, '0')}.db`;
}

export function tombstoneFileName(index: number): string {
  return `seg-${String(index).padStart(6, '0')}.tomb`;
}

/**
 * The anchor file of segment `index` when the writer's `checkpoint.anchorFile`
 * is `anchorFile`: `<anchorFile>.seg-NNNNNN`. Each segment is its own tree, and
 * a writer checks every head in an anchor against that one tree's rows, so
 * each segment's notes go to a file of their own (docs/lifecycle.md "Segments").
 */
export function segmentAnchorFile(anchorFile: string, index: number): string {
  return `${anchorFile}.${segmentFileName(index).slice(0, -'.db'.length)}`;
}

/** One index found in a segment directory: its ledger file, its tombstone, or both. */
export interface SegmentSlot {
  index: number;
  /** Path of `seg-NNNNNN.db` when present. */
  file?: string;
  /** Path of `seg-NNNNNN.tomb` when present. */
  tombstone?: string;
}

/** What a directory holds: the slots in index order, and names that look like segments but are not. */
export interface SegmentListing {
  slots: SegmentSlot[];
  /**
   * Names starting `seg-` that do not parse (a wrong padding, `seg-1.db`, …):
   * reported, never read. A segment's `-wal`/`-shm`/`-journal` files are not listed.
   */
  strays: string[];
}

/**
 * Lists the segments of directory `dir`. Only regular files count: a symlink or
 * directory named like a segment is a stray (a verifier must not be sent to read
 * another ledger through a link). Leading zeros must be the canonical padding,
 * so two names can never mean the same index.
 * @throws SealogError E_IO when the directory cannot be read or is absurdly large.
 */
export function listSegments(dir: string): SegmentListing {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new SealogError('E_IO', `cannot read the segment directory ${dir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (names.length > MAX_DIR_ENTRIES) {
    throw new SealogError(
      'E_IO',
      `${dir} holds ${names.length} entries; a segment directory holds at most ${MAX_DIR_ENTRIES}`,
    );
  }
  const byIndex = new Map<number, SegmentSlot>();
  const strays: string[] = [];
  for (const name of names) {
    if (!name.startsWith('seg-')) continue;
    // SQLite's own files beside a segment (its WAL, shared memory, rollback journal) belong to it.
    if (COMPANION.test(name)) continue;
    const m = SEGMENT_NAME.exec(name);
    const index = m ? Number(m[1]) : Number.NaN;
    const kind = m?.[2];
    const canonical =
      m !== null &&
      index >= 1 &&
      index <= MAX_SEGMENT_INDEX &&
      name === (kind === 'db' ? segmentFileName(index) : tombstoneFileName(index));
    const path = join(dir, name);
    if (!canonical || !isRegularFile(path)) {
      strays.push(name);
      continue;
    }
    let slot = byIndex.get(index);
    if (!slot) {
      slot = { index };
      byIndex.set(index, slot);
    }
    if (kind === 'db') slot.file = path;
    else slot.tombstone = path;
  }
  const slots = [...byIndex.values()].sort((a, b) => a.index - b.index);
  return { slots, strays: strays.sort() };
}

function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * True when `path` is a directory that holds a segmented ledger (at least one
 * segment file or tombstone). Never throws.
 */
export function isSegmentDir(path: string): boolean {
  try {
    if (!lstatSync(path).isDirectory()) return false;
    return listSegments(path).slots.length > 0;
  } catch {
    return false;
  }
}
