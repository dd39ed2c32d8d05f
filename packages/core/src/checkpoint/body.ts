import { SealogError } from '../errors.js';
import { HASH_SIZE } from '../hash.js';
import { decodeBase64, encodeBase64 } from '../note/encoding.js';

/** A tlog-checkpoint body: the log's tree head at `size` (C2SP tlog-checkpoint §"Note text"). */
export interface Checkpoint {
  /** Line 1: the log identity. sealog requires it to equal the signing key's name. */
  origin: string;
  /** Line 2: number of leaves (records). */
  size: number;
  /** Line 3: RFC 6962 Merkle root at `size`, 32 bytes. */
  root: Uint8Array;
  /** Lines 4+: opaque, non-empty, NOT RECOMMENDED by the spec; sealog writes none. */
  extensions: string[];
}

/** Longest body parsed; ours are ~100 bytes. */
export const MAX_CHECKPOINT_BYTES = 64 * 1024;
const MAX_EXTENSIONS = 64;
const SIZE_RE = /^(?:0|[1-9][0-9]{0,15})$/; // no leading zeros; ≤ 16 digits bounds the Number parse
const LINE_FORBIDDEN_RE = /[\u0000-\u001f]/; // no newline or other control (signed-note §Format)

function bad(what: string): SealogError {
  return new SealogError('E_FORMAT', `malformed checkpoint: ${what}`);
}

function lineProblem(line: string): string | undefined {
  if (line === '') return 'is empty';
  if (!line.isWellFormed()) return 'is not valid Unicode';
  if (LINE_FORBIDDEN_RE.test(line)) return 'contains a control character or newline';
  return undefined;
}

/**
 * Formats a checkpoint body (the note text, ending in newline):
 * `<origin>\n<size>\n<base64 root>\n[<extension>\n…]`.
 * @throws SealogError E_FORMAT for an empty/multi-line origin, a size that is not a
 *   safe non-negative integer, a root that is not 32 bytes, or an empty extension line.
 */
export function formatCheckpoint(checkpoint: {
  origin: string;
  size: number;
  root: Uint8Array;
  extensions?: readonly string[];
}): string {
  const { origin, size, root, extensions = [] } = checkpoint;
  const originProblem = typeof origin === 'string' ? lineProblem(origin) : 'is not a string';
  if (originProblem) throw bad(`origin ${originProblem}`);
  if (!Number.isSafeInteger(size) || size < 0) throw bad('size must be a non-negative safe integer');
  if (!(root instanceof Uint8Array) || root.length !== HASH_SIZE)
    throw bad(`root must be ${HASH_SIZE} bytes`);
  let out = `${origin}\n${size}\n${encodeBase64(root)}\n`;
  for (const ext of extensions) {
    const p = typeof ext === 'string' ? lineProblem(ext) : 'is not a string';
    if (p) throw bad(`extension line ${p}`);
    out += `${ext}\n`;
  }
  return out;
}

/**
 * Parses a checkpoint body (a note's text, final newline included) per
 * tlog-checkpoint §"Note text": origin non-empty; size decimal without leading
 * zeros; root standard base64 of exactly 32 bytes; extension lines non-empty.
 * Hostile input: bounded size and line count, strict base64 (one spelling per
 * root), sizes above 2^53-1 rejected rather than rounded.
 * @throws SealogError E_FORMAT; never anything else.
 */
export function parseCheckpoint(body: string): Checkpoint {
  if (typeof body !== 'string') throw bad('expected text');
  if (body.length > MAX_CHECKPOINT_BYTES) throw bad('too large');
  if (!body.endsWith('\n')) throw bad('must end with a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) throw bad('needs origin, size and root lines');
  if (lines.length > 3 + MAX_EXTENSIONS) throw bad(`more than ${MAX_EXTENSIONS} extension lines`);
  const [origin = '', sizeLine = '', rootLine = ''] = lines;
  const originProblem = lineProblem(origin);
  if (originProblem) throw bad(`origin line ${originProblem}`);
  if (!SIZE_RE.test(sizeLine)) throw bad('size line must be a decimal number without leading zeros');
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw bad('size is larger than 2^53-1');
  const root = decodeBase64(rootLine, HASH_SIZE);
  if (!root || root.length !== HASH_SIZE) throw bad('root line must be standard base64 of 32 bytes');
  const extensions = lines.slice(3);
  for (const ext of extensions) {
    const p = lineProblem(ext);
    if (p) throw bad(`extension line ${p}`);
  }
  return { origin, size, root, extensions };
}
