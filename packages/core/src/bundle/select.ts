import type { ErasedLeaves } from '../chain/erased.js';
import { SealogError } from '../errors.js';
import { leafHash } from '../hash.js';
import { bytesEqual, encodeBase64, toHex } from '../note/encoding.js';
import { queryRecords, type RecordQuery } from '../store/query.js';
import type { LedgerReader } from '../store/reader.js';
import type { ProofTree } from './tree.js';
import { type BundleEntry, MAX_BUNDLE_ENTRIES } from './types.js';

// The records an export carries are read twice: once to learn which they are
// (seqs only, so the covering checkpoint and the manifest are known before a
// byte is written), then again, one page at a time, to prove and write each.
// Neither pass holds the records' bytes: a million-record export keeps only
// the seq ranges in memory, whatever form it is written in.

/** Which records were selected: seqs only. */
export interface Selection {
  count: number;
  firstSeq: number;
  lastSeq: number;
  /** Seqs as inclusive ranges, ascending. */
  seqs: [number, number][];
  /** Up to 20 erased records left out (for the warning). */
  erasedSeqs: number[];
}

/**
 * First pass: the seqs of the records the query selects, erased ones left out.
 * @throws SealogError E_CONFIG when none or more than MAX_BUNDLE_ENTRIES match.
 */
export function selectRecords(
  reader: LedgerReader,
  query: RecordQuery,
  erased: ErasedLeaves | undefined,
): Selection {
  const seqs: [number, number][] = [];
  const erasedSeqs: number[] = [];
  let count = 0;
  for (const r of queryRecords(reader, query)) {
    // An erased record has no body to prove: it is left out (counted as withheld) and said.
    if (erased?.leafOf(r.seq, r.entry)) {
      if (erasedSeqs.length < 20) erasedSeqs.push(r.seq);
      continue;
    }
    if (count >= MAX_BUNDLE_ENTRIES) {
      throw new SealogError(
        'E_CONFIG',
        `more than ${MAX_BUNDLE_ENTRIES} records selected; export a narrower range`,
      );
    }
    const last = seqs[seqs.length - 1];
    if (last && r.seq === last[1] + 1) last[1] = r.seq;
    else seqs.push([r.seq, r.seq]);
    count++;
  }
  if (count === 0) throw new SealogError('E_CONFIG', 'no records match the selection; nothing to export');
  return { count, firstSeq: seqs[0]![0], lastSeq: seqs[seqs.length - 1]![1], seqs, erasedSeqs };
}

/**
 * Second pass: each selected record with its inclusion proof, in seq order.
 * The rows must be the ones the first pass saw (seqs up to lastSeq never
 * change in an append-only ledger) and hash to the tree's leaves.
 * @throws SealogError E_TAMPER when a record changed or vanished in between.
 */
export function* selectedEntries(
  reader: LedgerReader,
  query: RecordQuery,
  selection: Selection,
  erased: ErasedLeaves | undefined,
  tree: ProofTree,
): Generator<BundleEntry> {
  const changed = (seq: number) =>
    new SealogError('E_TAMPER', `record ${seq} changed while exporting; run \`sealog verify\``);
  let range = 0;
  let expected = selection.firstSeq;
  let done = 0;
  for (const r of queryRecords(reader, query)) {
    if (r.seq > selection.lastSeq) break;
    if (erased?.leafOf(r.seq, r.entry)) continue;
    if (r.seq !== expected) throw changed(Math.min(r.seq, expected));
    const leaf = leafHash(r.entry);
    if (!bytesEqual(leaf, tree.leaf(r.seq))) throw changed(r.seq);
    yield {
      seq: r.seq,
      leaf: toHex(leaf),
      entry: encodeBase64(r.entry),
      proof: tree.inclusionProof(r.seq).map(encodeBase64),
    };
    done++;
    const cur = selection.seqs[range]!;
    if (expected < cur[1]) expected++;
    else expected = selection.seqs[++range]?.[0] ?? Number.NaN;
  }
  if (done !== selection.count) throw changed(expected);
}
