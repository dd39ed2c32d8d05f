// mulberry32: a small seeded PRNG, so a failing seed reproduces. Plain
// JavaScript so the child-process fixtures (*.mjs, run by node without a
// TypeScript step) share it with the tests.

/**
 * Uniform numbers in [0, 1) from a 32-bit seed.
 * @param {number} seed
 * @returns {() => number}
 */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
