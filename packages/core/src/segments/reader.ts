import { isSealogError } from '../errors.js';
import { queryRecords, type RecordQuery } from '../store/query.js';
import { LedgerReader, type StoredRecord } from '../store/reader.js';
import { parseBinding, type SegmentBinding } from './binding.js';
import { listSegments, type SegmentSlot } from './layout.js';

// Reading the records of a segmented ledger (layout.ts) in index order, for
// tail, query, report and export. A reader is not a verifier: it shows what
// the files hold and leaves judging them to `sealog verify`. But the directory
// and every file in it are attacker input, so it never crashes or loops on
// them: each segment is opened on its own, and anything it cannot read
// (a missing file, a file that is not a ledger, a row 0 that is not this
// segment's binding, a name that is not a segment) is skipped with a notice
// saying so, and the rest is still read.

/** A record of a segmented ledger: its seq in its segment file, the segment, and its global position. */
export interface SegmentRecord extends StoredRecord {
  /** The segment's index (its row 0 binding's, which the file name matches). */
  segment: number;
  /** base + seq: the record's place in the whole history, even after older segments are pruned. */
  position: number;
}

/**
 * What a reader left out, one line each. `skipped`: a segment that is there
 * could not be read (its records are missing from the output); `missing`:
 * indexes with neither a file nor a tombstone; `ignored`: names that look like
 * segments but are not read (symlinks, directories, non-canonical names).
 */
export interface SegmentNotice {
  kind: 'skipped' | 'missing' | 'ignored';
  message: string;
}

export type NoticeSink = (n: SegmentNotice) => void;

/** A segment opened for reading, with the binding read from its row 0. */
export interface OpenedSegment {
  index: number;
  path: string;
  reader: LedgerReader;
  binding: SegmentBinding;
}

/** A selection over a segment directory: a RecordQuery within each file, and a segment range. */
export interface SegmentQuery extends RecordQuery {
  /** First segment index included. */
  segmentFrom?: number;
  /** First segment index excluded. */
  segmentTo?: number;
}

/**
 * Opens one segment file and reads its binding. Returns `'empty'` when the file
 * holds no row yet (a writer has just created it), or `undefined` after a
 * `skipped` notice when it cannot be read as segment `index`. Never throws a
 * SealogError: the file may be anything.
 */
export function openSegment(
  path: string,
  index: number,
  notice: NoticeSink,
): OpenedSegment | 'empty' | undefined {
  let reader: LedgerReader | undefined;
  try {
    reader = new LedgerReader(path);
    const [row0] = [...reader.records(0, 1)];
    if (row0 === undefined && reader.size() === 0) {
      reader.close();
      return 'empty';
    }
    // Row 0 was written by whoever could write the file: parseBinding is bounded and never throws.
    const binding = row0 === undefined ? 'absent' : parseBinding(row0.entry);
    const problem =
      binding === 'absent'
        ? 'it has records but no row 0, so no binding'
        : binding === undefined
          ? 'its row 0 is not a segment binding (a plain ledger, or a record moved)'
          : binding === 'malformed'
            ? 'its row 0 claims to be a segment binding but is malformed'
            : binding.index !== index
              ? `its row 0 says it is segment ${binding.index}, not ${index}`
              : undefined;
    if (problem !== undefined || typeof binding !== 'object') {
      reader.close();
      notice({
        kind: 'skipped',
        message: `segment ${index} skipped: ${path}: ${problem}; run \`sealog verify\``,
      });
      return undefined;
    }
    return { index, path, reader, binding };
  } catch (err) {
    reader?.close();
    if (!isSealogError(err)) throw err;
    notice({ kind: 'skipped', message: `segment ${index} skipped: ${err.message}` });
    return undefined;
  }
}

/** SQLite's companions of a segment file, as segments/verify.ts knows them. */
const COMPANION = /^seg-\d{6,15}\.db-(wal|shm|journal)$/;

/**
 * Lists `dir` and reports what is not read: names that are not segments, and
 * indexes below the newest present one with neither a file nor a tombstone
 * (collapsed into ranges, so a hostile index cannot flood the output).
 * @throws SealogError E_IO when the directory cannot be listed.
 */
export function segmentSlots(dir: string, notice: NoticeSink): SegmentSlot[] {
  const listing = listSegments(dir);
  const { slots } = listing;
  // SQLite's own files beside a segment file (its WAL, shared memory, journal) are part of it.
  const strays = listing.strays.filter((n) => !COMPANION.test(n));
  const shown = strays.slice(0, 10);
  for (const name of shown)
    notice({
      kind: 'ignored',
      message: `ignored ${JSON.stringify(name)} in ${dir}: not a segment file (only regular files named seg-NNNNNN.db are read; a symlink or directory is not)`,
    });
  if (strays.length > shown.length)
    notice({ kind: 'ignored', message: `ignored ${strays.length - shown.length} more such names in ${dir}` });
  let expected = 1;
  for (const slot of slots) {
    if (slot.index > expected) {
      const range =
        slot.index - 1 === expected ? `segment ${expected} is` : `segments ${expected}–${slot.index - 1} are`;
      notice({ kind: 'missing', message: `${range} missing from ${dir}: no file and no tombstone` });
    }
    expected = slot.index + 1;
  }
  return slots;
}

/** A segment's records as SegmentRecords. */
function* tagged(seg: OpenedSegment, records: Iterable<StoredRecord>): Generator<SegmentRecord> {
  for (const r of records) yield { ...r, segment: seg.index, position: seg.binding.base + r.seq };
}

/**
 * Streams the records of every present segment of `dir` that match `q`, in
 * index then seq order (`desc`: newest first), row 0 (the binding, sealog's own
 * entry) included. With `limit`, stops after that many matches. One segment is
 * open at a time, and closed when the caller stops early.
 * @throws SealogError E_IO when `dir` cannot be listed; E_TAMPER as queryRecords
 *   does (a time index that disagrees with its entries). A segment that fails
 *   while being read is a `skipped` notice, and reading goes on.
 */
export function* querySegments(
  dir: string,
  q: SegmentQuery,
  notice: NoticeSink,
  order: 'asc' | 'desc' = 'asc',
  limit = Number.POSITIVE_INFINITY,
): Generator<SegmentRecord> {
  const slots = segmentSlots(dir, notice).filter(
    (s) =>
      s.file !== undefined &&
      s.index >= (q.segmentFrom ?? 0) &&
      s.index < (q.segmentTo ?? Number.POSITIVE_INFINITY),
  );
  if (order === 'desc') slots.reverse();
  let found = 0;
  for (const slot of slots) {
    if (found >= limit) return;
    const seg = openSegment(slot.file!, slot.index, notice);
    if (seg === undefined || seg === 'empty') continue;
    try {
      for (const r of tagged(seg, queryRecords(seg.reader, q, order, limit - found))) {
        found++;
        yield r;
      }
    } catch (err) {
      // A file damaged (or deleted and truncated) under us: say so and read the next one.
      if (!isSealogError(err) || err.code === 'E_TAMPER') throw err;
      notice({ kind: 'skipped', message: `segment ${slot.index}: reading stopped: ${err.message}` });
    } finally {
      seg.reader.close();
    }
  }
}
