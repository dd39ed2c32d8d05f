import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import type { OwnKey, SignedHead } from '../chain/trust.js';
import { splitAnchorNotes } from '../checkpoint/anchor.js';
import { SealogError } from '../errors.js';
import type { SqliteStore } from '../store/sqlite.js';
import type { LedgerHead } from '../store/types.js';
import { parseBinding, type SegmentBinding } from './binding.js';

// What a segmented writer checks before it trusts a directory: that the path is
// a directory it may own, that a segment's row 0 is exactly the binding it
// derived, that a pruned segment's tombstone carries a head its own key signed.
// Everything read here was written by whoever can write the directory.

/**
 * Creates `dir` (mode 0700) when missing. A regular file there is refused: with
 * `segments`, `path` names a directory. @throws SealogError E_CONFIG, E_IO.
 */
export function prepareDir(dir: string): void {
  let st: ReturnType<typeof lstatSync> | undefined;
  try {
    st = lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new SealogError('E_IO', `cannot read ${dir}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (st === undefined) {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      // Another writer created it meanwhile: fine. Anything else (no parent) is the user's to fix.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new SealogError(
          'E_IO',
          `cannot create the segment directory ${dir}: ${(err as Error).message}; create its parent first`,
          { cause: err },
        );
      }
    }
    return;
  }
  if (st.isFile()) {
    throw new SealogError(
      'E_CONFIG',
      `option "path" ${dir} is a file, but with "segments" it names a directory of segment files; ` +
        'give a new directory path (an existing single-file ledger stays as it is: keep writing it without "segments")',
    );
  }
  if (!st.isDirectory()) {
    throw new SealogError(
      'E_CONFIG',
      `option "path" ${dir} is neither a directory nor absent (with "segments" it names a directory)`,
    );
  }
}

/** The binding row 0 of `store` carries (undefined: none or malformed) and that row's time. */
export function readRow0(store: SqliteStore): {
  binding: SegmentBinding | undefined;
  ts: number | undefined;
} {
  const row = store.db.prepare('SELECT ts, entry FROM records WHERE seq = 0').get() as
    | { ts: unknown; entry: unknown }
    | undefined;
  if (!row || !Buffer.isBuffer(row.entry)) return { binding: undefined, ts: undefined };
  const b = parseBinding(row.entry);
  return {
    binding: typeof b === 'object' ? b : undefined,
    ts: typeof row.ts === 'number' && Number.isFinite(row.ts) ? row.ts : undefined,
  };
}

/** What differs between the binding a segment carries and the one expected of it, if anything. */
export function bindingMismatch(
  actual: SegmentBinding | undefined,
  expected: { index: number; base?: number; prev?: { size: number; root: Uint8Array } },
): string | undefined {
  if (actual === undefined) return 'its first record is not a segment binding';
  if (actual.index !== expected.index) return `it says it is segment ${actual.index}`;
  if (expected.base !== undefined && actual.base !== expected.base)
    return `it says ${actual.base} records came before it, not ${expected.base}`;
  if (expected.prev === undefined)
    return actual.prev === undefined ? undefined : 'it names a previous segment';
  if (actual.prev === undefined) return 'it names no previous segment';
  if (actual.prev.size !== expected.prev.size)
    return `it says segment ${expected.index - 1} ended at size ${actual.prev.size}, not ${expected.prev.size}`;
  if (!Buffer.from(actual.prev.root).equals(Buffer.from(expected.prev.root)))
    return `its root for segment ${expected.index - 1} differs from the one derived from that segment's records`;
  return undefined;
}

/** True when `store` holds a checkpoint of exactly `head` that `own` signed. */
export function sealedAt(store: SqliteStore, head: LedgerHead, own: OwnKey): boolean {
  const rows = store.db.prepare('SELECT id, note FROM checkpoints WHERE size = ?').all(head.size) as {
    id: unknown;
    note: unknown;
  }[];
  return rows.some(
    (r) => own.open(r.note, `checkpoint row ${String(r.id)}`)?.root.equals(head.root) === true,
  );
}

/** Largest tombstone we read: it holds one or a few notes. */
const MAX_TOMBSTONE_BYTES = 256 * 1024;

/**
 * The final head of a pruned segment, from its tombstone: the first checkpoint
 * note in it that `own` signed at the largest size. The tombstone may be plain
 * notes (anchor format) or JSON whose string values hold the note; anything
 * else is ignored. Undefined when no note there is ours. Never throws for content.
 */
export function tombstoneHead(path: string, own: OwnKey): SignedHead | undefined {
  let text: string;
  try {
    const fd = openSync(path, 'r');
    try {
      const len = Math.min(fstatSync(fd).size, MAX_TOMBSTONE_BYTES);
      const buf = Buffer.alloc(len);
      const n = readSync(fd, buf, 0, len, 0);
      text = buf.subarray(0, n).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const candidates: string[] = [];
  try {
    collectStrings(JSON.parse(text), candidates, 0);
  } catch {
    candidates.push(...splitAnchorNotes(text));
  }
  let best: SignedHead | undefined;
  for (const c of candidates.slice(0, 64)) {
    const h = own.open(c, `tombstone ${path}`) ?? own.open(`${c.replace(/\n*$/, '')}\n`, `tombstone ${path}`);
    if (h && (best === undefined || h.size > best.size)) best = h;
  }
  return best;
}

function collectStrings(v: unknown, out: string[], depth: number): void {
  if (depth > 8 || out.length > 64) return;
  if (typeof v === 'string') {
    if (v.includes('\n\u2014 ')) out.push(v);
  } else if (Array.isArray(v)) {
    for (const x of v) collectStrings(x, out, depth + 1);
  } else if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) collectStrings(x, out, depth + 1);
  }
}
