import { EMPTY_ROOT, HASH_SIZE, nodeHash } from './hash.js';

// RFC 6962 §2.1 / RFC 9162 §2.1 Merkle tree over leaf hashes.
//
// The writer keeps a *compact range* [0, size): one perfect-subtree hash per set
// bit of `size`, largest first. Appending is O(log n) amortised O(1), the root
// is O(log n), and the whole state fits in one small row of the ledger, so a
// reopened writer never rereads the records.

/** Incremental RFC 6962 tree state over the range [0, size). */
export class CompactRange {
  #size: number;
  readonly #nodes: Buffer[];

  constructor(size = 0, nodes: Buffer[] = []) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`invalid tree size ${size}`);
    if (nodes.length !== popcount(size)) {
      throw new RangeError(
        `a compact range of size ${size} needs ${popcount(size)} nodes, got ${nodes.length}`,
      );
    }
    for (const n of nodes)
      if (n.length !== HASH_SIZE) throw new RangeError('compact range node is not 32 bytes');
    this.#size = size;
    this.#nodes = nodes.slice();
  }

  get size(): number {
    return this.#size;
  }

  /** Perfect-subtree hashes, largest (leftmost) first. */
  get nodes(): readonly Buffer[] {
    return this.#nodes;
  }

  /** Appends one leaf hash (already `leafHash`ed). */
  append(leaf: Buffer): void {
    let h = leaf;
    // Each trailing 1-bit of size is a complete subtree of equal height: merge.
    for (let s = this.#size; s & 1; s = Math.floor(s / 2)) h = nodeHash(this.#nodes.pop()!, h);
    this.#nodes.push(h);
    this.#size++;
  }

  /** Root hash at the current size (SHA-256("") when empty). */
  root(): Buffer {
    const n = this.#nodes.length;
    if (n === 0) return EMPTY_ROOT;
    let r = this.#nodes[n - 1]!;
    for (let i = n - 2; i >= 0; i--) r = nodeHash(this.#nodes[i]!, r);
    return r;
  }

  clone(): CompactRange {
    return new CompactRange(this.#size, this.#nodes);
  }

  /** Serialised as the concatenation of node hashes (size is stored beside it). */
  encode(): Buffer {
    return Buffer.concat(this.#nodes);
  }

  /** Inverse of {@link encode}; throws RangeError on a length that does not fit `size`. */
  static decode(size: number, bytes: Uint8Array): CompactRange {
    if (bytes.length !== popcount(size) * HASH_SIZE) {
      throw new RangeError(`compact range for size ${size} must be ${popcount(size) * HASH_SIZE} bytes`);
    }
    const nodes: Buffer[] = [];
    for (let o = 0; o < bytes.length; o += HASH_SIZE)
      nodes.push(Buffer.from(bytes.subarray(o, o + HASH_SIZE)));
    return new CompactRange(size, nodes);
  }
}

function popcount(n: number): number {
  let c = 0;
  for (let s = n; s > 0; s = Math.floor(s / 2)) c += s & 1;
  return c;
}

/** Largest power of two strictly less than n (n ≥ 2). RFC 6962's split point k. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * Source of leaf hashes for proof generation: index → 32-byte leaf hash.
 * `node`, when present, answers a perfect subtree [lo, hi) the source knows
 * without its leaves (a pruned prefix's compact range), or undefined.
 */
export type LeafSource = ((index: number) => Uint8Array) & {
  node?: (lo: number, hi: number) => Uint8Array | undefined;
};

/** MTH(D[lo:hi]) from scratch (RFC 9162 §2.1.1). O(hi-lo). */
export function subtreeRoot(leaf: LeafSource, lo: number, hi: number): Uint8Array {
  const n = hi - lo;
  if (n === 0) return EMPTY_ROOT;
  const known = leaf.node?.(lo, hi);
  if (known) return known;
  if (n === 1) return leaf(lo);
  const k = splitPoint(n);
  return nodeHash(subtreeRoot(leaf, lo, lo + k), subtreeRoot(leaf, lo + k, hi));
}

/** Root of the first `leaves.length` leaves, computed from scratch. */
export function rootFromLeaves(leaves: readonly Uint8Array[]): Uint8Array {
  return subtreeRoot((i) => leaves[i]!, 0, leaves.length);
}

/** PATH(index, D[size]) of RFC 9162 §2.1.3.1: the inclusion proof, leaf-side first. */
export function inclusionProof(leaf: LeafSource, index: number, size: number): Uint8Array[] {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new RangeError(`leaf index ${index} is not in a tree of size ${size}`);
  }
  const path: Uint8Array[] = [];
  const walk = (m: number, lo: number, hi: number): void => {
    if (hi - lo <= 1) return;
    const k = splitPoint(hi - lo);
    if (m < k) {
      walk(m, lo, lo + k);
      path.push(subtreeRoot(leaf, lo + k, hi));
    } else {
      walk(m - k, lo + k, hi);
      path.push(subtreeRoot(leaf, lo, lo + k));
    }
  };
  walk(index, 0, size);
  return path;
}

/** PROOF(first, D[second]) of RFC 9162 §2.1.4.1. Empty when first is 0 or first == second. */
export function consistencyProof(leaf: LeafSource, first: number, second: number): Uint8Array[] {
  return subproof((lo, hi) => subtreeRoot(leaf, lo, hi), first, second);
}

/**
 * PROOF(first, D[second]) from the compact range at `first` (old) and the leaf
 * hashes of [first, second) only, fed page by page: RFC 9162's SUBPROOF asks
 * for subtrees that lie wholly before `first` (always nodes of its compact
 * range) or wholly after it, so a writer can prove a new checkpoint to a
 * witness without rereading old records, in memory O(log n) whatever the
 * span, yielding between pages. `pages` yields the leaves in order.
 * @throws RangeError when the pages do not add up to the span.
 */
export async function consistencyProofStreaming(
  old: CompactRange,
  second: number,
  pages: AsyncIterable<readonly Uint8Array[]>,
): Promise<Uint8Array[]> {
  const first = old.size;
  // The subtrees the proof needs, in proof order: those before `first` are nodes
  // of its compact range, those after it are rebuilt as leaves stream past.
  const wanted: [number, number][] = [];
  subproof(
    (lo, hi) => {
      wanted.push([lo, hi]);
      return EMPTY_ROOT;
    },
    first,
    second,
  );
  const building = wanted
    .filter(([lo]) => lo >= first)
    .map(([lo, hi]) => ({ lo, hi, range: new CompactRange() }))
    .sort((a, b) => a.lo - b.lo);
  let next = first;
  for await (const page of pages) {
    for (const leaf of page) {
      for (const b of building) if (next >= b.lo && next < b.hi) b.range.append(Buffer.from(leaf));
      next++;
    }
  }
  if (next !== second) throw new RangeError(`pages held ${next - first} leaves, need ${second - first}`);
  const built = new Map(building.map((b) => [`${b.lo}:${b.hi}`, b.range.root()]));
  const fromOld = new Map<string, Uint8Array>();
  let start = 0;
  for (const node of old.nodes) {
    let width = 1;
    while (width * 2 <= first - start) width *= 2;
    fromOld.set(`${start}:${start + width}`, node);
    start += width;
  }
  return wanted.map(([lo, hi]) => {
    const h = (lo >= first ? built : fromOld).get(`${lo}:${hi}`);
    if (h === undefined)
      throw new RangeError(`subtree [${lo}, ${hi}) is not in the compact range at ${first}`);
    return h;
  });
}

/** RFC 9162 §2.1.4.1 SUBPROOF over subtree hashes from `subtree(lo, hi)`. */
function subproof(
  subtree: (lo: number, hi: number) => Uint8Array,
  first: number,
  second: number,
): Uint8Array[] {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) {
    throw new RangeError(`no consistency proof from size ${first} to size ${second}`);
  }
  const proof: Uint8Array[] = [];
  if (first === 0 || first === second) return proof;
  const sub = (m: number, lo: number, hi: number, whole: boolean): void => {
    const n = hi - lo;
    if (m === n) {
      if (!whole) proof.push(subtree(lo, hi));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      sub(m, lo, lo + k, whole);
      proof.push(subtree(lo + k, hi));
    } else {
      sub(m - k, lo + k, hi, false);
      proof.push(subtree(lo, lo + k));
    }
  };
  sub(first, 0, second, true);
  return proof;
}

function isHash(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array && x.length === HASH_SIZE;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/**
 * RFC 9162 §2.1.3.2 inclusion verification. Returns false (never throws) on any
 * malformed input: proofs arrive from files an attacker may have written.
 */
export function verifyInclusion(
  leafHashValue: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isHash(leafHashValue) || !isHash(root) || !Array.isArray(proof)) return false;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  // Bit arithmetic below uses BigInt-free halving so sizes up to 2^53 work.
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leafHashValue;
  for (const p of proof) {
    if (!isHash(p)) return false;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(r, root);
}

/**
 * RFC 9162 §2.1.4.2 consistency verification between (first, firstRoot) and
 * (second, secondRoot). Returns false on any malformed input.
 */
export function verifyConsistency(
  first: number,
  second: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!isHash(firstRoot) || !isHash(secondRoot) || !Array.isArray(proof)) return false;
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second)
    return false;
  if (!proof.every(isHash)) return false;
  if (first === second) return proof.length === 0 && equalBytes(firstRoot, secondRoot);
  if (first === 0) return proof.length === 0 && equalBytes(firstRoot, EMPTY_ROOT);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : proof.slice();
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(fr, firstRoot) && equalBytes(sr, secondRoot);
}

function isPowerOfTwo(n: number): boolean {
  // Not `n & (n - 1)`: bitwise operators truncate to 32 bits and sizes reach 2^53.
  let m = n;
  while (m > 1 && m % 2 === 0) m /= 2;
  return m === 1;
}
