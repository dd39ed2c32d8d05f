import type Database from 'better-sqlite3';
import { isSealogError, SealogError } from '../errors.js';
import { parseVerifierKey, type VerifierKey } from '../note/keys.js';
import { ioError, openReadOnly } from '../store/open.js';
import { classify } from './classify.js';
import { judgeErasures, readErasures } from './erasures.js';
import { judgeRows, listRows } from './judge-rows.js';
import { readCheckpoints } from './read-notes.js';
import { checkHandovers, judgeAtSize, readKeyChain } from './rotations.js';
import { scanRecords } from './scan.js';
import { checkState } from './state.js';
import { parseTsaPolicy, stampNotes, type TsaPolicy } from './timestamped.js';
import { judgeTombstone, readTombstone } from './tombstone.js';
import { judgeTimestamps } from './tsa-judge.js';
import {
  DEFAULT_MAX_UNSEALED,
  type Finding,
  isFailure,
  MAX_FINDINGS,
  REPORT_VERSION,
  type VerifyOptions,
  type VerifyReport,
} from './types.js';
import { sealingFindings } from './verdict.js';
import { judgeWitnesses, parseWitnessPolicy, type WitnessPolicy } from './witnessed.js';

/** Most worker threads a verification may start. */
const MAX_THREADS = 16;

/** Collects findings, keeping the first MAX_FINDINGS. */
class Findings {
  readonly list: Finding[] = [];
  omitted = 0;
  failed = false;

  add = (f: Finding, fails = isFailure(f.kind)): void => {
    if (fails) this.failed = true;
    if (this.list.length < MAX_FINDINGS) this.list.push(f);
    else this.omitted++;
  };
}

/** Parses the verifier keys up front: a bad key is the caller's mistake (E_KEY, exit 2), not a finding. */
function parseKeys(options: VerifyOptions): VerifierKey[] {
  const keys = options.keys;
  if (!Array.isArray(keys)) throw new SealogError('E_CONFIG', 'keys must be a list of verifier keys');
  if (options.chainOnly === true && keys.length > 0) {
    throw new SealogError(
      'E_CONFIG',
      'chainOnly checks no signature: give either keys or chainOnly, not both',
    );
  }
  if (keys.length === 0 && (options.trusted?.length ?? 0) > 0) {
    throw new SealogError(
      'E_CONFIG',
      'a checkpoint given from outside can only be checked with its verifier key (--key or --key-file)',
    );
  }
  return keys.map((k) => parseVerifierKey(k));
}

/** The verifier's sealing policy: `strict` is 0, else `maxUnsealed`, else the default. */
function maxUnsealed(options: VerifyOptions): number {
  if (options.strict === true) return 0;
  const m = options.maxUnsealed ?? DEFAULT_MAX_UNSEALED;
  if (!Number.isSafeInteger(m) || m < 0) {
    throw new SealogError('E_CONFIG', `maxUnsealed must be an integer ≥ 0, got ${String(m)}`);
  }
  return m;
}

/**
 * Verifies a ledger file in one streaming pass: every leaf, chain link and
 * Merkle root is recomputed from the stored entry bytes; every stored
 * checkpoint's signature, origin and root is checked, and so is every trusted
 * checkpoint given from outside; `ledger_state` is compared with the rows.
 * Read-only, never blocks writers, reads one consistent snapshot.
 * Findings (not exceptions) report tampering; see docs/verify.md.
 * @throws SealogError E_KEY / E_CONFIG for bad keys or options; E_IO or
 *   E_NOT_LEDGER when the file cannot be read as a ledger (missing, not
 *   SQLite, damaged, wrong schema). Never anything else.
 */
export function verifyLedger(path: string, options: VerifyOptions): VerifyReport {
  const keys = parseKeys(options);
  const policy = parseWitnessPolicy(options, keys);
  const tsa = parseTsaPolicy(options, keys);
  maxUnsealed(options); // validated before the file is opened
  const t = options.threads;
  // Each worker may hold one page's entries (up to 32 MiB) at a time.
  if (t !== undefined && (!Number.isSafeInteger(t) || t < 0 || t > MAX_THREADS)) {
    throw new SealogError(
      'E_CONFIG',
      `threads must be an integer from 0 to ${MAX_THREADS}, got ${String(t)}`,
    );
  }
  const f = new Findings();
  const db = openReadOnly(path);
  try {
    db.exec('BEGIN'); // one snapshot for records, checkpoints and state
    return run(db, path, keys, { witness: policy, tsa }, options, f);
  } catch (err) {
    if (isSealogError(err)) throw err;
    throw ioError(path, 'verify', err);
  } finally {
    db.close();
  }
}

function run(
  db: Database.Database,
  path: string,
  keys: VerifierKey[],
  policies: { witness: WitnessPolicy | undefined; tsa: TsaPolicy | undefined },
  options: VerifyOptions,
  f: Findings,
): VerifyReport {
  const { witness: policy, tsa } = policies;
  // Without a key no signature can be checked: reading the rows would only
  // call every checkpoint "unknown-key"; the verdict says what was not checked.
  // Rotation entries extend the given keys, each to the sizes its hand-over allows.
  const trusted = keys.length > 0 ? readKeyChain(db, keys, f.add) : { keys };
  const { rows, notes } = readCheckpoints(
    keys.length > 0 ? db : undefined,
    options.trusted ?? [],
    trusted.keys,
    policy,
    f.add,
  );
  const chain = trusted.chain;
  if (chain) {
    for (const n of notes) {
      const o = n.opened!;
      const judged = judgeAtSize(chain, o.size, o.signerIds, o.times);
      if (judged.retired !== undefined) n.retired = judged.retired;
      // The signed time is the latest stamp by a time key allowed at this size only.
      if (judged.time !== undefined) o.time = judged.time;
      else if (chain.timeSpans.length > 0) delete o.time;
    }
  }
  const stamped = tsa ? stampNotes(db, notes, tsa, f.add) : undefined;
  const wanted = new Set<number>();
  for (const n of notes) wanted.add(n.opened!.size);
  for (const h of chain?.handovers ?? []) wanted.add(h.size);
  // Erasure statements the trusted keys signed: their rows' leaves come from them.
  const erasures = keys.length > 0 ? readErasures(db, trusted, f.add, options.erasedElsewhere) : undefined;
  for (const a of erasures?.accepted ?? []) wanted.add(a.statement.size);
  const breaksAndGaps: Finding[] = [];
  // A pruned prefix (PostgreSQL retention): the tree goes on from its tombstone, not row 0.
  const pruned = readTombstone(db, trusted.keys, f.add);
  const scan = scanRecords(db, wanted, f.add, {
    path,
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(erasures && erasures.leaves.size > 0 ? { erased: erasures.leaves } : {}),
    ...(pruned ? { start: pruned.tombstone } : {}),
  });
  const state = checkState(db, scan);
  // Break positions count from the first row read, so runs are measured the same way.
  for (const x of classify({ ...scan, rows: scan.rows - scan.base }, state.size)) breaksAndGaps.push(x);
  for (const x of breaksAndGaps) f.add(x);
  for (const x of state.findings) f.add(x);

  if (chain) checkHandovers(chain, scan, f.add);
  const judged = judgeRows(rows, notes, scan, options.origin, f.add);
  const origin = judged.origin;
  let sealedSize = judged.sealed;
  // With a witness policy only a witnessed checkpoint seals; the log's own signatures cover logSealed.
  const witnessed = policy ? judgeWitnesses(notes, policy, sealedSize) : undefined;
  if (witnessed) sealedSize = witnessed.sealed;
  // With TSA anchors, under `required` only a timestamped checkpoint seals (docs/verify.md §1.5).
  const stamps = tsa && judgeTimestamps(notes, tsa, stamped!, sealedSize, policy !== undefined, f.add);
  const beforeTsa = sealedSize;
  if (stamps) sealedSize = stamps.sealed;
  // Sealed by a valid log checkpoint is enough for a statement the log key itself signed;
  // a witness or TSA policy decides what the report calls sealed, not whether it authorises.
  const erased = erasures && judgeErasures(erasures, scan, judged.sealed, f.add);
  const expired = pruned && judgeTombstone(db, pruned, trusted.keys, judged.sealed, origin, f.add);
  const unsealed = Math.max(0, scan.rows - sealedSize);
  const trust = keys.length > 0 ? 'keys' : 'chain-only';
  const allowed = maxUnsealed(options);
  for (const j of sealingFindings({
    rows: scan.rows,
    sealed: sealedSize,
    trust,
    chainOnly: options.chainOnly === true,
    maxUnsealed: allowed,
    ...(witnessed ? { witness: witnessed.summary } : {}),
    ...(tsa?.mode === 'required' ? { tsaRequired: { logSealed: beforeTsa } } : {}),
  })) {
    f.add(j.finding, j.fails);
  }
  const listed = listRows(rows, notes);
  const report: VerifyReport = {
    version: REPORT_VERSION,
    ok: !f.failed,
    size: scan.rows,
    root: scan.root.toString('hex'),
    findings: f.list,
    omittedFindings: f.omitted,
    checkpoints: listed.listed,
    omittedCheckpoints: listed.omitted,
    checkpointTotals: listed.totals,
    unsealed,
    sealed: sealedSize,
    maxUnsealed: allowed,
    trust,
  };
  if (origin !== undefined) report.origin = origin;
  if (chain) report.rotations = chain.handovers.map(({ seq, size, from, to }) => ({ seq, size, from, to }));
  if (witnessed) report.witness = witnessed.summary;
  if (stamps) report.tsa = stamps.summary;
  if (expired) report.expired = expired;
  if (erased && erased.list.length + erased.omitted > 0) {
    report.erasures = erased.list;
    if (erased.omitted > 0) report.omittedErasures = erased.omitted;
  }
  return report;
}
