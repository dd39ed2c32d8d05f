// How a record crosses from the app's thread to the ledger worker: one line of
// JSON per record. The rule is that the worker's encoder must produce the very
// bytes it would have produced from the original record in-process, marks
// included (`_sealog.coerced`). A record of plain JSON values goes through
// `JSON.stringify` (fast, native). Anything JSON.stringify would change
// silently (NaN, bigint, functions, symbols, Errors, Maps, Buffers, cycles,
// throwing getters) takes the tagged path: this walk mirrors core's encoder
// (encode.ts), turns what the encoder turns into plain data into that plain
// data, and writes what the encoder would *mark* as a tag that the worker
// revives into an equivalent value, so the worker's encoder marks it the same.
// wire.test.ts checks the equivalence as a property over arbitrary values.

import { DEFAULT_MAX_DEPTH, errorFields } from '@sealog/core';

/** Key of a tag object `{ "\u0000": [kind, payload] }`; a user key equal to it is escaped (kind 'o'). */
const TAG = '\u0000';
/** First character of a tagged line; a plain line is a JSON object and starts with '{'. */
const TAGGED = '~';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Kind = 'b' | 'c' | 'd' | 'f' | 'n' | 'o' | 's' | 't' | 'u' | 'x';

const tag = (kind: Kind, payload: Json): Json => ({ [TAG]: [kind, payload] });

/**
 * One record as one line (no raw '\n': JSON escapes it). `plain` is what
 * recordFromInfo reported. Never throws.
 */
export function encodeLine(record: Record<string, unknown>, plain: boolean, maxDepth?: number): string {
  if (plain) {
    try {
      return JSON.stringify(record);
    } catch {
      // fall through to the tagged walk
    }
  }
  try {
    return TAGGED + JSON.stringify(new Walker(maxDepth ?? DEFAULT_MAX_DEPTH).top(record));
  } catch {
    // A getter that throws while the record's own fields are read: the encoder
    // would keep nothing of the record but its marks, and so does this.
    return TAGGED + JSON.stringify({ [TAG]: ['x', 0] });
  }
}

/** Mirrors Encoder in core's encode.ts, producing JSON-safe data instead of text. */
class Walker {
  readonly #ancestors: object[] = [];
  readonly #maxDepth: number;

  constructor(maxDepth: number) {
    this.#maxDepth = maxDepth;
  }

  top(record: Record<string, unknown>): Json {
    this.#ancestors.push(record);
    return this.#members(record, 0);
  }

  #value(v: unknown, depth: number): Json | undefined {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        return Number.isFinite(v) ? v : tag('n', String(v));
      case 'bigint':
        return tag('b', v.toString());
      case 'undefined':
        return undefined;
      case 'function':
        return tag('f', functionName(v));
      case 'symbol':
        return tag('s', v.description ?? null);
      default:
        return v === null ? null : this.#object(v as object, depth);
    }
  }

  #object(obj: object, depth: number): Json {
    if (this.#ancestors.includes(obj)) return tag('c', 0);
    if (depth >= this.#maxDepth) return {}; // an object at this depth: the encoder writes "[MaxDepth]"
    this.#ancestors.push(obj);
    try {
      return this.#body(obj, depth);
    } catch {
      return tag('u', 0);
    } finally {
      this.#ancestors.pop();
    }
  }

  #body(obj: object, depth: number): Json {
    const proto = Object.getPrototypeOf(obj);
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if ((proto === Object.prototype || proto === null) && typeof toJSON !== 'function') {
      return this.#members(obj as Record<string, unknown>, depth);
    }
    if (Array.isArray(obj)) return this.#array(obj, depth);
    if (obj instanceof Error) return this.#members(errorFields(obj), depth);
    if (ArrayBuffer.isView(obj)) {
      const bytes = Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength);
      return { type: 'Buffer', base64: bytes.toString('base64') };
    }
    if (obj instanceof Map) {
      return this.#members(Object.fromEntries([...obj].map(([k, v]) => [String(k), v])), depth);
    }
    if (obj instanceof Set) return this.#array([...obj], depth);
    if (obj instanceof Date && toJSON === Date.prototype.toJSON) {
      // Revived as a Date: the encoder calls the same toJSON, and privacy transforms see a Date.
      const ms = obj.getTime();
      return tag('d', Number.isNaN(ms) ? null : ms);
    }
    if (typeof toJSON === 'function') {
      const replaced: unknown = toJSON.call(obj);
      if (typeof replaced !== 'object' || replaced === null) return this.#value(replaced, depth) ?? null;
      if (replaced !== obj) return this.#object(replaced, depth);
    }
    return this.#members(obj as Record<string, unknown>, depth);
  }

  #array(arr: readonly unknown[], depth: number): Json {
    const out: Json[] = [];
    for (let i = 0; i < arr.length; i++) out.push(this.#member(arr, i, depth) ?? null);
    return out;
  }

  #members(obj: Record<string, unknown>, depth: number): Json {
    const out: Record<string, Json> = {};
    let hasTagKey = false;
    for (const k of Object.keys(obj)) {
      const v = this.#member(obj, k, depth);
      if (v === undefined) continue;
      if (k === TAG) hasTagKey = true;
      setOwn(out, k, v);
    }
    return hasTagKey ? tag('o', out) : out;
  }

  #member(container: object, key: string | number, depth: number): Json | undefined {
    let v: unknown;
    try {
      v = (container as Record<string | number, unknown>)[key];
    } catch {
      return tag('t', 0);
    }
    return this.#value(v, depth + 1);
  }
}

/** The name the encoder prints, or null when reading it throws (revived as a name that throws). */
function functionName(fn: { name: unknown }): string | null {
  try {
    const name = fn.name; // the encoder prints `name || 'anonymous'`
    return name ? String(name) : '';
  } catch {
    return null;
  }
}

/**
 * The record a line stands for. The lines come from encodeLine in this
 * process, but a line that does not parse is reported by the caller, not
 * thrown past it: the worker counts it as refused.
 *
 * @throws SyntaxError when the line is not JSON.
 */
export function decodeLine(line: string): Record<string, unknown> {
  if (line.charCodeAt(0) !== TAGGED.charCodeAt(0)) return JSON.parse(line) as Record<string, unknown>;
  const box: Record<string, unknown> = {};
  place(box, 'r', JSON.parse(line.slice(1)));
  const r = box.r;
  return typeof r === 'object' && r !== null ? (r as Record<string, unknown>) : { msg: r };
}

function place(holder: Record<string | number, unknown>, key: string | number, node: unknown): void {
  if (typeof node !== 'object' || node === null) {
    setOwn(holder, key, node);
  } else if (Array.isArray(node)) {
    const arr: unknown[] = [];
    for (let i = 0; i < node.length; i++) place(arr as unknown as Record<number, unknown>, i, node[i]);
    setOwn(holder, key, arr);
  } else if (!Object.hasOwn(node, TAG)) {
    setOwn(holder, key, members(node as Record<string, unknown>));
  } else {
    const [kind, payload] = (node as Record<string, [Kind, unknown]>)[TAG]!;
    placeTagged(holder, key, kind, payload);
  }
}

function members(node: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(node)) place(out, k, node[k]);
  return out;
}

/** Revives a tag into a value the encoder treats exactly like the original. */
function placeTagged(holder: Record<string | number, unknown>, key: string | number, kind: Kind, p: unknown) {
  switch (kind) {
    case 'o':
      return setOwn(holder, key, members(p as Record<string, unknown>));
    case 'n':
      return setOwn(holder, key, Number(p));
    case 'b':
      return setOwn(holder, key, BigInt(String(p)));
    case 'f': {
      const name = p === null ? { get: unreadable } : { value: String(p) };
      return setOwn(
        holder,
        key,
        Object.defineProperty(() => undefined, 'name', name),
      );
    }
    case 's':
      return setOwn(holder, key, Symbol(p === null ? undefined : String(p)));
    case 'd':
      return setOwn(holder, key, new Date(p === null ? Number.NaN : Number(p)));
    case 'c':
      return setOwn(holder, key, holder); // the encoder only asks "is it an ancestor?": the parent is one
    case 't':
      Object.defineProperty(holder, key, { enumerable: true, configurable: true, get: unreadable });
      return;
    case 'x':
      // A record whose listing throws: the encoder keeps only the mark.
      return setOwn(holder, key, new Proxy({}, { ownKeys: unreadable }));
    default:
      // 'u': a value whose listing threw; the encoder writes "[Unserializable]" for this too.
      return setOwn(holder, key, { toJSON: unreadable });
  }
}

function unreadable(): never {
  throw new Error('this value could not be read when it was logged');
}

/** Assignment that makes `__proto__` an own key (as JSON.parse does) instead of setting the prototype. */
function setOwn(obj: Record<string | number, unknown>, key: string | number, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}
