import { basename } from 'node:path';
import { erasuresSignedBy } from '../chain/erased.js';
import { splitAnchorNotes } from '../checkpoint/anchor.js';
import { type OpenedCheckpoint, openCheckpoint } from '../checkpoint/signed.js';
import { SealogError } from '../errors.js';
import { bytesEqual, encodeBase64 } from '../note/encoding.js';
import { parseVerifierKey, SIG_TYPE_ED25519, type VerifierKey } from '../note/keys.js';
import { chainKeys } from '../signer/rotation.js';
import type { RecordQuery } from '../store/query.js';
import type { LedgerReader } from '../store/reader.js';
import { readKeyChain } from '../verify/rotations.js';
import { cosignedNotes } from './cosigned.js';
import { newestCovering, type Opened, sizeOf } from './covering.js';
import { checkNotPruned, PROGRESS_ROWS, proofTreeOf, provedPrefix } from './pruned.js';
import { renderReadme } from './readme.js';
import { selectedEntries, selectRecords } from './select.js';
import { bundleTimestamps } from './timestamps.js';
import type { ProofTree } from './tree.js';
import {
  BUNDLE_TYPE,
  type Bundle,
  type BundleAnchor,
  type BundleEntry,
  type BundleManifest,
  MAX_BUNDLE_ROTATIONS,
} from './types.js';

/** What to export and how to describe it. */
export interface ExportOptions {
  /** Which records (seq/time bounds and filters); see queryRecords. */
  query: RecordQuery;
  /** Verifier keys (vkeys): the log key, and its time cosigner key to carry the signed time. */
  keys: readonly string[];
  /** Text of an anchor file, to carry the anchor checkpoints that cover the range. */
  anchorText?: string;
  /** Text of the anchor's token file (`<anchorFile>.timestamps`), for tokens the ledger lacks. */
  anchorTimestampsText?: string;
  /** The selection as the user wrote it, for the manifest and README, e.g. ["--seq 0..9"]. */
  selection?: readonly string[];
  /** Export time (ms since epoch); defaults to now. */
  nowMs?: number;
  /** Called every 1024 rows while the leaves are hashed and the records proved. */
  onProgress?: (p: ExportProgress) => void;
}

/** Where a long export is: `hashing` the ledger's leaves, then `proving` each selected record. */
export interface ExportProgress {
  stage: 'hashing' | 'proving';
  done: number;
  total: number;
}

/** A bundle plus what the exporter should tell its user. */
export interface ExportResult {
  bundle: Bundle;
  warnings: string[];
}

/** Everything of a bundle but its records and README, and a pass that yields the records. */
export interface PreparedExport {
  header: Omit<Bundle, 'entries' | 'readme'>;
  warnings: string[];
  /** The selected records with their proofs, read from the ledger one page at a time. */
  entries: () => Generator<BundleEntry>;
}

/**
 * Builds an evidence bundle from a ledger: the selected records (exact stored
 * bytes), an RFC 9162 inclusion proof for each against the newest stored
 * checkpoint that verifies under `keys` and covers them, that note, the keys,
 * and the anchor checkpoints that cover the range with consistency proofs.
 * Leaf hashes of [0, checkpoint size) are computed once and every proof comes
 * from one in-memory tree (O(n) hashing, O(log n) per proof, ~64 bytes per
 * ledger row of memory). The ledger's leaves must reproduce the checkpoint
 * root, so a damaged ledger never yields a bundle that looks fine.
 * @throws SealogError E_CONFIG (no records match, too many, no covering
 *   checkpoint — run `sealog checkpoint`), E_KEY (bad keys), E_TAMPER (the
 *   ledger does not match its checkpoint or an anchor), E_FORMAT (a row is unreadable).
 */
export function exportBundle(reader: LedgerReader, options: ExportOptions): ExportResult {
  const { header, warnings, entries } = prepareExport(reader, options);
  const { type, manifest, checkpoint, keys, anchors, ...rest } = header;
  const list: BundleEntry[] = [];
  for (const e of entries()) list.push(e);
  // Members in the order bundles were always written, so files stay byte-comparable.
  const bundle: Bundle = { type, manifest, checkpoint, keys, entries: list, anchors, readme: '' };
  if (rest.rotations) bundle.rotations = rest.rotations;
  if (rest.cosignedNotes) bundle.cosignedNotes = rest.cosignedNotes;
  if (rest.timestamps) bundle.timestamps = rest.timestamps;
  bundle.readme = renderReadme(bundle, anchors.length);
  return { bundle, warnings };
}

/**
 * The first half of an export (exportBundle, exportStream): selects the
 * records (seqs only), finds the covering checkpoint, hashes the ledger's
 * leaves into a proof tree and checks its root. Holds no record bytes.
 * @throws as exportBundle
 */
export function prepareExport(reader: LedgerReader, options: ExportOptions): PreparedExport {
  const warnings: string[] = [];
  const keys = options.keys.map((k) => parseVerifierKey(k));
  if (!keys.some((k) => k.type === SIG_TYPE_ED25519)) {
    throw new SealogError(
      'E_KEY',
      'give the log verifier key with --key (the first line `sealog keygen` printed)',
    );
  }
  // After a key rotation the newest checkpoints are the new key's: follow the chain from the keys given.
  const chain = readKeyChain(reader.db, keys, () => {}).chain;
  // A pruned prefix (PostgreSQL retention) stands in by its tombstone, once it proves itself.
  const base = provedPrefix(reader, chain ? chainKeys(chain) : keys, chain);
  checkNotPruned(options.query, base);
  // Erased rows count only under statements those keys signed.
  const erased = erasuresSignedBy(reader.db, chain ? chainKeys(chain) : keys);
  const selection = selectRecords(reader, options.query, erased);
  const { firstSeq, lastSeq } = selection;
  if (selection.erasedSeqs.length > 0) {
    warnings.push(
      `record(s) ${selection.erasedSeqs.join(', ')} were erased under signed erasure statements (\`sealog verify\` lists them): left out of the bundle, counted as withheld`,
    );
  }
  const ledgerSize = reader.size();
  const opened = newestCovering(reader, chain ? chainKeys(chain) : keys, lastSeq, ledgerSize, chain);

  const cp = opened.checkpoint;

  const tree = proofTreeOf(reader, cp.size, base, erased, (done, total) =>
    options.onProgress?.({ stage: 'hashing', done, total }),
  );
  if (!bytesEqual(tree.root(), cp.root)) {
    throw new SealogError(
      'E_TAMPER',
      `the ledger's records do not match its signed checkpoint at size ${cp.size}; run \`sealog verify\` before exporting`,
    );
  }
  const anchors =
    options.anchorText === undefined
      ? []
      : anchorsFor(options.anchorText, keys, opened, lastSeq, tree, warnings);

  const manifest: BundleManifest = {
    origin: cp.origin,
    ledger: basename(reader.path),
    exportedAt: new Date(options.nowMs ?? Date.now()).toISOString(),
    selection: [...(options.selection ?? [])],
    entryCount: selection.count,
    firstSeq,
    lastSeq,
    seqs: selection.seqs,
    withheld: lastSeq - firstSeq + 1 - selection.count,
    checkpoint: {
      size: cp.size,
      root: encodeBase64(cp.root),
      signedTime: opened.time === undefined ? null : new Date(opened.time * 1000).toISOString(),
    },
    ledgerSize,
  };
  if (opened.time === undefined) {
    warnings.push(
      `no time cosigner key given: the bundle carries no verifiable signed time (add --key with ${cp.origin}/time)`,
    );
  }
  const header: PreparedExport['header'] = {
    type: BUNDLE_TYPE,
    manifest,
    checkpoint: opened.note,
    keys: keys.map((k) => k.vkey),
    anchors,
  };
  if (chain) {
    header.rotations = chain.handovers
      .filter((h) => h.seq >= tree.cut && h.seq < cp.size && h.size >= tree.cut && h.size <= cp.size)
      .slice(0, MAX_BUNDLE_ROTATIONS)
      .map((h) => ({
        seq: h.seq,
        entry: encodeBase64(entryAt(reader, h.seq)),
        proof: tree.inclusionProof(h.seq).map(encodeBase64),
        consistency: tree.consistencyProof(h.size).map(encodeBase64),
      }));
  }
  const cosigned = cosignedNotes(reader, keys, opened, warnings); // the witnesses' merged notes
  if (cosigned.length > 0) header.cosignedNotes = cosigned;
  // The writer's RFC 3161 tokens for the notes carried (docs/timestamps.md §5), if any.
  const stamped = [
    { size: cp.size, note: opened.note },
    ...anchors.map((a) => ({ size: sizeOf(a.note), note: a.note })),
  ];
  const timestamps = bundleTimestamps(reader, stamped, options.anchorTimestampsText, warnings);
  if (timestamps.length > 0) header.timestamps = timestamps;
  const progress = options.onProgress;
  function* entries(): Generator<BundleEntry> {
    let done = 0;
    for (const e of selectedEntries(reader, options.query, selection, erased, tree)) {
      yield e;
      if (progress && ++done % PROGRESS_ROWS === 0)
        progress({ stage: 'proving', done, total: selection.count });
    }
  }
  return { header, warnings, entries };
}

/**
 * Anchor checkpoints that cover the range: the earliest covering one (the
 * records existed by then) and the newest (nothing since rewrote them), each
 * with a consistency proof to the bundle checkpoint.
 */
function anchorsFor(
  text: string,
  keys: VerifierKey[],
  bundle: Opened,
  lastSeq: number,
  tree: ProofTree,
  warnings: string[],
): BundleAnchor[] {
  const covering: { note: string; size: number; root: Uint8Array }[] = [];
  let skipped = 0;
  for (const note of splitAnchorNotes(text)) {
    let cp: OpenedCheckpoint;
    try {
      cp = openCheckpoint(note, keys, { origin: bundle.checkpoint.origin });
    } catch {
      skipped++;
      continue;
    }
    const { size, root } = cp.checkpoint;
    if (size <= lastSeq || size > tree.size) continue;
    if (!bytesEqual(tree.rootAt(size), root)) {
      throw new SealogError(
        'E_TAMPER',
        `the anchor checkpoint at size ${size} does not match the ledger: its history was rewritten; run \`sealog verify --anchor\``,
      );
    }
    covering.push({ note, size, root });
  }
  if (skipped > 0)
    warnings.push(`${skipped} anchor note(s) skipped: not verifiable with the given keys or another origin`);
  if (covering.length === 0) {
    warnings.push('the anchor file has no checkpoint that covers the exported range');
    return [];
  }
  covering.sort((a, b) => a.size - b.size);
  const picked = [covering[0]!, covering[covering.length - 1]!].filter(
    (c, i, all) => i === 0 || c.size !== all[0]!.size,
  );
  return picked.map((c) => ({ note: c.note, proof: tree.consistencyProof(c.size).map(encodeBase64) }));
}

/** The exact stored bytes of record `seq` (a rotation entry the chain accepted). */
function entryAt(reader: LedgerReader, seq: number): Uint8Array {
  const row = reader.db.prepare('SELECT entry FROM records WHERE seq = ?').get(seq) as
    | { entry: unknown }
    | undefined;
  if (!row || !(row.entry instanceof Uint8Array))
    throw new SealogError('E_TAMPER', `key rotation entry ${seq} is missing; run \`sealog verify\``);
  return row.entry;
}
