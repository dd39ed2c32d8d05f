// Keyed pseudonyms: psn:<keyId>:<base64url(HMAC-SHA-256(key, canonical(value))[0:n])>.
// Keyed, because a plain hash of an e-mail or an IP is reversed by hashing the
// candidates (DESIGN: "Privacy pipeline"). Stable per key, so one actor's events
// still join; the key ID in the output says which key to use for a lookup
// after rotation.

import { canonicalJson } from '../encode.js';
import { SealogError } from '../errors.js';
import type { PseudonymKey } from './keys.js';
import type { PseudonymCache } from './psn-cache.js';

/** Default digest length: 16 bytes = 128 bits; a collision is expected only after ~2^64 distinct values. */
export const DEFAULT_DIGEST_BYTES = 16;
export const MIN_DIGEST_BYTES = 8;
export const MAX_DIGEST_BYTES = 32;
/** Stored instead of a value that has no canonical text form (function, symbol, Map, NaN...). */
export const INVALID_VALUE = '[invalid:value]';

/**
 * The text that is MACed for a value, or undefined if it has none:
 * strings as they are; finite numbers, bigints and booleans via String()
 * (so 42 and "42" get the same pseudonym, which keeps joins working when one
 * system logs ids as numbers and another as strings); plain JSON objects and
 * arrays as RFC 8785 canonical JSON (key order never changes the pseudonym);
 * valid Dates as their ISO string.
 */
export function canonicalText(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return Number.isFinite(value) ? String(value) : undefined;
    case 'bigint':
    case 'boolean':
      return String(value);
    case 'object':
      if (value === null) return undefined;
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
      if (!Array.isArray(value) && !isPlainObject(value)) return undefined;
      try {
        return canonicalJson(value);
      } catch {
        return undefined;
      }
    default:
      return undefined;
  }
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * The pseudonym of `value` under `key`, exactly as the pipeline writes it.
 * One-way: it lets an authorised key holder find a known identifier's records
 * (subject-access requests), never recover an identifier from a pseudonym.
 * @throws SealogError E_CONFIG if `digestBytes` is out of range, E_PRIVACY if the value has no canonical text.
 */
export function pseudonymOf(value: unknown, key: PseudonymKey, digestBytes = DEFAULT_DIGEST_BYTES): string {
  checkDigestBytes(digestBytes, 'digestBytes');
  const text = canonicalText(value);
  if (text === undefined) {
    throw new SealogError('E_PRIVACY', `a ${typeof value} value has no canonical text form to pseudonymize`);
  }
  return pseudonymOfText(text, key, digestBytes);
}

/** Hot path: `text` is already canonical and `digestBytes` validated. */
export function pseudonymOfText(text: string, key: PseudonymKey, digestBytes: number): string {
  return `psn:${key.id}:${key.mac(text).subarray(0, digestBytes).toString('base64url')}`;
}

/**
 * `pseudonymOfText` under one key and digest length, looked up in `cache`
 * first when there is one. The result is the same string either way.
 */
export function pseudonymizer(
  key: PseudonymKey,
  digestBytes: number,
  cache?: PseudonymCache,
): (text: string) => string {
  if (!cache) return (text) => pseudonymOfText(text, key, digestBytes);
  return (text) => {
    let p = cache.get(key, digestBytes, text);
    if (p === undefined) {
      p = pseudonymOfText(text, key, digestBytes);
      cache.set(key, digestBytes, text, p);
    }
    return p;
  };
}

/**
 * The leaf action for a pseudonymize path: null and undefined stay (absence is
 * not an identifier), values without a canonical text become a marker, never raw.
 */
export function pseudonymizeValue(
  key: PseudonymKey,
  digestBytes: number,
  cache?: PseudonymCache,
): (v: unknown) => unknown {
  const psn = pseudonymizer(key, digestBytes, cache);
  return (v) => {
    if (v === null || v === undefined) return v;
    const text = canonicalText(v);
    return text === undefined ? INVALID_VALUE : psn(text);
  };
}

/** @throws SealogError E_CONFIG naming `field` unless 8 <= n <= 32 (integer). */
export function checkDigestBytes(n: unknown, field: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < MIN_DIGEST_BYTES || n > MAX_DIGEST_BYTES) {
    throw new SealogError(
      'E_CONFIG',
      `${field} must be an integer from ${MIN_DIGEST_BYTES} to ${MAX_DIGEST_BYTES} (default ${DEFAULT_DIGEST_BYTES})`,
    );
  }
  return n;
}
