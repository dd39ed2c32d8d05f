import { getRandomValues } from 'node:crypto';

// The randomness every DP sampler draws from. Samplers only ever ask for a
// uniform integer below a bound, so the whole mechanism is exact integer
// arithmetic: no floating-point value ever decides an output (a float Laplace
// leaks the raw value through its low bits, Mironov 2012).

/**
 * A source of uniform integers: `rng(n)` returns an integer in [0, n) for
 * 1 ≤ n ≤ 2^32. Production code uses {@link cryptoRng}; tests inject a seeded
 * generator so statistical tests are reproducible.
 */
export type Rng = (n: number) => number;

const TWO_32 = 0x1_0000_0000;
/**
 * 64 KiB, the most getRandomValues fills in one call. Each call has a fixed
 * cost of several µs, so 4 KiB refills cost ~15 ns a word against ~2 ns here,
 * and a Laplace sample draws ~8 words (issue 15, item 2).
 */
const WORDS = 16_384;

/**
 * A buffered `node:crypto` generator (CSPRNG, 64 KiB refills). Uniformity by
 * rejection sampling, so every n gets an exactly uniform result.
 * @throws RangeError when n is not an integer in [1, 2^32].
 */
export function cryptoRng(): Rng {
  const buf = new Uint32Array(WORDS);
  let at = WORDS;
  // uniformFromWords, inlined: this runs several times per noised field.
  return (n) => {
    if (!Number.isInteger(n) || n < 1 || n > TWO_32) throw new RangeError(`rng bound ${n} not in [1, 2^32]`);
    const limit = TWO_32 - (TWO_32 % n);
    for (;;) {
      if (at === WORDS) {
        getRandomValues(buf);
        at = 0;
      }
      const w = buf[at++]!;
      if (w < limit) return w % n;
    }
  };
}

/**
 * Turns a stream of uniform 32-bit words into a uniform integer in [0, n) by
 * rejection: words at or above the largest multiple of n are redrawn.
 * @throws RangeError when n is not an integer in [1, 2^32].
 */
export function uniformFromWords(word: () => number, n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > TWO_32) throw new RangeError(`rng bound ${n} not in [1, 2^32]`);
  if (n === TWO_32) return word();
  const limit = TWO_32 - (TWO_32 % n);
  for (;;) {
    const w = word();
    if (w < limit) return w % n;
  }
}

const BIG_TWO_32 = 1n << 32n;

/**
 * Uniform bigint in [0, n) for any n ≥ 1, assembled from 32-bit draws with
 * rejection so it stays exactly uniform.
 * @throws RangeError when n < 1.
 */
export function belowBig(rng: Rng, n: bigint): bigint {
  if (n < 1n) throw new RangeError('belowBig needs n >= 1');
  if (n <= BIG_TWO_32) return BigInt(rng(Number(n)));
  let words = 0;
  for (let m = n - 1n; m > 0n; m >>= 32n) words++;
  const span = 1n << BigInt(32 * words);
  const limit = span - (span % n);
  for (;;) {
    let x = 0n;
    for (let i = 0; i < words; i++) x = (x << 32n) | BigInt(rng(TWO_32));
    if (x < limit) return x % n;
  }
}
