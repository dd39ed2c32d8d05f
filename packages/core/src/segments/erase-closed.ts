import { basename, dirname, resolve } from 'node:path';
import { SealogError } from '../errors.js';
import {
  type ForeignMarker,
  foreignMarkerEntry,
  foreignMarkerOf,
  segmentErasureEntry,
  signErasure,
} from '../signer/erasure.js';
import type { CheckpointKey } from '../signer/types.js';
import { type EraseResult, eraseBodies, erasureLeaves } from '../store/erase.js';
import { openReadOnly } from '../store/open.js';
import { appendSealedEntry } from './retention-write.js';
import { verifySegmentsWithKeys } from './verify.js';

// `sealog erase` on a closed segment (docs/lifecycle.md "Erasure of a
// record's body"). The closed segment K is never written again: the signed
// statement naming K, its sealed head and each row's leaf goes to the newest
// segment N and is sealed there; then K's rows get markers naming it (segment
// N, its seq) and K is rebuilt (VACUUM) so the bodies leave the file. Every
// step leaves a directory that verifies: before the markers, the statement
// only authorises (verify lists the rows as "body still present"); a rerun
// appends a new statement and erases under it.

export interface ClosedErasure {
  /** The closed segment's index, and where its statement went. */
  segment: number;
  statementSegment: number;
  statementSeq: number;
  /** Size of the seal over the statement; absent when a rerun found the rows erased already (it only rebuilt the file). */
  sealedAt?: number;
  done: EraseResult;
}

/**
 * Erases rows `seqs` of closed segment file `file` under a statement in the
 * newest segment. The directory must verify under `trust` (default: the key's
 * own verifier keys) first, and the rows must be sealed.
 * @throws SealogError E_TAMPER (the directory does not verify), E_CONFIG (rows
 *   not eligible), E_STATE / E_IO.
 */
export async function eraseInClosedSegment(
  file: string,
  seqs: readonly number[],
  reason: string,
  key: CheckpointKey,
  o: { trust?: readonly string[]; vacuum: boolean; now?: number },
): Promise<ClosedErasure> {
  const dir = dirname(file);
  const { report, keysAt } = verifySegmentsWithKeys(dir, { keys: o.trust ?? [key.log.verifierKey] });
  if (!report.ok) {
    const first = [
      ...report.findings.filter((f) => f.kind !== 'segment-stray').map((f) => `${f.kind}: ${f.message}`),
      ...report.segments.filter((s) => !s.ok).map((s) => `segment ${s.index} does not verify`),
    ].slice(0, 2);
    throw new SealogError(
      'E_TAMPER',
      `${dir} does not verify under ${key.display} (${first.join('; ')}); nothing was erased: run sealog verify ${dir}`,
    );
  }
  const target = report.segments.find((s) => resolve(s.file) === resolve(file));
  const newest = report.segments.at(-1);
  if (target === undefined || newest === undefined || target.root === undefined)
    throw new SealogError('E_IO', `${basename(file)} is not a segment of ${dir}`);
  if (target === newest)
    throw new SealogError('E_CONFIG', `${file} is the newest segment: erase in it as in any ledger`);
  // Its own final checkpoint first: a writer re-derives a closed segment that lacks one
  // (from its own newest checkpoint there), and would then hash the markers as bodies.
  if (target.sealedBy !== 'checkpoint')
    throw new SealogError(
      'E_CONFIG',
      `segment ${target.index} has no checkpoint of its own at its final size ${target.size} yet; nothing was erased: seal it first (sealog checkpoint ${file} --key <keyfile>, or start the ledger's writer, which seals closed segments), then run this command again`,
    );
  const sealed = target.size;
  const out = seqs.filter((s) => s >= sealed);
  if (out.length > 0)
    throw new SealogError(
      'E_CONFIG',
      `row(s) ${out.slice(0, 10).join(', ')} of segment ${target.index} ${target.size > out[0]! ? 'are not covered by a valid checkpoint' : `do not exist (it has ${target.size} records)`}; nothing was erased`,
    );
  // The statement goes to the newest segment: directory verify trusts it only when its key is
  // trusted there, given or carried by a rotation an earlier segment verified and sealed.
  if (!(keysAt.get(newest.index) ?? []).includes(key.log.verifierKey))
    throw new SealogError(
      'E_KEY',
      `${key.display} is not trusted in segment ${newest.index}, where the erasure statement would go: it is neither among the verifier keys given nor carried there by a key rotation (a key \`sealog key rotate\` endorsed in segment k is trusted from segment k+1 on, once k's own checkpoint covers the rotation); nothing was erased: give its verifier key, or the key that rotated to it, with --trust-file`,
    );
  const origin = report.origin ?? key.name;
  if (origin !== key.name)
    throw new SealogError(
      'E_KEY',
      `the directory's checkpoints have origin ${JSON.stringify(origin)} but the key is named ${JSON.stringify(key.name)}; use the ledger's key`,
    );
  // A rerun after a kill between the bodies' transaction and the VACUUM: the markers are in
  // place (authorised: the directory verified), the stale copies may not be gone yet.
  const finished = markedRows(file, seqs);
  if (finished !== undefined) {
    const by = finished[0]!.marker;
    const rows = finished.map((f) => ({ seq: f.seq, leaf: f.marker.leaf }));
    const done = eraseBodies(file, by.seq, rows, {
      vacuum: o.vacuum,
      marker: (row, ts) => foreignMarkerEntry({ segment: by.segment, seq: by.seq, leaf: row.leaf }, ts),
    });
    return { segment: target.index, statementSegment: by.segment, statementSeq: by.seq, done };
  }
  const leaves = erasureLeaves(file, seqs);
  const rows = seqs.map((seq, i) => ({ seq, leaf: leaves[i]! }));
  const now = o.now ?? Date.now();
  // The head signed is the one verify recomputed by hashing the segment's rows (and checked against its checkpoints).
  const statement = {
    origin,
    segment: target.index,
    size: target.size,
    root: Buffer.from(target.root, 'hex'),
    reason,
    time: now,
    rows,
  };
  const note = await signErasure(statement, key);
  const entry = segmentErasureEntry(note, { rows, reason, segment: target.index }, now);
  const appended = await appendSealedEntry(newest.file, key, entry, note);
  const at = { segment: newest.index, seq: appended.seq };
  const done = eraseBodies(file, appended.seq, rows, {
    vacuum: o.vacuum,
    marker: (row, ts) => foreignMarkerEntry({ ...at, leaf: row.leaf }, ts),
  });
  return {
    segment: target.index,
    statementSegment: at.segment,
    statementSeq: at.seq,
    sealedAt: appended.size,
    done,
  };
}

/** When every row of `seqs` already holds a marker naming one same statement: those markers. */
function markedRows(
  file: string,
  seqs: readonly number[],
): { seq: number; marker: ForeignMarker }[] | undefined {
  const db = openReadOnly(file);
  try {
    const get = db.prepare('SELECT entry FROM records WHERE seq = ?').pluck();
    const out: { seq: number; marker: ForeignMarker }[] = [];
    for (const seq of seqs) {
      const m = foreignMarkerOf(get.get(seq));
      if (m === undefined) return undefined;
      if (out.length > 0 && (out[0]!.marker.segment !== m.segment || out[0]!.marker.seq !== m.seq))
        return undefined;
      out.push({ seq, marker: m });
    }
    return out;
  } finally {
    db.close();
  }
}
