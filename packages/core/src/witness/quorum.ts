import { SealogError } from '../errors.js';
import { bytesEqual, encodeBase64 } from '../note/encoding.js';
import { parseVerifierKey, SIG_TYPE_COSIGNATURE, type VerifierKey } from '../note/keys.js';
import { parseNote, verifyNote } from '../note/note.js';

/** One witness that validly cosigned. */
export interface WitnessCosignature {
  /** The witness key name, e.g. `witness.example.com/w1`. */
  name: string;
  /** Its verifier key string (`name+id+base64(0x04 ‖ pub)`). */
  verifierKey: string;
  /** The signed time (POSIX seconds) of its cosignature/v1 line. */
  time: number;
}

/** The witnesses' verdict on one checkpoint note. */
export interface WitnessQuorumResult {
  /** Trusted witnesses whose cosignature verifies, one entry per witness, in the order of `witnesses`. */
  cosigned: WitnessCosignature[];
  /** Trusted witnesses with a line that does NOT verify (name+keyId match, signature fails): tampering. */
  invalid: string[];
  /** Distinct valid cosigners ≥ quorum and no invalid line (signed-note: such a note SHOULD be rejected). */
  quorumMet: boolean;
  quorum: number;
}

function witnessKey(k: VerifierKey | string): VerifierKey {
  const key = typeof k === 'string' ? parseVerifierKey(k) : k;
  if (key.type !== SIG_TYPE_COSIGNATURE)
    throw new SealogError('E_KEY', `witness key ${key.name} is not a cosigner key (type 0x04)`);
  return key;
}

/**
 * Checks a checkpoint note's witness cosignatures (tlog-cosignature
 * cosignature/v1 over the note text) against trusted witness keys and a
 * quorum. Lines by other keys (the log's, unknown witnesses) are ignored.
 * Each matching line is checked on its own with {@link verifyNote}, so one
 * bad line is reported by name instead of hiding the others. The log's own
 * signature is NOT checked here: open the checkpoint with the log key too.
 * @throws SealogError E_FORMAT (malformed note), E_KEY (a witness key that is
 *   malformed or not type 0x04), E_CONFIG (quorum not an integer from 1 to the number of witnesses).
 */
export function verifyWitnessCosignatures(
  note: string | Uint8Array,
  witnesses: readonly (VerifierKey | string)[],
  quorum: number,
): WitnessQuorumResult {
  const keys = witnesses.map(witnessKey);
  if (!Number.isSafeInteger(quorum) || quorum < 1 || quorum > keys.length)
    throw new SealogError(
      'E_CONFIG',
      `witness quorum must be an integer from 1 to ${keys.length}, got ${String(quorum)}`,
    );
  const parsed = parseNote(note);
  const cosigned: WitnessCosignature[] = [];
  const invalid: string[] = [];
  for (const key of keys) {
    if (cosigned.some((c) => c.verifierKey === key.vkey) || invalid.includes(key.vkey)) continue; // listed twice
    let best: number | undefined;
    let bad = false;
    // The same line repeated is checked once: a note padded with copies of one genuine
    // line must not cost one Ed25519 verification each (red-team review, session 6).
    const checked = new Set<string>();
    for (const sig of parsed.signatures) {
      if (sig.name !== key.name || !bytesEqual(sig.keyId, key.keyId)) continue;
      const line = `\u2014 ${sig.name} ${encodeBase64(Buffer.concat([sig.keyId, sig.signature]))}\n`;
      if (checked.has(line)) continue;
      checked.add(line);
      try {
        const time = verifyNote(`${parsed.text}\n${line}`, [key]).verified[0]?.time;
        if (time !== undefined && (best === undefined || time > best)) best = time;
      } catch (err) {
        if (err instanceof SealogError && err.code === 'E_TAMPER') bad = true;
        else throw err;
      }
    }
    if (bad) invalid.push(key.vkey);
    else if (best !== undefined) cosigned.push({ name: key.name, verifierKey: key.vkey, time: best });
  }
  return { cosigned, invalid, quorumMet: invalid.length === 0 && cosigned.length >= quorum, quorum };
}

/**
 * Appends witness signature lines (from {@link addCheckpoint}) to a signed
 * note, skipping lines already present: tlog-witness §add-checkpoint, "move
 * the valid signatures to its own view of the checkpoint". Only shape is
 * checked; verify the result with {@link verifyWitnessCosignatures}.
 * @throws SealogError E_FORMAT if the note or a line is malformed.
 */
export function mergeCosignatures(note: string, lines: readonly string[]): string {
  const base = parseNote(note);
  let out = note;
  const have = new Set(note.slice(base.text.length + 1).split('\n'));
  for (const raw of lines) {
    const line = raw.endsWith('\n') ? raw.slice(0, -1) : raw;
    if (have.has(line)) continue;
    out += `${line}\n`;
    have.add(line);
  }
  const merged = parseNote(out); // every added line must itself be a signature line
  if (merged.text !== base.text)
    throw new SealogError('E_FORMAT', 'a cosignature line is not a note signature line');
  return out;
}
