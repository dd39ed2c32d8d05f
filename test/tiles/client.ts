import { createHash } from 'node:crypto';
import { openCheckpoint, verifyConsistency, verifyInclusion } from '../../packages/core/src/index.js';

// A tlog-tiles client written from c2sp.org/tlog-tiles alone (not from the
// writer in packages/core/src/tiles), for tests: it trusts only the verifier
// keys it is given. It verifies the checkpoint, then fetches exactly the tiles
// that checkpoint's size requires, recomputes MTH from them (RFC 6962 §2.1,
// RFC 9162 §2.1), and derives inclusion and consistency proofs from tiles.
// Hashing is its own (node:crypto), so a bug shared with core's hash.ts or
// merkle.ts would not hide.

const WIDTH = 256;
const HASH = 32;

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const leafHash = (entry: Uint8Array): Buffer => sha256(Uint8Array.of(0), entry);
const nodeHash = (l: Uint8Array, r: Uint8Array): Buffer => sha256(Uint8Array.of(1), l, r);

/** §"Merkle Tree": `<N>` as 3-digit groups, all but the last prefixed with x. */
export function encodeIndex(n: number): string {
  const s = String(n);
  const padded = s.padStart(Math.ceil(s.length / 3) * 3, '0');
  const groups = padded.match(/.{3}/g)!;
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/** A verified checkpoint. */
export interface ClientCheckpoint {
  origin: string;
  size: number;
  root: Buffer;
  note: string;
}

export class TileClientError extends Error {}

/** Largest power of two strictly below n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export class TileClient {
  readonly base: string;
  /** Every path fetched, in order (tests check what a client needs). */
  readonly fetched: string[] = [];
  readonly #cache = new Map<string, Promise<Buffer>>();

  constructor(base: string) {
    this.base = base.endsWith('/') ? base : `${base}/`;
  }

  /** GET <prefix>/<path>; the body must be exactly `length` bytes when given, at most `max` otherwise. */
  async #get(path: string, length?: number, max = 1 << 26): Promise<Buffer> {
    let p = this.#cache.get(path);
    if (!p) {
      p = (async () => {
        this.fetched.push(path);
        const res = await fetch(this.base + path, { headers: { 'accept-encoding': 'gzip, identity' } });
        if (res.status !== 200) throw new TileClientError(`GET ${path}: HTTP ${res.status}`);
        const body = Buffer.from(await res.arrayBuffer());
        if (length !== undefined && body.length !== length) {
          throw new TileClientError(`${path} is ${body.length} bytes, expected ${length}`);
        }
        if (body.length > max) throw new TileClientError(`${path} is larger than ${max} bytes`);
        return body;
      })();
      this.#cache.set(path, p);
    }
    return p;
  }

  /** §Checkpoints: fetches `checkpoint` and verifies it with the given verifier keys only. */
  async checkpoint(vkeys: readonly string[]): Promise<ClientCheckpoint> {
    this.#cache.delete('checkpoint'); // the one mutable resource
    const note = (await this.#get('checkpoint', undefined, 1 << 20)).toString('utf8');
    const opened = openCheckpoint(note, vkeys);
    const { origin, size, root } = opened.checkpoint;
    return { origin, size, root: Buffer.from(root), note };
  }

  /**
   * Tile `index` at `level` as a tree of `size` has it: full (256 hashes) when
   * its end index fits, else partial with floor(size / 256^level) mod 256
   * hashes (§"Partial Tiles"), fetched only because the checkpoint requires it.
   */
  async tile(level: number, index: number, size: number): Promise<Buffer> {
    const span = WIDTH ** (level + 1);
    let width = WIDTH;
    if ((index + 1) * span > size) {
      if (index !== Math.floor(size / span))
        throw new TileClientError(`tile ${level}/${index} is past size ${size}`);
      width = Math.floor(size / WIDTH ** level) % WIDTH;
      if (width === 0) throw new TileClientError(`tile ${level}/${index} is empty at size ${size}`);
    }
    const path = `tile/${level}/${encodeIndex(index)}${width === WIDTH ? '' : `.p/${width}`}`;
    return this.#get(path, width * HASH);
  }

  /** MTH of the perfect subtree of height h at index i (leaves [i·2^h, (i+1)·2^h)), from one tile. */
  async perfectHash(h: number, i: number, size: number): Promise<Buffer> {
    if ((i + 1) * 2 ** h > size) throw new TileClientError(`subtree ${h}/${i} is past size ${size}`);
    const level = Math.floor(h / 8);
    const r = h - 8 * level;
    const first = i * 2 ** r; // index of its first hash at height 8·level
    const tile = await this.tile(level, Math.floor(first / WIDTH), size);
    const off = first % WIDTH;
    let row: Buffer[] = [];
    for (let k = 0; k < 2 ** r; k++) row.push(tile.subarray((off + k) * HASH, (off + k + 1) * HASH));
    while (row.length > 1) {
      const next: Buffer[] = [];
      for (let k = 0; k < row.length; k += 2) next.push(nodeHash(row[k]!, row[k + 1]!));
      row = next;
    }
    return row[0]!;
  }

  /** MTH(D[lo:hi]) of RFC 9162 §2.1.1 in a tree of `size`, from tiles. */
  async mth(lo: number, hi: number, size: number): Promise<Buffer> {
    const n = hi - lo;
    if (n === 0) return sha256();
    if ((n & (n - 1)) === 0 && lo % n === 0) return this.perfectHash(Math.log2(n), lo / n, size);
    const k = split(n);
    return nodeHash(await this.mth(lo, lo + k, size), await this.mth(lo + k, hi, size));
  }

  /** The root hash of the tree of `size`, recomputed from tiles. */
  root(size: number): Promise<Buffer> {
    return this.mth(0, size, size);
  }

  /** §"Log entries": the entry bundle holding `index`, parsed (uint16 big-endian lengths, bounds checked). */
  async bundle(index: number, size: number): Promise<Buffer[]> {
    const n = Math.floor(index / WIDTH);
    const width = (n + 1) * WIDTH <= size ? WIDTH : size % WIDTH;
    if (index >= size || width === 0) throw new TileClientError(`entry ${index} is past size ${size}`);
    const path = `tile/entries/${encodeIndex(n)}${width === WIDTH ? '' : `.p/${width}`}`;
    const bytes = await this.#get(path, undefined, WIDTH * (2 + 0xffff));
    const entries: Buffer[] = [];
    let o = 0;
    while (o < bytes.length) {
      if (o + 2 > bytes.length) throw new TileClientError(`${path}: truncated length at byte ${o}`);
      const len = bytes.readUInt16BE(o);
      if (o + 2 + len > bytes.length) throw new TileClientError(`${path}: entry overruns the bundle`);
      entries.push(bytes.subarray(o + 2, o + 2 + len));
      o += 2 + len;
    }
    if (entries.length !== width)
      throw new TileClientError(`${path} holds ${entries.length} entries, not ${width}`);
    // Each entry hashes to its hash in the level-0 tile (§"Log entries").
    const tile = await this.tile(0, n, size);
    for (const [k, e] of entries.entries()) {
      if (!leafHash(e).equals(tile.subarray(k * HASH, (k + 1) * HASH))) {
        throw new TileClientError(`${path}: entry ${n * WIDTH + k} does not hash to its level-0 tile hash`);
      }
    }
    return entries;
  }

  /** Entry `index` of a tree of `size`. */
  async entry(index: number, size: number): Promise<Buffer> {
    return (await this.bundle(index, size))[index % WIDTH]!;
  }

  /** PATH(m, D[lo:hi]) of RFC 9162 §2.1.3.1, from tiles. */
  async #path(m: number, lo: number, hi: number, size: number): Promise<Buffer[]> {
    const n = hi - lo;
    if (n <= 1) return [];
    const k = split(n);
    if (m < k) return [...(await this.#path(m, lo, lo + k, size)), await this.mth(lo + k, hi, size)];
    return [...(await this.#path(m - k, lo + k, hi, size)), await this.mth(lo, lo + k, size)];
  }

  /** SUBPROOF(m, D[lo:hi], b) of RFC 9162 §2.1.4.1, from tiles. */
  async #subproof(m: number, lo: number, hi: number, whole: boolean, size: number): Promise<Buffer[]> {
    const n = hi - lo;
    if (m === n) return whole ? [] : [await this.mth(lo, hi, size)];
    const k = split(n);
    if (m <= k)
      return [...(await this.#subproof(m, lo, lo + k, whole, size)), await this.mth(lo + k, hi, size)];
    return [...(await this.#subproof(m - k, lo + k, hi, false, size)), await this.mth(lo, lo + k, size)];
  }

  /** Checks entry `index` is in the tree of `cp`: its bundle entry, its tile path, its root. Returns the entry. */
  async proveInclusion(index: number, cp: ClientCheckpoint): Promise<Buffer> {
    const entry = await this.entry(index, cp.size);
    const proof = await this.#path(index, 0, cp.size, cp.size);
    if (!verifyInclusion(leafHash(entry), index, cp.size, proof, cp.root)) {
      throw new TileClientError(`entry ${index} is not included in the checkpoint at size ${cp.size}`);
    }
    return entry;
  }

  /** Checks the tree of `older` is a prefix of the tree of `newer`, with a proof built from `newer`'s tiles. */
  async proveConsistency(older: ClientCheckpoint, newer: ClientCheckpoint): Promise<void> {
    const proof =
      older.size === 0 || older.size === newer.size
        ? []
        : await this.#subproof(older.size, 0, newer.size, true, newer.size);
    if (!verifyConsistency(older.size, newer.size, older.root, newer.root, proof)) {
      throw new TileClientError(
        `checkpoint at ${older.size} is not consistent with the one at ${newer.size}`,
      );
    }
  }

  /**
   * What a monitor does: every entry of the tree of `cp`, each checked against
   * its level-0 tile, every full tile against its hash one level up, and the
   * root recomputed. Returns the entries.
   */
  async monitor(cp: ClientCheckpoint): Promise<Buffer[]> {
    const entries: Buffer[] = [];
    for (let i = 0; i < cp.size; i += WIDTH) entries.push(...(await this.bundle(i, cp.size)));
    for (let level = 0; WIDTH ** (level + 1) <= cp.size; level++) {
      const span = WIDTH ** (level + 1);
      for (let n = 0; (n + 1) * span <= cp.size; n++) {
        // The full tile's MTH is hash n at height 8·(level+1), read from the level above.
        const mine = await this.tile(level, n, cp.size);
        let row: Buffer[] = [];
        for (let k = 0; k < WIDTH; k++) row.push(mine.subarray(k * HASH, (k + 1) * HASH));
        while (row.length > 1) {
          const next: Buffer[] = [];
          for (let k = 0; k < row.length; k += 2) next.push(nodeHash(row[k]!, row[k + 1]!));
          row = next;
        }
        if (!row[0]!.equals(await this.perfectHash(8 * (level + 1), n, cp.size))) {
          throw new TileClientError(`tile ${level}/${n} does not hash to its entry at level ${level + 1}`);
        }
      }
    }
    if (!(await this.root(cp.size)).equals(cp.root)) {
      throw new TileClientError(`the tiles do not give the checkpoint's root at size ${cp.size}`);
    }
    return entries;
  }
}
