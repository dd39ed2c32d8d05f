import { SealogError } from '../errors.js';
import { HASH_SIZE } from '../hash.js';
import { decodeBase64, encodeBase64 } from '../note/encoding.js';

// C2SP tlog-witness §add-checkpoint, the request body:
//   old <size>\n  <base64 hash>\n × 0..63  \n  <checkpoint note>
// Every byte here comes from whoever can reach the witness (no authentication
// before the checkpoint signature is checked), so the parser is bounded and
// strict: an attacker may send any bytes, any length, any line count; the
// worst they get is E_FORMAT after O(limit) work.

/** Largest request body the witness reads (bytes). A checkpoint with 16 Ed25519 signatures is ~2.5 KiB. */
export const MAX_WITNESS_REQUEST_BYTES = 64 * 1024;
/** tlog-witness §add-checkpoint: "The client MUST NOT send more than 63 consistency proof lines." */
export const MAX_PROOF_LINES = 63;

/** A parsed add-checkpoint request. Nothing in it is verified yet. */
export interface AddCheckpointRequest {
  /** The size of the checkpoint the client believes the witness last cosigned. */
  oldSize: number;
  /** RFC 6962 §2.1.2 consistency proof from `oldSize` to the checkpoint's size. */
  proof: Uint8Array[];
  /** The signed checkpoint note, bytes as received (decoded and verified later). */
  note: Uint8Array;
}

function bad(what: string): SealogError {
  return new SealogError('E_FORMAT', `malformed add-checkpoint request: ${what}`);
}

// "an ASCII decimal with no leading zeroes (unless the size is zero ...)"; at
// most 16 digits so Number() is exact, then checked against 2^53-1.
const OLD_LINE_RE = /^old (0|[1-9][0-9]{0,15})$/;
const NEWLINE = 0x0a;

/**
 * Parses an add-checkpoint request body (C2SP tlog-witness §add-checkpoint):
 * the old size line, zero to 63 base64 hash lines, an empty line, then the
 * checkpoint note (everything after the first empty line, handed on as bytes).
 * Hostile input: the body is bounded by {@link MAX_WITNESS_REQUEST_BYTES}; the
 * header is ASCII by construction (regex over latin1); hashes must be strict,
 * canonical base64 of exactly 32 bytes; more than 63 lines is refused before
 * any is decoded.
 * @throws SealogError E_FORMAT; never anything else.
 */
export function parseAddCheckpointRequest(body: Uint8Array): AddCheckpointRequest {
  if (!(body instanceof Uint8Array)) throw bad('expected bytes');
  if (body.length > MAX_WITNESS_REQUEST_BYTES) throw bad(`larger than ${MAX_WITNESS_REQUEST_BYTES} bytes`);
  // The first empty line ends the header: header lines are never empty, and
  // the note after it may itself contain empty lines (its signature separator).
  let end = -1;
  for (let i = 0; i + 1 < body.length; i++) {
    if (body[i] === NEWLINE && body[i + 1] === NEWLINE) {
      end = i;
      break;
    }
    // Longest header: "old " + 16 digits, then 63 lines of 44 base64 characters.
    if (i > 21 + MAX_PROOF_LINES * 45)
      throw bad(`header longer than an old size line and ${MAX_PROOF_LINES} proof lines`);
  }
  if (end < 0) throw bad('no empty line before the checkpoint');
  const header = Buffer.from(body.buffer, body.byteOffset, end).toString('latin1');
  const lines = header.split('\n');
  if (lines.length - 1 > MAX_PROOF_LINES) throw bad(`more than ${MAX_PROOF_LINES} consistency proof lines`);
  const match = OLD_LINE_RE.exec(lines[0] ?? '');
  if (!match) throw bad('first line must be "old <size>" in decimal without leading zeros');
  const oldSize = Number(match[1]);
  if (!Number.isSafeInteger(oldSize)) throw bad('old size is larger than 2^53-1');
  const proof: Uint8Array[] = [];
  for (const line of lines.slice(1)) {
    const hash = decodeBase64(line, HASH_SIZE);
    if (!hash || hash.length !== HASH_SIZE)
      throw bad('a consistency proof line is not standard base64 of a 32-byte hash');
    proof.push(hash);
  }
  const note = body.subarray(end + 2);
  if (note.length === 0) throw bad('no checkpoint after the empty line');
  return { oldSize, proof, note };
}

/**
 * Formats an add-checkpoint request body (the client side of
 * {@link parseAddCheckpointRequest}).
 * @throws SealogError E_CONFIG for a bad size, a hash that is not 32 bytes, more
 *   than 63 proof hashes, a note that does not end in a newline, or a body over the limit.
 */
export function formatAddCheckpointRequest(request: {
  oldSize: number;
  proof: readonly Uint8Array[];
  note: string;
}): Buffer {
  const { oldSize, proof, note } = request;
  if (!Number.isSafeInteger(oldSize) || oldSize < 0)
    throw new SealogError('E_CONFIG', 'oldSize must be a non-negative safe integer');
  if (!Array.isArray(proof) || proof.length > MAX_PROOF_LINES)
    throw new SealogError('E_CONFIG', `proof must be an array of at most ${MAX_PROOF_LINES} hashes`);
  let head = `old ${oldSize}\n`;
  for (const h of proof) {
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE)
      throw new SealogError('E_CONFIG', `every proof hash must be ${HASH_SIZE} bytes`);
    head += `${encodeBase64(h)}\n`;
  }
  if (typeof note !== 'string' || !note.endsWith('\n'))
    throw new SealogError('E_CONFIG', 'note must be a signed note ending in a newline');
  const out = Buffer.concat([Buffer.from(`${head}\n`, 'latin1'), Buffer.from(note, 'utf8')]);
  if (out.length > MAX_WITNESS_REQUEST_BYTES)
    throw new SealogError('E_CONFIG', `request would exceed ${MAX_WITNESS_REQUEST_BYTES} bytes`);
  return out;
}
