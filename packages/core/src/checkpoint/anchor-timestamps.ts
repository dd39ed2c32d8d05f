import { SealogError } from '../errors.js';
import { HASH_SIZE } from '../hash.js';
import { decodeBase64, encodeBase64 } from '../note/encoding.js';
import { MAX_TIMESTAMP_TOKEN_BYTES } from '../timestamp/der.js';
import { appendDurably } from './anchor.js';

// The anchor's token file (docs/timestamps.md §5): RFC 3161 tokens for the
// notes of an anchor file, in a file beside it, `<anchorFile>.timestamps`,
// one line per token:
//
//     sealog-timestamp/v1 <size> <base64 SHA-256(note)> <base64 DER token>\n
//
// Not inside the anchor file: every reader of an anchor file so far
// (`sealog verify --checkpoint`, verifyLedger's `trusted` notes) reports a
// block it cannot parse as a malformed checkpoint, which fails an intact
// ledger (test/timestamp/anchor-tokens.test.ts shows it). A separate file
// leaves the anchor a plain list of signed notes that any tlog tool reads.

/** First word of every line of a token file; the version is part of it. */
export const ANCHOR_TIMESTAMP_TAG = 'sealog-timestamp/v1';

/** One token as an anchor token file holds it. Nothing in it is verified. */
export interface AnchorTimestamp {
  /** The checkpoint size it claims to stamp. */
  size: number;
  /** SHA-256 of the stamped note, exactly as anchored (the token's imprint). */
  noteSha256: Uint8Array;
  /** The DER TimeStampToken. */
  token: Uint8Array;
}

/** Most lines one parse reads: a token per checkpoint for decades of heartbeats. */
export const MAX_ANCHOR_TIMESTAMPS = 1_000_000;

/** The token file of an anchor file. */
export function anchorTimestampsPath(anchorFile: string): string {
  return `${anchorFile}.timestamps`;
}

/** One line of a token file, with its newline. @throws SealogError E_CONFIG for values out of range. */
export function formatAnchorTimestamp(t: AnchorTimestamp): string {
  if (!Number.isSafeInteger(t.size) || t.size < 0)
    throw new SealogError('E_CONFIG', `timestamp size must be a non-negative integer, got ${t.size}`);
  if (t.noteSha256.length !== HASH_SIZE)
    throw new SealogError('E_CONFIG', 'timestamp note hash must be 32 bytes (SHA-256)');
  if (t.token.length === 0 || t.token.length > MAX_TIMESTAMP_TOKEN_BYTES)
    throw new SealogError('E_CONFIG', `timestamp token must be 1..${MAX_TIMESTAMP_TOKEN_BYTES} bytes`);
  return `${ANCHOR_TIMESTAMP_TAG} ${t.size} ${encodeBase64(t.noteSha256)} ${encodeBase64(t.token)}\n`;
}

/**
 * Appends one token line to `<anchorFile>.timestamps` (created 0644 if absent)
 * with O_APPEND writes and an fsync (the directory's too on creation), on
 * libuv's thread pool: the same durability as appendAnchorAsync. A line torn
 * by an earlier failed write is ended first with a newline, so it cannot
 * swallow this one (it stays a malformed line, which parsers skip).
 * @throws SealogError E_IO naming the path, E_CONFIG for values out of range.
 */
export async function appendAnchorTimestamp(anchorFile: string, t: AnchorTimestamp): Promise<void> {
  const line = formatAnchorTimestamp(t);
  const path = anchorTimestampsPath(anchorFile);
  try {
    await appendDurably(path, (tail) =>
      tail === undefined || tail === '' || tail.endsWith('\n') ? line : `\n${line}`,
    );
  } catch (err) {
    throw new SealogError('E_IO', `cannot append the timestamp token to ${path}`, { cause: err });
  }
}

const SIZE_RE = /^(0|[1-9][0-9]{0,15})$/;
/** Longest well-formed line: tag, a 16-digit size, a hash and a 64 KiB token in base64, 3 spaces. */
const MAX_LINE = ANCHOR_TIMESTAMP_TAG.length + 16 + 44 + Math.ceil(MAX_TIMESTAMP_TOKEN_BYTES / 3) * 4 + 3;

/**
 * Reads the lines of a token file. Attacker's options: any text (whoever can
 * write the file). Lines longer than a 64 KiB token can make are skipped
 * without decoding; base64 must be canonical (one spelling per value); at most
 * MAX_ANCHOR_TIMESTAMPS lines are read. Lines that are not exactly
 * `sealog-timestamp/v1 <size> <hash> <token>` (a torn last line, another
 * version) are counted in `malformed`, never fatal. Tokens are not parsed or
 * verified here. Never throws.
 */
export function splitAnchorTimestamps(text: string): { timestamps: AnchorTimestamp[]; malformed: number } {
  const timestamps: AnchorTimestamp[] = [];
  let malformed = 0;
  const source = typeof text === 'string' ? text : '';
  let pos = 0;
  let lines = 0;
  while (pos < source.length && lines < MAX_ANCHOR_TIMESTAMPS) {
    let nl = source.indexOf('\n', pos);
    if (nl < 0) nl = source.length;
    const line = source.slice(pos, Math.min(nl, pos + MAX_LINE + 1));
    pos = nl + 1;
    if (line === '') continue;
    lines++;
    const t = line.length > MAX_LINE ? undefined : parseLine(line);
    if (t) timestamps.push(t);
    else malformed++;
  }
  return { timestamps, malformed };
}

function parseLine(line: string): AnchorTimestamp | undefined {
  const parts = line.split(' ');
  if (parts.length !== 4 || parts[0] !== ANCHOR_TIMESTAMP_TAG) return undefined;
  const [, sizeText, hashText, tokenText] = parts as [string, string, string, string];
  if (!SIZE_RE.test(sizeText)) return undefined;
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) return undefined;
  const noteSha256 = decodeBase64(hashText, HASH_SIZE);
  const token = decodeBase64(tokenText, MAX_TIMESTAMP_TOKEN_BYTES);
  if (noteSha256?.length !== HASH_SIZE || token === undefined || token.length === 0) return undefined;
  return { size, noteSha256, token };
}
