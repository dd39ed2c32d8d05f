// The record as the encoder will see it, as plain data. The privacy pipeline
// runs this before any transform, so redact, pseudonymize, generalize, scrub
// and noise all walk the same shape the encoder writes: a Map is an object, a
// Set an array, an Error its errorFields, a Buffer { type, base64 }, a toJSON
// value its result. Before this, a noise path did not look inside a Map or a
// toJSON result while the encoder expanded them, and the raw metric was stored
// (issue 14, finding 9b). Each toJSON is called once: its result is what every
// transform and the encoder see.
//
// This walk mirrors Encoder#objectBody in encode.ts step by step; what the
// encoder would mark stays a value it marks the same way (bigint, function,
// symbol, NaN, long strings stay as they are; a cycle, a throwing getter and an
// unlistable value become Coerced stand-ins). plain.test.ts checks that
// encodeRecord(toPlain(r)) === encodeRecord(r) as a property.

import { Coerced, errorFields, MAX_DEPTH_LIMIT } from './encode.js';

class Plainer {
  readonly #ancestors: object[] = [];
  readonly #maxDepth: number;
  readonly #own: ((container: object) => void) | undefined;
  /**
   * The raw members read so far of every container being copied, as one
   * stack (each container's run starts where its caller's ended), so a
   * container that turns out to need a copy can be built from the values
   * already read, without an array per container.
   */
  readonly #seen: unknown[] = [];

  constructor(maxDepth: number, own: ((container: object) => void) | undefined) {
    this.#maxDepth = maxDepth;
    this.#own = own;
  }

  /** The record is its children's ancestor, as in Encoder#topPairs; its keys are read without toJSON. */
  top(record: Record<string, unknown>): Record<string, unknown> {
    this.#ancestors.push(record);
    return this.members(record, 0);
  }

  value(v: unknown, depth: number): unknown {
    if (typeof v !== 'object' || v === null) return v;
    return this.object(v, depth);
  }

  object(obj: object, depth: number): unknown {
    if (obj instanceof Coerced) return obj;
    // A cycle becomes a stand-in, not a reference: a copy-on-write transform
    // would otherwise leave it pointing at the untransformed original.
    if (this.#ancestors.includes(obj)) return Coerced.CIRCULAR;
    // The encoder writes "[MaxDepth]" for any object here: left as it is (a toJSON result there would differ).
    if (depth >= this.#maxDepth) return obj;
    this.#ancestors.push(obj);
    try {
      return this.#body(obj, depth);
    } catch {
      return Coerced.UNSERIALIZABLE;
    } finally {
      this.#ancestors.pop();
    }
  }

  #body(obj: object, depth: number): unknown {
    const proto = Object.getPrototypeOf(obj);
    if (
      (proto === Object.prototype || proto === null) &&
      typeof (obj as { toJSON?: unknown }).toJSON !== 'function'
    ) {
      return this.members(obj as Record<string, unknown>, depth);
    }
    // Anything but a plain object or array becomes a fresh copy (fresh = true).
    if (Array.isArray(obj)) return this.#array(obj, depth, proto !== Array.prototype);
    if (obj instanceof Error) return this.members(errorFields(obj), depth, true);
    if (ArrayBuffer.isView(obj)) {
      const bytes = Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength);
      return this.#fresh({ type: 'Buffer', base64: bytes.toString('base64') });
    }
    if (obj instanceof Map)
      return this.members(Object.fromEntries([...obj].map(([k, v]) => [String(k), v])), depth, true);
    if (obj instanceof Set) return this.#array([...obj], depth, true);
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      const replaced: unknown = toJSON.call(obj);
      // The encoder writes an undefined toJSON result as null.
      if (typeof replaced !== 'object' || replaced === null) return replaced === undefined ? null : replaced;
      if (replaced !== obj) return this.object(replaced, depth);
    }
    return this.members(obj as Record<string, unknown>, depth, true);
  }

  // Copy on change: plain data (all a JSON-parsed pino record holds) is
  // returned as the same object, so untouched subtrees stay shared. Each
  // member is read once: the value compared is the value kept. Every
  // container made here is reported to `own`: the caller's record shares none
  // of them, so the privacy pipeline writes into them in place.
  #array(arr: readonly unknown[], depth: number, fresh = false): unknown[] {
    let out: unknown[] | undefined = fresh ? [] : undefined;
    const seen = this.#seen;
    const base = seen.length;
    try {
      for (let i = 0; i < arr.length; i++) {
        const raw = read(arr, i);
        const v = raw === THREW ? Coerced.THROWS : this.value(raw, depth + 1);
        if (out === undefined && (v !== raw || !(i in arr))) out = seen.slice(base);
        if (out !== undefined) out.push(v);
        else seen.push(raw);
      }
    } finally {
      seen.length = base;
    }
    return out === undefined ? (arr as unknown[]) : this.#fresh(out);
  }

  members(obj: Record<string, unknown>, depth: number, fresh = false): Record<string, unknown> {
    const keys = Object.keys(obj);
    let out: Record<string, unknown> | undefined = fresh ? {} : undefined;
    const seen = this.#seen;
    const base = seen.length;
    try {
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string;
        const raw = read(obj, k);
        const v = raw === THREW ? Coerced.THROWS : this.value(raw, depth + 1);
        if (out === undefined && v !== raw) {
          out = {};
          for (let j = 0; j < i; j++) setOwn(out, keys[j] as string, seen[base + j]);
        }
        if (out !== undefined) setOwn(out, k, v);
        else seen.push(raw);
      }
    } finally {
      seen.length = base;
    }
    return out === undefined ? obj : this.#fresh(out);
  }

  #fresh<T extends object>(container: T): T {
    this.#own?.(container);
    return container;
  }
}

/** The member as read once; a getter that throws reads as THREW. */
function read(container: object, key: string | number): unknown {
  try {
    return (container as Record<string | number, unknown>)[key];
  } catch {
    return THREW;
  }
}

const THREW = Symbol('threw');

/**
 * A copy of `record` in plain data (objects, arrays, primitives, functions and
 * {@link Coerced} stand-ins) that encodes to the same bytes. The top level is
 * listed as the encoder lists it (own enumerable keys, no toJSON). A record
 * that is not an object, or whose keys cannot be listed, is returned as is.
 * `maxDepth` is the encoder's: objects at or below it are left as they are
 * (the encoder writes "[MaxDepth]" for them whatever they hold).
 * `own` is told of every object and array made here (none is reachable from
 * `record`), so a copy-on-write caller may write them in place; untouched
 * plain containers are `record`'s own and are not reported.
 * Never throws, never mutates `record`.
 */
export function toPlain(
  record: Record<string, unknown>,
  maxDepth = MAX_DEPTH_LIMIT,
  own?: (container: object) => void,
): Record<string, unknown> {
  if (typeof record !== 'object' || record === null || Array.isArray(record) || ArrayBuffer.isView(record))
    return record;
  try {
    return new Plainer(Math.min(maxDepth, MAX_DEPTH_LIMIT), own).top(record);
  } catch {
    return record; // the encoder keeps only its marks of such a record
  }
}

/** As JSON.parse does, a `__proto__` key is an own data property, never the prototype. */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}
