// The one path walker of the privacy pipeline and the noise step (dp/noise.ts):
// path-directed, copy-on-write rewriting of a record already normalised by
// toPlain (plain.ts), so every transform sees exactly what the encoder writes.
// Only the containers on the way to a changed value are copied, so the
// caller's object (which winston shares with its other transports) is never
// mutated.

import { followMessage, isErrorLike, type StackRule } from './error-text.js';
import type { Segment } from './path.js';
import { WILDCARD } from './path.js';

/** Returned by a leaf action to delete the key (redact with `remove`). */
export const REMOVE: unique symbol = Symbol('sealog.remove');

/**
 * What to do with the value found at a path: return the replacement, the same
 * value, or REMOVE. `stack` says how an error's stack follows when the action
 * rewrites that error's `message` (default: rebuilt from its frames, see error-text.ts).
 */
export type LeafAction = ((value: unknown) => unknown) & { stack?: StackRule };

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
  // Plain objects: spread is ~10x faster than copying descriptors and keeps
  // exactly what the encoder writes (own enumerable keys; an own "__proto__"
  // key is defined, not set). The copy is writable even if the input is frozen.
  return Array.isArray(obj) ? obj.slice() : { ...obj };
}

/**
 * A value the walker descends into: plain objects and arrays. Records are
 * normalised by toPlain (plain.ts) before any transform runs, so a Map, Set,
 * Error, Buffer or toJSON value is already the plain data the encoder writes;
 * anything else (a Coerced stand-in, a class instance in a record that was not
 * normalised) has no children a path may reach.
 */
export function isContainer(v: unknown): v is object {
  if (typeof v !== 'object' || v === null) return false;
  if (Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Own keys the encoder would write: array indices, or own enumerable string keys. */
function has(container: object, key: string): boolean {
  if (Array.isArray(container)) return /^(0|[1-9]\d*)$/.test(key) && Number(key) < container.length;
  return Object.hasOwn(container, key) && Object.prototype.propertyIsEnumerable.call(container, key);
}

function keysOf(container: object): string[] {
  if (Array.isArray(container)) return Array.from({ length: container.length }, (_, i) => String(i));
  return Object.keys(container);
}

/** The value at `segments` (no wildcards) as the encoder would write it, or undefined when absent. */
export function readPath(root: unknown, segments: readonly string[]): unknown {
  let node = root;
  for (const key of segments) {
    if (!isContainer(node) || !has(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
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
  if (v !== REMOVE && (child.children.size > 0 || child.wild) && isContainer(v)) v = rewrite(v, child, cow);
  const out = v === before ? container : cow.set(container, key, v);
  // An error's message is repeated in its stack and causes: they follow it (error-text.ts).
  if (key === 'message' && child.action && isErrorLike(out))
    return followMessage(out, child.action, before, v, cow);
  return out;
}
