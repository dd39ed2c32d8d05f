import { bodyKey } from './checkpoint.js';
import type { CheckpointRows, SeenNote } from './rows.js';
import type { ScanResult } from './scan.js';
import {
  type CheckpointResult,
  type CheckpointTotals,
  type Finding,
  MAX_LISTED_CHECKPOINTS,
} from './types.js';

// Each checkpoint row against the records, after the scan: origin, size
// column, signed root. What depends only on the note (its root, its witness
// lines) is decided once per distinct note; what depends on the row (its size
// column, where it stands for the log's origin) per row, with the findings
// naming the row. The report lists at most MAX_LISTED_CHECKPOINTS rows.

const ROOT_OK = 1;
const TRUNCATED = 2;
const MISMATCH = 3;

/**
 * Marks each row valid or not (signature, origin, size column, root; no
 * forged witness line) and each note with how many valid rows hold it;
 * reports every problem per row, and a given note whose body is in no valid
 * ledger row as `deleted`. The origin is `origin`, else the first opened note's.
 */
export function judgeRows(
  rows: CheckpointRows,
  notes: readonly SeenNote[],
  scan: ScanResult,
  origin: string | undefined,
  add: (f: Finding) => void,
): { origin: string | undefined; sealed: number } {
  const extent = scan.lastSeq + 1; // rows up to the highest seq, gaps included
  const roots = new Uint8Array(notes.length);
  let sealed = 0;
  for (let i = 0; i < rows.count; i++) {
    const ni = rows.note(i);
    if (ni < 0) continue;
    const n = notes[ni]!;
    const o = n.opened!;
    const trusted = rows.trusted(i);
    const id = rows.id(i);
    const where = trusted ? `trusted checkpoint (size ${o.size})` : `checkpoint ${id ?? '?'}`;
    origin ??= o.origin;
    // signed-note: a note with a failing line by a trusted (witness) key is rejected.
    let good = (n.cosigs?.invalid.length ?? 0) === 0;
    const bad = (x: Omit<Finding, 'checkpointId'>) => {
      good = false;
      add(id === undefined ? x : { ...x, checkpointId: id });
    };
    if (o.origin !== origin || !o.signers.includes(o.origin)) {
      bad({
        kind: 'wrong-origin',
        message: `${where}: origin ${JSON.stringify(o.origin)} is not this log's (${JSON.stringify(origin)}, signed by ${o.signers.join(', ')})`,
      });
    }
    if (n.retired !== undefined) bad({ kind: 'retired-key', message: `${where}: ${n.retired}` });
    const column = rows.column(i);
    if (!trusted && column !== undefined && column !== o.size) {
      bad({
        kind: 'checkpoint-mismatch',
        message: `${where}: size column says ${column} but the signed size is ${o.size}`,
      });
    } else if (!trusted && column === undefined) {
      bad({ kind: 'malformed-checkpoint', message: `${where}: size column is not an integer` });
    }
    // Below a pruned prefix the leaves are gone: such a checkpoint is judged by its
    // signature only (the tombstone's checkpoint at the cut was matched to its range).
    roots[ni] ||=
      o.size > extent
        ? TRUNCATED
        : o.size < scan.base || scan.roots.get(o.size)?.equals(o.root)
          ? ROOT_OK
          : MISMATCH;
    if (roots[ni] === TRUNCATED) {
      const cut = o.size - 1 === extent ? `record ${extent} was` : `records ${extent}..${o.size - 1} were`;
      bad({
        kind: 'truncated',
        message: `${where}: signs ${o.size} records but the file holds ${extent}; ${cut} cut off`,
      });
    } else if (roots[ni] === MISMATCH) {
      const what = trusted ? 'history was rewritten: ' : '';
      bad({
        kind: 'checkpoint-mismatch',
        message: `${where}: ${what}signed root for size ${o.size} does not match the records`,
      });
    }
    if (!good) continue;
    rows.setValid(i);
    if (n.validRows++ === 0) {
      // The note is named by its first valid row in what is judged per note (witnesses, tokens).
      n.result.source = trusted ? 'trusted' : 'ledger';
      if (id === undefined) delete n.result.id;
      else n.result.id = id;
    }
    if (!trusted) n.validStored = true;
    sealed = Math.max(sealed, o.size);
  }
  for (const n of notes) {
    const o = n.opened!;
    n.result.valid = n.validRows > 0;
    Object.assign(n.result, { origin: o.origin, size: o.size, root: o.root.toString('hex') });
    if (o.time !== undefined) n.result.time = o.time;
  }
  // A checkpoint the outside world holds must also be in the ledger (it is stored there first).
  const storedBodies = new Set(notes.filter((n) => n.validStored).map((n) => bodyKey(n.opened!)));
  for (let i = rows.stored; i < rows.count; i++) {
    const o = rows.valid(i) ? notes[rows.note(i)]!.opened! : undefined;
    if (o && !storedBodies.has(bodyKey(o))) {
      add({
        kind: 'deleted',
        message: `trusted checkpoint (size ${o.size}) is not in the ledger: a stored checkpoint was deleted`,
      });
    }
  }
  return { origin, sealed };
}

/**
 * The report's list: the last {@link MAX_LISTED_CHECKPOINTS} rows in verify's
 * order (ledger rows by id, then the given notes), and the totals over all rows.
 * Call after the witness and TSA judgements, which mark the notes.
 */
export function listRows(
  rows: CheckpointRows,
  notes: readonly SeenNote[],
): { listed: CheckpointResult[]; omitted: number; totals: CheckpointTotals } {
  const totals: CheckpointTotals = { stored: rows.stored, storedValid: 0, trusted: 0, trustedValid: 0 };
  for (let i = 0; i < rows.count; i++) {
    const valid = rows.valid(i) ? 1 : 0;
    if (rows.trusted(i)) {
      totals.trusted++;
      totals.trustedValid += valid;
    } else totals.storedValid += valid;
  }
  const from = Math.max(0, rows.count - MAX_LISTED_CHECKPOINTS);
  const listed: CheckpointResult[] = [];
  for (let i = from; i < rows.count; i++) {
    const trusted = rows.trusted(i);
    const r: CheckpointResult = { source: trusted ? 'trusted' : 'ledger', valid: rows.valid(i) };
    const id = rows.id(i);
    if (!trusted && id !== undefined) r.id = id;
    const ni = rows.note(i);
    if (ni >= 0) {
      // Everything but source, valid and id is the note's (or its body's).
      const { source: _s, valid: _v, id: _i, ...shared } = notes[ni]!.result;
      Object.assign(r, shared);
    }
    listed.push(r);
  }
  return { listed, omitted: from, totals };
}
