// The privacy configuration: plain JSON (it crosses pino's worker boundary),
// validated in full at startup so a typo fails loudly before the first log
// line instead of silently logging a field raw. Every error names the exact
// field, e.g. `privacy.generalize[2].buckets must be ascending`.

import { SealogError } from '../errors.js';
import { got } from '../options.js';
import { closest } from '../suggest.js';
import { TIME_GRANULARITIES, type TimeGranularity } from './generalize.js';
import type { IpPrefixes } from './ip.js';
import { checkKeyId, type KeySource } from './keys.js';
import { validateNoise } from './noise-link.js';
import { parsePath, pathKey } from './path.js';
import { checkDigestBytes, DEFAULT_DIGEST_BYTES } from './pseudonymize.js';
import {
  DEFAULT_CACHE_BYTES,
  DEFAULT_CACHE_ENTRIES,
  MAX_CACHE_BYTES,
  MAX_CACHE_ENTRIES,
  type PseudonymCacheOptions,
} from './psn-cache.js';
import { SCRUB_KINDS, type ScrubKind } from './scan.js';
import type { ScrubReplace } from './scrub.js';

export const DEFAULT_CENSOR = '[Redacted]';
export const DEFAULT_V4_PREFIX = 24;
export const DEFAULT_V6_PREFIX = 48;

export interface RedactConfig {
  paths: string[];
  /** Replacement value. Default "[Redacted]". */
  censor: string;
  /** Delete the key instead of censoring it. Default false. */
  remove: boolean;
}

export interface PseudonymizeConfig {
  paths: string[];
  keys: KeySource[];
  /** ID of the key used for new records. */
  current: string;
  /** Digest bytes kept (8-32). Default 16. */
  digestBytes: number;
  /**
   * Pseudonym cache bounds. Default 16384 entries and 4 MiB of cached input;
   * `false` in the raw config (or 0 for either bound) turns it off.
   */
  cache?: PseudonymCacheOptions;
}

export type GeneralizeRule =
  | { path: string; ip: IpPrefixes }
  | { path: string; time: TimeGranularity }
  | { path: string; buckets: number[] }
  | { path: string; prefix: number };

export interface ScrubConfig {
  /** Default ["msg"]. */
  paths: string[];
  /** Default: all kinds. */
  kinds: ScrubKind[];
  /** Default "tag". */
  replace: ScrubReplace;
}

export interface PrivacyConfig {
  redact?: RedactConfig;
  pseudonymize?: PseudonymizeConfig;
  generalize?: GeneralizeRule[];
  scrub?: ScrubConfig;
  /** Differential-privacy noise; validated and applied by the dp module. */
  noise?: unknown;
}

const fail = (msg: string): never => {
  throw new SealogError('E_CONFIG', msg);
};

function obj(v: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${field} must be an object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) {
      const guess = closest(k, keys);
      fail(
        `${field}.${k} is not a known option${guess ? `; did you mean "${field}.${guess}"?` : ''} (known: ${keys.join(', ')})`,
      );
    }
  }
  return o;
}

function arr(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) fail(`${field} must be an array`);
  return v as unknown[];
}

function int(v: unknown, field: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    fail(`${field} must be an integer from ${lo} to ${hi}, got ${got(v)}`);
  }
  return v as number;
}

/** Parses each path (E_CONFIG on the first bad one) and returns them as given. */
function paths(v: unknown, field: string): string[] {
  return arr(v, field).map((p, i) => {
    parsePath(p, `${field}[${i}]`);
    return p as string;
  });
}

/**
 * Validates a raw `privacy` option and fills in defaults.
 * @throws SealogError E_CONFIG naming the field (`privacy.redact.paths[1]`, ...) for anything invalid or unknown.
 */
export function validatePrivacyConfig(raw: unknown, field = 'privacy'): PrivacyConfig {
  const o = obj(raw, field, ['redact', 'pseudonymize', 'generalize', 'scrub', 'noise']);
  const out: PrivacyConfig = {};
  if (o.redact !== undefined) out.redact = redact(o.redact, `${field}.redact`);
  if (o.pseudonymize !== undefined) out.pseudonymize = pseudonymize(o.pseudonymize, `${field}.pseudonymize`);
  if (o.generalize !== undefined) {
    out.generalize = arr(o.generalize, `${field}.generalize`).map((r, i) =>
      generalizeRule(r, `${field}.generalize[${i}]`),
    );
  }
  if (o.scrub !== undefined) out.scrub = scrub(o.scrub, `${field}.scrub`);
  if (out.scrub?.replace === 'pseudonym' && !out.pseudonymize) {
    fail(`${field}.scrub.replace "pseudonym" needs ${field}.pseudonymize with keys`);
  }
  checkOneTransformPerPath(out, field);
  if (o.noise !== undefined) {
    const unit = (o.noise as { unit?: unknown } | null)?.unit;
    // Budgets are keyed by the unit's value: it must be a pseudonym, never a raw identifier.
    const psn = new Set((out.pseudonymize?.paths ?? []).map((p) => pathKey(parsePath(p, field))));
    if (typeof unit === 'string' && !psn.has(pathKey(parsePath(unit, `${field}.noise.unit`)))) {
      fail(`${field}.noise.unit "${unit}" must also be listed in ${field}.pseudonymize.paths`);
    }
    out.noise = validateNoise(o.noise, `${field}.noise`);
  }
  return out;
}

function redact(v: unknown, f: string): RedactConfig {
  const o = obj(v, f, ['paths', 'censor', 'remove']);
  const censor = o.censor ?? DEFAULT_CENSOR;
  if (typeof censor !== 'string') fail(`${f}.censor must be a string`);
  const remove = o.remove ?? false;
  if (typeof remove !== 'boolean') fail(`${f}.remove must be true or false`);
  return { paths: paths(o.paths, `${f}.paths`), censor: censor as string, remove: remove as boolean };
}

function pseudonymize(v: unknown, f: string): PseudonymizeConfig {
  const o = obj(v, f, ['paths', 'keys', 'current', 'digestBytes', 'cache']);
  const keys = arr(o.keys, `${f}.keys`).map((k, i) => keySource(k, `${f}.keys[${i}]`));
  if (keys.length === 0)
    fail(`${f}.keys must list at least one key like { "id": "k1", "file": "./psn.key" }`);
  const ids = new Set<string>();
  for (const [i, k] of keys.entries()) {
    if (ids.has(k.id)) fail(`${f}.keys[${i}].id "${k.id}" is listed twice`);
    ids.add(k.id);
  }
  const current = checkKeyId(o.current ?? (keys.length === 1 ? keys[0]?.id : undefined), `${f}.current`);
  if (!ids.has(current)) fail(`${f}.current "${current}" is not the id of any of ${f}.keys`);
  const digestBytes = checkDigestBytes(o.digestBytes ?? DEFAULT_DIGEST_BYTES, `${f}.digestBytes`);
  const cache = psnCache(o.cache, `${f}.cache`);
  return { paths: paths(o.paths ?? [], `${f}.paths`), keys, current, digestBytes, cache };
}

/** `false` (off), or `{ maxEntries, maxBytes }` with defaults for what is left out. */
function psnCache(v: unknown, f: string): PseudonymCacheOptions {
  if (v === false) return { maxEntries: 0, maxBytes: 0 };
  if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v))) {
    fail(`${f} must be false or an object like { "maxEntries": 16384, "maxBytes": 4194304 }, got ${got(v)}`);
  }
  const o = obj(v ?? {}, f, ['maxEntries', 'maxBytes']);
  return {
    maxEntries: int(o.maxEntries ?? DEFAULT_CACHE_ENTRIES, `${f}.maxEntries`, 0, MAX_CACHE_ENTRIES),
    maxBytes: int(o.maxBytes ?? DEFAULT_CACHE_BYTES, `${f}.maxBytes`, 0, MAX_CACHE_BYTES),
  };
}

function keySource(v: unknown, f: string): KeySource {
  const o = obj(v, f, ['id', 'file', 'env']);
  const id = checkKeyId(o.id, `${f}.id`);
  if ((o.file === undefined) === (o.env === undefined)) fail(`${f} needs exactly one of "file" or "env"`);
  if (o.file !== undefined) {
    if (typeof o.file !== 'string' || o.file === '') fail(`${f}.file must be a non-empty path`);
    return { id, file: o.file as string };
  }
  if (typeof o.env !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(o.env)) {
    fail(`${f}.env must be an environment variable name like SEALOG_PSN_KEY`);
  }
  return { id, env: o.env as string };
}

const RULE_KINDS = ['ip', 'time', 'buckets', 'prefix'] as const;

function generalizeRule(v: unknown, f: string): GeneralizeRule {
  const o = obj(v, f, ['path', ...RULE_KINDS]);
  parsePath(o.path, `${f}.path`);
  const path = o.path as string;
  const kinds = RULE_KINDS.filter((k) => o[k] !== undefined);
  if (kinds.length !== 1) fail(`${f} needs exactly one of ${RULE_KINDS.join(', ')}`);
  if (o.ip !== undefined) {
    const ip = obj(o.ip, `${f}.ip`, ['v4Prefix', 'v6Prefix']);
    return {
      path,
      ip: {
        v4Prefix: int(ip.v4Prefix ?? DEFAULT_V4_PREFIX, `${f}.ip.v4Prefix`, 0, 32),
        v6Prefix: int(ip.v6Prefix ?? DEFAULT_V6_PREFIX, `${f}.ip.v6Prefix`, 0, 128),
      },
    };
  }
  if (o.time !== undefined) {
    if (!TIME_GRANULARITIES.includes(o.time as TimeGranularity)) {
      fail(`${f}.time must be one of ${TIME_GRANULARITIES.join(', ')}`);
    }
    return { path, time: o.time as TimeGranularity };
  }
  if (o.buckets !== undefined) {
    const b = arr(o.buckets, `${f}.buckets`);
    if (b.length === 0 || b.length > 1000) fail(`${f}.buckets must list 1 to 1000 boundaries`);
    for (const [i, x] of b.entries()) {
      if (typeof x !== 'number' || !Number.isFinite(x)) fail(`${f}.buckets[${i}] must be a finite number`);
      if (i > 0 && (x as number) <= (b[i - 1] as number)) fail(`${f}.buckets must be ascending`);
    }
    return { path, buckets: b as number[] };
  }
  return { path, prefix: int(o.prefix, `${f}.prefix`, 0, 1_000_000) };
}

function scrub(v: unknown, f: string): ScrubConfig {
  const o = obj(v, f, ['paths', 'kinds', 'replace']);
  const kinds = (o.kinds === undefined ? [...SCRUB_KINDS] : arr(o.kinds, `${f}.kinds`)).map((k, i) => {
    if (!SCRUB_KINDS.includes(k as ScrubKind))
      fail(`${f}.kinds[${i}] must be one of ${SCRUB_KINDS.join(', ')}`);
    return k as ScrubKind;
  });
  const replace = o.replace ?? 'tag';
  if (replace !== 'tag' && replace !== 'pseudonym') fail(`${f}.replace must be "tag" or "pseudonym"`);
  return { paths: paths(o.paths ?? ['msg'], `${f}.paths`), kinds, replace: replace as ScrubReplace };
}

/** Redact, pseudonymize and generalize must not claim the same path: a field gets one treatment. */
function checkOneTransformPerPath(c: PrivacyConfig, field: string): void {
  const seen = new Map<string, string>();
  const claim = (p: string, where: string) => {
    const k = pathKey(parsePath(p, where));
    const other = seen.get(k);
    if (other !== undefined)
      fail(`${where} "${p}" is also configured at ${other}; give each field one transform`);
    seen.set(k, where);
  };
  for (const [i, p] of (c.redact?.paths ?? []).entries()) claim(p, `${field}.redact.paths[${i}]`);
  for (const [i, p] of (c.pseudonymize?.paths ?? []).entries()) claim(p, `${field}.pseudonymize.paths[${i}]`);
  for (const [i, r] of (c.generalize ?? []).entries()) claim(r.path, `${field}.generalize[${i}].path`);
}
