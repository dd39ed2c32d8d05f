import { openCheckpoint } from '../checkpoint/signed.js';
import { isSealogError } from '../errors.js';
import { toHex } from '../note/encoding.js';
import {
  SIG_TYPE_COSIGNATURE,
  SIG_TYPE_ED25519,
  TIME_COSIGNER_SUFFIX,
  type VerifierKey,
} from '../note/keys.js';
import { parseNote } from '../note/note.js';
import type { FindingKind } from './types.js';

// The one place the verifier touches signed notes: it maps the note API's
// errors onto distinct finding kinds. The notes come from the ledger file or
// from files the operator supplied; either way they are hostile input, and
// parseNote/openCheckpoint never throw anything but SealogError on them.

/** A checkpoint note that opened: signature verified by a trusted log key. */
export interface OpenedNote {
  ok: true;
  origin: string;
  size: number;
  root: Buffer;
  /** Names of the trusted log (0x01) keys whose signatures verified. */
  signers: string[];
  /** Their key IDs, hex (key rotation: which of the keys of one name signed). */
  signerIds: string[];
  /** The verified time lines of `<origin>/time` keys: key ID (hex) and signed time. */
  times: { id: string; time: number }[];
  time?: number;
}

/** A checkpoint note that did not open, and why. */
export interface FailedNote {
  ok: false;
  kind: Extract<FindingKind, 'malformed-checkpoint' | 'bad-signature' | 'unknown-key'>;
  message: string;
}

/**
 * Parses and verifies one checkpoint note with the trusted keys. Distinguishes
 * a malformed note, a note signed only by keys we were not given
 * (unknown-key), and a signature by a trusted key that fails (bad-signature).
 * Origin is checked by the caller, which knows which origin to expect.
 * Never throws.
 */
export function checkNote(note: string, keys: readonly VerifierKey[]): OpenedNote | FailedNote {
  let signatures: { name: string; keyId: Uint8Array }[];
  try {
    signatures = parseNote(note).signatures;
  } catch (err) {
    return { ok: false, kind: 'malformed-checkpoint', message: errorText(err) };
  }
  const logKeys = new Set(keys.filter((k) => k.type === SIG_TYPE_ED25519).map((k) => label(k.name, k.keyId)));
  if (!signatures.some((s) => logKeys.has(label(s.name, s.keyId)))) {
    const by = [...new Set(signatures.map((s) => label(s.name, s.keyId)))].slice(0, 5).join(', ');
    return {
      ok: false,
      kind: 'unknown-key',
      message: `signed only by keys not given as trusted keys (${by})`,
    };
  }
  try {
    const opened = openCheckpoint(note, keys);
    const cp = opened.checkpoint;
    // Given this log's time cosigner key, its line is required: otherwise an
    // edited or dropped cosignature would silently lose the signed time.
    const timeName = `${cp.origin}${TIME_COSIGNER_SUFFIX}`;
    const wantsTime = keys.some((k) => k.type === SIG_TYPE_COSIGNATURE && k.name === timeName);
    if (wantsTime && !opened.verified.some((v) => v.type === SIG_TYPE_COSIGNATURE && v.name === timeName)) {
      return {
        ok: false,
        kind: 'bad-signature',
        message: `no valid cosignature (signed time) by the given ${timeName} key`,
      };
    }
    const result: OpenedNote = {
      ok: true,
      origin: cp.origin,
      size: cp.size,
      root: Buffer.from(cp.root),
      signers: opened.verified.filter((v) => v.type === SIG_TYPE_ED25519).map((v) => v.name),
      signerIds: opened.verified.filter((v) => v.type === SIG_TYPE_ED25519).map((v) => toHex(v.keyId)),
      times: opened.verified
        .filter((v) => v.type === SIG_TYPE_COSIGNATURE && v.name === timeName && v.time !== undefined)
        .map((v) => ({ id: toHex(v.keyId), time: v.time! })),
    };
    if (opened.time !== undefined) result.time = opened.time;
    return result;
  } catch (err) {
    const kind = isSealogError(err) && err.code === 'E_TAMPER' ? 'bad-signature' : 'malformed-checkpoint';
    return { ok: false, kind, message: errorText(err) };
  }
}

function label(name: string, keyId: Uint8Array): string {
  return `${name}+${toHex(keyId)}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The checkpoint body an opened note signs, as a map key: origin, size, root. */
export function bodyKey(o: Pick<OpenedNote, 'origin' | 'size' | 'root'>): string {
  return `${o.origin}\n${o.size}\n${o.root.toString('hex')}`;
}
