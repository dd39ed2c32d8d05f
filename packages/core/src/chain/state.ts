import { SealogError } from '../errors.js';
import { chainHash, HASH_SIZE, leafHash, ZERO_HASH } from '../hash.js';
import { CompactRange } from '../merkle.js';
import type { LedgerHead } from '../store/types.js';

/**
 * The one chain state of a ledger: the chain head (`chain[size-1]`, docs/format.md
 * §2) and the RFC 6962 compact range over the same leaves. Every writer, store
 * backend and `sealog checkpoint` extends it only through {@link append}, which
 * hashes the entry bytes itself: a state is *derived* from bytes this process
 * hashed, never copied from a stored row. Stores only persist its encoding.
 */
export class ChainState {
  readonly #range: CompactRange;
  #chain: Buffer;

  constructor(range: CompactRange = new CompactRange(), chainHead: Buffer = ZERO_HASH) {
    this.#range = range;
    this.#chain = chainHead;
  }

  /**
   * Decodes a stored (size, chain head, compact range). Every value comes from a
   * file or database an attacker may have written: types and lengths are checked
   * and anything off is E_STATE, never another exception. Decoding proves nothing
   * about the values: callers compare the root with a signed checkpoint.
   */
  static decode(size: unknown, chainHead: unknown, compact: unknown): ChainState {
    if (typeof size === 'bigint') size = Number(size);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new SealogError('E_STATE', 'stored chain state: size is not a non-negative integer');
    }
    if (!Buffer.isBuffer(chainHead) || chainHead.length !== HASH_SIZE) {
      throw new SealogError('E_STATE', 'stored chain state: chain head is not 32 bytes');
    }
    if (!Buffer.isBuffer(compact))
      throw new SealogError('E_STATE', 'stored chain state: compact range is not bytes');
    try {
      return new ChainState(CompactRange.decode(size, compact), Buffer.from(chainHead));
    } catch {
      throw new SealogError('E_STATE', `stored chain state: compact range does not fit size ${size}`);
    }
  }

  get size(): number {
    return this.#range.size;
  }

  get chainHead(): Buffer {
    return this.#chain;
  }

  root(): Buffer {
    return this.#range.root();
  }

  /** Hashes one entry (leaf, then chain) and extends the state; returns the entry's chain value. */
  append(entry: Uint8Array): Buffer {
    return this.appendLeaf(leafHash(entry));
  }

  /** Extends by a leaf hash the caller computed from the entry itself (e.g. before taking a lock). */
  appendLeaf(leaf: Buffer): Buffer {
    this.#chain = chainHash(this.#chain, leaf);
    this.#range.append(leaf);
    return this.#chain;
  }

  clone(): ChainState {
    return new ChainState(this.#range.clone(), this.#chain);
  }

  /** Size, root, chain head and compact range: all a checkpoint and its resume state need. */
  head(): LedgerHead {
    return { size: this.size, root: this.root(), chainHead: this.#chain, compact: this.encodeCompact() };
  }

  /** The compact range's bytes (its size is stored beside them). */
  encodeCompact(): Buffer {
    return this.#range.encode();
  }
}
