import { canonicalJson } from '../encode.js';
import { SealogError } from '../errors.js';
import { HASH_SIZE } from '../hash.js';
import { decodeBase64, encodeBase64 } from '../note/encoding.js';
import { parseNote, signNoteAsync } from '../note/note.js';
import { sealogEntry, sealogString } from '../sealog-entry.js';
import type { PendingEntry } from '../store/types.js';
import { TIME_UNKNOWN } from '../time.js';
import type { CheckpointKey } from './types.js';

// Erasure of a record's body (issue 18 item 4b, docs/lifecycle.md "Erasure").
// The ledger's checkpoint key authorises it with a signed note whose text is
//
//   sealog erasure/v1
//   origin <origin>
//   size <tree size of a checkpoint covering every named row>
//   root <base64 RFC 6962 root at that size>
//   reason <one line of plain text>
//   time <ms since the epoch>
//   erase <seq> <base64 leaf hash>      (1..MAX_ERASED_ROWS lines, seq ascending)
//
// stored as a ledger entry like a key rotation (so it is chained, sealed and
// exported). Each erased row's entry is then replaced by a marker naming the
// statement's seq; readers take that row's leaf from the statement. The leaf
// is what the chain and the tree hold, so nothing else changes; the statement
// binds each leaf to the signed root, so a marker cannot smuggle in another.

const HEADER = 'sealog erasure/v1';
// A closed segment is never written again: its statement goes to the newest
// segment and names the segment it erases in (an extra `segment <index>` line
// after `origin`; size and root are that segment's sealed head). A verifier of
// one file never takes it for its own rows (another header, another entry key).
const SEGMENT_HEADER = 'sealog segment-erasure/v1';
/** Most rows one statement erases (each costs a line of ~60 bytes). */
export const MAX_ERASED_ROWS = 10_000;
/** Longest statement note read: MAX_ERASED_ROWS lines fit with room to spare. */
export const MAX_ERASURE_NOTE_BYTES = 1 << 20;
/** Longest reason, in UTF-16 units (the CLI checks it against personal data before signing). */
export const MAX_ERASURE_REASON = 200;
/** Most signature lines a statement may carry (one is made). */
const MAX_ERASURE_SIGNATURES = 8;

/** A parsed statement; nothing in it is trusted until a trusted key's signature verifies. */
export interface ErasureStatement {
  origin: string;
  /** For a statement about a closed segment of a directory: that segment's index. */
  segment?: number;
  size: number;
  root: Uint8Array;
  reason: string;
  time: number;
  /** The rows it erases, seq ascending, each with the leaf hash the chain holds for it. */
  rows: { seq: number; leaf: Buffer }[];
  note: string;
}

function bad(what: string): SealogError {
  return new SealogError('E_FORMAT', `malformed erasure statement: ${what}`);
}

/** The statement text (ending in a newline). @throws SealogError E_CONFIG for rows or reason out of bounds. */
export function erasureText(s: Omit<ErasureStatement, 'note'>): string {
  if (s.rows.length === 0 || s.rows.length > MAX_ERASED_ROWS) {
    throw new SealogError('E_CONFIG', `an erasure names 1 to ${MAX_ERASED_ROWS} rows, got ${s.rows.length}`);
  }
  if (!plainReason(s.reason))
    throw new SealogError('E_CONFIG', 'the erasure reason must be one line of plain text');
  const lines =
    s.segment === undefined
      ? [HEADER, `origin ${s.origin}`]
      : [SEGMENT_HEADER, `origin ${s.origin}`, `segment ${s.segment}`];
  lines.push(`size ${s.size}`, `root ${encodeBase64(s.root)}`);
  lines.push(`reason ${s.reason}`, `time ${s.time}`);
  for (const r of s.rows) lines.push(`erase ${r.seq} ${encodeBase64(r.leaf)}`);
  return `${lines.join('\n')}\n`;
}

/** Signs a statement with the log key (file or PKCS#11): the note to store. */
export async function signErasure(s: Omit<ErasureStatement, 'note'>, key: CheckpointKey): Promise<string> {
  return signNoteAsync(erasureText(s), [key.log]);
}

function plainReason(r: string): boolean {
  return (
    r.length > 0 &&
    r.length <= MAX_ERASURE_REASON &&
    r.trim() === r &&
    r.isWellFormed() &&
    !/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(r)
  );
}

const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;
const TIME = /^-?(0|[1-9][0-9]{0,15})$/;

/**
 * Parses a statement note (signatures not checked). Hostile input: size and
 * row count bounded before anything is split, every line exact, seqs
 * ascending and below the size, the size at or below `at` (the statement's
 * own seq) when given.
 * @throws SealogError E_FORMAT, never anything else.
 */
export function parseErasure(note: string): ErasureStatement {
  if (typeof note !== 'string' || note.length > MAX_ERASURE_NOTE_BYTES)
    throw bad(`larger than ${MAX_ERASURE_NOTE_BYTES} bytes`);
  const { text, signatures } = parseNote(note);
  if (signatures.length > MAX_ERASURE_SIGNATURES)
    throw bad(`more than ${MAX_ERASURE_SIGNATURES} signature lines`);
  const lines = text.slice(0, -1).split('\n', MAX_ERASED_ROWS + 8);
  // The segment form has one more line (`segment <index>`) before `size`.
  const o = lines[0] === SEGMENT_HEADER ? 1 : 0;
  if (lines.length < 7 + o || (lines[0] !== HEADER && o === 0))
    throw bad(`expected "${HEADER}" (or "${SEGMENT_HEADER}") and at least one erase line`);
  if (lines.length > MAX_ERASED_ROWS + 6 + o) throw bad(`more than ${MAX_ERASED_ROWS} erase lines`);
  const field = (i: number, name: string): string => {
    const line = lines[i]!;
    if (!line.startsWith(`${name} `)) throw bad(`line ${i + 1} must start with "${name} "`);
    return line.slice(name.length + 1);
  };
  const origin = field(1, 'origin');
  let segment: number | undefined;
  if (o === 1) {
    const t = field(2, 'segment');
    if (!/^[1-9][0-9]{0,14}$/.test(t)) throw bad('segment is not a segment index');
    segment = Number(t);
  }
  const sizeText = field(2 + o, 'size');
  if (!DECIMAL.test(sizeText)) throw bad('size is not a tree size');
  const size = Number(sizeText);
  const root = decodeBase64(field(3 + o, 'root'), HASH_SIZE);
  if (!root || root.length !== HASH_SIZE) throw bad('root is not base64 of 32 bytes');
  const reason = field(4 + o, 'reason');
  if (!plainReason(reason)) throw bad('reason is not one line of plain text');
  const timeText = field(5 + o, 'time');
  if (!TIME.test(timeText)) throw bad('time is not an integer');
  const rows: { seq: number; leaf: Buffer }[] = [];
  for (let i = 6 + o; i < lines.length; i++) {
    const [seqText, leafText, extra] = field(i, 'erase').split(' ', 3);
    if (seqText === undefined || leafText === undefined || extra !== undefined || !DECIMAL.test(seqText))
      throw bad(`line ${i + 1} is not "erase <seq> <leaf>"`);
    const seq = Number(seqText);
    if (seq >= size) throw bad(`row ${seq} is not below the size ${size} it names`);
    if (rows.length > 0 && seq <= rows[rows.length - 1]!.seq) throw bad('rows are not in ascending order');
    const leaf = decodeBase64(leafText, HASH_SIZE);
    if (!leaf || leaf.length !== HASH_SIZE) throw bad(`line ${i + 1}: the leaf is not base64 of 32 bytes`);
    rows.push({ seq, leaf: Buffer.from(leaf) });
  }
  return {
    origin,
    ...(segment !== undefined ? { segment } : {}),
    size,
    root,
    reason,
    time: Number(timeText),
    rows,
    note,
  };
}

/** The ledger entry that carries a statement (`_sealog` at the top level is sealog's own). */
export function erasureEntry(
  note: string,
  s: Pick<ErasureStatement, 'rows' | 'reason'>,
  now: number,
): PendingEntry {
  return sealogEntry({ erasure: note }, `sealog: ${s.rows.length} record(s) erased: ${s.reason}`, now);
}

/** The entry that carries a closed segment's statement in the newest segment. */
export function segmentErasureEntry(
  note: string,
  s: Pick<ErasureStatement, 'rows' | 'reason'> & { segment: number },
  now: number,
): PendingEntry {
  const msg = `sealog: ${s.rows.length} record(s) of segment ${s.segment} erased: ${s.reason}`;
  return sealogEntry({ segmentErasure: note }, msg, now);
}

/** The statement note of a segment erasure entry, if `entry` is one. Never throws. */
export function segmentErasureNoteOf(entry: string): string | undefined {
  return sealogString(entry, 'segmentErasure');
}

/** The statement note a stored entry carries, if it is an erasure entry. Never throws. */
export function erasureNoteOf(entry: string): string | undefined {
  return sealogString(entry, 'erasure');
}

/**
 * The entry an erased row holds: `{"_sealog":{"erased":{"by":<statement seq>}},"time":<ts>}`
 * (time omitted when the row's time index is unknown), so the row keeps its time index.
 */
export function markerEntry(by: number, ts: number): Buffer {
  const record: Record<string, unknown> = { _sealog: { erased: { by } } };
  if (ts !== TIME_UNKNOWN && Number.isSafeInteger(ts)) record.time = ts;
  return Buffer.from(canonicalJson(record), 'utf8');
}

/** Longest marker: two 16-digit numbers and the fixed text. */
export const MAX_MARKER_BYTES = 96;
const MARKER =
  /^\{"_sealog":\{"erased":\{"by":(0|[1-9][0-9]{0,15})\}\}(?:,"time":(-?(?:0|[1-9][0-9]{0,15})))?\}$/;

/**
 * The statement seq a marker names, if `entry` is exactly a marker as
 * {@link markerEntry} writes it (byte for byte). Never throws.
 */
export function markerOf(entry: unknown): number | undefined {
  if (!(entry instanceof Uint8Array) || entry.length > MAX_MARKER_BYTES) return undefined;
  const m = MARKER.exec(Buffer.from(entry.buffer, entry.byteOffset, entry.length).toString('latin1'));
  if (!m) return undefined;
  const by = Number(m[1]);
  // Re-encoding must give the same bytes (no "-0", no time that is not canonical).
  const time = m[2] === undefined ? TIME_UNKNOWN : Number(m[2]);
  return markerEntry(by, time).equals(entry) ? by : undefined;
}

/**
 * A closed segment's statement found in a later segment of its directory,
 * signed by a trusted key (segments/erasures.ts): what a verifier of that
 * closed segment takes its erased rows' leaves from.
 */
export interface ElsewhereErasure {
  /** The later segment holding it, and the statement's seq there. */
  segment: number;
  seq: number;
  statement: ErasureStatement;
}

/** Where a closed segment's erased row is authorised: the statement at `seq` of segment `segment`. */
export interface ForeignMarker {
  segment: number;
  seq: number;
  /** The row's leaf, so that the file alone still checks its chain and checkpoints. */
  leaf: Buffer;
}

/**
 * The entry an erased row of a closed segment holds:
 * `{"_sealog":{"erased":{"at":{"segment":N,"seq":S},"leaf":"<base64>"}},"time":<ts>}`.
 * The leaf is a claim the marker makes: only a statement signed by a trusted
 * key, in segment N, makes it an authorised erasure (segments/erasures.ts).
 */
export function foreignMarkerEntry(m: ForeignMarker, ts: number): Buffer {
  const record: Record<string, unknown> = {
    _sealog: { erased: { at: { segment: m.segment, seq: m.seq }, leaf: encodeBase64(m.leaf) } },
  };
  if (ts !== TIME_UNKNOWN && Number.isSafeInteger(ts)) record.time = ts;
  return Buffer.from(canonicalJson(record), 'utf8');
}

/** How every foreign marker begins (canonical JSON: `at` sorts before `leaf`). */
export const FOREIGN_MARKER_PREFIX = '{"_sealog":{"erased":{"at":';
/** Longest foreign marker: three 16-digit numbers, a base64 hash and the fixed text. */
export const MAX_FOREIGN_MARKER_BYTES = 192;
const FOREIGN =
  /^\{"_sealog":\{"erased":\{"at":\{"segment":([1-9][0-9]{0,14}),"seq":(0|[1-9][0-9]{0,15})\},"leaf":"([A-Za-z0-9+/]{43}=)"\}\}(?:,"time":(-?(?:0|[1-9][0-9]{0,15})))?\}$/;

/** The marker's claim, if `entry` is exactly a foreign marker as {@link foreignMarkerEntry} writes it. Never throws. */
export function foreignMarkerOf(entry: unknown): ForeignMarker | undefined {
  if (!(entry instanceof Uint8Array) || entry.length > MAX_FOREIGN_MARKER_BYTES) return undefined;
  const m = FOREIGN.exec(Buffer.from(entry.buffer, entry.byteOffset, entry.length).toString('latin1'));
  if (!m) return undefined;
  const leaf = decodeBase64(m[3]!, HASH_SIZE);
  if (!leaf || leaf.length !== HASH_SIZE) return undefined;
  const out = { segment: Number(m[1]), seq: Number(m[2]), leaf: Buffer.from(leaf) };
  const time = m[4] === undefined ? TIME_UNKNOWN : Number(m[4]);
  return foreignMarkerEntry(out, time).equals(entry) ? out : undefined;
}
