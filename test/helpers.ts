/** Shared test helpers: seeded JS data, simple references and closeness checks. */
import * as path from 'node:path';
import { expect, vi } from 'vitest';
import * as tg from '../lib/index';

/**
 * The data sets of ../shared/data (its README), or of TENSORGRAD_SHARED_DATA where the
 * checkout has no ../shared beside it (a GPU machine that was sent the repository alone).
 */
export const SHARED_DATA = process.env.TENSORGRAD_SHARED_DATA ?? path.resolve(__dirname, '../../shared/data');
export const MNIST_DIR = path.join(SHARED_DATA, 'mnist');

/** mulberry32: a tiny seeded generator for reference data (independent of the library's Philox). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Values uniform in [low, high) from a seeded generator. */
export function randomValues(n: number, seed: number, low = -2, high = 2): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => low + (high - low) * r());
}

export interface RandomTensorOptions {
  dtype?: tg.DType;
  seed?: number;
  low?: number;
  high?: number;
  requiresGrad?: boolean;
}

/** A tensor of seeded random values, and those values (as stored, after dtype rounding). */
export function randomTensor(shape: readonly number[], options: RandomTensorOptions = {}): { t: tg.Tensor; v: Float64Array } {
  const values = randomValues(numelOf(shape), options.seed ?? 1, options.low, options.high);
  const dtype = options.dtype ?? 'float64';
  const t = tg.tensor(values, { dtype, shape });
  if (options.requiresGrad) t.requiresGrad = true;
  return { t, v: Float64Array.from(t.data()) };
}

export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-6, rtol = 1e-5 }: { atol?: number; rtol?: number } = {},
): void {
  expect(actual.length).toBe(expected.length);
  // expect() runs only for a failing element: calling it per element made large
  // comparisons take seconds
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e)) {
      if (!Number.isNaN(a)) expect(Number.isNaN(a), `element ${i}: expected NaN, got ${a}`).toBe(true);
    } else if (!Number.isFinite(e)) {
      if (a !== e) expect(a, `element ${i}`).toBe(e);
    } else if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      expect(false, `element ${i}: got ${a}, expected ${e}`).toBe(true);
    }
  }
}

/** Row-major multi-index of flat position i. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/** Flat position of a multi-index in a row-major shape. */
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let p = 0;
  for (let d = 0; d < shape.length; d++) p = p * shape[d] + idx[d];
  return p;
}

/** NumPy-broadcast reference for a binary function over flat row-major arrays. */
export function broadcastRef(
  a: ArrayLike<number>,
  aShape: readonly number[],
  b: ArrayLike<number>,
  bShape: readonly number[],
  f: (x: number, y: number) => number,
): { values: Float64Array; shape: number[] } {
  const n = Math.max(aShape.length, bShape.length);
  const shape = Array.from({ length: n }, (_, i) => {
    const da = aShape[aShape.length - n + i] ?? 1;
    const db = bShape[bShape.length - n + i] ?? 1;
    return da === 1 ? db : da;
  });
  const pick = (idx: number[], s: readonly number[]) =>
    ravel(s.map((d, j) => (d === 1 ? 0 : idx[n - s.length + j])), s);
  const values = Float64Array.from({ length: numelOf(shape) }, (_, i) => {
    const idx = unravel(i, shape);
    return f(a[pick(idx, aShape)], b[pick(idx, bShape)]);
  });
  return { values, shape };
}

/** Runs tg.testing.gradcheck on float64 random inputs of the given shapes. */
export function gradcheckShapes(
  fn: (...xs: tg.Tensor[]) => tg.Tensor,
  shapes: ReadonlyArray<readonly number[]>,
  options: { seed?: number; low?: number; high?: number; atol?: number; rtol?: number } = {},
): void {
  const inputs = shapes.map(
    (s, i) => randomTensor(s, { seed: (options.seed ?? 7) + 101 * i, low: options.low, high: options.high, requiresGrad: true }).t,
  );
  expect(tg.testing.gradcheck(fn, inputs, { atol: options.atol, rtol: options.rtol })).toBe(true);
}

const FEATURES = tg.cpuInfo().features;
const HAS_AVX2 = FEATURES.avx2 && FEATURES.fma && FEATURES.f16c;
/** The kernel ISA levels, lowest first (TENSORGRAD_ISA, native.selectIsa). */
export const ISAS = ['generic', 'avx2', 'avx512', 'avx512bf16', 'amx'] as const;
export type Isa = (typeof ISAS)[number];
const HAS_AVX512 = HAS_AVX2 && FEATURES.avx512f && FEATURES.avx512bw && FEATURES.avx512vl && FEATURES.avx512dq;
/**
 * Whether this CPU can run each ISA's kernels; cases for the others are skipped, and
 * counted so. 'avx512bf16' (bfloat16 GEMMs on VDPBF16PS) and 'amx' (on AMX tiles, where
 * the OS grants them) run AVX-512's other kernels; 'avx512' keeps bfloat16 on the
 * widening fp32 path, so both bfloat16 paths run on such a CPU.
 */
export const CPU_RUNS: Readonly<Record<Isa, boolean>> = {
  generic: true,
  avx2: HAS_AVX2,
  avx512: HAS_AVX512,
  avx512bf16: HAS_AVX512 && FEATURES.avx512bf16,
  amx: HAS_AVX512 && FEATURES.amxBf16,
};

/** Runs fn and returns what it threw, for asserting class and exact message. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

/** Collects what is written to stdout or stderr (mocked until vi.restoreAllMocks()). */
export function capture(stream: 'stdout' | 'stderr'): () => string {
  const chunks: string[] = [];
  vi.spyOn(process[stream], 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  return () => chunks.join('');
}
