import { SealogError } from '../errors.js';
import { cosignatureMessage, cosignerAt, decodeTimestampedSignature } from './cosignature.js';
import { ED25519_SIGNATURE_SIZE, ed25519Verify } from './ed25519.js';
import { bytesEqual, decodeBase64, encodeBase64, keyNameProblem, toHex } from './encoding.js';
import {
  type Cosigner,
  type NoteSigner,
  parseVerifierKey,
  SIG_TYPE_COSIGNATURE,
  type VerifierKey,
} from './keys.js';

/** Largest note accepted (bytes). Checkpoints are ~200 bytes; this leaves room for 100 post-quantum signatures. */
export const MAX_NOTE_BYTES = 1 << 20;
/** Most signature lines accepted; signed-note §Format requires at least 16, x/mod allows 100. */
export const MAX_NOTE_SIGNATURES = 100;
/** Largest decoded signature (key ID + payload); PQ signatures are "up to nearly 5kB". */
const MAX_SIGNATURE_BYTES = 4 + 8192;
const SIG_PREFIX = '\u2014 '; // em dash U+2014, space (signed-note §Format)

/** One signature line as parsed; nothing about it is trusted yet. */
export interface NoteSignature {
  name: string;
  keyId: Uint8Array;
  /** The bytes after the key ID. */
  signature: Uint8Array;
}

/** A parsed, unverified note. `text` includes its final newline. */
export interface ParsedNote {
  text: string;
  signatures: NoteSignature[];
}

/** A signature that verified under a trusted key. `time` is set for cosignature/v1 (0x04) lines. */
export interface VerifiedSignature {
  name: string;
  keyId: Uint8Array;
  type: number;
  /** Signed POSIX time in seconds, from a tlog-cosignature timestamped_signature. */
  time?: number;
}

export interface VerifiedNote {
  text: string;
  verified: VerifiedSignature[];
  /** Signatures by keys not given; signed-note says ignore them, we report them. */
  unknown: { name: string; keyId: Uint8Array }[];
}

function formatError(what: string): SealogError {
  return new SealogError('E_FORMAT', `malformed signed note: ${what}`);
}

// signed-note §Format: no ASCII control characters other than newline.
const FORBIDDEN_CONTROL_RE = /[\u0000-\u0009\u000b-\u001f]/;

/** Decodes/bounds the raw note and checks the character rules. Throws E_FORMAT. */
function noteString(note: string | Uint8Array): string {
  let s: string;
  if (typeof note === 'string') {
    if (note.length > MAX_NOTE_BYTES || Buffer.byteLength(note, 'utf8') > MAX_NOTE_BYTES)
      throw formatError('too large');
    if (!note.isWellFormed()) throw formatError('not valid UTF-8');
    s = note;
  } else if (note instanceof Uint8Array) {
    if (note.length > MAX_NOTE_BYTES) throw formatError('too large');
    try {
      // ignoreBOM keeps a leading U+FEFF as text, so the text is exactly the signed bytes.
      s = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(note);
    } catch {
      throw formatError('not valid UTF-8');
    }
  } else {
    throw formatError('expected a string or bytes');
  }
  if (FORBIDDEN_CONTROL_RE.test(s)) throw formatError('contains a control character other than newline');
  return s;
}

/**
 * Parses a signed note (C2SP signed-note §Format) without verifying it: the
 * text (ending in newline), the last blank line, then one or more lines
 * `— <key name> <base64(key ID ‖ signature)>`. Hostile input: size and
 * signature count are bounded, names and base64 are checked strictly.
 * @throws SealogError E_FORMAT on anything malformed; never anything else.
 */
export function parseNote(note: string | Uint8Array): ParsedNote {
  const s = noteString(note);
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw formatError('no blank line before the signatures');
  const text = s.slice(0, split + 1);
  const block = s.slice(split + 2);
  if (block === '' || !block.endsWith('\n'))
    throw formatError('signature block missing or not newline-terminated');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw formatError(`more than ${MAX_NOTE_SIGNATURES} signatures`);
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    if (!line.startsWith(SIG_PREFIX)) throw formatError('a signature line does not start with "— "');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0) throw formatError('a signature line has no space between name and signature');
    const name = rest.slice(0, space);
    if (keyNameProblem(name)) throw formatError('a signature line has an invalid key name');
    const raw = decodeBase64(rest.slice(space + 1), MAX_SIGNATURE_BYTES);
    if (!raw || raw.length < 5) throw formatError('a signature is not standard base64 of at least 5 bytes');
    signatures.push({ name, keyId: raw.slice(0, 4), signature: raw.slice(4) });
  }
  return { text, signatures };
}

/**
 * Signs `text` (which must end in a newline) with every signer, in order
 * (signed-note §Format). Time cosigners come from {@link cosignerAt}.
 * @throws SealogError E_FORMAT if the text could not form a valid note; E_KEY for an invalid signer name.
 */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkSignable(text, signers.length);
  const bytes = Buffer.from(text, 'utf8');
  let out = `${text}\n`;
  for (const signer of signers) out += signatureLine(signer, signer.sign(bytes));
  return out;
}

/**
 * {@link signNote} for signers that answer asynchronously (a key on a PKCS#11
 * token): same checks, same bytes, signers called one after another.
 */
export async function signNoteAsync(text: string, signers: readonly AsyncNoteSigner[]): Promise<string> {
  checkSignable(text, signers.length);
  const bytes = Buffer.from(text, 'utf8');
  let out = `${text}\n`;
  for (const signer of signers) out += signatureLine(signer, await signer.sign(bytes));
  return out;
}

/** A {@link NoteSigner} whose `sign` returns a promise. */
export interface AsyncNoteSigner {
  readonly name: string;
  readonly keyId: Uint8Array;
  sign(text: Uint8Array): Promise<Uint8Array>;
}

function checkSignable(text: string, count: number): void {
  if (typeof text !== 'string' || !text.endsWith('\n'))
    throw formatError('note text must end with a newline');
  noteString(text);
  if (count === 0 || count > MAX_NOTE_SIGNATURES) {
    throw formatError(`a note needs 1..${MAX_NOTE_SIGNATURES} signers`);
  }
}

/** `— <name> base64(key ID ‖ signature)\n` (signed-note §Format). @throws SealogError E_KEY for a bad name. */
function signatureLine(signer: { name: string; keyId: Uint8Array }, sig: Uint8Array): string {
  const problem = keyNameProblem(signer.name);
  if (problem) throw new SealogError('E_KEY', `signer name ${JSON.stringify(signer.name)} ${problem}`);
  const raw = new Uint8Array(4 + sig.length);
  raw.set(signer.keyId.subarray(0, 4), 0);
  raw.set(sig, 4);
  return `${SIG_PREFIX}${signer.name} ${encodeBase64(raw)}\n`;
}

function keyLabel(name: string, keyId: Uint8Array): string {
  return `${name}+${toHex(keyId)}`;
}

/** Checks one signature under one trusted key; returns the signed time for 0x04. */
function checkSignature(key: VerifierKey, text: Uint8Array, sig: Uint8Array): { ok: boolean; time?: number } {
  if (key.type === SIG_TYPE_COSIGNATURE) {
    const ts = decodeTimestampedSignature(sig);
    if (!ts) return { ok: false };
    return {
      ok: ed25519Verify(key.publicKey, cosignatureMessage(text, ts.time), ts.signature),
      time: ts.time,
    };
  }
  return { ok: sig.length === ED25519_SIGNATURE_SIZE && ed25519Verify(key.publicKey, text, sig) };
}

/**
 * Parses and verifies a note against trusted verifier keys (signed-note
 * §Signatures): lines whose (name, key ID) match no trusted key are reported in
 * `unknown`; a line matching a trusted key MUST verify (else E_TAMPER, the
 * SHOULD-reject option); at least one trusted signature must verify.
 * Keys of type 0x04 check tlog-cosignature/v1 lines and report their time.
 * @throws SealogError E_FORMAT (malformed note), E_KEY (bad or ambiguous verifier
 *   keys), E_TAMPER (a trusted signature fails, or none is present).
 */
export function verifyNote(
  note: string | Uint8Array,
  verifiers: readonly (VerifierKey | string)[],
): VerifiedNote {
  const known = new Map<string, VerifierKey>();
  for (const v of verifiers) {
    const key = typeof v === 'string' ? parseVerifierKey(v) : v;
    const label = keyLabel(key.name, key.keyId);
    const prior = known.get(label);
    if (prior && !(prior.type === key.type && bytesEqual(prior.publicKey, key.publicKey))) {
      throw new SealogError('E_KEY', `two different trusted keys share name and ID ${label}; remove one`);
    }
    known.set(label, key);
  }
  const parsed = parseNote(note);
  const text = Buffer.from(parsed.text, 'utf8');
  const verified: VerifiedSignature[] = [];
  const unknown: { name: string; keyId: Uint8Array }[] = [];
  const seen = new Set<string>();
  for (const sig of parsed.signatures) {
    const label = keyLabel(sig.name, sig.keyId);
    const key = known.get(label);
    if (!key) {
      if (!seen.has(label)) unknown.push({ name: sig.name, keyId: sig.keyId });
      seen.add(label);
      continue;
    }
    const result = checkSignature(key, text, sig.signature);
    if (!result.ok)
      throw new SealogError('E_TAMPER', `the signature by trusted key ${label} does not verify`);
    if (seen.has(label)) continue; // a repeated valid line adds nothing
    seen.add(label);
    const entry: VerifiedSignature = { name: sig.name, keyId: sig.keyId, type: key.type };
    if (result.time !== undefined) entry.time = result.time;
    verified.push(entry);
  }
  if (verified.length === 0) {
    throw new SealogError(
      'E_TAMPER',
      `no signature by a trusted key (signed by: ${unknown.map((u) => keyLabel(u.name, u.keyId)).join(', ') || 'nobody'})`,
    );
  }
  return { text: parsed.text, verified, unknown };
}

/**
 * One cosignature/v1 line (tlog-cosignature) for a checkpoint body, stamped
 * `timeSeconds`, ending in a newline: append it to a signed note's signatures.
 * @throws SealogError E_FORMAT for an invalid body, E_CONFIG for a bad time.
 */
export function cosign(checkpointBody: string, cosigner: Cosigner, timeSeconds: number): string {
  const note = signNote(checkpointBody, [cosignerAt(cosigner, timeSeconds)]);
  return note.slice(checkpointBody.length + 1);
}

/**
 * Verifies one cosignature line over `checkpointBody` with a 0x04 verifier key
 * and returns its signed time (POSIX seconds).
 * @throws SealogError E_FORMAT (malformed), E_KEY (not a 0x04 key), E_TAMPER (does not verify or is by another key).
 */
export function verifyCosignature(
  checkpointBody: string,
  line: string,
  cosignerKey: VerifierKey | string,
): number {
  const key = typeof cosignerKey === 'string' ? parseVerifierKey(cosignerKey) : cosignerKey;
  if (key.type !== SIG_TYPE_COSIGNATURE)
    throw new SealogError('E_KEY', 'expected a cosigner verifier key (type 0x04)');
  const result = verifyNote(`${checkpointBody}\n${line.endsWith('\n') ? line : `${line}\n`}`, [key]);
  const time = result.verified[0]?.time;
  if (time === undefined) throw new SealogError('E_TAMPER', 'no cosignature by the given key');
  return time;
}
