// Canonical JSON (RFC 8785, JCS) for log records that may contain anything a
// JavaScript program can hand a logger. The encoder never throws: a value JSON
// cannot carry is coerced to a stable stand-in and the record is marked with
// `_sealog.coerced` (DESIGN: "a record that cannot be encoded is still logged,
// marked"). JCS key order is UTF-16 code-unit order, which is what the default
// Array#sort comparator and `<` on strings do; strings and numbers are written
// as ECMAScript JSON.stringify writes them, exactly as RFC 8785 §3.2.2
// prescribes.
//
// Speed (issue 15): this runs once per record on the write path. The common
// record (a few small objects of short strings and numbers) takes fast paths
// that give the same text as the general ones: a string with nothing to escape
// is quoted as is, keys are insertion-sorted with `<`, coercion marks are bits,
// and the top level is joined directly; anything marked or too large takes the
// original route. encode.equivalence.test.ts holds the encoder as it was before
// (__tests__/encode-reference.ts) and checks equal output as a property.

/** Nesting depth beyond which values are replaced by "[MaxDepth]". */
export const DEFAULT_MAX_DEPTH = 64;
/** Largest `maxDepth` accepted (options.ts): deeper recursion risks the stack, and toPlain stops here. */
export const MAX_DEPTH_LIMIT = 1000;
/** Longest string (UTF-16 code units) kept whole; longer ones are cut and marked. */
export const DEFAULT_MAX_STRING_LENGTH = 64 * 1024;
/** Largest encoded entry in bytes; a larger record keeps only its small top-level fields. */
export const DEFAULT_MAX_ENTRY_BYTES = 1024 * 1024;
/** Reserved top-level key for sealog's own annotations. */
export const META_KEY = '_sealog';

export interface EncodeLimits {
  maxDepth?: number;
  maxStringLength?: number;
  maxEntryBytes?: number;
}

/** Why a value was changed on the way in. Closed set, documented in docs/format.md. */
export type Coercion =
  | 'bigint'
  | 'circular'
  | 'depth'
  | 'entry-too-large'
  | 'function'
  | 'getter-threw'
  | 'lone-surrogate'
  | 'non-finite'
  | 'not-an-object'
  | 'reserved-key'
  | 'string-too-long'
  | 'symbol';

export interface Encoded {
  /** The canonical JSON text; its UTF-8 bytes are the ledger entry. */
  json: string;
  /** Coercions applied, sorted; empty when the record was already plain JSON. */
  coerced: Coercion[];
}

/**
 * A stand-in toPlain (plain.ts) leaves where the encoder would write a marked
 * string, so a normalised record encodes to the very bytes of the original:
 * a cycle, a getter that threw, a value whose listing threw.
 */
export class Coerced {
  private constructor(
    readonly mark: Coercion,
    readonly text: string,
    /** false: written only above maxDepth (deeper, the encoder writes "[MaxDepth]" as it would have). */
    readonly anyDepth: boolean,
  ) {
    Object.freeze(this);
  }
  static readonly CIRCULAR = new Coerced('circular', '"[Circular]"', true);
  static readonly THROWS = new Coerced('getter-threw', '"[Throws]"', true);
  static readonly UNSERIALIZABLE = new Coerced('getter-threw', '"[Unserializable]"', false);
}

const TOP_FIELD_KEEP_BYTES = 1024;
/** Most dropped field names listed in `_sealog.dropped`; beyond it `_sealog.droppedCount` has the total. */
const MAX_DROPPED_NAMES = 1000;
// Process-wide cache of encoded well-formed keys; bounded so hostile key churn cannot grow it.
const KEY_CACHE = new Map<string, string>();
const KEY_CACHE_MAX = 4096;
const KEY_CACHE_MAX_LENGTH = 256;
/** Objects with more keys are sorted by Array#sort; below, insertion sort is cheaper. */
const INSERTION_SORT_MAX = 32;

/** Every coercion (a Record, so the compiler insists on all of them). */
const COERCION_SET: Record<Coercion, true> = {
  bigint: true,
  circular: true,
  depth: true,
  'entry-too-large': true,
  function: true,
  'getter-threw': true,
  'lone-surrogate': true,
  'non-finite': true,
  'not-an-object': true,
  'reserved-key': true,
  'string-too-long': true,
  symbol: true,
};
/** Sorted: an encoder keeps the coercions applied as bits in this order. */
const COERCIONS = (Object.keys(COERCION_SET) as Coercion[]).sort();
const BIT = Object.fromEntries(COERCIONS.map((c, i) => [c, 1 << i])) as Record<Coercion, number>;

/**
 * A code unit JSON.stringify would escape (C0 control, quote, backslash) or any
 * surrogate (paired ones are fine but rare; lone ones are marked): a string
 * without one is written as `"` + s + `"`, which is what JSON.stringify gives.
 */
const NEEDS_ESCAPE_OR_CHECK = /[\u0000-\u001f"\\\ud800-\udfff]/;

class Encoder {
  /** Coercions applied, as {@link BIT}s. */
  marks = 0;
  readonly #ancestors: object[] = [];
  readonly #maxDepth: number;
  readonly #maxString: number;

  constructor(limits: EncodeLimits) {
    this.#maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.#maxString = limits.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH;
  }

  mark(c: Coercion): void {
    this.marks |= BIT[c];
  }

  /** The coercions applied, sorted. */
  coerced(): Coercion[] {
    return this.marks === 0 ? [] : COERCIONS.filter((c) => (this.marks & BIT[c]) !== 0);
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
    if (s.length <= this.#maxString && !NEEDS_ESCAPE_OR_CHECK.test(s)) return `"${s}"`;
    let v = s;
    if (v.length > this.#maxString) {
      this.mark('string-too-long');
      v = `${v.slice(0, this.#maxString)}…[truncated ${v.length - this.#maxString} chars]`;
    }
    if (!v.isWellFormed()) {
      this.mark('lone-surrogate');
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
        // ToString(number), which is what JSON.stringify writes for a finite number.
        if (Number.isFinite(value)) return `${value}`;
        this.mark('non-finite');
        return 'null';
      case 'boolean':
        return value ? 'true' : 'false';
      case 'bigint':
        this.mark('bigint');
        return JSON.stringify(value.toString());
      case 'undefined':
        return undefined;
      case 'function':
        this.mark('function');
        return this.string(`[Function: ${value.name || 'anonymous'}]`);
      case 'symbol':
        this.mark('symbol');
        return this.string(value.toString());
      default:
        return value === null ? 'null' : this.object(value as object, depth);
    }
  }

  object(obj: object, depth: number): string {
    if (obj instanceof Coerced && (obj.anyDepth || depth < this.#maxDepth)) {
      this.mark(obj.mark);
      return obj.text;
    }
    if (this.#ancestors.includes(obj)) {
      this.mark('circular');
      return '"[Circular]"';
    }
    if (depth >= this.#maxDepth) {
      this.mark('depth');
      return '"[MaxDepth]"';
    }
    this.#ancestors.push(obj);
    try {
      return this.#objectBody(obj, depth);
    } catch {
      // Proxies, throwing toJSON or getters: keep the record, mark the value.
      this.mark('getter-threw');
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
    const keys = sortedKeys(obj);
    let out = '{';
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const v = this.#member(obj, k, depth);
      if (v === undefined) continue;
      out += `${out.length === 1 ? '' : ','}${this.key(k)}:${v}`;
    }
    return `${out}}`;
  }

  /**
   * The record's own members, sorted, as encoded keys and values (undefined ones
   * left out), with the record itself on the ancestor stack so self-references
   * are caught. Throws what listing the record throws.
   */
  top(record: object, obj: Record<string, unknown>, keys: string[], values: string[]): void {
    this.#ancestors.push(record);
    try {
      const names = sortedKeys(obj);
      for (let i = 0; i < names.length; i++) {
        const k = names[i]!;
        const v = this.#member(obj, k, 0);
        if (v === undefined) continue;
        keys.push(this.key(k));
        values.push(v);
      }
    } finally {
      this.#ancestors.pop();
    }
  }

  #member(container: object, key: string | number, depth: number): string | undefined {
    let v: unknown;
    try {
      v = (container as Record<string | number, unknown>)[key];
    } catch {
      this.mark('getter-threw');
      return '"[Throws]"';
    }
    return this.value(v, depth + 1);
  }
}

/**
 * An object's own enumerable string keys in UTF-16 code-unit order: the order
 * of Array#sort's default comparator, which `<` on strings also gives (keys are
 * distinct, so any correct sort agrees). Insertion sort for the few keys of a
 * typical object, often already in order; Array#sort for many.
 */
function sortedKeys(obj: object): string[] {
  const keys = Object.keys(obj);
  const n = keys.length;
  if (n > INSERTION_SORT_MAX) return keys.sort();
  for (let i = 1; i < n; i++) {
    const k = keys[i]!;
    let j = i - 1;
    if (!(k < keys[j]!)) continue;
    while (j >= 0 && k < keys[j]!) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
}

/** The fields of an Error worth keeping: type, message, stack, code, cause, own enumerable props. */
export function errorFields(err: Error): Record<string, unknown> {
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
export function encodeRecord(record: unknown, limits: EncodeLimits = {}): Encoded {
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
    enc.mark('not-an-object');
    obj = { msg: record };
  }
  const keys: string[] = [];
  const values: string[] = [];
  try {
    enc.top(obj, topLevel(obj, enc), keys, values);
  } catch {
    enc.mark('getter-threw');
    keys.length = 0;
    values.length = 0;
  }
  const maxBytes = limits.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  let json: string;
  if (enc.marks === 0) {
    // The common case: nothing to insert, the members joined as they are.
    json = '{';
    for (let i = 0; i < keys.length; i++) json += `${i === 0 ? '' : ','}${keys[i]}:${values[i]}`;
    json += '}';
  } else {
    json = assemble(keys, values, keys.length, enc.coerced(), undefined);
  }
  // UTF-8 needs at most 3 bytes per UTF-16 unit: short entries skip the byte count.
  const size = json.length * 3 <= maxBytes ? json.length : Buffer.byteLength(json, 'utf8');
  if (size > maxBytes) json = tooLarge(enc, keys, values, size, maxBytes);
  return { json, coerced: enc.coerced() };
}

/** An entry over maxEntryBytes: keep what identifies the event (time, level, msg, ids) and say what was dropped. */
function tooLarge(enc: Encoder, keys: string[], values: string[], size: number, maxBytes: number): string {
  enc.mark('entry-too-large');
  const coerced = enc.coerced();
  const smallKeys: string[] = [];
  const smallValues: string[] = [];
  const big: string[] = [];
  for (let i = 0; i < keys.length; i++) {
    if (Buffer.byteLength(values[i]!, 'utf8') <= TOP_FIELD_KEEP_BYTES) {
      smallKeys.push(keys[i]!);
      smallValues.push(values[i]!);
    } else {
      big.push(JSON.parse(keys[i]!) as string);
    }
  }
  // Keep the longest prefix of the small fields that fits. Dropping a member always
  // shrinks the entry (its value goes, only its name is listed), so the size is
  // monotone in the prefix length and a binary search finds it: O(n log n), where
  // dropping one at a time was quadratic (a 100k-key record hung the writer).
  const build = (m: number) =>
    assemble(smallKeys, smallValues, m, coerced, {
      originalBytes: size,
      dropped: big.concat(smallKeys.slice(m).map((k) => JSON.parse(k) as string)),
    });
  let lo = 0;
  let hi = smallKeys.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (Buffer.byteLength(build(mid), 'utf8') <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  return build(lo);
}

function topLevel(obj: Record<string, unknown>, enc: Encoder): Record<string, unknown> {
  // An undefined data member is omitted like any other, so it needs no renaming (or mark).
  // A getter is renamed whatever it returns now: it may return something else when encoded
  // (a getter answering undefined here and a gap record later forged one; issue 15 red team).
  const d = Object.getOwnPropertyDescriptor(obj, META_KEY);
  if (d === undefined || ('value' in d && d.value === undefined)) return obj;
  // `_sealog` is ours; a caller's field of that name is kept under `__sealog`.
  enc.mark('reserved-key');
  const copy: Record<string, unknown> = Object.create(null);
  for (const k of Object.keys(obj)) copy[k === META_KEY ? `_${META_KEY}` : k] = obj[k];
  return copy;
}

/** The first `n` members, with `_sealog` (when anything was coerced) at its sorted place. */
function assemble(
  keys: readonly string[],
  values: readonly string[],
  n: number,
  coerced: readonly Coercion[],
  extra: { originalBytes: number; dropped: string[] } | undefined,
): string {
  const members: string[] = [];
  for (let i = 0; i < n; i++) members.push(`${keys[i]}:${values[i]}`);
  if (coerced.length > 0) {
    const meta: Record<string, unknown> = { coerced: coerced.slice() };
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
    let at = 0;
    while (at < n && !((JSON.parse(keys[at]!) as string) > META_KEY)) at++;
    members.splice(at, 0, `${metaKey}:${metaJson}`);
  }
  return `{${members.join(',')}}`;
}

/**
 * Strict RFC 8785 serialisation of a value that is already plain JSON
 * (objects, arrays, strings, finite numbers, booleans, null). Throws TypeError
 * on anything else; use {@link encodeRecord} for untrusted log records.
 */
export function canonicalJson(value: unknown): string {
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
