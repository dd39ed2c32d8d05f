// Pseudonymization keys. A key is 32 or more random bytes written as one line
// of hex or base64/base64url text, in a file or an environment variable. The
// bytes live only in a private field: they never appear in errors, logs,
// JSON or util.inspect output.

import { createHmac } from 'node:crypto';
import { resolve } from 'node:path';
import { inspect } from 'node:util';
import { SealogError } from '../errors.js';
import { checkKeyStrength, looksLikeKeyText, MAX_KEY_TEXT, readKeyFile, shown } from './key-file.js';
import { type KeyTombstone, parseTombstone, shreddedMessage } from './tombstone.js';

export { MAX_KEY_TEXT } from './key-file.js';

/** Minimum key length: HMAC-SHA-256 keys shorter than the hash output weaken it (RFC 2104 §3). */
export const MIN_KEY_BYTES = 32;
/** Key IDs appear in every pseudonym (`psn:<id>:…`), so they are short and unambiguous. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** A named HMAC key. Create with {@link PseudonymKey.fromText} or {@link loadPseudonymKey}. */
export class PseudonymKey {
  readonly id: string;
  readonly #bytes: Buffer;

  private constructor(id: string, bytes: Buffer) {
    this.id = id;
    this.#bytes = bytes;
  }

  /**
   * Decodes key text: hex if it is entirely hex digits (even length), else
   * base64 or base64url; surrounding whitespace is ignored.
   * @throws SealogError E_KEY if the id is unsafe, the text is not hex/base64, or it decodes to fewer than
   *   32 bytes or to bytes that are plainly not random (one repeated byte, a short pattern).
   *   `source` (a file path or env var name) is named in the message; the text never is.
   */
  static fromText(id: string, text: string, source: string): PseudonymKey {
    checkKeyId(id, `key id for ${source}`, 'E_KEY');
    const t = text.trim();
    let bytes: Buffer;
    if (HEX.test(t)) bytes = Buffer.from(t, 'hex');
    else if (BASE64.test(t) && t.length % 4 !== 1)
      bytes = Buffer.from(t, t.includes('_') || t.includes('-') ? 'base64url' : 'base64');
    else {
      throw new SealogError(
        'E_KEY',
        `pseudonymization key "${id}" from ${source} is not hex or base64 text; create one with: openssl rand -base64 32`,
      );
    }
    try {
      checkKeyStrength(bytes, id, source, MIN_KEY_BYTES);
    } catch (err) {
      bytes.fill(0);
      throw err;
    }
    return new PseudonymKey(id, bytes);
  }

  /** HMAC-SHA-256 of the UTF-8 bytes of `data` (node:crypto: ~2x faster than a JS HMAC here). */
  mac(data: string): Buffer {
    return createHmac('sha256', this.#bytes).update(data, 'utf8').digest();
  }

  toJSON(): { id: string } {
    return { id: this.id };
  }

  [inspect.custom](): string {
    return `PseudonymKey { id: '${this.id}' }`;
  }
}

/** Where a key comes from: exactly one of a file path or an environment variable name. */
export interface KeySource {
  id: string;
  file?: string;
  env?: string;
}

export interface KeyLoadContext {
  /** Environment to read `env` keys from. Default: process.env. */
  env?: Record<string, string | undefined>;
  /** Directory relative key files are resolved against. Default: process.cwd(). */
  baseDir?: string;
}

/**
 * Reads one key from its file or environment variable.
 * @throws SealogError E_KEY if the file or variable is missing, unreadable, too large or not a valid key,
 *   or holds the tombstone of a key `sealog pseudonym shred` destroyed (the message gives the date).
 */
export function loadPseudonymKey(source: KeySource, ctx: KeyLoadContext = {}): PseudonymKey {
  const k = loadOrTombstone(source, ctx);
  if (k instanceof PseudonymKey) return k;
  throw new SealogError('E_KEY', shreddedMessage(source.id, k.where, k.tombstone));
}

/** The key, or the tombstone found where it was (so a keyring can name the entry to remove). */
function loadOrTombstone(
  source: KeySource,
  ctx: KeyLoadContext,
): PseudonymKey | { tombstone: KeyTombstone; where: string } {
  const { text, where } = readSource(source, ctx);
  const t = parseTombstone(text);
  if (t.kind === 'tombstone') return { tombstone: t.tombstone, where };
  if (t.kind === 'damaged') {
    // Never echoed: whatever follows the first word is unknown text, maybe a key.
    throw new SealogError(
      'E_KEY',
      `pseudonymization key "${source.id}": ${where} starts like the tombstone of a destroyed key but is not one ` +
        '(edited, or a shred cut short), and holds no key: finish the shred with `sealog pseudonym shred`, ' +
        'or put the key file back',
    );
  }
  return PseudonymKey.fromText(source.id, text, where);
}

function readSource(source: KeySource, ctx: KeyLoadContext): { text: string; where: string } {
  if (source.file !== undefined) {
    // Pasted key text stays key-like once resolved, so readKeyFile never prints it.
    const path = resolve(ctx.baseDir ?? process.cwd(), source.file);
    return { text: readKeyFile(path, source.id), where: shown(path, 'file') };
  }
  const name = source.env ?? '';
  const where = shown(name, 'environment variable');
  const text = (ctx.env ?? process.env)[name];
  if (text === undefined || text.trim() === '') {
    throw new SealogError('E_KEY', `pseudonymization key "${source.id}": ${where} is not set or empty`);
  }
  if (text.length > MAX_KEY_TEXT) {
    throw new SealogError('E_KEY', `pseudonymization key "${source.id}": ${where} is too long`);
  }
  return { text, where };
}

/** @throws SealogError with `code` naming `field` if `id` is not a safe key ID (never echoing key-like text). */
export function checkKeyId(id: unknown, field: string, code: 'E_CONFIG' | 'E_KEY' = 'E_CONFIG'): string {
  if (typeof id !== 'string' || !KEY_ID_PATTERN.test(id)) {
    const got =
      typeof id !== 'string'
        ? typeof id
        : looksLikeKeyText(id)
          ? `${id.length} characters that look like key text (not shown)`
          : JSON.stringify(id.slice(0, 40));
    throw new SealogError(
      code,
      `${field} must match ${KEY_ID_PATTERN.source} (letters, digits, _ and -, 1-32 chars), got ${got}`,
    );
  }
  return id;
}

/**
 * All configured keys by ID: `current` signs new pseudonyms, older IDs stay
 * loaded so the pseudonyms in old records can still be looked up.
 */
export class PseudonymKeyring {
  readonly current: PseudonymKey;
  readonly #byId: Map<string, PseudonymKey>;

  constructor(keys: readonly PseudonymKey[], currentId: string) {
    this.#byId = new Map(keys.map((k) => [k.id, k]));
    const cur = this.#byId.get(currentId);
    if (!cur)
      throw new SealogError('E_CONFIG', `current pseudonymization key "${currentId}" is not configured`);
    this.current = cur;
  }

  /** @throws SealogError E_KEY if no key has this ID. */
  get(id: string): PseudonymKey {
    const k = this.#byId.get(id);
    if (!k) throw new SealogError('E_KEY', `no pseudonymization key with id "${id}" is configured`);
    return k;
  }

  get ids(): string[] {
    return [...this.#byId.keys()];
  }
}

/**
 * Loads every key of a validated config.
 * @throws SealogError E_KEY naming the key that failed; E_CONFIG naming `${field}[i]` when an entry's
 *   key was destroyed (shredded): a destroyed key can make no pseudonym, current or not, so the entry
 *   must go (and another key be made current first).
 */
export function loadKeyring(
  sources: readonly KeySource[],
  currentId: string,
  ctx: KeyLoadContext = {},
  field = 'privacy.pseudonymize.keys',
): PseudonymKeyring {
  const keys = sources.map((s, i) => {
    const k = loadOrTombstone(s, ctx);
    if (k instanceof PseudonymKey) return k;
    const fix =
      s.id === currentId
        ? `it is ${field.replace(/\.keys$/, '.current')}: add a new key, make it current, then remove this entry`
        : 'remove this entry: no pseudonym can be computed under it again';
    throw new SealogError(
      'E_CONFIG',
      `${field}[${i}]: ${shreddedMessage(s.id, k.where, k.tombstone)}; ${fix}`,
    );
  });
  return new PseudonymKeyring(keys, currentId);
}
