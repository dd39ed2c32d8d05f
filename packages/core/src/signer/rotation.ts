import { canonicalJson } from '../encode.js';
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
export function rotationEntry(note: string, statement: RotationStatement, now: number): PendingEntry {
  const record = {
    _sealog: { keyRotation: note },
    level: 30,
    levelLabel: 'info',
    msg: `sealog: checkpoint key of ${statement.origin} rotated at size ${statement.size} to ${statement.key.name}+${toHex(statement.key.keyId)}`,
    time: now,
  };
  return { entry: Buffer.from(canonicalJson(record), 'utf8'), ts: now };
}

/** The statement note a stored entry carries, if it is a rotation entry. Never throws. */
export function rotationNoteOf(entry: string): string | undefined {
  // Cheap test first: verify calls this on every candidate row.
  if (!entry.includes('"keyRotation"')) return undefined;
  let record: unknown;
  try {
    record = JSON.parse(entry);
  } catch {
    return undefined;
  }
  const meta = (record as { _sealog?: unknown } | null)?._sealog;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const note = (meta as { keyRotation?: unknown }).keyRotation;
  return typeof note === 'string' ? note : undefined;
}

/**
 * Parses a statement note (signatures not checked). Hostile input: bounded,
 * every line exact, both keys parsed, named after the origin, of the right type.
 * @throws SealogError E_FORMAT / E_KEY.
 */
export function parseRotation(note: string): RotationStatement {
  if (note.length > MAX_ROTATION_NOTE_BYTES) throw bad(`larger than ${MAX_ROTATION_NOTE_BYTES} bytes`);
  const { text } = parseNote(note);
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
  const root = decodeBase64(field(3, 'root'), 32);
  if (!root || root.length !== 32) throw bad('root is not base64 of 32 bytes');
  const key = parseVerifierKey(field(4, 'key'));
  const timeKey = parseVerifierKey(field(5, 'time'));
  if (key.type !== SIG_TYPE_ED25519 || key.name !== origin)
    throw bad('the new key must be a type 0x01 key named like the origin');
  if (timeKey.type !== SIG_TYPE_COSIGNATURE || timeKey.name !== `${origin}${TIME_COSIGNER_SUFFIX}`)
    throw bad(`the new time key must be a type 0x04 key named ${origin}${TIME_COSIGNER_SUFFIX}`);
  return { origin, size: Number(sizeText), root, key, timeKey, note };
}

/** A trusted log key and the tree sizes its checkpoints may have. */
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
  /** Time (0x04) keys endorsed by rotations (the given ones stay as given). */
  timeKeys: VerifierKey[];
  /** Accepted hand-overs: the size each one must match the ledger's root at. */
  handovers: { seq: number; size: number; root: Uint8Array; from: string; to: string }[];
  problems: ChainProblem[];
}

const label = (k: { name: string; keyId: Uint8Array }) => `${k.name}+${toHex(k.keyId)}`;

/**
 * Follows rotation statements from the keys the verifier gave. A statement is
 * accepted when it verifies under a log key that may sign at its size (given,
 * or endorsed by an earlier accepted statement) AND under the new key it names;
 * the endorsing key then signs nothing larger than that size and the new key
 * nothing smaller. Anything else is a forged rotation; a key that endorses two
 * different successors is a fork. Statements are taken in (size, seq) order.
 * The caller checks each accepted hand-over's root against the ledger.
 * Never throws: statements are attacker input.
 */
export function followKeyChain(
  given: readonly VerifierKey[],
  statements: readonly { seq: number; note: string }[],
): KeyChain {
  const spans: KeySpan[] = given
    .filter((k) => k.type === SIG_TYPE_ED25519)
    .map((key) => ({ key, from: 0, via: 'given' as const }));
  const chain: KeyChain = { spans, timeKeys: [], handovers: [], problems: [] };
  const parsed: { seq: number; s: RotationStatement }[] = [];
  for (const { seq, note } of statements) {
    try {
      parsed.push({ seq, s: parseRotation(note) });
    } catch (err) {
      chain.problems.push({
        kind: 'forged-rotation',
        seq,
        message: `entry ${seq}: ${(err as Error).message}`,
      });
    }
  }
  parsed.sort((a, b) => a.s.size - b.s.size || a.seq - b.seq);
  for (const { seq, s } of parsed) {
    const where = `key rotation at entry ${seq} (size ${s.size}, to ${label(s.key)})`;
    // A key that already handed over still counts as the signer here, so that its second
    // hand-over is reported as the fork it is rather than as a stranger's forgery.
    const candidates = spans.filter((sp) => sp.key.name === s.origin && sp.from <= s.size);
    let endorser: KeySpan | undefined;
    for (const sp of candidates) {
      if (signedBy(s.note, sp.key)) {
        endorser = sp;
        break;
      }
    }
    if (endorser === undefined) {
      chain.problems.push({
        kind: 'forged-rotation',
        seq,
        message: `${where} is not signed by a trusted key that may sign at that size: forged`,
      });
      continue;
    }
    if (!signedBy(s.note, s.key)) {
      chain.problems.push({
        kind: 'forged-rotation',
        seq,
        message: `${where} is not signed by the new key it names: forged or damaged`,
      });
      continue;
    }
    const existing = spans.find((sp) => bytesEqual(sp.key.publicKey, s.key.publicKey));
    if (endorser.until !== undefined) {
      // Already handed over: the same hand-over again is a copy; a different one is a fork.
      if (existing === undefined || existing.from !== s.size) {
        chain.problems.push({
          kind: 'key-fork',
          seq,
          message: `${where}: ${label(endorser.key)} already handed over at size ${endorser.until}; a key endorsing two successors means it was used by someone else`,
        });
      }
      continue;
    }
    if (existing !== undefined) {
      chain.problems.push({
        kind: 'key-fork',
        seq,
        message: `${where}: the new key is already trusted; a rotation back to a key is refused`,
      });
      continue;
    }
    endorser.until = s.size;
    spans.push({ key: s.key, from: s.size, via: seq });
    chain.timeKeys.push(s.timeKey);
    chain.handovers.push({
      seq,
      size: s.size,
      root: s.root,
      from: label(endorser.key),
      to: label(s.key),
    });
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

/** The keys whose span allows a checkpoint of `size` (log keys only). */
export function keysAt(chain: KeyChain, size: number): VerifierKey[] {
  return chain.spans
    .filter((sp) => sp.from <= size && (sp.until === undefined || size <= sp.until))
    .map((sp) => sp.key);
}
