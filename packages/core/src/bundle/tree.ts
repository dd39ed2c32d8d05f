import { EMPTY_ROOT, HASH_SIZE, nodeHash } from '../hash.js';
import type { CompactRange } from '../merkle.js';

// Proofs for many leaves of one tree. merkle.ts's inclusionProof recomputes
// every sibling subtree from the leaves (O(n) per proof), fine for one proof
// and far too slow for a bundle of thousands. Here every perfect subtree hash
// is computed once (levels, ~2n hashes of memory) and the few imperfect ones
// on the right edge are memoised, so each proof is O(log n) lookups. The
// recursion is RFC 9162 §2.1.3.1 / §2.1.4.1 exactly; tree.test.ts checks the
// output equals merkle.ts's reference on random sizes.

function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function log2IfPowerOfTwo(n: number): number {
  let h = 0;
  let m = n;
  while (m > 1 && m % 2 === 0) {
    m /= 2;
    h++;
  }
  return m === 1 ? h : -1;
}

/** An RFC 6962 tree over leaf hashes held in memory, answering many proofs cheaply. */
export class ProofTree {
  readonly size: number;
  /** Leaves [0, cut) were pruned: only the compact range's subtrees stand for them. */
  readonly cut: number;
  /** levels[h] = hashes of the perfect subtrees of 2^h leaves, from index floor(cut / 2^h) on. */
  readonly #levels: Uint8Array[];
  /** The compact range of [0, cut): the maximal perfect subtrees wholly below the cut, by "h:i". */
  readonly #below = new Map<string, Uint8Array>();
  /** Roots of right-edge ranges [lo, size), by lo. */
  readonly #edge = new Map<number, Uint8Array>();

  /**
   * `leaves` = leaf hashes (leafHash of each entry) concatenated, 32 bytes each,
   * of records [cut, size) where cut is `base`'s size (0 without it). `base`
   * must already be proved (its root signed at its size): it is not checked here.
   * Every subtree a proof for a record at or after the cut visits is either
   * kept or a node of `base` (a maximal subtree below the cut), so such proofs
   * are exactly those of the whole tree; anything needing a pruned leaf throws RangeError.
   */
  constructor(leaves: Uint8Array, base?: CompactRange) {
    if (leaves.length % HASH_SIZE !== 0) throw new RangeError('leaf array is not a multiple of 32 bytes');
    this.cut = base?.size ?? 0;
    this.size = this.cut + leaves.length / HASH_SIZE;
    let lo = 0;
    for (const node of base?.nodes ?? []) {
      let h = 0;
      while (2 ** (h + 1) <= this.cut - lo) h++;
      this.#below.set(`${h}:${lo / 2 ** h}`, node);
      lo += 2 ** h;
    }
    this.#levels = [leaves];
    for (let h = 1; 2 ** h <= this.size; h++) {
      const first = Math.floor(this.cut / 2 ** h);
      const count = Math.floor(this.size / 2 ** h) - first;
      const level = new Uint8Array(Math.max(0, count) * HASH_SIZE);
      this.#levels.push(level);
      for (let i = 0; i < count; i++)
        level.set(
          nodeHash(this.#node(h - 1, 2 * (first + i)), this.#node(h - 1, 2 * (first + i) + 1)),
          i * HASH_SIZE,
        );
    }
  }

  /** Leaf hash at `index` (cut ≤ index < size). */
  leaf(index: number): Uint8Array {
    this.#kept(index, 'leaf');
    return this.#node(0, index);
  }

  /** Root of the whole tree (RFC 9162 §2.1.1 MTH). */
  root(): Uint8Array {
    return this.#subtree(0, this.size);
  }

  /** MTH(D[0:m]) for cut ≤ m ≤ size (or m = 0): the root an older checkpoint at size m must show. */
  rootAt(m: number): Uint8Array {
    if (!Number.isSafeInteger(m) || m < 0 || m > this.size) throw new RangeError(`no root at size ${m}`);
    if (m === 0) return EMPTY_ROOT;
    if (m < this.cut) throw new RangeError(`no root at size ${m}: records 0..${this.cut - 1} were pruned`);
    // m's set bits, largest first, are the perfect subtrees [0, m) splits into.
    const parts: Uint8Array[] = [];
    let lo = 0;
    for (let h = Math.floor(Math.log2(m)) + 1; h >= 0; h--) {
      const span = 2 ** h;
      if (lo + span <= m) {
        parts.push(this.#node(h, lo / span));
        lo += span;
      }
    }
    let r = parts[parts.length - 1]!;
    for (let i = parts.length - 2; i >= 0; i--) r = nodeHash(parts[i]!, r);
    return r;
  }

  /** Perfect subtree i of height h: kept, else a node of the compact range below the cut. */
  #node(h: number, i: number): Uint8Array {
    const first = Math.floor(this.cut / 2 ** h);
    if (i >= first) {
      const o = (i - first) * HASH_SIZE;
      return this.#levels[h]!.subarray(o, o + HASH_SIZE);
    }
    const known = this.#below.get(`${h}:${i}`);
    if (!known) throw new RangeError(`subtree ${i} of height ${h} was pruned (the cut is at ${this.cut})`);
    return known;
  }

  #kept(index: number, what: string): void {
    if (index < this.cut)
      throw new RangeError(`${what} ${index} was pruned: records 0..${this.cut - 1} are gone`);
  }

  /** MTH(D[lo:hi]) for the ranges RFC 9162's recursion visits: perfect, or ending at size. */
  #subtree(lo: number, hi: number): Uint8Array {
    const n = hi - lo;
    if (n === 0) return EMPTY_ROOT;
    const h = log2IfPowerOfTwo(n);
    if (h >= 0 && lo % n === 0) return this.#node(h, lo / n);
    const memo = hi === this.size ? this.#edge.get(lo) : undefined;
    if (memo) return memo;
    const k = splitPoint(n);
    const r = nodeHash(this.#subtree(lo, lo + k), this.#subtree(lo + k, hi));
    if (hi === this.size) this.#edge.set(lo, r);
    return r;
  }

  /** PATH(index, D[size]) (RFC 9162 §2.1.3.1), leaf side first. Throws RangeError outside [0, size). */
  inclusionProof(index: number): Uint8Array[] {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) {
      throw new RangeError(`leaf index ${index} is not in a tree of size ${this.size}`);
    }
    this.#kept(index, 'leaf');
    const path: Uint8Array[] = [];
    let lo = 0;
    let hi = this.size;
    let m = index;
    // Walk down, collecting siblings root side first, then reverse.
    while (hi - lo > 1) {
      const k = splitPoint(hi - lo);
      if (m < k) {
        path.push(this.#subtree(lo + k, hi));
        hi = lo + k;
      } else {
        path.push(this.#subtree(lo, lo + k));
        lo += k;
        m -= k;
      }
    }
    return path.reverse();
  }

  /** PROOF(first, D[size]) (RFC 9162 §2.1.4.1). Throws RangeError unless 0 ≤ first ≤ size. */
  consistencyProof(first: number): Uint8Array[] {
    if (!Number.isSafeInteger(first) || first < 0 || first > this.size) {
      throw new RangeError(`no consistency proof from size ${first} to size ${this.size}`);
    }
    if (first > 0) this.#kept(first, 'size');
    const proof: Uint8Array[] = [];
    if (first === 0 || first === this.size) return proof;
    const sub = (m: number, lo: number, hi: number, whole: boolean): void => {
      const n = hi - lo;
      if (m === n) {
        if (!whole) proof.push(this.#subtree(lo, hi));
        return;
      }
      const k = splitPoint(n);
      if (m <= k) {
        sub(m, lo, lo + k, whole);
        proof.push(this.#subtree(lo + k, hi));
      } else {
        sub(m - k, lo + k, hi, false);
        proof.push(this.#subtree(lo, lo + k));
      }
    };
    sub(first, 0, this.size, true);
    return proof;
  }
}
