import { SealogError } from '../errors.js';
import { bytesEqual, decodeBase64, encodeBase64, toHex } from '../note/encoding.js';
import {
  parseVerifierKey,
  SIG_TYPE_COSIGNATURE,
  SIG_TYPE_ED25519,
  TIME_COSIGNER_SUFFIX,
  type VerifierKey,
} from '../note/keys.js';
import { parseNote, signNoteAsync, verifyNote } from '../note/note.js';
import { maxOf } from '../numbers.js';
import { sealogEntry, sealogString } from '../sealog-entry.js';
import type { PendingEntry } from '../store/types.js';
import type { CheckpointKey } from './types.js';

// Key rotation (docs/keys.md "Rotation"). The log's current key hands over to a
// new one with a signed statement, a signed note whose text is
//
//   sealog key rotation/v1
//   origin <origin>
//   size <tree size at the hand-over>
//   root <base64 RFC 6962 root at that size>
//   key <new log verifier key, type 0x01>
//   time <new time verifier key, type 0x04>
//
// signed by the outgoing log key (the endorsement) and by the new log key (proof
// that whoever rotated holds it). It is stored in the ledger as an entry, so it
// is hashed into the tree, sealed, exported and seen by monitors like any record
// (tlog-checkpoint advises against extension lines for exactly that reason).
//
// Why a statement and not "a checkpoint both keys sign": signature lines are
// separable. Anyone who can write the ledger file could insert an entry naming
// their key, wait for the honest writer to sign a checkpoint ending at it, and
// add their own line to that note. A statement that names the new key is signed
// only by someone who meant to endorse that key.
//
// The text cannot pass for a checkpoint: its second line is not a tree size.

const HEADER = 'sealog key rotation/v1';
/** Longest statement note we read (a few hundred bytes in practice). */
export const MAX_ROTATION_NOTE_BYTES = 4096;
/** Most signature lines a statement may carry. */
const MAX_ROTATION_SIGNATURES = 8;

/** A parsed statement; nothing in it is trusted until {@link followKeyChain} accepts it. */
export interface RotationStatement {
  origin: string;
  size: number;
  root: Uint8Array;
  key: VerifierKey;
  timeKey: VerifierKey;
  /** The whole signed note. */
  note: string;
}

function bad(what: string): SealogError {
  return new SealogError('E_FORMAT', `malformed key rotation statement: ${what}`);
}

/** The statement text (ending in a newline). */
export function rotationText(s: {
  origin: string;
  size: number;
  root: Uint8Array;
  key: string;
  timeKey: string;
}): string {
  return `${HEADER}\norigin ${s.origin}\nsize ${s.size}\nroot ${encodeBase64(s.root)}\nkey ${s.key}\ntime ${s.timeKey}\n`;
}

/**
 * Signs the hand-over from `from` to `to` at the head (`size`, `root`): the
 * statement note, signed by the outgoing log key and then the new one.
 * @throws SealogError E_KEY when the names differ (a rotation keeps the origin) or the keys are the same.
 */
export async function signRotation(
  head: { size: number; root: Uint8Array },
  from: CheckpointKey,
  to: CheckpointKey,
): Promise<string> {
  if (from.name !== to.name) {
    throw new SealogError(
      'E_KEY',
      `the new key is named ${JSON.stringify(to.name)} but the log's key is ${JSON.stringify(from.name)}; a rotation keeps the origin: generate the new key with --name ${from.name}`,
    );
  }
  if (
    bytesEqual(from.log.publicKey, to.log.publicKey) ||
    bytesEqual(from.time.publicKey, to.time.publicKey)
  ) {
    throw new SealogError('E_KEY', 'the new key is the current key; generate a new one');
  }
  const text = rotationText({
    origin: from.name,
    size: head.size,
    root: head.root,
    key: to.log.verifierKey,
    timeKey: to.time.verifierKey,
  });
  return signNoteAsync(text, [from.log, to.log]);
}

/** The ledger entry that carries a statement (`_sealog` at the top level is sealog's own). */
export function rotationEntry(
  note: string,
  statement: Pick<RotationStatement, 'origin' | 'size'> & { key: Pick<VerifierKey, 'name' | 'keyId'> },
  now: number,
): PendingEntry {
  return sealogEntry(
    { keyRotation: note },
    `sealog: checkpoint key of ${statement.origin} rotated at size ${statement.size} to ${statement.key.name}+${toHex(statement.key.keyId)}`,
    now,
  );
}

/** The statement note a stored entry carries, if it is a rotation entry. Never throws. */
export function rotationNoteOf(entry: string): string | undefined {
  return sealogString(entry, 'keyRotation');
}

/**
 * Parses a statement note (signatures not checked). Hostile input: bounded,
 * every line exact, both keys parsed, named after the origin, of the right type.
 * @throws SealogError E_FORMAT / E_KEY.
 */
export function parseRotation(note: string): RotationStatement {
  if (note.length > MAX_ROTATION_NOTE_BYTES) throw bad(`larger than ${MAX_ROTATION_NOTE_BYTES} bytes`);
  const { text, signatures } = parseNote(note);
  // Two lines are made (old key, new key); a few more are tolerated, a pile is not (each costs a check).
  if (signatures.length > MAX_ROTATION_SIGNATURES)
    throw bad(`more than ${MAX_ROTATION_SIGNATURES} signature lines`);
  const lines = text.slice(0, -1).split('\n');
  if (lines.length !== 6 || lines[0] !== HEADER) throw bad(`expected 6 lines starting "${HEADER}"`);
  const field = (i: number, name: string): string => {
    const line = lines[i]!;
    if (!line.startsWith(`${name} `)) throw bad(`line ${i + 1} must start with "${name} "`);
    return line.slice(name.length + 1);
  };
  const origin = field(1, 'origin');
  const sizeText = field(2, 'size');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText)))
    throw bad('size is not a tree size');
  // The empty tree's root is every ledger's: a hand-over at size 0 could be replayed into any
  // ledger of the same key. A rotation needs a ledger with records (an empty one: just switch).
  if (sizeText === '0') throw bad('size 0: a hand-over names a tree with records');
  const root = decodeBase64(field(3, 'root'), 32);
  if (root?.length !== 32) throw bad('root is not base64 of 32 bytes');
  const key = parseVerifierKey(field(4, 'key'));
  const timeKey = parseVerifierKey(field(5, 'time'));
  if (key.type !== SIG_TYPE_ED25519 || key.name !== origin)
    throw bad('the new key must be a type 0x01 key named like the origin');
  if (timeKey.type !== SIG_TYPE_COSIGNATURE || timeKey.name !== `${origin}${TIME_COSIGNER_SUFFIX}`)
    throw bad(`the new time key must be a type 0x04 key named ${origin}${TIME_COSIGNER_SUFFIX}`);
  return { origin, size: Number(sizeText), root, key, timeKey, note };
}

/** A trusted key and the tree sizes its checkpoints may have (log keys; time keys alike). */
export interface KeySpan {
  key: VerifierKey;
  /** Smallest size it may sign: 0 for a given key, the hand-over size for an endorsed one. */
  from: number;
  /** Largest size it may sign, once it handed over (inclusive); undefined while current. */
  until?: number;
  /** Where the key came from: given by the verifier, or the seq of the entry that endorsed it. */
  via: 'given' | number;
}

/** What following the chain found wrong. */
export interface ChainProblem {
  kind: 'forged-rotation' | 'key-fork';
  seq: number;
  message: string;
}

/** The trusted keys after following every rotation statement from the given ones. */
export interface KeyChain {
  /** Log (0x01) keys with their spans. */
  spans: KeySpan[];
  /**
   * Time (0x04) keys with their spans: the given ones until the first hand-over,
   * each endorsed one from its hand-over. Empty unless a time key was given
   * (then signed time is not being checked, and old checkpoints need none).
   */
  timeSpans: KeySpan[];
  /** Accepted hand-overs: the size each one must match the ledger's root at. */
  handovers: { seq: number; size: number; root: Uint8Array; from: string; to: string }[];
  problems: ChainProblem[];
}

const label = (k: { name: string; keyId: Uint8Array }) => `${k.name}+${toHex(k.keyId)}`;
const allows = (sp: KeySpan, size: number) => sp.from <= size && (sp.until === undefined || size <= sp.until);

/** The keys without repeats (the same key given twice must not keep a second, open span). */
function distinct(keys: readonly VerifierKey[]): VerifierKey[] {
  const seen = new Set<string>();
  return keys.filter((k) => {
    const id = `${k.type}:${toHex(k.publicKey)}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/**
 * Follows rotation statements, in ledger order, from the keys the verifier
 * gave. A statement is accepted when it sits at or after the size it hands
 * over at, and verifies under a log key that may sign at that size (given, or
 * endorsed by an earlier accepted statement) other than the new key, AND under
 * the new key it names. The endorsing key then signs nothing larger than that
 * size and the new key nothing smaller; the time keys follow (the given ones
 * end at the first hand-over, the endorsed one starts there). A statement
 * signed by a key that already handed over, naming another successor, is a
 * fork; one no trusted key signed is forged. The caller checks each accepted
 * hand-over's root against the ledger. Never throws: statements are attacker input.
 */
export function followKeyChain(
  given: readonly VerifierKey[],
  statements: readonly { seq: number; note: string }[],
): KeyChain {
  const keys = distinct(given);
  const spans: KeySpan[] = keys
    .filter((k) => k.type === SIG_TYPE_ED25519)
    .map((key) => ({ key, from: 0, via: 'given' as const }));
  const timeSpans: KeySpan[] = keys
    .filter((k) => k.type === SIG_TYPE_COSIGNATURE)
    .map((key) => ({ key, from: 0, via: 'given' as const }));
  const chain: KeyChain = { spans, timeSpans, handovers: [], problems: [] };
  /** The statement text each key handed over with, to tell a copy from a fork. */
  const accepted = new Map<string, string>();
  const seen = new Set<string>();
  for (const { seq, note } of [...statements].sort((a, b) => a.seq - b.seq)) {
    if (seen.has(note)) continue; // a copy of a statement already judged changes nothing
    seen.add(note);
    let s: RotationStatement;
    try {
      s = parseRotation(note);
    } catch (err) {
      chain.problems.push({
        kind: 'forged-rotation',
        seq,
        message: `entry ${seq}: ${(err as Error).message}`,
      });
      continue;
    }
    const where = `key rotation at entry ${seq} (size ${s.size}, to ${label(s.key)})`;
    const forged = (why: string) =>
      chain.problems.push({ kind: 'forged-rotation', seq, message: `${where} ${why}` });
    // A key that already handed over still counts as the signer here, so that its second
    // hand-over is reported as the fork it is rather than as a stranger's forgery. The new
    // key never endorses itself.
    const endorser = spans.find(
      (sp) =>
        sp.key.name === s.origin &&
        sp.from <= s.size &&
        !bytesEqual(sp.key.publicKey, s.key.publicKey) &&
        signedBy(s.note, sp.key),
    );
    if (endorser === undefined) {
      forged('is not signed by a trusted key that may sign at that size: forged, or a damaged copy');
      continue;
    }
    if (endorser.until !== undefined) {
      // The accepted hand-over again, with other lines added: a copy, nothing new.
      const body = parseNote(s.note).text;
      if (accepted.get(label(endorser.key)) === body && signedBy(s.note, s.key)) continue;
      chain.problems.push({
        kind: 'key-fork',
        seq,
        message: `${where}: ${label(endorser.key)} already handed over at size ${endorser.until}; a key endorsing two successors means someone else holds a copy of it`,
      });
      continue;
    }
    if (s.size > seq) {
      forged('hands over at a size its own entry comes before: not made by `sealog key rotate`');
      continue;
    }
    if (!signedBy(s.note, s.key)) {
      forged('is not signed by the new key it names: forged or damaged');
      continue;
    }
    const existing = spans.find((sp) => bytesEqual(sp.key.publicKey, s.key.publicKey));
    if (existing !== undefined && existing.via !== 'given') {
      chain.problems.push({
        kind: 'key-fork',
        seq,
        message: `${where}: the new key already took over at size ${existing.from}; a rotation back to a key is refused`,
      });
      continue;
    }
    endorser.until = s.size;
    accepted.set(label(endorser.key), parseNote(s.note).text);
    // A new key the verifier also gave stays trusted for every size, as given.
    if (existing === undefined) spans.push({ key: s.key, from: s.size, via: seq });
    if (timeSpans.length > 0) {
      for (const t of timeSpans) if (t.until === undefined && t.key.name === s.timeKey.name) t.until = s.size;
      const t = timeSpans.find((sp) => bytesEqual(sp.key.publicKey, s.timeKey.publicKey));
      if (t === undefined) timeSpans.push({ key: s.timeKey, from: s.size, via: seq });
      else t.until = undefined; // given too: it stays open
    }
    chain.handovers.push({ seq, size: s.size, root: s.root, from: label(endorser.key), to: label(s.key) });
  }
  return chain;
}

function signedBy(note: string, key: VerifierKey): boolean {
  try {
    return verifyNote(note, [key]).verified.length > 0;
  } catch {
    return false;
  }
}

/** Every key the chain knows, log and time; which may sign at a size is the spans' business. */
export function chainKeys(chain: KeyChain): VerifierKey[] {
  return [...chain.spans.map((sp) => sp.key), ...chain.timeSpans.map((sp) => sp.key)];
}

/** Whether `span` allows a checkpoint of `size`. */
export function spanAllows(span: KeySpan, size: number): boolean {
  return allows(span, size);
}

/**
 * Why a checkpoint of `size` does not count under the chain, or undefined when
 * it does. `signerIds` are the hex key IDs of its verified log signatures,
 * `times` its verified cosignature/v1 lines of the origin's time keys. It
 * counts when a log key allowed at `size` signed it and, when time keys are
 * followed, a time key allowed at `size` stamped it; its signed time is then
 * the latest such stamp (returned), never one by a time key that handed over.
 */
export function judgeAtSize(
  chain: KeyChain,
  size: number,
  signerIds: readonly string[],
  times: readonly { id: string; time: number }[],
): { retired?: string; time?: number } {
  const allowed = chain.spans.filter((sp) => allows(sp, size));
  if (!signerIds.some((id) => allowed.some((sp) => toHex(sp.key.keyId) === id))) {
    const retired = chain.spans.filter((sp) => signerIds.includes(toHex(sp.key.keyId)));
    const how = retired
      .map((sp) =>
        sp.until !== undefined && size > sp.until
          ? `${sp.key.name}+${toHex(sp.key.keyId)} handed over at size ${sp.until}`
          : `${sp.key.name}+${toHex(sp.key.keyId)} takes over only at size ${sp.from}`,
      )
      .join('; ');
    return { retired: `signed only by keys not allowed at size ${size} (${how})` };
  }
  if (chain.timeSpans.length === 0) return {};
  const allowedTimes = chain.timeSpans.filter((sp) => allows(sp, size)).map((sp) => toHex(sp.key.keyId));
  const good = times.filter((t) => allowedTimes.includes(t.id));
  if (good.length === 0) {
    return {
      retired: `no signed time by a time key allowed at size ${size}${times.length > 0 ? ' (its time line is by a time key that handed over)' : ''}`,
    };
  }
  return { time: maxOf(good.map((t) => t.time)) };
}
