import { createHash } from 'node:crypto';
import { isSealogError, SealogError } from '../errors.js';
import { bytesEqual, toHex } from '../note/encoding.js';
import {
  parseVerifierKey,
  SIG_TYPE_COSIGNATURE,
  SIG_TYPE_ED25519,
  TIME_COSIGNER_SUFFIX,
  type VerifierKey,
} from '../note/keys.js';
import { verifyWitnessCosignatures, type WitnessCosignature } from '../witness/quorum.js';
import { bodyKey, type OpenedNote } from './checkpoint.js';
import type { CheckpointResult, CheckpointWitness, Finding, VerifyOptions, WitnessSummary } from './types.js';

// The verifier's witness policy (issue 16). A log key proves nothing against
// its holder: whoever stole it re-signs a rewritten history with fresh time
// lines. A witness (C2SP tlog-witness) cosigns a checkpoint only after a
// consistency proof from the last one it cosigned, so a checkpoint cosigned by
// a quorum of witnesses the verifier trusts is one the log could not fork
// unseen. The unit is the checkpoint *body* (origin, size, root): the writer
// stores a merged note (log lines + witness lines) as another row beside the
// note it first stored, and the anchor file holds both, so cosignatures are
// pooled across every note with that body whose log signature verified.

/** The witness keys and quorum the verifier was given, checked. */
export interface WitnessPolicy {
  /** Distinct witness keys (type 0x04), in the order given. */
  keys: VerifierKey[];
  quorum: number;
  /** Results by SHA-256 of the note text, so a note repeated in many rows is checked once. */
  checked?: Map<string, ReturnType<typeof verifyWitnessCosignatures>>;
}

/** Given witnesses' lines on one note: who validly cosigned, and whose line fails. */
export interface NoteCosignatures {
  cosigned: WitnessCosignature[];
  /** Names of given witnesses with a line (matching name and key ID) that does not verify. */
  invalid: string[];
}

function label(k: { name: string; keyId: Uint8Array }): string {
  return `${k.name}+${toHex(k.keyId)}`;
}

/**
 * Checks `witnesses` and `quorum` against the log keys already parsed.
 * Returns undefined when no witness is given (witness lines are then ignored).
 * @throws SealogError E_KEY (a malformed key, a key that is not a 0x04
 *   cosigner key, two keys sharing name and ID); E_CONFIG (quorum out of
 *   range or without witnesses, witnesses without a log key, a witness key
 *   that is the log's own time cosigner).
 */
export function parseWitnessPolicy(
  options: Pick<VerifyOptions, 'witnesses' | 'quorum'>,
  logKeys: readonly VerifierKey[],
): WitnessPolicy | undefined {
  const given = options.witnesses ?? [];
  if (!Array.isArray(given))
    throw new SealogError('E_CONFIG', 'witnesses must be a list of witness verifier keys');
  if (given.length === 0) {
    if (options.quorum !== undefined)
      throw new SealogError('E_CONFIG', 'quorum needs witnesses: give the witness verifier keys (--witness)');
    return undefined;
  }
  if (!logKeys.some((k) => k.type === SIG_TYPE_ED25519)) {
    throw new SealogError(
      'E_CONFIG',
      "witness cosignatures are counted only on checkpoints signed by the log's key: give the log's verifier key too (--key or --key-file)",
    );
  }
  const keys: VerifierKey[] = [];
  const byLabel = new Map<string, VerifierKey>();
  for (const [i, raw] of given.entries()) {
    let key: VerifierKey;
    try {
      key = parseVerifierKey(raw);
    } catch (err) {
      if (!isSealogError(err)) throw err;
      throw new SealogError('E_KEY', `witness key ${i + 1}: ${err.message}`, { cause: err });
    }
    if (key.type !== SIG_TYPE_COSIGNATURE) {
      throw new SealogError(
        'E_KEY',
        `witness key ${i + 1} (${key.name}) is a log signing key (type 0x01), not a witness cosigner key (type 0x04): give the key \`sealog witness keygen\` printed`,
      );
    }
    // The <log>/time cosigner is derived from the log's own seed: whoever
    // holds the log key can make its lines, so it cannot witness the log.
    // A cosignature/v1 signature does not cover the key's name, so a key is known by its
    // public key: the log's time key relabelled as "witness.example/notary" is still it.
    const log = logKeys.find(
      (k) =>
        k.vkey === key.vkey ||
        bytesEqual(k.publicKey, key.publicKey) ||
        `${k.name}${TIME_COSIGNER_SUFFIX}` === key.name,
    );
    if (log) {
      throw new SealogError(
        'E_CONFIG',
        `witness key ${i + 1} (${key.name}) is the log's own time cosigner key, which the log key's holder controls; a witness must be independent of the log`,
      );
    }
    const prior = byLabel.get(label(key));
    if (prior && prior.vkey !== key.vkey)
      throw new SealogError(
        'E_KEY',
        `two different witness keys share name and ID ${label(key)}; remove one`,
      );
    if (prior) continue; // the same witness twice counts once
    const twin = keys.find((k) => bytesEqual(k.publicKey, key.publicKey));
    if (twin) {
      // One key under two names would count twice toward the quorum.
      throw new SealogError(
        'E_KEY',
        `witness keys ${twin.name} and ${key.name} are the same public key under two names; a quorum counts independent witnesses, so give it once`,
      );
    }
    byLabel.set(label(key), key);
    keys.push(key);
  }
  const quorum = options.quorum ?? keys.length;
  if (!Number.isSafeInteger(quorum) || quorum < 1 || quorum > keys.length) {
    throw new SealogError(
      'E_CONFIG',
      `quorum must be an integer from 1 to ${keys.length} (the number of distinct witnesses given), got ${String(quorum)}`,
    );
  }
  return { keys, quorum, checked: new Map() };
}

/** Distinct notes whose witness lines are remembered (a ledger sealed every 1000 records has 1 per 1000). */
const CHECKED_NOTES = 4096;

/**
 * The given witnesses' cosignature/v1 lines on one note whose log signature
 * verified, each checked on its own; a line that names a given witness but
 * does not verify adds a `bad-cosignature` finding. Never throws.
 */
export function noteCosignatures(
  note: string,
  policy: WitnessPolicy,
  where: string,
  add: (f: Finding) => void,
): NoteCosignatures {
  // The same note text in many rows is checked once (red-team review, session 6: 2,000
  // copies of one padded note took 26 s); bounded, so distinct notes cannot grow it.
  const id = createHash('sha256').update(note).digest('hex');
  let r = policy.checked?.get(id);
  if (r === undefined) {
    try {
      r = verifyWitnessCosignatures(note, policy.keys, 1);
    } catch {
      return { cosigned: [], invalid: [] }; // the note opened, so it parses; never reached
    }
    if (policy.checked !== undefined && policy.checked.size < CHECKED_NOTES) policy.checked.set(id, r);
  }
  const invalid = policy.keys.filter((k) => r.invalid.includes(k.vkey)).map((k) => k.name);
  for (const name of invalid) {
    add({
      kind: 'bad-cosignature',
      message: `${where}: the cosignature line by witness ${name} does not verify over this checkpoint (a forged or altered witness cosignature)`,
    });
  }
  return { cosigned: r.cosigned, invalid };
}

/** One checkpoint as the verifier saw it: its result, the opened note, the witnesses' lines. */
export interface SeenCheckpoint {
  result: CheckpointResult;
  opened: OpenedNote | undefined;
  cosigs?: NoteCosignatures;
}

/**
 * Pools the witnesses' valid cosignatures per checkpoint body, marks every
 * opened checkpoint `witnessed` (≥ quorum distinct witnesses) with its
 * `witnesses`, and returns the records the newest valid witnessed checkpoint
 * covers and the summary for the report. `logSealed` is what the log's
 * signatures alone cover.
 */
export function judgeWitnesses(
  all: readonly SeenCheckpoint[],
  policy: WitnessPolicy,
  logSealed: number,
): { sealed: number; summary: WitnessSummary } {
  const bodies = new Map<string, Map<string, CheckpointWitness>>();
  for (const s of all) {
    if (!s.opened) continue;
    const key = bodyKey(s.opened);
    const got = bodies.get(key) ?? new Map<string, CheckpointWitness>();
    bodies.set(key, got);
    // A note with a forged witness line is rejected whole (signed-note: SHOULD reject).
    const lines = s.cosigs && s.cosigs.invalid.length === 0 ? s.cosigs.cosigned : [];
    for (const c of lines) {
      const had = got.get(c.verifierKey);
      if (!had || c.time > had.time) got.set(c.verifierKey, { name: c.name, time: c.time });
    }
  }
  // Internally by verifier key: two witnesses may share a name.
  const witnessesOf = (o: OpenedNote): (CheckpointWitness & { vkey: string })[] => {
    const got = bodies.get(bodyKey(o))!;
    return policy.keys.flatMap((k) => {
      const w = got.get(k.vkey);
      return w ? [{ ...w, vkey: k.vkey }] : [];
    });
  };
  let sealed = 0;
  let sealedBy: string[] = [];
  const valid = new Map<string, string[]>();
  for (const s of all) {
    if (!s.opened) continue;
    const witnesses = witnessesOf(s.opened);
    s.result.witnesses = witnesses.map((w) => ({ name: w.name, time: w.time }));
    s.result.witnessed = witnesses.length >= policy.quorum;
    if (!s.result.valid) continue;
    valid.set(
      bodyKey(s.opened),
      witnesses.map((w) => w.vkey),
    );
    if (s.result.witnessed && s.opened.size >= sealed) {
      sealed = s.opened.size;
      sealedBy = witnesses.map((w) => w.name);
    }
  }
  const lists = [...valid.values()];
  return {
    sealed,
    summary: {
      quorum: policy.quorum,
      witnesses: policy.keys.map((k) => ({
        name: k.name,
        vkey: k.vkey,
        cosigned: lists.filter((l) => l.includes(k.vkey)).length,
      })),
      checkpoints: lists.length,
      witnessed: lists.filter((l) => l.length >= policy.quorum).length,
      logSealed,
      sealedBy,
    },
  };
}
