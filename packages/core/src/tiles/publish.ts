import { erasuresSignedBy } from '../chain/erased.js';
import { SealogError } from '../errors.js';
import { CompactRange } from '../merkle.js';
import { bytesEqual, encodeBase64 } from '../note/encoding.js';
import { parseVerifierKey, SIG_TYPE_ED25519, type VerifierKey } from '../note/keys.js';
import { MAX_NOTE_BYTES } from '../note/note.js';
import { prunedPrefix } from '../proof/leaves.js';
import { LedgerReader } from '../store/reader.js';
import { TileBuilder } from './builder.js';
import { TileDir } from './dir.js';
import { CHECKPOINT_PATH } from './path.js';
import { type Candidate, candidates, choose, openOwned, scanRoots } from './select.js';

// `sealog tiles`: publishes a ledger as a C2SP tlog-tiles log (c2sp.org/tlog-tiles)
// in stages: choose (hash every record, find the newest stored checkpoint
// whose root matches) → integrate (hash again up to that size, building tiles
// and bundles, each compared with what the directory holds, written if new)
// → publish (the checkpoint, last, once every tile it needs is durable).
// Both passes run in one read transaction, so they see the same rows.

export interface TilesOptions {
  /** Verifier keys (vkey strings): the log's key, and optionally its time cosigner key. */
  keys: readonly string[];
  /** Publish only checkpoints of this origin (default: any the keys verify). */
  origin?: string;
}

export interface TilesResult {
  origin: string;
  /** Tree size of the published checkpoint. */
  size: number;
  /** Its root (32 bytes), recomputed from the records. */
  root: Uint8Array;
  /** The published checkpoint note. */
  note: string;
  /** Files created or replaced, relative to the directory, in write order (`checkpoint` last). */
  written: string[];
  /** Files that were already there with the right bytes. */
  unchanged: number;
  /** Records the ledger claims to hold (max seq + 1); those past `size` are not sealed and not published. */
  ledgerSize: number;
  /**
   * Sizes of checkpoints signed by the given keys whose root does not match
   * the records: the ledger was changed after they were signed. Non-empty
   * means tampering, even though an older matching checkpoint was published.
   */
  mismatched: number[];
}

/**
 * Writes (or brings up to date) the tlog-tiles log of the SQLite ledger at
 * `ledgerPath` in `dir`: the tiles and entry bundles for the newest stored
 * checkpoint that verifies under `options.keys` and whose root equals the root
 * of the records, then that checkpoint. Files already in `dir` are compared
 * with what the records give and never trusted; an identical file is kept.
 * @throws SealogError E_KEY (no log key given, or no checkpoint verifies),
 *   E_CONFIG (the ledger has no checkpoint; `dir` holds another origin's log),
 *   E_TAMPER (no checkpoint matches the records; a file in `dir` differs from
 *   what the records give; the published checkpoint is newer than or forks
 *   from the ledger), E_FORMAT (an entry over 65,535 bytes), E_IO, E_NOT_LEDGER.
 */
export function writeTiles(ledgerPath: string, dir: string, options: TilesOptions): TilesResult {
  const keys = options.keys.map((k) => parseVerifierKey(k));
  if (!keys.some((k) => k.type === SIG_TYPE_ED25519)) {
    throw new SealogError(
      'E_KEY',
      "give the log's verifier key with --key (the first line `sealog keygen` printed)",
    );
  }
  const reader = new LedgerReader(ledgerPath);
  try {
    // One snapshot for both passes (WAL): a writer appending meanwhile is not seen.
    reader.db.exec('BEGIN');
    refusePruned(reader);
    const ledgerSize = reader.size();
    const { found, rows } = candidates(reader, keys, options.origin);
    const out = new TileDir(dir);
    const prior = publishedCheckpoint(out, keys);
    const wanted = new Set(found.map((c) => c.size));
    if (prior) wanted.add(prior.size);
    let upTo = 0;
    for (const size of wanted) upTo = Math.max(upTo, size);
    const scan = scanRoots(reader, wanted, upTo, erasuresSignedBy(reader.db, keys));
    const { chosen, mismatched } = choose(found, rows, scan);
    if (prior) checkNoRollback(prior, chosen, scan.roots.get(prior.size), dir);

    const written: string[] = [];
    let unchanged = 0;
    const range = new CompactRange();
    const builder = new TileBuilder((file) => {
      if (out.put(file.path, file.bytes) === 'unchanged') unchanged++;
      else written.push(file.path);
    });
    for (const r of reader.records(0, chosen.size)) {
      if (r.seq !== range.size) break;
      range.append(builder.add(r.entry));
    }
    if (range.size !== chosen.size || !bytesEqual(range.root(), chosen.root)) {
      throw new SealogError(
        'E_TAMPER',
        'the records changed between the two passes; nothing new was published',
      );
    }
    builder.finish();
    out.sync(); // every tile the checkpoint needs is durable before it appears

    // tlog-tiles §Checkpoints: the one mutable resource, written last.
    const now = out.read(CHECKPOINT_PATH, MAX_NOTE_BYTES);
    if ((now ? now.toString('utf8') : undefined) !== prior?.note) {
      throw new SealogError(
        'E_IO',
        `${dir}/${CHECKPOINT_PATH} changed while publishing (another \`sealog tiles\` run?); run one at a time, then again`,
      );
    }
    if (out.put(CHECKPOINT_PATH, Buffer.from(chosen.note, 'utf8'), true) === 'unchanged') unchanged++;
    else written.push(CHECKPOINT_PATH);
    out.sync();
    return {
      origin: chosen.origin,
      size: chosen.size,
      root: chosen.root,
      note: chosen.note,
      written,
      unchanged,
      ledgerSize,
      mismatched,
    };
  } finally {
    if (reader.db.inTransaction) reader.db.exec('ROLLBACK');
    reader.close();
  }
}

/**
 * A ledger whose prefix was pruned under retention (PostgreSQL) keeps of it only
 * a compact range: one subtree hash per set bit of the cut. A tlog-tiles log
 * serves every entry from index 0, and each tile holds the hashes of 256
 * leaves or subtrees, so no tile or entry bundle covering a pruned record can
 * be made from what is left, and a log without them is not a tlog-tiles log.
 * @throws SealogError E_CONFIG naming the cut
 */
function refusePruned(reader: LedgerReader): void {
  const cut = prunedPrefix(reader.db)?.size;
  if (cut === undefined) return;
  throw new SealogError(
    'E_CONFIG',
    `records 0..${cut - 1} of this ledger were pruned under retention at ${cut} (\`sealog verify\` checks its tombstone): tlog-tiles serves every entry from index 0, and the level-0 tiles and entry bundles of records 0..${cut - 1}, and every higher tile over them, need leaf hashes and entries the ledger no longer holds; nothing was published (a directory published before the prune keeps serving what it holds). For records from ${cut} on, use \`sealog export --seq ${cut}..\``,
  );
}

/** The checkpoint `dir` already serves, which must verify under the keys; undefined if none. */
function publishedCheckpoint(out: TileDir, keys: readonly VerifierKey[]): Candidate | undefined {
  const bytes = out.read(CHECKPOINT_PATH, MAX_NOTE_BYTES);
  if (bytes === undefined) return undefined;
  const where = `${out.root}/${CHECKPOINT_PATH}`;
  const opened = bytes === null ? undefined : openOwned(bytes.toString('utf8'), keys);
  if (!opened) {
    throw new SealogError(
      'E_TAMPER',
      `${where} is not a checkpoint signed by the given keys: the directory was tampered with, or publishes another log (after a key rotation, give the old key too)`,
    );
  }
  const cp = opened.checkpoint;
  return {
    note: bytes!.toString('utf8'),
    origin: cp.origin,
    size: cp.size,
    root: cp.root,
    time: opened.time,
    row: -1,
  };
}

/**
 * What a directory already published must stay true: same log, no smaller
 * tree, same history (a monitor holding the old checkpoint would see a fork).
 */
function checkNoRollback(
  prior: Candidate,
  chosen: Candidate,
  rootAtPrior: Uint8Array | undefined,
  dir: string,
): void {
  if (prior.origin !== chosen.origin) {
    throw new SealogError(
      'E_CONFIG',
      `${dir} publishes the log ${JSON.stringify(prior.origin)}, not ${JSON.stringify(chosen.origin)}; use another directory`,
    );
  }
  const matches = rootAtPrior !== undefined && bytesEqual(rootAtPrior, prior.root);
  if (prior.size > chosen.size) {
    throw new SealogError(
      'E_TAMPER',
      `${dir} already publishes a checkpoint at size ${prior.size}, but the newest stored checkpoint that matches the ledger is at ${chosen.size}: ${
        matches ? "the ledger's newer checkpoint rows are gone" : 'the ledger lost or changed sealed records'
      }. Refusing to roll the published log back; run \`sealog verify\``,
    );
  }
  if (!matches) {
    throw new SealogError(
      'E_TAMPER',
      `the ledger's records do not give the root ${encodeBase64(prior.root)} that ${dir} already published at size ${prior.size}: its sealed history was rewritten. Refusing to publish a fork; run \`sealog verify\``,
    );
  }
}
