/**
 * A seeded pseudo-random source for tests (mulberry32: 32 bits of state, fast, the same sequence
 * on every host), so that a failing random case is named by its seed and can be run again.
 */

import { checkInteger } from '../validate';

/**
 * Numbers in [0, 1) from `seed`, a 32-bit integer (-2^31 to 2^32 - 1; a negative one stands for the
 * same bits). Not for anything that needs unpredictability: it only picks test inputs.
 * @throws VirtError INVALID_ARGUMENT when `seed` is not such an integer.
 */
export function seededRandom(seed: number): () => number {
  let a = checkInteger('seededRandom', 'seed', seed, -0x8000_0000, 0xffff_ffff) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
