import { createHash } from 'node:crypto';
import { SealogError } from '../errors.js';
import { decodeBase64, encodeBase64 } from '../note/encoding.js';
import { SIG_TYPE_ED25519, type VerifierKey } from '../note/keys.js';
import { parseNote, signNoteAsync, verifyNote } from '../note/note.js';
import { sealogEntry, sealogMeta } from '../sealog-entry.js';
import type { Signer } from '../signer/types.js';
import type { PendingEntry } from '../store/types.js';
import { MAX_SEGMENT_INDEX } from './layout.js';

// Retention and legal hold (docs/lifecycle.md "Retention and legal hold") are
// signed statements, stored as sealog's own ledger entries like key rotation
// statements (signer/rotation.ts): hashed into the tree, sealed, seen by every
// verifier. Each is a C2SP signed note signed by the ledger's log key:
//
//   sealog prune/v1                      sealog hold/v1            sealog hold release/v2
//   origin <origin>                      origin <origin>           origin <origin>
//   time <ms>                            id <id>                   id <id>
//   retention <ms>                       time <ms>                 time <ms>
//   reason <one line>                    reason <one line>         reason <one line>
//   carried <index> <base> <size> <root> <oldest> <newest> <pruned ms>  (zero or more)
//   segment <index> <base> <size> <root> <oldest ms> <newest ms>   (one or more)
//                                        segment <index> | range <from ms> <to ms>
//                                                                  hold <base64 SHA-256 of the hold's note>
//
// A release names the one hold it ends by the SHA-256 of that hold's whole
// stored note (text and signature lines): a release signed for another ledger
// with the same key, or for an earlier hold that reused the id, ends nothing.
// (A v1 release named the hold by id only; it is refused as malformed.)
//
// A prune statement names, for each segment it removes, the final tree head
// (size, base64 root) that the next segment's binding and the tombstone must
// carry, and the segment's oldest and newest row times, so a verifier can tell
// whether it was due (time ≥ newest + retention) and whether a time-range hold
// covered it. A `carried` line repeats a segment pruned earlier whose own
// statement lies in a segment this prune removes (with the time it was pruned):
// without it, removing that segment would take the earlier authorisation with it.
// Nothing here is trusted until its signature is checked (statementSignedBy).

const PRUNE = 'sealog prune/v1';
const HOLD = 'sealog hold/v1';
const RELEASE = 'sealog hold release/v2';
const RELEASE_V1 = 'sealog hold release/v1';
/** Largest statement note read. */
export const MAX_STATEMENT_NOTE_BYTES = 1 << 20;
/**
 * Most segment lines one prune statement holds (removed and carried): each is
 * about 120 bytes and a note is at most 1 MiB.
 */
export const MAX_PRUNE_SEGMENTS = 5000;
/** Longest reason, in code points (the same bound as a shredding reason). */
export const MAX_STATEMENT_REASON = 200;
/** Most signature lines a statement may carry (each costs a check). */
const MAX_SIGNATURES = 8;
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const COUNT = /^(0|[1-9][0-9]{0,15})$/;

export interface PrunedSegment {
  index: number;
  base: number;
  size: number;
  root: Uint8Array;
  /** Oldest and newest row time of the segment, ms since the epoch. */
  oldest: number;
  newest: number;
  /** On a carried line: when an earlier statement pruned it, ms. */
  prunedAt?: number;
}

export interface PruneStatement {
  type: 'prune';
  origin: string;
  time: number;
  /** The retention period the prune applied, ms. */
  retention: number;
  reason: string;
  segments: PrunedSegment[];
}

export type HoldScope = { segment: number } | { from: number; to: number };

export interface HoldStatement {
  type: 'hold';
  origin: string;
  id: string;
  time: number;
  reason: string;
  scope: HoldScope;
}

export interface ReleaseStatement {
  type: 'release';
  origin: string;
  id: string;
  time: number;
  reason: string;
  /** SHA-256 of the note of the hold it ends (holdNoteHash). */
  hold: Uint8Array;
}

/** The SHA-256 of a hold statement's stored note (its UTF-8 bytes), as a release names it. */
export function holdNoteHash(note: string): Uint8Array {
  return createHash('sha256').update(note, 'utf8').digest();
}

export type Statement = PruneStatement | HoldStatement | ReleaseStatement;

const bad = (what: string) => new SealogError('E_FORMAT', `malformed retention statement: ${what}`);

function count(text: string, what: string): number {
  if (!COUNT.test(text) || !Number.isSafeInteger(Number(text))) throw bad(`${what} is not a whole number`);
  return Number(text);
}

/** One-line reason: bounded, no control, format or line-separator characters. */
function reasonProblem(reason: string): string | undefined {
  if (reason.length > 4 * MAX_STATEMENT_REASON) return 'too long';
  const n = [...reason].length;
  if (reason.trim() === '' || n > MAX_STATEMENT_REASON)
    return `must be 1 to ${MAX_STATEMENT_REASON} characters`;
  if (!reason.isWellFormed() || /[\p{Cc}\p{Cf}\u2028\u2029]/u.test(reason))
    return 'must be one line of plain text';
  return undefined;
}

/** The text of a statement (ending in a newline). @throws RangeError for a statement that breaks the rules (a bug). */
export function statementText(s: Statement): string {
  const problem = reasonProblem(s.reason);
  if (problem) throw new RangeError(`statement reason ${problem}`);
  const head = (h: string) => `${h}\norigin ${s.origin}\n`;
  if (s.type === 'prune') {
    if (s.segments.length < 1 || s.segments.length > MAX_PRUNE_SEGMENTS)
      throw new RangeError(`a prune statement names 1 to ${MAX_PRUNE_SEGMENTS} segments`);
    let t = `${head(PRUNE)}time ${s.time}\nretention ${s.retention}\nreason ${s.reason}\n`;
    for (const g of s.segments) {
      const fields = `${g.index} ${g.base} ${g.size} ${encodeBase64(g.root)} ${g.oldest} ${g.newest}`;
      t += g.prunedAt === undefined ? `segment ${fields}\n` : `carried ${fields} ${g.prunedAt}\n`;
    }
    return t;
  }
  if (!ID.test(s.id)) throw new RangeError('hold id');
  const t = `${head(s.type === 'hold' ? HOLD : RELEASE)}id ${s.id}\ntime ${s.time}\nreason ${s.reason}\n`;
  if (s.type === 'release') {
    if (s.hold.length !== 32) throw new RangeError('a release names the hold by a 32-byte hash');
    return `${t}hold ${encodeBase64(s.hold)}\n`;
  }
  return 'segment' in s.scope
    ? `${t}segment ${s.scope.segment}\n`
    : `${t}range ${s.scope.from} ${s.scope.to}\n`;
}

/** Signs a statement with the ledger's log key (only the log key: a time line adds nothing here). */
export async function signStatement(s: Statement, log: Signer): Promise<string> {
  if (s.origin !== log.name) throw new SealogError('E_KEY', `the key is named ${log.name}, not ${s.origin}`);
  return signNoteAsync(statementText(s), [log]);
}

/**
 * Parses a statement note (signatures not checked). Hostile input: bounded
 * size, line and signature counts; every line exact; numbers canonical.
 * @throws SealogError E_FORMAT.
 */
export function parseStatement(note: string): Statement {
  if (note.length > MAX_STATEMENT_NOTE_BYTES) throw bad(`larger than ${MAX_STATEMENT_NOTE_BYTES} bytes`);
  const { text, signatures } = parseNote(note);
  if (signatures.length > MAX_SIGNATURES) throw bad(`more than ${MAX_SIGNATURES} signature lines`);
  const lines = text.slice(0, -1).split('\n');
  if (lines.length > MAX_PRUNE_SEGMENTS + 5) throw bad('too many lines');
  let i = 1;
  const field = (name: string): string => {
    const line = lines[i];
    if (line === undefined || !line.startsWith(`${name} `))
      throw bad(`line ${i + 1} must start with "${name} "`);
    i++;
    return line.slice(name.length + 1);
  };
  const header = lines[0];
  if (header === RELEASE_V1)
    throw bad(
      'a hold release/v1 names the hold by id only, not by its note: it releases nothing (release the hold again)',
    );
  if (header !== PRUNE && header !== HOLD && header !== RELEASE) throw bad('unknown first line');
  const origin = field('origin');
  if (header === PRUNE) {
    const time = count(field('time'), 'time');
    const retention = count(field('retention'), 'retention');
    const reason = reasonOf(field('reason'));
    const segments: PrunedSegment[] = [];
    // Carried lines first, then the segments this prune removes; indexes increase.
    while (i < lines.length && lines[i]!.startsWith('carried '))
      segments.push(prunedSegment(field('carried'), segments.at(-1), true));
    while (i < lines.length) segments.push(prunedSegment(field('segment'), segments.at(-1), false));
    if (!segments.some((g) => g.prunedAt === undefined)) throw bad('no segment line');
    if (segments.length > MAX_PRUNE_SEGMENTS) throw bad(`more than ${MAX_PRUNE_SEGMENTS} segments`);
    return { type: 'prune', origin, time, retention, reason, segments };
  }
  const id = field('id');
  if (!ID.test(id)) throw bad('id must be 1 to 64 letters, digits, ".", "_" or "-"');
  const time = count(field('time'), 'time');
  const reason = reasonOf(field('reason'));
  if (header === RELEASE) {
    const hold = decodeBase64(field('hold'), 32);
    if (hold?.length !== 32) throw bad('hold is not base64 of 32 bytes');
    if (i !== lines.length) throw bad('extra lines');
    return { type: 'release', origin, id, time, reason, hold };
  }
  const line = lines[i] ?? '';
  let scope: HoldScope;
  if (line.startsWith('segment ')) {
    scope = { segment: segmentIndex(line.slice(8)) };
  } else if (line.startsWith('range ')) {
    const parts = line.slice(6).split(' ');
    if (parts.length !== 2) throw bad('range takes two times');
    const from = count(parts[0]!, 'range start');
    const to = count(parts[1]!, 'range end');
    if (to < from) throw bad('range ends before it starts');
    scope = { from, to };
  } else {
    throw bad(`line ${i + 1} must be "segment <index>" or "range <from> <to>"`);
  }
  if (i + 1 !== lines.length) throw bad('extra lines');
  return { type: 'hold', origin, id, time, reason, scope };
}

function reasonOf(text: string): string {
  const problem = reasonProblem(text);
  if (problem) throw bad(`reason ${problem}`);
  return text;
}

function segmentIndex(text: string): number {
  const index = count(text, 'segment index');
  if (index < 1 || index > MAX_SEGMENT_INDEX) throw bad('segment index out of range');
  return index;
}

function prunedSegment(text: string, prev: PrunedSegment | undefined, carried: boolean): PrunedSegment {
  const parts = text.split(' ');
  if (parts.length !== (carried ? 7 : 6))
    throw bad(
      'a segment line is "segment <index> <base> <size> <root> <oldest> <newest>" (carried: and <pruned>)',
    );
  const index = segmentIndex(parts[0]!);
  const base = count(parts[1]!, 'base');
  const size = count(parts[2]!, 'size');
  const root = decodeBase64(parts[3]!, 32);
  if (root?.length !== 32) throw bad('root is not base64 of 32 bytes');
  const oldest = count(parts[4]!, 'oldest time');
  const newest = count(parts[5]!, 'newest time');
  if (size < 1 || newest < oldest) throw bad('size or times out of range');
  // Oldest first; neighbours must join (base + size).
  if (prev !== undefined && index <= prev.index) throw bad('segment indexes must increase');
  if (prev !== undefined && index === prev.index + 1 && base !== prev.base + prev.size)
    throw bad('a segment does not start where the previous one ended');
  const g: PrunedSegment = { index, base, size, root, oldest, newest };
  if (carried) g.prunedAt = count(parts[6]!, 'pruned time');
  return g;
}

/**
 * Whether `note` is signed by one of the trusted log keys named like its
 * origin. Never throws: a bad or absent signature is simply not trusted.
 */
export function statementSignedBy(note: string, origin: string, keys: readonly VerifierKey[]): boolean {
  const usable = keys.filter((k) => k.type === SIG_TYPE_ED25519 && k.name === origin);
  if (usable.length === 0) return false;
  try {
    return verifyNote(note, usable).verified.length > 0;
  } catch {
    return false;
  }
}

const ENTRY_KEY = { prune: 'prune', hold: 'legalHold', release: 'holdRelease' } as const;

/** The ledger entry that carries a statement (`_sealog` at the top level is sealog's own). */
export function statementEntry(note: string, s: Statement, now: number): PendingEntry {
  const what =
    s.type === 'prune'
      ? `segments ${s.segments[0]!.index}..${s.segments.at(-1)!.index} pruned under retention`
      : s.type === 'hold'
        ? `legal hold ${s.id} placed`
        : `legal hold ${s.id} released`;
  return sealogEntry({ [ENTRY_KEY[s.type]]: note }, `sealog: ${what}`, now);
}

/** The SQL filter for candidate rows (instr over the blob: only candidates reach JS). */
export const STATEMENT_ROW_FILTER = Object.values(ENTRY_KEY)
  .map((k) => `instr(entry, CAST('"${k}"' AS BLOB)) > 0`)
  .join(' OR ');

/**
 * The statement note a stored entry carries and the type its entry key
 * announces (the note must then be of that type), if it is one of sealog's
 * retention entries. Never throws.
 */
export function statementNoteOf(entry: string): { type: Statement['type']; note: string } | undefined {
  if (!entry.startsWith('{"_sealog":{"')) return undefined;
  const meta = sealogMeta(entry);
  if (meta === undefined) return undefined;
  const keys = Object.keys(meta);
  if (keys.length !== 1) return undefined;
  const k = keys[0]!;
  const type = (Object.keys(ENTRY_KEY) as Statement['type'][]).find((t) => ENTRY_KEY[t] === k);
  if (type === undefined) return undefined;
  const note = meta[k];
  return typeof note === 'string' ? { type, note } : undefined;
}
