// Path-directed, copy-on-write rewriting of a log record. Only the containers on
// the way to a changed value are copied, so the caller's object (which winston
// shares with its other transports) is never mutated, and the cost depends on
// the configured paths, not on the size of the record.

import type { Segment } from './path.js';
import { WILDCARD } from './path.js';

/** Returned by a leaf action to delete the key (redact with `remove`). */
export const REMOVE: unique symbol = Symbol('sealog.remove');

/** What to do with the value found at a path: return the replacement, the same value, or REMOVE. */
export type LeafAction = (value: unknown) => unknown;

/** Compiled paths of one transform: a trie keyed by segment. */
export interface PathTrie {
  readonly children: Map<string, PathTrie>;
  wild: PathTrie | undefined;
  action: LeafAction | undefined;
}

function node(): PathTrie {
  return { children: new Map(), wild: undefined, action: undefined };
}

/** Builds the trie for one transform. Each path gets its own action; a repeated path keeps the last. */
export function compileTrie(
  entries: readonly { segments: readonly Segment[]; action: LeafAction }[],
): PathTrie {
  const root = node();
  for (const { segments, action } of entries) {
    let n = root;
    for (const s of segments) {
      if (s === WILDCARD) n = n.wild ??= node();
      else {
        let c = n.children.get(s);
        if (!c) {
          c = node();
          n.children.set(s, c);
        }
        n = c;
      }
    }
    n.action = action;
  }
  return root;
}

/**
 * The copy-on-write state of one `apply` call: containers created here are ours
 * and may be written in place by later paths and later transforms.
 */
export class Cow {
  readonly #owned = new Set<object>();

  own<T extends object>(obj: T): T {
    this.#owned.add(obj);
    return obj;
  }

  /** Sets (or with REMOVE deletes) `key`, copying `container` first unless it is ours. */
  set(container: object, key: string, value: unknown): object {
    const target = this.#owned.has(container) ? container : this.own(shallowCopy(container));
    if (value === REMOVE) {
      // In arrays `undefined` keeps the indices and is encoded as null, like JSON.stringify.
      if (Array.isArray(target)) target[Number(key)] = undefined;
      else delete (target as Record<string, unknown>)[key];
    } else if (key === '__proto__') {
      // Plain assignment would call the prototype setter; define an own data property instead.
      Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
    } else {
      (target as Record<string, unknown>)[key] = value;
    }
    return target;
  }
}

function shallowCopy(obj: object): object {
  if (Array.isArray(obj)) return obj.slice();
  const proto = Object.getPrototypeOf(obj);
  // Plain objects: spread is ~10x faster than copying descriptors and keeps
  // exactly what the encoder writes (own enumerable keys; an own "__proto__"
  // key is defined, not set). The copy is writable even if the input is frozen.
  if (proto === Object.prototype || proto === null) return { ...obj };
  // Keep the prototype and every own property (an Error's non-enumerable
  // message and stack included) so the encoder sees the same kind of value.
  // Errors and class instances keep their prototype and every own property.
  const descriptors = Object.getOwnPropertyDescriptors(obj);
  for (const d of Object.values(descriptors)) {
    d.configurable = true;
    if ('value' in d) d.writable = true;
  }
  return Object.defineProperties(Object.create(proto), descriptors);
}

/**
 * A value we can descend into, as the encoder would serialise it: plain objects,
 * arrays, Errors and class instances as they are; Maps, Sets and `toJSON`
 * objects converted (to a fresh owned value) so a path into them still finds
 * what would otherwise be written. Anything else (strings, Dates, Buffers) has
 * no children.
 */
function descendable(v: unknown, cow: Cow): object | undefined {
  if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return undefined;
  if (Array.isArray(v) || v instanceof Error) return v;
  if (v instanceof Map) return cow.own(Object.fromEntries([...v].map(([k, x]) => [String(k), x])));
  if (v instanceof Set) return cow.own([...v]);
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    const r: unknown = toJSON.call(v);
    return typeof r === 'object' && r !== null && r !== v ? descendable(r, cow) : undefined;
  }
  return v;
}

/** Own keys the encoder would write: array indices, or own enumerable string keys. */
function has(container: object, key: string): boolean {
  if (Array.isArray(container)) return /^(0|[1-9]\d*)$/.test(key) && Number(key) < container.length;
  // The encoder writes an Error's own message, stack and cause although they are not enumerable.
  if (container instanceof Error) return Object.hasOwn(container, key);
  return Object.hasOwn(container, key) && Object.prototype.propertyIsEnumerable.call(container, key);
}

function keysOf(container: object): string[] {
  if (Array.isArray(container)) return Array.from({ length: container.length }, (_, i) => String(i));
  if (container instanceof Error) return Object.getOwnPropertyNames(container);
  return Object.keys(container);
}

/** Rewrites `container` along `trie`; returns it unchanged or a (partial) copy. */
export function rewrite(container: object, trie: PathTrie, cow: Cow): object {
  let out = container;
  for (const [key, child] of trie.children) {
    if (has(out, key)) out = visit(out, key, child, cow);
  }
  if (trie.wild) {
    for (const key of keysOf(out)) out = visit(out, key, trie.wild, cow);
  }
  return out;
}

function visit(container: object, key: string, child: PathTrie, cow: Cow): object {
  const before = (container as Record<string, unknown>)[key];
  let v: unknown = before;
  if (child.action) v = child.action(v);
  if (v !== REMOVE && (child.children.size > 0 || child.wild)) {
    const inner = descendable(v, cow);
    if (inner) v = rewrite(inner, child, cow);
  }
  return v === before ? container : cow.set(container, key, v);
}
