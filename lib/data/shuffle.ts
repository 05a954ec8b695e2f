/**
 * Seeded permutations for DataLoader shuffling. Epoch e of seed s always gets the same
 * order, on any machine and in any run: the generator (sfc32) is seeded from a hash of
 * (s, e), and Fisher-Yates draws from it.
 */

/** A 32-bit integer finalizer (murmur3's fmix32 constants, lowbias variant). */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** sfc32: a small fast generator with a 128-bit state; returns uint32 values. */
function sfc32(a: number, b: number, c: number, d: number): () => number {
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
}

/** The order of 0..n-1 for (seed, epoch); seed and epoch are non-negative safe integers. */
export function permutation(n: number, seed: number, epoch: number): Int32Array {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 2 ** 32) >>> 0;
  const elo = epoch >>> 0;
  const ehi = Math.floor(epoch / 2 ** 32) >>> 0;
  const next = sfc32(mix32(lo ^ 0x9e3779b9), mix32(hi ^ 0x85ebca6b), mix32(elo ^ 0xc2b2ae35), mix32(ehi ^ 0x27d4eb2f));
  for (let i = 0; i < 12; i++) next(); // let the seed words diffuse through the state
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    // a 53-bit uniform draw keeps the bias far below anything measurable for n < 2^32
    const u = (next() * 2 ** 21 + (next() >>> 11)) / 2 ** 53;
    const j = Math.floor(u * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}
