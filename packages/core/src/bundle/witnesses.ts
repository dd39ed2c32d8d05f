import { type OpenedCheckpoint, openCheckpoint } from '../checkpoint/signed.js';
import { SealogError } from '../errors.js';
import { toHex } from '../note/encoding.js';
import { parseVerifierKey, SIG_TYPE_ED25519, type VerifierKey } from '../note/keys.js';
import { noteCosignatures, parseWitnessPolicy, type WitnessPolicy } from '../verify/witnessed.js';
import type { AnchorResult, BundleReport } from './verify.js';

// The witness quorum of an evidence bundle (issue 16). Every record's proof
// leads to the bundle checkpoint, so that is the checkpoint a quorum of the
// given witnesses must have cosigned. As in `sealog verify` (verify/witnessed.ts,
// whose policy and line checks this reuses), the unit is the checkpoint body:
// valid lines are pooled across the bundle's notes with that exact body —
// `checkpoint`, `cosignedNotes` (the writer stores each witness's merged note
// as one more row) and anchor notes — each of which must carry a log signature
// that verifies. Anchor checkpoints of other sizes are shown with their
// witnesses but not required to meet the quorum: the records are proved
// against the bundle checkpoint, not against them.

/** The verifier's options of {@link verifyBundle}. */
export interface BundleVerifyOptions {
  /** Trusted verifier keys (the log key and its `<origin>/time` key). Without them the bundle's own keys are used. */
  keys?: readonly string[];
  /** Trusted witness verifier keys (type 0x04). With them the bundle checkpoint must be cosigned by `quorum` of them. */
  witnesses?: readonly string[];
  /** Distinct given witnesses the bundle checkpoint needs (default: all given). */
  quorum?: number;
}

/** One given witness and its cosignature over the bundle checkpoint. */
export interface BundleWitness {
  name: string;
  /** Its verifier key, as given. */
  vkey: string;
  /** A valid cosignature/v1 line of it over the bundle checkpoint's body is in the bundle. */
  cosigned: boolean;
  /** The signed time (POSIX seconds) of its latest valid line, when cosigned. */
  time?: number;
}

/** The witness verdict on the bundle checkpoint. */
export interface BundleWitnessSummary {
  quorum: number;
  /** Every distinct given witness, in the order given. */
  witnesses: BundleWitness[];
  /** At least `quorum` given witnesses validly cosigned the bundle checkpoint (a forged line is a problem of its own). */
  met: boolean;
}

/**
 * Checks the witness options before anything is read (verifyBundlePath), so a
 * bad policy is a configuration error, as in `sealog verify`.
 * @throws SealogError E_KEY / E_CONFIG from parseWitnessPolicy (verify/witnessed.ts).
 */
export function checkBundleWitnessOptions(o: BundleVerifyOptions): void {
  parseWitnessPolicy(
    o,
    (o.keys ?? []).map((k) => parseVerifierKey(k)),
  );
}

/** A bundle note whose log signature verified, with where it sits (for messages). */
interface SignedNote {
  note: string;
  opened: OpenedCheckpoint;
  where: string;
}

const bodyKey = (o: OpenedCheckpoint): string =>
  `${o.checkpoint.origin}\n${o.checkpoint.size}\n${toHex(o.checkpoint.root)}`;

/**
 * Checks `cosignedNotes`: each must be a note of the bundle checkpoint's body
 * signed by the log key named like the origin. A note that is not is a
 * problem (the exporter carries only such notes). Returns those that are.
 * Attacker's options: up to 16 notes of any text (bounded by parseBundleShape).
 */
export function openCosignedNotes(
  notes: readonly string[],
  keys: readonly VerifierKey[],
  bundle: OpenedCheckpoint | undefined,
  report: BundleReport,
): SignedNote[] {
  const out: SignedNote[] = [];
  for (const [i, note] of notes.entries()) {
    const where = `cosigned note ${i + 1}`;
    let opened: OpenedCheckpoint;
    try {
      opened = openCheckpoint(note, keys);
    } catch (err) {
      report.problems.push(`${where}: signature: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    if (!bundle) continue; // the checkpoint's own failure is already reported
    const byOwner = opened.verified.some(
      (v) => v.type === SIG_TYPE_ED25519 && v.name === opened.checkpoint.origin,
    );
    if (!byOwner || bodyKey(opened) !== bodyKey(bundle)) {
      report.problems.push(
        `${where}: is not a note of the bundle checkpoint (another origin, size or root, or not signed by the key named like its origin)`,
      );
      continue;
    }
    out.push({ note, opened, where });
  }
  return out;
}

/**
 * Applies the witness policy: fills `report.witness` for the bundle checkpoint
 * and `witnesses` on each verified anchor, and adds a problem for a forged line
 * by a given witness anywhere, for a bad policy, and for a quorum not met.
 * `logKeys` are the keys the verifier gave (empty when it gave none: witnesses
 * are counted only on a checkpoint signed by a key the verifier trusts).
 * Work is bounded: at most 1 + 16 + 64 notes of at most 100 lines, each
 * distinct line checked once per given witness, each distinct note once.
 * Never throws.
 */
export function checkBundleWitnesses(
  options: Pick<BundleVerifyOptions, 'witnesses' | 'quorum'>,
  logKeys: readonly VerifierKey[],
  bundle: SignedNote | undefined,
  cosigned: readonly SignedNote[],
  anchors: readonly (SignedNote & { result: AnchorResult })[],
  report: BundleReport,
): void {
  let policy: WitnessPolicy | undefined;
  try {
    policy = parseWitnessPolicy(options, logKeys);
  } catch (err) {
    const message = err instanceof SealogError ? err.message : String(err);
    report.problems.push(`witness policy: ${message}`);
    return;
  }
  if (!policy) return;
  const p = policy;
  /** Valid lines by verifier key (latest time), over every note of one body; a note with a forged line counts for nothing. */
  const pool = (notes: readonly SignedNote[]): Map<string, number> => {
    const got = new Map<string, number>();
    for (const n of notes) {
      const r = noteCosignatures(n.note, p, n.where, (f) => report.problems.push(f.message));
      if (r.invalid.length > 0) continue;
      for (const c of r.cosigned) got.set(c.verifierKey, Math.max(c.time, got.get(c.verifierKey) ?? 0));
    }
    return got;
  };
  const summary: BundleWitnessSummary = {
    quorum: p.quorum,
    witnesses: p.keys.map((k) => ({ name: k.name, vkey: k.vkey, cosigned: false })),
    met: false,
  };
  report.witness = summary;
  // Anchor notes grouped by body, each group pooled once; the bundle checkpoint's group joins its notes.
  const groups = new Map<string, (SignedNote & { result?: AnchorResult })[]>();
  const add = (n: SignedNote & { result?: AnchorResult }) => {
    const k = bodyKey(n.opened);
    groups.set(k, [...(groups.get(k) ?? []), n]);
  };
  if (bundle) for (const n of [bundle, ...cosigned]) add(n);
  for (const a of anchors) add(a);
  for (const [k, notes] of groups) {
    const got = pool(notes);
    const named = p.keys.flatMap((w) => {
      const time = got.get(w.vkey);
      return time === undefined ? [] : [{ name: w.name, time }];
    });
    for (const n of notes) if (n.result) n.result.witnesses = named;
    if (!bundle || k !== bodyKey(bundle.opened)) continue;
    for (const w of summary.witnesses) {
      const time = got.get(w.vkey);
      if (time === undefined) continue;
      w.cosigned = true;
      w.time = time;
    }
  }
  const count = summary.witnesses.filter((w) => w.cosigned).length;
  summary.met = bundle !== undefined && count >= p.quorum;
  if (bundle && !summary.met) {
    report.problems.push(
      `witnesses: the bundle checkpoint is cosigned by ${count} of the ${p.keys.length} given witness(es), fewer than the quorum of ${p.quorum}; ` +
        'without it the checkpoint rests on the log key alone, which proves nothing against whoever holds that key',
    );
  }
}
