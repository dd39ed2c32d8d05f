import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { MAX_NOTE_BYTES } from '../note/note.js';
import { openReadOnly } from '../store/open.js';
import { readTimestamps } from '../store/timestamps.js';
import type { SegmentFinding } from './verify-types.js';

// RFC 3161 tokens across the segments of a directory (docs/lifecycle.md
// "Verifying a segmented ledger"). Each segment's verification judges the
// tokens it holds against its own notes; a token stamping a note of another
// segment is, there, only an orphan (not a failure: in a single ledger the
// note may be in an anchor file). But a writer keeps every token in the
// segment that stores its note, so a token found in segment k whose imprint is
// a note of segment j ≠ k was moved or copied there: a finding. Read only when
// TSA anchors are given, like every other token check.

/** Most checkpoint notes hashed per segment (each ≤ MAX_NOTE_BYTES); the rest are not compared. */
export const MAX_NOTES_PER_SEGMENT = 1_000_000;
/** Most tokens compared per segment (a table padded with rows must not exhaust memory). */
export const MAX_TOKENS_PER_SEGMENT = 100_000;
/** Most misplaced tokens named one by one; the rest are counted. */
const MAX_NAMED = 10;

/**
 * Adds a `segment-timestamp` finding for each token kept in another segment
 * than the one whose checkpoint note it stamps. Never throws on file content:
 * a segment that cannot be read is its own verification's finding.
 */
export function judgeSegmentTokens(
  files: readonly { index: number; file: string }[],
  add: (f: SegmentFinding) => void,
): void {
  const tokens = new Map<number, { size: number; hash: string }[]>();
  for (const { index, file } of files) {
    const found = safely(file, (db) => {
      const out: { size: number; hash: string }[] = [];
      for (const t of readTimestamps(db)) {
        if (out.length >= MAX_TOKENS_PER_SEGMENT) break;
        if (t.problem === undefined) out.push({ size: t.size, hash: t.noteSha256.toString('hex') });
      }
      return out;
    });
    if (found !== undefined && found.length > 0) tokens.set(index, found);
  }
  if (tokens.size === 0) return;
  // Which segment stores each note (by hash); a note stored in several counts for each.
  const owners = new Map<string, Set<number>>();
  for (const { index, file } of files) {
    safely(file, (db) => {
      const rows = db
        .prepare(
          `SELECT iif(length(CAST(note AS BLOB)) <= ${MAX_NOTE_BYTES}, note, NULL) FROM checkpoints ORDER BY id LIMIT ${MAX_NOTES_PER_SEGMENT}`,
        )
        .pluck()
        .iterate() as IterableIterator<unknown>;
      for (const note of rows) {
        if (typeof note !== 'string') continue;
        const hash = createHash('sha256').update(note, 'utf8').digest('hex');
        const set = owners.get(hash) ?? new Set<number>();
        set.add(index);
        owners.set(hash, set);
      }
    });
  }
  for (const [index, list] of tokens) {
    const misplaced = list
      .map((t) => ({ ...t, of: owners.get(t.hash) }))
      .filter((t) => t.of !== undefined && !t.of.has(index));
    for (const t of misplaced.slice(0, MAX_NAMED)) {
      add({
        kind: 'segment-timestamp',
        segment: index,
        message: `segment ${index} holds the RFC 3161 token of segment ${[...t.of!].join(', ')}'s checkpoint (size ${t.size}): a writer keeps a token in the segment whose note it stamps, so it was moved or copied there`,
      });
    }
    if (misplaced.length > MAX_NAMED)
      add({
        kind: 'segment-timestamp',
        segment: index,
        message: `segment ${index} holds ${misplaced.length - MAX_NAMED} more tokens of other segments' checkpoints`,
      });
  }
}

function safely<T>(file: string, read: (db: Database.Database) => T): T | undefined {
  try {
    const db = openReadOnly(file);
    try {
      return read(db);
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
}
