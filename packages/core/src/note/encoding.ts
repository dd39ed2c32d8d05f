// Small, strict text codecs shared by keys, notes, checkpoints and cosignatures.

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 (RFC 4648 §4, padded), as every C2SP spec here requires. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Decodes standard padded base64 (RFC 4648 §4) or returns undefined.
 * Hostile input: Node's decoder silently skips junk, accepts the URL alphabet
 * and missing padding, so we check the alphabet/padding with a regex first and
 * then require the canonical form (zero pad bits, RFC 4648 §3.5) by
 * re-encoding, so one value has exactly one accepted spelling.
 * Kept over @scure/base (issue 19 asked): decoding is Node's own Buffer codec
 * (the browser verifier loads the same polyfill), and what makes it strict is
 * the two checks here, each tested by the note and key tests; a second codec
 * would add a dependency without removing these lines.
 */
export function decodeBase64(text: string, maxBytes: number): Uint8Array | undefined {
  // Bound work before the regex/decoder see attacker-sized input.
  if (text.length > Math.ceil(maxBytes / 3) * 4 || !BASE64_RE.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length > maxBytes || bytes.toString('base64') !== text) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Lowercase fixed-width hex (signed-note "Conventions"). */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const WHITE_SPACE_RE = /\p{White_Space}/u;
// Below U+0020 (signed-note §Format forbids them in notes, so a name with one
// could never appear in a signature line) plus DEL for good measure.
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/**
 * signed-note §Format: key names are non-empty and contain no Unicode spaces
 * (Unicode White_Space, what Go's unicode.IsSpace tests) and no "+"; well-formed
 * UTF-8 (no lone surrogates in a JS string). Returns a reason, or undefined if valid.
 */
export function keyNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (!name.isWellFormed()) return 'is not valid Unicode';
  if (name.includes('+')) return 'contains "+" (signed-note forbids it in key names)';
  if (WHITE_SPACE_RE.test(name)) return 'contains whitespace';
  if (CONTROL_RE.test(name)) return 'contains a control character';
  return undefined;
}

/** Bytes of `a` and `b` are equal (lengths included). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
