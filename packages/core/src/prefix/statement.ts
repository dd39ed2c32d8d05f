import { SealogError } from '../errors.js';
import { decodeBase64, encodeBase64 } from '../note/encoding.js';
import { parseNote, signNoteAsync } from '../note/note.js';
import { sealogEntry, sealogString } from '../sealog-entry.js';
import { MAX_STATEMENT_REASON, statementSignedBy } from '../segments/statements.js';
import type { Signer } from '../signer/types.js';
import type { PendingEntry } from '../store/types.js';

// Retention of a single-table ledger (PostgreSQL) removes a *prefix* of its
// rows, [0, size), not whole segment files. The authorisation is a signed note
// like the segment prune statement (docs/lifecycle.md), appended as sealog's own
// entry and sealed before any row goes:
//
//   sealog prune prefix/v1
//   origin <origin>
//   time <ms>
//   retention <ms>
//   reason <one line>
//   prefix <size> <base64 root> <oldest ms> <newest ms>
//
// It names the tree head at the cut (the tombstone's signed checkpoint must be
// that head) and the time span of the rows it removes, so a verifier can tell
// whether they were due (time ≥ newest + retention). A distinct first line and
// entry key: a segment verifier never mistakes it for a segment prune.

const HEADER = 'sealog prune prefix/v1';
const ENTRY_KEY = 'prunePrefix';
/** Largest prefix statement note read: it has six short lines and a few signatures. */
export const MAX_PREFIX_NOTE_BYTES = 4096;
const COUNT = /^(0|[1-9][0-9]{0,15})$/;

export interface PrefixStatement {
  origin: string;
  time: number;
  retention: number;
  reason: string;
  /** Tree size at the cut: rows [0, size) are removed. */
  size: number;
  root: Uint8Array;
  /** Oldest and newest row time of the rows this prune removes, ms. */
  oldest: number;
  newest: number;
}

const bad = (what: string) => new SealogError('E_FORMAT', `malformed prefix prune statement: ${what}`);

function count(text: string | undefined, what: string): number {
  if (text === undefined || !COUNT.test(text) || !Number.isSafeInteger(Number(text)))
    throw bad(`${what} is not a whole number`);
  return Number(text);
}

function reasonOk(r: string): boolean {
  return (
    r.trim() !== '' &&
    r.length <= 4 * MAX_STATEMENT_REASON &&
    [...r].length <= MAX_STATEMENT_REASON &&
    r.isWellFormed() &&
    !/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(r)
  );
}

/** The statement's text. @throws RangeError on a statement that breaks the rules (a bug). */
export function prefixText(s: PrefixStatement): string {
  if (!reasonOk(s.reason)) throw new RangeError('statement reason must be one line of 1 to 200 characters');
  if (s.size < 1 || s.root.length !== 32 || s.newest < s.oldest) throw new RangeError('prefix head');
  return (
    `${HEADER}\norigin ${s.origin}\ntime ${s.time}\nretention ${s.retention}\nreason ${s.reason}\n` +
    `prefix ${s.size} ${encodeBase64(s.root)} ${s.oldest} ${s.newest}\n`
  );
}

/** Signs with the log key only. */
export async function signPrefix(s: PrefixStatement, log: Signer): Promise<string> {
  if (s.origin !== log.name) throw new SealogError('E_KEY', `the key is named ${log.name}, not ${s.origin}`);
  return signNoteAsync(prefixText(s), [log]);
}

/**
 * Parses a statement note (signature not checked). Hostile input: bounded
 * size and signature count, every line exact, numbers canonical.
 * @throws SealogError E_FORMAT.
 */
export function parsePrefix(note: string): PrefixStatement {
  if (note.length > MAX_PREFIX_NOTE_BYTES) throw bad(`larger than ${MAX_PREFIX_NOTE_BYTES} bytes`);
  const { text, signatures } = parseNote(note);
  if (signatures.length > 8) throw bad('more than 8 signature lines');
  const lines = text.slice(0, -1).split('\n');
  const names = ['', 'origin', 'time', 'retention', 'reason', 'prefix'];
  if (lines.length !== names.length || lines[0] !== HEADER) throw bad(`must be the 6 lines of ${HEADER}`);
  const v = names.map((n, i) => {
    if (i === 0) return '';
    if (!lines[i]!.startsWith(`${n} `)) throw bad(`line ${i + 1} must start with "${n} "`);
    return lines[i]!.slice(n.length + 1);
  });
  if (!reasonOk(v[4]!)) throw bad('reason must be one line of 1 to 200 characters');
  const p = v[5]!.split(' ');
  if (p.length !== 4) throw bad('"prefix <size> <root> <oldest> <newest>"');
  const root = decodeBase64(p[1]!, 32);
  if (root?.length !== 32) throw bad('root is not base64 of 32 bytes');
  const s: PrefixStatement = {
    origin: v[1]!,
    time: count(v[2], 'time'),
    retention: count(v[3], 'retention'),
    reason: v[4]!,
    size: count(p[0], 'size'),
    root,
    oldest: count(p[2], 'oldest time'),
    newest: count(p[3], 'newest time'),
  };
  if (s.size < 1 || s.newest < s.oldest) throw bad('size or times out of range');
  return s;
}

/** The statement's note, parsed, when one of the trusted keys signed it; undefined otherwise. Never throws. */
export function openPrefix(
  note: string,
  keys: Parameters<typeof statementSignedBy>[2],
): PrefixStatement | undefined {
  try {
    const s = parsePrefix(note);
    return statementSignedBy(note, s.origin, keys) ? s : undefined;
  } catch {
    return undefined;
  }
}

/** The ledger entry carrying a statement. */
export function prefixEntry(note: string, s: PrefixStatement, now: number): PendingEntry {
  return sealogEntry({ [ENTRY_KEY]: note }, `sealog: records 0..${s.size - 1} pruned under retention`, now);
}

/** The statement note a stored entry carries, if any. Never throws. */
export function prefixNoteOf(entry: unknown): string | undefined {
  if (!Buffer.isBuffer(entry) || entry.length > 4 * MAX_PREFIX_NOTE_BYTES) return undefined;
  const text = entry.toString('utf8');
  return text.startsWith('{"_sealog":{"') ? sealogString(text, ENTRY_KEY) : undefined;
}
