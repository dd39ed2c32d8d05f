import type { ErasedLeaves } from '../chain/erased.js';
import { type OpenedCheckpoint, openCheckpoint } from '../checkpoint/signed.js';
import { SealogError } from '../errors.js';
import { leafHash } from '../hash.js';
import { CompactRange } from '../merkle.js';
import { bytesEqual } from '../note/encoding.js';
import { SIG_TYPE_ED25519, type VerifierKey } from '../note/keys.js';
import type { LedgerReader } from '../store/reader.js';
import { tooLarge } from './builder.js';
import { MAX_BUNDLE_ENTRY_BYTES } from './path.js';

// Which checkpoint `sealog tiles` may publish. Every checkpoint row, and the
// records, come from a file an attacker may have edited: a row is a candidate
// only if it verifies under the keys the user gave (a log signature by the key
// named like its origin), and it is published only if its root equals the
// root computed here from the entry bytes — never a stored hash.

/** A stored checkpoint that verified under the given keys. */
export interface Candidate {
  note: string;
  origin: string;
  size: number;
  root: Uint8Array;
  /** Signed time (seconds) from its cosignature, if the time key was given. */
  time: number | undefined;
  /** Row order, last resort tie-break among notes of one size. */
  row: number;
}

/**
 * Opens a note with the keys; undefined unless it carries a log signature by
 * the key named like its origin (and has `origin`, when given).
 */
export function openOwned(
  note: string,
  keys: readonly VerifierKey[],
  origin?: string,
): OpenedCheckpoint | undefined {
  let opened: OpenedCheckpoint;
  try {
    opened = openCheckpoint(note, keys, origin === undefined ? {} : { origin });
  } catch {
    return undefined;
  }
  const cp = opened.checkpoint;
  return opened.verified.some((v) => v.type === SIG_TYPE_ED25519 && v.name === cp.origin)
    ? opened
    : undefined;
}

/** Every stored checkpoint that verifies; `rows` counts all of them. */
export function candidates(
  reader: LedgerReader,
  keys: readonly VerifierKey[],
  origin?: string,
): { found: Candidate[]; rows: number } {
  const rows = reader.checkpoints();
  const found: Candidate[] = [];
  for (const [row, r] of rows.entries()) {
    const opened = openOwned(r.note, keys, origin);
    if (!opened) continue;
    const { checkpoint: cp } = opened;
    found.push({ note: r.note, origin: cp.origin, size: cp.size, root: cp.root, time: opened.time, row });
  }
  return { found, rows: rows.length };
}

/** What one hashing pass over records [0, upTo) found. */
export interface Scan {
  /** Records read in sequence (stops early at a missing seq). */
  count: number;
  /** Root at each wanted size ≤ count. */
  roots: Map<number, Uint8Array>;
  /** First record an entry bundle cannot hold, if any. */
  oversized: { index: number; length: number } | undefined;
}

/**
 * Hashes records [0, upTo) in order and keeps the root at each `wanted` size.
 * A missing seq ends the scan there: sizes past it have no root.
 * @throws SealogError E_IO / E_FORMAT from the reader.
 */
export function scanRoots(
  reader: LedgerReader,
  wanted: ReadonlySet<number>,
  upTo: number,
  erased?: ErasedLeaves,
): Scan {
  const range = new CompactRange();
  const roots = new Map<number, Uint8Array>();
  if (wanted.has(0)) roots.set(0, range.root());
  let oversized: Scan['oversized'];
  for (const r of reader.records(0, upTo)) {
    if (r.seq !== range.size) break; // a gap: the rows after it are not this tree
    const gone = erased?.leafOf(r.seq, r.entry);
    if (gone) {
      // tlog-tiles monitors hash the entry bundles themselves: a marker there would read as a rewrite.
      throw new SealogError(
        'E_CONFIG',
        `record ${r.seq} was erased under the erasure statement at entry ${gone.by}; tiles cannot be published for a ledger with erased records (docs/lifecycle.md "Erasure of a record's body")`,
      );
    }
    if (oversized === undefined && r.entry.length > MAX_BUNDLE_ENTRY_BYTES) {
      oversized = { index: r.seq, length: r.entry.length };
    }
    range.append(leafHash(r.entry));
    if (wanted.has(range.size)) roots.set(range.size, range.root());
  }
  return { count: range.size, roots, oversized };
}

/** Newest first: larger size, then later signed time, then later row. */
function newer(a: Candidate, b: Candidate): boolean {
  if (a.size !== b.size) return a.size > b.size;
  if ((a.time ?? -1) !== (b.time ?? -1)) return (a.time ?? -1) > (b.time ?? -1);
  return a.row > b.row;
}

/**
 * The newest candidate whose root equals the computed one, and the sizes of
 * signed checkpoints that do not match the records (evidence of tampering).
 * @throws SealogError E_CONFIG (no checkpoint at all), E_KEY (none verifies),
 *   E_TAMPER (none matches the records), E_FORMAT (an entry up to the chosen
 *   size does not fit an entry bundle).
 */
export function choose(
  found: readonly Candidate[],
  rows: number,
  scan: Scan,
): { chosen: Candidate; mismatched: number[] } {
  let chosen: Candidate | undefined;
  const mismatched = new Set<number>();
  for (const c of found) {
    const root = scan.roots.get(c.size);
    if (root === undefined || !bytesEqual(root, c.root)) {
      mismatched.add(c.size);
      continue;
    }
    if (chosen === undefined || newer(c, chosen)) chosen = c;
  }
  if (chosen === undefined) {
    if (rows === 0) {
      throw new SealogError(
        'E_CONFIG',
        'the ledger has no signed checkpoint, so there is nothing to publish; run `sealog checkpoint <ledger> --key <keyfile>` first',
      );
    }
    if (found.length === 0) {
      throw new SealogError(
        'E_KEY',
        `none of the ${rows} stored checkpoint(s) verifies with the given keys; give the log's verifier key with --key`,
      );
    }
    throw new SealogError(
      'E_TAMPER',
      `no signed checkpoint matches the ledger's records (sizes ${[...mismatched].sort((a, b) => a - b).join(', ')}): the records were changed after they were sealed; nothing was published. Run \`sealog verify\``,
    );
  }
  if (scan.oversized !== undefined && scan.oversized.index < chosen.size) {
    throw tooLarge(scan.oversized.index, scan.oversized.length);
  }
  return { chosen, mismatched: [...mismatched].sort((a, b) => a - b) };
}
