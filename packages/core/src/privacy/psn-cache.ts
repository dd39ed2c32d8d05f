// A bounded cache of pseudonyms: (key, digest length, canonical text) → the
// pseudonym, so an id seen again (the same user in record after record) costs
// a Map lookup instead of an HMAC (~3 µs). Issue 15, item 2.
//
// Bounded twice: by entries and by the bytes of the cached inputs, so a
// stream of huge or all-distinct values cannot grow it. Eviction is CLOCK
// (a hit sets a bit, the hand clears bits and evicts the first clear entry):
// a hit is one Map lookup and one store, with no reordering.
//
// What it holds in memory: a copy of each cached input text (the raw
// identifier, e.g. an e-mail) until it is evicted or the process ends. The
// copy is its own string, so a cached id never keeps a larger string it was
// cut from (a scrubbed message) alive. It is never logged, serialized or put
// in an error; there is no API that lists it.

import type { PseudonymKey } from './keys.js';

/** Default entry bound: a working set of thousands of distinct ids (times a few fields) stays cached. */
export const DEFAULT_CACHE_ENTRIES = 16_384;
/** Default bound on the cached inputs, counted as 2 bytes per UTF-16 code unit: 4 MiB. */
export const DEFAULT_CACHE_BYTES = 4 * 1024 * 1024;
/** Inputs longer than this (in bytes, 2 per UTF-16 unit) are not cached: identifiers are short. */
export const MAX_CACHED_INPUT_BYTES = 1024;
/** Upper bounds accepted for the options (config.ts). */
export const MAX_CACHE_ENTRIES = 10_000_000;
export const MAX_CACHE_BYTES = 1024 * 1024 * 1024;

export interface PseudonymCacheOptions {
  /** Entries kept at most; 0 turns the cache off. */
  maxEntries: number;
  /** Bytes of cached input text kept at most (2 per UTF-16 code unit); 0 turns the cache off. */
  maxBytes: number;
}

/** A string with its own storage (not a slice or a rope over a larger string). */
function ownCopy(text: string): string {
  // utf16le round-trips every JS string exactly, lone surrogates included.
  return Buffer.from(text, 'utf16le').toString('utf16le');
}

export class PseudonymCache {
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #maxInput: number;
  readonly #slotOf = new Map<string, number>();
  // One slot per entry, parallel arrays: no object per entry.
  readonly #text: (string | undefined)[] = [];
  readonly #key: (PseudonymKey | undefined)[] = [];
  readonly #digestBytes: number[] = [];
  readonly #value: string[] = [];
  readonly #ref: number[] = [];
  readonly #free: number[] = [];
  #hand = 0;
  #bytes = 0;

  constructor(o: PseudonymCacheOptions) {
    this.#maxEntries = o.maxBytes > 0 ? o.maxEntries : 0;
    this.#maxBytes = o.maxBytes;
    this.#maxInput = Math.min(MAX_CACHED_INPUT_BYTES, o.maxBytes);
  }

  /** Entries held. */
  get size(): number {
    return this.#slotOf.size;
  }

  /** Bytes of cached input text held (2 per UTF-16 code unit). */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The pseudonym cached for `text` under exactly this key object and digest
   * length, or undefined. An entry made under another key (a rotation, or a
   * different key with the same id) is never returned.
   */
  get(key: PseudonymKey, digestBytes: number, text: string): string | undefined {
    const i = this.#slotOf.get(text);
    if (i === undefined || this.#key[i] !== key || this.#digestBytes[i] !== digestBytes) return undefined;
    this.#ref[i] = 1;
    return this.#value[i];
  }

  /** Caches `pseudonym` for `text`, replacing an entry for the same text under another key. */
  set(key: PseudonymKey, digestBytes: number, text: string, pseudonym: string): void {
    const size = text.length * 2;
    if (this.#maxEntries === 0 || size > this.#maxInput) return;
    const at = this.#slotOf.get(text);
    if (at !== undefined) {
      this.#key[at] = key;
      this.#digestBytes[at] = digestBytes;
      this.#value[at] = pseudonym;
      return;
    }
    while (this.#slotOf.size >= this.#maxEntries || this.#bytes + size > this.#maxBytes) this.#evict();
    const copy = ownCopy(text);
    const i = this.#free.pop() ?? this.#text.length;
    this.#text[i] = copy;
    this.#key[i] = key;
    this.#digestBytes[i] = digestBytes;
    this.#value[i] = pseudonym;
    this.#ref[i] = 0; // a value seen once goes first
    this.#slotOf.set(copy, i);
    this.#bytes += size;
  }

  /** Drops every entry (and with them the cached input text). */
  clear(): void {
    this.#slotOf.clear();
    this.#text.length = 0;
    this.#key.length = 0;
    this.#digestBytes.length = 0;
    this.#value.length = 0;
    this.#ref.length = 0;
    this.#free.length = 0;
    this.#hand = 0;
    this.#bytes = 0;
  }

  #evict(): void {
    // Callers only evict with at least one entry held, so this ends within two sweeps.
    for (;;) {
      const i = this.#hand;
      this.#hand = i + 1 >= this.#text.length ? 0 : i + 1;
      const text = this.#text[i];
      if (text === undefined) continue;
      if (this.#ref[i] === 1) {
        this.#ref[i] = 0;
        continue;
      }
      this.#slotOf.delete(text);
      this.#bytes -= text.length * 2;
      this.#text[i] = undefined;
      this.#key[i] = undefined;
      this.#value[i] = '';
      this.#free.push(i);
      return;
    }
  }
}
