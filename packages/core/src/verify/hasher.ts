import { hash } from 'node:crypto';
import { EMPTY_ROOT, HASH_SIZE } from '../hash.js';

// The verifier hashes every entry twice (leaf, chain) and about once more for
// the Merkle tree, so it uses node:crypto's one-shot `hash()` over reusable
// scratch buffers: about twice the throughput of createHash().update()
// chains on short inputs, and no per-row Hash objects. Same SHA-256 and the
// same definitions as hash.ts (format.md §2); the tests check they agree.

/** Entries at most this long are hashed through the scratch buffer; longer ones allocate. */
const SCRATCH_SIZE = 64 * 1024;

/** Reusable SHA-256 helpers for one verification pass. Not re-entrant. */
export class FastHasher {
  readonly #scratch = Buffer.alloc(1 + SCRATCH_SIZE);
  readonly #pair = Buffer.alloc(1 + 2 * HASH_SIZE);

  /** SHA-256(0x00 ‖ entry) (RFC 9162 §2.1.1 leaf). */
  leaf(entry: Uint8Array): Buffer {
    if (entry.length <= SCRATCH_SIZE) {
      this.#scratch[0] = 0;
      this.#scratch.set(entry, 1);
      return hash('sha256', this.#scratch.subarray(0, 1 + entry.length), 'buffer');
    }
    return hash('sha256', Buffer.concat([Buffer.of(0), entry]), 'buffer');
  }

  /** SHA-256(prev ‖ leaf): the chain link (format.md §2). Both must be 32 bytes. */
  chain(prev: Uint8Array, leaf: Uint8Array): Buffer {
    this.#pair.set(prev, 0);
    this.#pair.set(leaf, HASH_SIZE);
    return hash('sha256', this.#pair.subarray(0, 2 * HASH_SIZE), 'buffer');
  }

  /** SHA-256(0x01 ‖ left ‖ right): RFC 9162 interior node. */
  node(left: Uint8Array, right: Uint8Array): Buffer {
    this.#pair[0] = 1;
    this.#pair.set(left, 1);
    this.#pair.set(right, 1 + HASH_SIZE);
    return hash('sha256', this.#pair, 'buffer');
  }
}

/**
 * An append-only RFC 6962 compact range (same algorithm as merkle.ts
 * CompactRange) on {@link FastHasher}, with the root available at any size.
 */
export class FastRange {
  readonly #h: FastHasher;
  readonly #nodes: Buffer[] = [];
  #size = 0;

  constructor(hasher: FastHasher) {
    this.#h = hasher;
  }

  get size(): number {
    return this.#size;
  }

  append(leaf: Buffer): void {
    let h = leaf;
    // Each trailing 1-bit of size is a complete subtree of equal height: merge.
    for (let s = this.#size; s % 2 === 1; s = Math.floor(s / 2)) h = this.#h.node(this.#nodes.pop()!, h);
    this.#nodes.push(h);
    this.#size++;
  }

  root(): Buffer {
    const n = this.#nodes.length;
    if (n === 0) return EMPTY_ROOT;
    let r = this.#nodes[n - 1]!;
    for (let i = n - 2; i >= 0; i--) r = this.#h.node(this.#nodes[i]!, r);
    return r;
  }

  /** The nodes concatenated, as `ledger_state.compact` stores them. */
  encode(): Buffer {
    return Buffer.concat(this.#nodes);
  }
}
