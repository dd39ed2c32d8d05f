import type Database from 'better-sqlite3';
import { splitAnchorNotes } from '../checkpoint/anchor.js';
import { isSealogError, SealogError } from '../errors.js';
import { parseVerifierKey, type VerifierKey } from '../note/keys.js';
import { MAX_NOTE_BYTES } from '../note/note.js';
import { ioError, openReadOnly } from '../store/open.js';
import { bodyKey, checkNote } from './checkpoint.js';
import { classify } from './classify.js';
import { scanRecords } from './scan.js';
import { checkState } from './state.js';
import { parseTsaPolicy, type StampableNote, stampNotes, type TsaPolicy } from './timestamped.js';
import { judgeTimestamps, type StampedCheckpoint } from './tsa-judge.js';
import {
  type CheckpointResult,
  DEFAULT_MAX_UNSEALED,
  type Finding,
  isFailure,
  MAX_FINDINGS,
  REPORT_VERSION,
  type VerifyOptions,
  type VerifyReport,
} from './types.js';
import { sealingFindings } from './verdict.js';
import { judgeWitnesses, noteCosignatures, parseWitnessPolicy, type WitnessPolicy } from './witnessed.js';

interface Sealed extends StampedCheckpoint, Omit<StampableNote, 'stamps'> {
  /** checkpoints.size column, when it is a safe integer. */
  column?: number;
}

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

function readCheckpointRows(
  db: Database.Database,
  keys: VerifierKey[],
  policy: WitnessPolicy | undefined,
  f: Findings,
  keepNotes: boolean,
): Sealed[] {
  // Bounded read: a huge note is not loaded, only measured. id is the rowid
  // unless the table was recreated; anything else is reported, not trusted.
  const rows = db
    .prepare(
      `SELECT id, size, iif(length(CAST(note AS BLOB)) <= ${MAX_NOTE_BYTES}, note, NULL) FROM checkpoints ORDER BY id`,
    )
    .raw(true)
    .iterate() as Iterable<unknown[]>;
  const out: Sealed[] = [];
  for (const [id, size, note] of rows) {
    const cid = typeof id === 'number' && Number.isSafeInteger(id) ? id : undefined;
    const result: CheckpointResult = { source: 'ledger', valid: false };
    if (cid !== undefined) result.id = cid;
    const where = `checkpoint ${cid ?? String(id)}`;
    const sealed: Sealed = { result, opened: undefined, where };
    if (cid !== undefined) sealed.checkpointId = cid;
    if (typeof size === 'number' && Number.isSafeInteger(size)) sealed.column = size;
    out.push(sealed);
    const text = typeof note === 'string' ? note : Buffer.isBuffer(note) ? note.toString('utf8') : undefined;
    // A TSA token's imprint is over the note's bytes exactly as stored.
    if (keepNotes && text !== undefined)
      sealed.bytes = Buffer.isBuffer(note) ? note : Buffer.from(text, 'utf8');
    if (text === undefined) {
      f.add({
        kind: 'malformed-checkpoint',
        checkpointId: cid,
        message: `${where}: note is missing, not text, or larger than ${MAX_NOTE_BYTES} bytes`,
      });
      continue;
    }
    const opened = checkNote(text, keys);
    if (!opened.ok) {
      f.add({ kind: opened.kind, checkpointId: cid, message: `${where}: ${opened.message}` });
      continue;
    }
    sealed.opened = opened;
    if (policy)
      sealed.cosigs = noteCosignatures(text, policy, where, (x) =>
        f.add(cid === undefined ? x : { ...x, checkpointId: cid }),
      );
  }
  return out;
}

function readTrusted(
  trusted: readonly string[],
  keys: VerifierKey[],
  policy: WitnessPolicy | undefined,
  f: Findings,
  keepNotes: boolean,
): Sealed[] {
  const out: Sealed[] = [];
  let n = 0;
  for (const input of trusted) {
    for (const note of splitAnchorNotes(String(input))) {
      n++;
      const result: CheckpointResult = { source: 'trusted', valid: false };
      const opened = checkNote(note, keys);
      if (!opened.ok) f.add({ kind: opened.kind, message: `trusted checkpoint #${n}: ${opened.message}` });
      const where = `trusted checkpoint #${n}`;
      const sealed: Sealed = { result, opened: opened.ok ? opened : undefined, where };
      if (keepNotes) sealed.bytes = Buffer.from(note, 'utf8');
      if (opened.ok && policy)
        sealed.cosigs = noteCosignatures(note, policy, `trusted checkpoint #${n}`, f.add);
      out.push(sealed);
    }
  }
  return out;
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
  const stored = keys.length > 0 ? readCheckpointRows(db, keys, policy, f, tsa !== undefined) : [];
  const trusted = readTrusted(options.trusted ?? [], keys, policy, f, tsa !== undefined);
  const all = [...stored, ...trusted];
  const stamped = tsa ? stampNotes(db, all, tsa, f.add) : undefined;
  const wanted = new Set<number>();
  for (const s of all) if (s.opened) wanted.add(s.opened.size);
  const breaksAndGaps: Finding[] = [];
  const scan = scanRecords(db, wanted, f.add, {
    path,
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
  });
  const state = checkState(db, scan);
  for (const x of classify(scan, state.size)) breaksAndGaps.push(x);
  for (const x of breaksAndGaps) f.add(x);
  for (const x of state.findings) f.add(x);

  let origin = options.origin;
  let sealedSize = 0;
  for (const s of all) {
    const o = s.opened;
    if (!o) continue;
    const id = s.result.id;
    const where = s.result.source === 'ledger' ? `checkpoint ${id}` : `trusted checkpoint (size ${o.size})`;
    Object.assign(s.result, { origin: o.origin, size: o.size, root: o.root.toString('hex') });
    if (o.time !== undefined) s.result.time = o.time;
    origin ??= o.origin;
    // signed-note: a note with a failing line by a trusted (witness) key is rejected.
    let good = (s.cosigs?.invalid.length ?? 0) === 0;
    const add = (x: Omit<Finding, 'checkpointId'>) => {
      good = false;
      f.add(id === undefined ? x : { ...x, checkpointId: id });
    };
    if (o.origin !== origin || !o.signers.includes(o.origin)) {
      add({
        kind: 'wrong-origin',
        message: `${where}: origin ${JSON.stringify(o.origin)} is not this log's (${JSON.stringify(origin)}, signed by ${o.signers.join(', ')})`,
      });
    }
    if (s.column !== undefined && s.column !== o.size) {
      add({
        kind: 'checkpoint-mismatch',
        message: `${where}: size column says ${s.column} but the signed size is ${o.size}`,
      });
    } else if (s.result.source === 'ledger' && s.column === undefined) {
      add({ kind: 'malformed-checkpoint', message: `${where}: size column is not an integer` });
    }
    const root = scan.roots.get(o.size);
    const extent = scan.lastSeq + 1; // rows up to the highest seq, gaps included
    if (o.size > extent) {
      const cut = o.size - 1 === extent ? `record ${extent} was` : `records ${extent}..${o.size - 1} were`;
      add({
        kind: 'truncated',
        message: `${where}: signs ${o.size} records but the file holds ${extent}; ${cut} cut off`,
      });
    } else if (!root?.equals(o.root)) {
      const what = s.result.source === 'trusted' ? 'history was rewritten: ' : '';
      add({
        kind: 'checkpoint-mismatch',
        message: `${where}: ${what}signed root for size ${o.size} does not match the records`,
      });
    }
    s.result.valid = good;
    if (good) sealedSize = Math.max(sealedSize, o.size);
  }
  // A checkpoint the outside world holds must also be in the ledger (it is stored there first).
  const storedBodies = new Set(stored.filter((s) => s.result.valid).map((s) => bodyKey(s.opened!)));
  for (const t of trusted) {
    if (t.result.valid && !storedBodies.has(bodyKey(t.opened!))) {
      f.add({
        kind: 'deleted',
        message: `trusted checkpoint (size ${t.opened!.size}) is not in the ledger: a stored checkpoint was deleted`,
      });
    }
  }
  // With a witness policy only a witnessed checkpoint seals; the log's own signatures cover logSealed.
  const witnessed = policy ? judgeWitnesses(all, policy, sealedSize) : undefined;
  if (witnessed) sealedSize = witnessed.sealed;
  // With TSA anchors, under `required` only a timestamped checkpoint seals (docs/verify.md §1.5).
  const stamps = tsa && judgeTimestamps(all, tsa, stamped!, sealedSize, policy !== undefined, f.add);
  const beforeTsa = sealedSize;
  if (stamps) sealedSize = stamps.sealed;
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
  const report: VerifyReport = {
    version: REPORT_VERSION,
    ok: !f.failed,
    size: scan.rows,
    root: scan.root.toString('hex'),
    findings: f.list,
    omittedFindings: f.omitted,
    checkpoints: all.map((s) => s.result),
    unsealed,
    sealed: sealedSize,
    maxUnsealed: allowed,
    trust,
  };
  if (origin !== undefined) report.origin = origin;
  if (witnessed) report.witness = witnessed.summary;
  if (stamps) report.tsa = stamps.summary;
  return report;
}
