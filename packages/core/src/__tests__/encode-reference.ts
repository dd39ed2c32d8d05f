// The canonical encoder as it was before issue 15's rewrite (commit ec0f51f,
// encode.ts), kept verbatim as the reference the fast encoder must equal byte
// for byte (encode.equivalence.test.ts). Only Coerced (the stand-in class
// both must recognise) and the shared types and limits come from encode.ts.
// Do not "improve" this file: its value is that it is the old code.

import {
  Coerced,
  type Coercion,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_ENTRY_BYTES,
  DEFAULT_MAX_STRING_LENGTH,
  type Encoded,
  type EncodeLimits,
  META_KEY,
} from '../encode.js';

const TOP_FIELD_KEEP_BYTES = 1024;
/** Most dropped field names listed in `_sealog.dropped`; beyond it `_sealog.droppedCount` has the total. */
const MAX_DROPPED_NAMES = 1000;
// Process-wide cache of encoded well-formed keys; bounded so hostile key churn cannot grow it.
const KEY_CACHE = new Map<string, string>();
const KEY_CACHE_MAX = 4096;
const KEY_CACHE_MAX_LENGTH = 256;

class Encoder {
  readonly coerced = new Set<Coercion>();
  readonly #ancestors: object[] = [];
  readonly #maxDepth: number;
  readonly #maxString: number;

  constructor(limits: EncodeLimits) {
    this.#maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.#maxString = limits.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH;
  }

  /** Encoded object keys. Records repeat the same few keys, so this saves most key work. */
  key(k: string): string {
    // A key this encoder cuts is never looked up or cached: its cut depends on
    // the limits, and a cached cut would skip the mark on the next record.
    if (k.length > this.#maxString) return this.string(k);
    let e = KEY_CACHE.get(k);
    if (e === undefined) {
      e = this.string(k);
      // Only keys that needed no coercion (not cut, well-formed) are cached, so a hit never hides a mark.
      if (k.length <= KEY_CACHE_MAX_LENGTH && KEY_CACHE.size < KEY_CACHE_MAX && k.isWellFormed())
        KEY_CACHE.set(k, e);
    }
    return e;
  }

  string(s: string): string {
    let v = s;
    if (v.length > this.#maxString) {
      this.coerced.add('string-too-long');
      v = `${v.slice(0, this.#maxString)}…[truncated ${v.length - this.#maxString} chars]`;
    }
    if (!v.isWellFormed()) {
      this.coerced.add('lone-surrogate');
      v = v.toWellFormed();
    }
    return JSON.stringify(v);
  }

  /** Serialises `value`; returns undefined for "omit" (undefined in objects). */
  value(value: unknown, depth: number): string | undefined {
    switch (typeof value) {
      case 'string':
        return this.string(value);
      case 'number':
        if (Number.isFinite(value)) return JSON.stringify(value);
        this.coerced.add('non-finite');
        return 'null';
      case 'boolean':
        return value ? 'true' : 'false';
      case 'bigint':
        this.coerced.add('bigint');
        return JSON.stringify(value.toString());
      case 'undefined':
        return undefined;
      case 'function':
        this.coerced.add('function');
        return this.string(`[Function: ${value.name || 'anonymous'}]`);
      case 'symbol':
        this.coerced.add('symbol');
        return this.string(value.toString());
      default:
        return value === null ? 'null' : this.object(value as object, depth);
    }
  }

  object(obj: object, depth: number): string {
    if (obj instanceof Coerced && (obj.anyDepth || depth < this.#maxDepth)) {
      this.coerced.add(obj.mark);
      return obj.text;
    }
    if (this.#ancestors.includes(obj)) {
      this.coerced.add('circular');
      return '"[Circular]"';
    }
    if (depth >= this.#maxDepth) {
      this.coerced.add('depth');
      return '"[MaxDepth]"';
    }
    this.#ancestors.push(obj);
    try {
      return this.#objectBody(obj, depth);
    } catch {
      // Proxies, throwing toJSON or getters: keep the record, mark the value.
      this.coerced.add('getter-threw');
      return '"[Unserializable]"';
    } finally {
      this.#ancestors.pop();
    }
  }

  #objectBody(obj: object, depth: number): string {
    const proto = Object.getPrototypeOf(obj);
    // Fast path: records parsed from JSON (pino's worker) are plain objects and arrays.
    if (
      (proto === Object.prototype || proto === null) &&
      typeof (obj as { toJSON?: unknown }).toJSON !== 'function'
    ) {
      return this.members(obj as Record<string, unknown>, depth);
    }
    if (Array.isArray(obj)) return this.array(obj, depth);
    if (obj instanceof Error) return this.members(errorFields(obj), depth);
    if (ArrayBuffer.isView(obj)) {
      const bytes = Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength);
      return this.members({ type: 'Buffer', base64: bytes.toString('base64') }, depth);
    }
    if (obj instanceof Map)
      return this.members(Object.fromEntries([...obj].map(([k, v]) => [String(k), v])), depth);
    if (obj instanceof Set) return this.array([...obj], depth);
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      // As JSON.stringify: toJSON is applied once, its result serialised as is
      // (Dates become ISO strings, an invalid Date becomes null).
      const replaced: unknown = toJSON.call(obj);
      if (typeof replaced !== 'object' || replaced === null) return this.value(replaced, depth) ?? 'null';
      if (replaced !== obj) return this.object(replaced, depth);
    }
    return this.members(obj as Record<string, unknown>, depth);
  }

  array(arr: readonly unknown[], depth: number): string {
    let out = '[';
    for (let i = 0; i < arr.length; i++)
      out += (i === 0 ? '' : ',') + (this.#member(arr, i, depth) ?? 'null');
    return `${out}]`;
  }

  members(obj: Record<string, unknown>, depth: number): string {
    const keys = Object.keys(obj).sort();
    let out = '{';
    let first = true;
    for (const k of keys) {
      const v = this.#member(obj, k, depth);
      if (v === undefined) continue;
      out += `${first ? '' : ','}${this.key(k)}:${v}`;
      first = false;
    }
    return `${out}}`;
  }

  /** Top-level members, with the record itself on the ancestor stack so self-references are caught. */
  topPairs(record: object, obj: Record<string, unknown>): [string, string][] {
    this.#ancestors.push(record);
    try {
      return this.pairs(obj, 0);
    } finally {
      this.#ancestors.pop();
    }
  }

  /** Sorted [encodedKey, encodedValue] pairs of an object's own enumerable string keys. */
  pairs(obj: Record<string, unknown>, depth: number): [string, string][] {
    const keys = Object.keys(obj).sort();
    const out: [string, string][] = [];
    for (const k of keys) {
      const v = this.#member(obj, k, depth);
      if (v !== undefined) out.push([this.key(k), v]);
    }
    return out;
  }

  #member(container: object, key: string | number, depth: number): string | undefined {
    let v: unknown;
    try {
      v = (container as Record<string | number, unknown>)[key];
    } catch {
      this.coerced.add('getter-threw');
      return '"[Throws]"';
    }
    return this.value(v, depth + 1);
  }
}

/** The fields of an Error worth keeping: type, message, stack, code, cause, own enumerable props. */
function errorFields(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  for (const k of Object.keys(err)) out[k] = (err as unknown as Record<string, unknown>)[k];
  out.type = err.constructor?.name || err.name || 'Error';
  out.message = err.message;
  if (err.stack !== undefined) out.stack = err.stack;
  if ('cause' in err && err.cause !== undefined) out.cause = err.cause;
  if (err instanceof AggregateError) out.errors = err.errors;
  return out;
}

/**
 * Encodes one log record as canonical JSON. Never throws. A non-object record is
 * wrapped as `{ "msg": value }`; any coercion is listed in `_sealog.coerced`.
 */
export function encodeRecordReference(record: unknown, limits: EncodeLimits = {}): Encoded {
  const enc = new Encoder(limits);
  let obj: Record<string, unknown>;
  if (
    typeof record === 'object' &&
    record !== null &&
    !Array.isArray(record) &&
    !ArrayBuffer.isView(record)
  ) {
    obj = record as Record<string, unknown>;
  } else {
    enc.coerced.add('not-an-object');
    obj = { msg: record };
  }
  let pairs: [string, string][];
  try {
    pairs = enc.topPairs(obj, topLevel(obj, enc));
  } catch {
    enc.coerced.add('getter-threw');
    pairs = [];
  }
  const maxBytes = limits.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  let json = assemble(pairs, enc.coerced, undefined);
  // UTF-8 needs at most 3 bytes per UTF-16 unit: short entries skip the byte count.
  const size = json.length * 3 <= maxBytes ? json.length : Buffer.byteLength(json, 'utf8');
  if (size > maxBytes) {
    // Keep what identifies the event (time, level, msg, ids) and say what was dropped.
    enc.coerced.add('entry-too-large');
    const small = pairs.filter(([, v]) => Buffer.byteLength(v, 'utf8') <= TOP_FIELD_KEEP_BYTES);
    const keptSet = new Set(small);
    const big = pairs.filter((p) => !keptSet.has(p)).map(([k]) => JSON.parse(k) as string);
    // Keep the longest prefix of the small fields that fits. Dropping a member always
    // shrinks the entry (its value goes, only its name is listed), so the size is
    // monotone in the prefix length and a binary search finds it: O(n log n), where
    // dropping one at a time was quadratic (a 100k-key record hung the writer).
    const build = (m: number) =>
      assemble(small.slice(0, m), enc.coerced, {
        originalBytes: size,
        dropped: big.concat(small.slice(m).map(([k]) => JSON.parse(k) as string)),
      });
    let lo = 0;
    let hi = small.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (Buffer.byteLength(build(mid), 'utf8') <= maxBytes) lo = mid;
      else hi = mid - 1;
    }
    json = build(lo);
  }
  return { json, coerced: [...enc.coerced].sort() };
}

function topLevel(obj: Record<string, unknown>, enc: Encoder): Record<string, unknown> {
  // An undefined member is omitted like any other, so it needs no renaming (or mark).
  // As encode.ts: a `_sealog` getter is renamed whatever it returns now (issue 15 red team).
  const d = Object.getOwnPropertyDescriptor(obj, META_KEY);
  if (d === undefined || ('value' in d && d.value === undefined)) return obj;
  // `_sealog` is ours; a caller's field of that name is kept under `__sealog`.
  enc.coerced.add('reserved-key');
  const copy: Record<string, unknown> = Object.create(null);
  for (const k of Object.keys(obj)) copy[k === META_KEY ? `_${META_KEY}` : k] = obj[k];
  return copy;
}

function assemble(
  pairs: [string, string][],
  coerced: Set<Coercion>,
  extra: { originalBytes: number; dropped: string[] } | undefined,
): string {
  const members = pairs.map(([k, v]) => `${k}:${v}`);
  if (coerced.size > 0) {
    const meta: Record<string, unknown> = { coerced: [...coerced].sort() };
    if (extra) {
      // A record with 100k top-level keys must not overflow the cap through its list of names.
      const dropped = [...extra.dropped].sort();
      if (dropped.length > MAX_DROPPED_NAMES) {
        Object.assign(meta, { droppedCount: dropped.length });
        dropped.length = MAX_DROPPED_NAMES;
      }
      Object.assign(meta, { dropped, originalBytes: extra.originalBytes });
    }
    const metaJson = canonicalJson(meta);
    const metaKey = JSON.stringify(META_KEY);
    // Insert at its sorted position so the whole entry stays canonical.
    let at = pairs.findIndex(([k]) => JSON.parse(k) > META_KEY);
    if (at < 0) at = pairs.length;
    members.splice(at, 0, `${metaKey}:${metaJson}`);
  }
  return `{${members.join(',')}}`;
}

/**
 * Strict RFC 8785 serialisation of a value that is already plain JSON
 * (objects, arrays, strings, finite numbers, booleans, null). Throws TypeError
 * on anything else; use {@link encodeRecord} for untrusted log records.
 */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'string') {
    if (!value.isWellFormed()) throw new TypeError('canonical JSON strings must be well-formed UTF-16');
    return JSON.stringify(value);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonical JSON numbers must be finite');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const parts = Object.keys(obj)
      .sort()
      .filter((k) => obj[k] !== undefined)
      .map((k) => `${canonicalJson(k)}:${canonicalJson(obj[k])}`);
    return `{${parts.join(',')}}`;
  }
  throw new TypeError(`canonical JSON cannot encode a ${typeof value}`);
}
