import * as asn1js from 'asn1js';
import { SealogError } from '../errors.js';

/** Largest TimeStampToken or TimeStampResp accepted (bytes). Real tokens with a chain are 2-6 KiB. */
export const MAX_TIMESTAMP_TOKEN_BYTES = 64 * 1024;

/** An E_FORMAT error about a timestamp token or response. */
export function formatError(what: string, cause?: unknown): SealogError {
  return new SealogError('E_FORMAT', `timestamp: ${what}`, cause === undefined ? undefined : { cause });
}

/** An E_TAMPER error: the token parsed but does not prove what it claims. */
export function tamperError(what: string): SealogError {
  return new SealogError('E_TAMPER', `timestamp token: ${what}`);
}

/**
 * Decodes one BER/DER value that must span all of `bytes`.
 * Attacker's options: any bytes up to MAX_TIMESTAMP_TOKEN_BYTES — wrong lengths, deep
 * nesting (asn1js recurses; a stack overflow is a RangeError, caught here),
 * trailing bytes after the value (refused, so nothing rides along unsigned).
 * @throws SealogError E_FORMAT naming `what`.
 */
export function decodeDer(bytes: Uint8Array, what: string): asn1js.AsnType {
  if (!(bytes instanceof Uint8Array)) throw formatError(`${what} must be bytes`);
  if (bytes.length === 0) throw formatError(`${what} is empty`);
  if (bytes.length > MAX_TIMESTAMP_TOKEN_BYTES)
    throw formatError(`${what} is larger than ${MAX_TIMESTAMP_TOKEN_BYTES} bytes`);
  let parsed: ReturnType<typeof asn1js.fromBER>;
  try {
    parsed = asn1js.fromBER(bytes);
  } catch (err) {
    throw formatError(`${what} is not valid DER`, err);
  }
  if (parsed.offset === -1 || parsed.result.error) {
    throw formatError(`${what} is not valid DER (${clean(parsed.result.error || 'undecodable')})`);
  }
  if (parsed.offset !== bytes.length)
    throw formatError(`${what} has ${bytes.length - parsed.offset} bytes after its end`);
  return parsed.result;
}

/**
 * Runs a pkijs/asn1js step over decoded input and turns whatever it throws
 * (pkijs throws plain Errors on schema mismatches) into E_FORMAT.
 * @throws SealogError E_FORMAT; a SealogError from `fn` passes through.
 */
export function guard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SealogError) throw err;
    throw formatError(`${what} is malformed`, err);
  }
}

/** The exact bytes a decoded value was read from (its whole TLV). */
export function rawOf(block: asn1js.AsnType | { valueBeforeDecodeView: Uint8Array }): Uint8Array {
  return new Uint8Array((block as { valueBeforeDecodeView: Uint8Array }).valueBeforeDecodeView);
}

/** Text from the network, made safe to put in a message: printable, at most 200 characters. */
export function clean(text: string): string {
  const s = String(text).replace(/[^\x20-\x7e]/g, '?');
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

/** Lower-case hex of bytes. */
export function hex(bytes: Uint8Array | ArrayBuffer): string {
  return Buffer.from(bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes).toString('hex');
}

/** Constant-length byte comparison. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Most trust anchors accepted in one call (they are configuration, but still bounded). */
export const MAX_TRUST_ANCHORS = 64;

/**
 * Parses trust anchors: PEM text (one or more CERTIFICATE blocks per string),
 * each read with `read` (node:crypto's reader in Node, the WebCrypto one in
 * the browser), so both verifiers take the same input with the same messages.
 * @throws SealogError E_CONFIG when none is given or one does not parse.
 */
export function readPemCertificates<C>(
  pems: string | readonly string[],
  read: (der: Uint8Array, what: string) => C,
): C[] {
  const list = typeof pems === 'string' ? [pems] : pems;
  if (!Array.isArray(list) || list.some((p) => typeof p !== 'string')) {
    throw new SealogError(
      'E_CONFIG',
      'trustAnchors must be PEM certificate text (a string or an array of strings)',
    );
  }
  const blocks = list.flatMap(
    (p) => p.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [],
  );
  if (blocks.length === 0) {
    throw new SealogError(
      'E_CONFIG',
      'no trust anchor given: pass the TSA root CA certificate(s) as PEM (-----BEGIN CERTIFICATE-----)',
    );
  }
  if (blocks.length > MAX_TRUST_ANCHORS)
    throw new SealogError('E_CONFIG', `more than ${MAX_TRUST_ANCHORS} trust anchors`);
  return blocks.map((pem, i) => {
    try {
      const body = pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
      return read(new Uint8Array(Buffer.from(body, 'base64')), `trust anchor ${i + 1}`);
    } catch (err) {
      throw new SealogError('E_CONFIG', `trust anchor ${i + 1} is not a readable X.509 certificate`, {
        cause: err,
      });
    }
  });
}
