/**
 * The packed GEMM kernels, called directly through native.gemm and through tg.matmul,
 * against a double-precision triple loop: every size in {1,3,17,33,127,255,513}^3 up to
 * a work limit plus large skinny shapes, every transpose, alpha/beta (beta = 0 over a C
 * full of NaN), leading dimensions wider than the rows, batches with shared operands,
 * the fused bias/activation epilogue, 1 and 2 threads, and each ISA the CPU has
 * (selected with native.selectIsa; TENSORGRAD_ISA caps the choice at load). Then
 * linear(): forward against matmul + add, gradients, second order and errors.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tg from '../lib/index';
import { native } from '../lib/binding';
import type { GemmActivation, NativeStorage } from '../lib/binding';
import { CPU_RUNS, ISAS, expectClose, gradcheckShapes, randomTensor, randomValues } from './helpers';

type FloatType = 'float32' | 'float64';
const SIZES = [1, 3, 17, 33, 127, 255, 513];
const CHOSEN_ISA = tg.cpuInfo().isa;
const THREADS = tg.getNumThreads();

afterAll(() => {
  native.selectIsa(CHOSEN_ISA);
  tg.setNumThreads(THREADS);
});

/** The ISAs this CPU runs, each selected in turn for `fn`; the one chosen at load is restored. */
function forEachIsa(fn: (isa: string) => void): string[] {
  const ran: string[] = [];
  try {
    for (const isa of ISAS) {
      if (!native.selectIsa(isa)) continue;
      expect(tg.cpuInfo().isa).toBe(isa);
      ran.push(isa);
      fn(isa);
    }
  } finally {
    native.selectIsa(CHOSEN_ISA);
  }
  expect(ran).toContain('generic');
  expect(ran).toContain(CHOSEN_ISA);
  return ran;
}

// ------------------------------------------------------------------ reference

interface Gemm {
  ta: boolean;
  tb: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  beta: number;
  lda: number;
  ldb: number;
  ldc: number;
  batch: number;
  strideA: number;
  strideB: number;
  strideC: number;
  A: Float64Array;
  B: Float64Array;
  C: Float64Array; // C before the call
  bias: Float64Array | null;
  act: GemmActivation;
}

function activate(v: number, act: GemmActivation): number {
  switch (act) {
    case 'relu':
      return v < 0 ? 0 : v;
    case 'gelu':
      return 0.5 * v * (1 + erf(v / Math.SQRT2));
    case 'geluTanh':
      return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
    default:
      return v;
  }
}

/** erf to about 1e-15: its Taylor series near 0, a continued fraction for erfc beyond. */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 80; n++) {
      term *= (-ax * ax) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * sum * (2 / Math.sqrt(Math.PI));
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

/** C after the call, by the BLAS definition in double precision; elements outside the matrices keep their value. */
function reference(g: Gemm): Float64Array {
  const out = Float64Array.from(g.C);
  for (let bi = 0; bi < g.batch; bi++) {
    const a0 = bi * g.strideA;
    const b0 = bi * g.strideB;
    const c0 = bi * g.strideC;
    for (let i = 0; i < g.m; i++) {
      for (let j = 0; j < g.n; j++) {
        let s = 0;
        if (g.alpha !== 0) {
          for (let p = 0; p < g.k; p++) {
            const a = g.ta ? g.A[a0 + p * g.lda + i] : g.A[a0 + i * g.lda + p];
            const b = g.tb ? g.B[b0 + j * g.ldb + p] : g.B[b0 + p * g.ldb + j];
            s += a * b;
          }
        }
        const at = c0 + i * g.ldc + j;
        let v = g.alpha * s + (g.beta === 0 ? 0 : g.beta * g.C[at]);
        if (g.bias) v += g.bias[j];
        out[at] = activate(v, g.act);
      }
    }
  }
  return out;
}

/** Operands of a random GEMM, with values exact in float32 so one reference serves both dtypes. */
function makeGemm(
  shape: { m: number; n: number; k: number; ta?: boolean; tb?: boolean },
  opts: {
    seed: number;
    alpha?: number;
    beta?: number;
    pad?: [number, number, number];
    batch?: number;
    shareA?: boolean;
    shareB?: boolean;
    gap?: number;
    bias?: boolean;
    act?: GemmActivation;
  },
): Gemm {
  const { m, n, k } = shape;
  const ta = shape.ta ?? false;
  const tb = shape.tb ?? false;
  const [pa, pb, pc] = opts.pad ?? [0, 0, 0];
  const batch = opts.batch ?? 1;
  const gap = opts.gap ?? 0;
  const [ar, ac] = ta ? [k, m] : [m, k];
  const [br, bc] = tb ? [n, k] : [k, n];
  const lda = Math.max(ac, 1) + pa;
  const ldb = Math.max(bc, 1) + pb;
  const ldc = Math.max(n, 1) + pc;
  const strideA = opts.shareA ? 0 : ar * lda + gap;
  const strideB = opts.shareB ? 0 : br * ldb + gap;
  const strideC = m * ldc + gap;
  const f32 = (len: number, seed: number) => Float64Array.from(randomValues(len, seed, -1, 1), Math.fround);
  const beta = opts.beta ?? 0;
  const C = f32(Math.max(1, (batch - 1) * strideC + m * ldc), opts.seed + 3);
  // beta = 0 must ignore C entirely, NaN included
  if (beta === 0) C.fill(NaN);
  return {
    ta, tb, m, n, k, alpha: opts.alpha ?? 1, beta, lda, ldb, ldc, batch, strideA, strideB, strideC,
    A: f32(Math.max(1, (batch - 1) * strideA + ar * lda), opts.seed + 1),
    B: f32(Math.max(1, (batch - 1) * strideB + br * ldb), opts.seed + 2),
    C,
    bias: opts.bias ? f32(Math.max(n, 1), opts.seed + 4) : null,
    act: opts.act ?? 'none',
  };
}

/** Runs one GEMM natively in `dtype` and returns all of C's buffer. */
function runNative(g: Gemm, dtype: FloatType): Float64Array {
  const store = (v: Float64Array): tg.Tensor => tg.tensor(v, { dtype });
  const a = store(g.A);
  const b = store(g.B);
  const c = store(g.C);
  const bias = g.bias ? store(g.bias) : null;
  native.gemm(
    g.ta, g.tb, g.m, g.n, g.k, g.alpha,
    a._s, g.lda, g.strideA, b._s, g.ldb, g.strideB,
    g.beta, c._s, g.ldc, g.strideC, g.batch,
    bias ? (bias._s as NativeStorage) : null, native.gemmActivations[g.act],
  );
  const out = Float64Array.from(c.data());
  for (const t of [a, b, c, bias]) t?.dispose();
  return out;
}

/** Fails with the first element outside |got - want| <= atol + rtol |want| (NaN and infinities must match exactly). */
function expectNear(got: Float64Array, want: Float64Array, dtype: FloatType, k: number, where: string): void {
  expect(got.length, where).toBe(want.length);
  // error of a k-term sum of products of values in [-1, 1], with room for the float32
  // activation approximations
  const atol = dtype === 'float32' ? 2e-6 * (k + 1) : 1e-13 * (k + 1);
  const rtol = dtype === 'float32' ? 1e-5 : 1e-12;
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const a = got[i];
    const ok = Number.isFinite(w) ? Math.abs(a - w) <= atol + rtol * Math.abs(w) : Object.is(a, w);
    if (!ok) throw new Error(`${where}: element ${i} is ${a}, expected ${w}`);
  }
}

function describeGemm(g: Gemm, dtype: string): string {
  return (
    `${dtype} m=${g.m} n=${g.n} k=${g.k} ta=${g.ta} tb=${g.tb} alpha=${g.alpha} beta=${g.beta} ` +
    `ld=${g.lda},${g.ldb},${g.ldc} batch=${g.batch} strides=${g.strideA},${g.strideB},${g.strideC} ` +
    `bias=${g.bias !== null} act=${g.act}`
  );
}

/** Checks one GEMM in both dtypes on the current ISA at 1 and 2 threads (bitwise equal across them). */
function checkGemm(g: Gemm, want: Float64Array, isa: string): void {
  for (const dtype of ['float32', 'float64'] as const) {
    tg.setNumThreads(1);
    const one = runNative(g, dtype);
    tg.setNumThreads(2);
    const two = runNative(g, dtype);
    const where = `${isa} ${describeGemm(g, dtype)}`;
    expectNear(one, want, dtype, g.k, `${where} (1 thread)`);
    for (let i = 0; i < one.length; i++) {
      if (!Object.is(one[i], two[i])) throw new Error(`${where}: 2 threads give ${two[i]} at ${i}, 1 thread ${one[i]}`);
    }
  }
}

// ------------------------------------------------------------------ native.gemm

describe('native.gemm against a double-precision reference', () => {
  const ALPHA_BETA: Array<[number, number]> = [[1, 0], [1, 1], [0.5, -0.75], [-1.25, 0]];
  const PADS: Array<[number, number, number]> = [[0, 0, 0], [3, 0, 5], [0, 7, 0], [1, 1, 1]];

  // every size triple up to ~6e5 multiply-adds, then large and skinny ones
  const shapes: Array<{ m: number; n: number; k: number }> = [];
  for (const m of SIZES) for (const n of SIZES) for (const k of SIZES) if (m * n * k <= 600_000) shapes.push({ m, n, k });
  // past every block size: K > KC (C accumulates over K slices), N > NC, M > MC
  for (const [m, n, k] of [
    [513, 513, 33], [255, 513, 127], [513, 127, 255], [127, 255, 513], [33, 513, 513], [513, 513, 3],
    [17, 33, 2100], [3, 513, 1500], [5, 3000, 40], [40, 2900, 7],
    // large enough to be split over 2 threads, at odd row and column counts
    [301, 300, 150], [97, 1001, 140], [1000, 50, 260],
  ]) {
    shapes.push({ m, n, k });
  }

  let cases: Array<{ g: Gemm; want: Float64Array }> = [];
  beforeAll(() => {
    cases = [];
    shapes.forEach((s, i) => {
      for (let t = 0; t < 4; t++) {
        const [alpha, beta] = ALPHA_BETA[(i + t) % ALPHA_BETA.length];
        const g = makeGemm({ ...s, ta: (t & 1) === 1, tb: (t & 2) === 2 }, { seed: 17 * i + t, alpha, beta, pad: PADS[(i + 2 * t) % PADS.length] });
        cases.push({ g, want: reference(g) });
      }
    });
  });

  it('covers the sizes, every transpose pair, alpha/beta and wide leading dimensions', () => {
    expect(cases.length).toBe(shapes.length * 4);
    for (const m of SIZES) expect(shapes.some((s) => s.m === m && s.n === 1 && s.k === 1)).toBe(true);
    expect(cases.some(({ g }) => g.beta === 0 && Number.isNaN(g.C[0]))).toBe(true);
    expect(cases.some(({ g }) => g.lda > (g.ta ? g.m : g.k) && g.ldc > g.n)).toBe(true);
  });

  for (const isa of ISAS) {
    it.skipIf(!CPU_RUNS[isa])(`${isa}: every case in float32 and float64, at 1 and 2 threads`, () => {
      expect(native.selectIsa(isa)).toBe(true);
      try {
        for (const { g, want } of cases) checkGemm(g, want, isa);
      } finally {
        native.selectIsa(CHOSEN_ISA);
      }
    });
  }

  it('the ISAs this CPU has: generic always, and the one chosen at load', () => {
    expect(forEachIsa(() => {}).length).toBeGreaterThan(0);
  });

  it('selecting an ISA this CPU lacks is refused and keeps the choice', () => {
    for (const isa of ISAS) {
      if (CPU_RUNS[isa]) continue;
      expect(native.selectIsa(isa)).toBe(false);
      expect(tg.cpuInfo().isa).toBe(CHOSEN_ISA);
    }
    expect(native.selectIsa('sse9')).toBe(false);
  });

  it('batched: shared (stride 0) A or B, with and without gaps between matrices, every transpose', () => {
    forEachIsa((isa) => {
      let seed = 500;
      for (const [m, n, k] of [[33, 17, 127], [5, 513, 3], [127, 40, 33], [1, 1, 1]]) {
        for (let t = 0; t < 4; t++) {
          for (const share of [{}, { shareA: true }, { shareB: true }]) {
            // gap 0 with a shared B is the case run as one GEMM over the stacked rows
            for (const gap of [0, 5]) {
              const g = makeGemm({ m, n, k, ta: (t & 1) === 1, tb: (t & 2) === 2 }, { seed: seed++, batch: 3, gap, beta: t === 1 ? 0.5 : 0, ...share });
              checkGemm(g, reference(g), isa);
            }
          }
        }
      }
    });
  });

  it('submatrices: C, A and B as the top-left blocks of larger matrices; the rest stays as it was', () => {
    forEachIsa((isa) => {
      for (const [m, n, k, pad] of [[17, 33, 127, 40], [127, 255, 33, 9], [3, 513, 17, 100]]) {
        for (let t = 0; t < 4; t++) {
          const g = makeGemm({ m, n, k, ta: (t & 1) === 1, tb: (t & 2) === 2 }, { seed: 700 + t, beta: 1, pad: [pad, pad + 1, pad + 2] });
          // checkGemm compares all of C's buffer: the columns past n must keep their values
          checkGemm(g, reference(g), isa);
        }
      }
    });
  });

  it('alpha = 0 reads neither A nor B, K = 0 leaves beta C, and empty sizes are no-ops', () => {
    forEachIsa((isa) => {
      const g = makeGemm({ m: 17, n: 33, k: 65 }, { seed: 801, alpha: 0, beta: 2 });
      g.A.fill(NaN);
      checkGemm(g, Float64Array.from(g.C, (v) => 2 * v), isa);
      const k0 = makeGemm({ m: 17, n: 33, k: 0 }, { seed: 802, beta: 0.5 });
      checkGemm(k0, Float64Array.from(k0.C, (v) => 0.5 * v), isa);
      const k0zero = makeGemm({ m: 4, n: 5, k: 0 }, { seed: 803, beta: 0 });
      checkGemm(k0zero, new Float64Array(k0zero.C.length), isa);
      for (const [m, n] of [[0, 5], [5, 0]]) {
        const e = makeGemm({ m, n, k: 3 }, { seed: 804, beta: 1 });
        checkGemm(e, Float64Array.from(e.C), isa);
      }
    });
  });

  it('fused epilogue: bias and relu / gelu / geluTanh, with beta 0 and 1, K = 0 and edge tiles', () => {
    forEachIsa((isa) => {
      let count = 0;
      for (const act of ['none', 'relu', 'gelu', 'geluTanh'] as const) {
        for (const [m, n, k, ta, tb] of [[1, 1, 1, false, true], [13, 45, 70, false, true], [127, 33, 513, false, true], [40, 100, 17, true, false], [6, 7, 0, false, false]] as const) {
          for (const bias of [true, false]) {
            if (!bias && act === 'none') continue;
            count++;
            const g = makeGemm({ m, n, k, ta, tb }, { seed: 900 + count, beta: count % 2, bias, act, pad: [0, 0, count % 3] });
            // scale the product so the activations see both signs and their curved part
            g.alpha = 2 / Math.sqrt(Math.max(k, 1));
            checkGemm(g, reference(g), isa);
          }
        }
        // NaN and +Infinity pass through the activation (-Infinity is inf * 0 in the
        // gelu formulas, whose NaN the float approximations need not reproduce)
        const g = makeGemm({ m: 3, n: 40, k: 5 }, { seed: 990, bias: true, act });
        g.A[0] = NaN;
        g.A[5] = Infinity;
        g.B.fill(Math.fround(0.25), 0, 40);
        checkGemm(g, reference(g), isa);
      }
    });
  });

  it('rejects a bias of the wrong length or dtype and an unknown activation', () => {
    const a = tg.ones([2, 3]);
    const b = tg.ones([3, 4]);
    const c = tg.zeros([2, 4]);
    const call = (bias: tg.Tensor | null, act?: number) =>
      native.gemm(false, false, 2, 4, 3, 1, a._s, 3, 0, b._s, 4, 0, 0, c._s, 4, 0, 1, bias ? bias._s : null, act);
    expect(() => call(tg.ones([3]))).toThrow(RangeError);
    expect(() => call(tg.ones([4], { dtype: 'float64' }))).toThrow(TypeError);
    expect(() => call(null, 99)).toThrow(/gemm: unknown activation/);
    call(tg.tensor([1, 2, 3, 4]), native.gemmActivations.relu);
    expect(Array.from(c.data())).toEqual([4, 5, 6, 7, 4, 5, 6, 7]);
    call(null);
    expect(Array.from(c.data())).toEqual([3, 3, 3, 3, 3, 3, 3, 3]);
  });

  it('TENSORGRAD_ISA caps the ISA chosen at load', () => {
    const root = path.resolve(__dirname, '..');
    const isaWith = (value: string): string =>
      execFileSync(process.execPath, ['-e', `process.stdout.write(require('node-gyp-build')(${JSON.stringify(root)}).cpuInfo().isa)`], {
        cwd: root,
        env: { ...process.env, TENSORGRAD_ISA: value },
        encoding: 'utf8',
      });
    expect(isaWith('generic')).toBe('generic');
    expect(isaWith('avx2')).toBe(CPU_RUNS.avx2 ? 'avx2' : 'generic');
    const avx512 = isaWith('avx512');
    expect(avx512).toBe(CPU_RUNS.avx512 ? 'avx512' : CPU_RUNS.avx2 ? 'avx2' : 'generic');
    const bf16 = isaWith('avx512bf16');
    expect(bf16).toBe(CPU_RUNS.avx512bf16 ? 'avx512bf16' : avx512);
    expect(isaWith('amx')).toBe(CPU_RUNS.amx ? 'amx' : bf16);
    // an unknown value caps nothing
    expect(isaWith('sse9')).toBe(CPU_RUNS.amx ? 'amx' : bf16);
  });
});

// ------------------------------------------------------------------ tg.matmul

describe('tg.matmul through the packed kernels', () => {
  function refMatmul(a: Float64Array, b: Float64Array, batch: number, m: number, k: number, n: number, shareB: boolean): Float64Array {
    const out = new Float64Array(batch * m * n);
    for (let bi = 0; bi < batch; bi++) {
      const bo = shareB ? 0 : bi * k * n;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += a[bi * m * k + i * k + p] * b[bo + p * n + j];
          out[(bi * m + i) * n + j] = s;
        }
      }
    }
    return out;
  }

  it('large and batched products on each ISA, at 1 and 2 threads, in both dtypes', () => {
    const forms: Array<[number, number, number, number, boolean]> = [
      [1, 127, 255, 513, false],
      [1, 513, 33, 255, false],
      [3, 33, 127, 65, false],
      [4, 65, 129, 17, true], // [4, M, K] x [K, N]: B shared by the batch
    ];
    forEachIsa((isa) => {
      for (const [batch, m, k, n, shareB] of forms) {
        for (const dtype of ['float32', 'float64'] as const) {
          const aShape = batch === 1 ? [m, k] : [batch, m, k];
          const bShape = shareB || batch === 1 ? [k, n] : [batch, k, n];
          const { t: a, v: av } = randomTensor(aShape, { dtype, seed: m + k, low: -1, high: 1 });
          const { t: b, v: bv } = randomTensor(bShape, { dtype, seed: n + k, low: -1, high: 1 });
          const want = refMatmul(av, bv, batch, m, k, n, shareB || batch === 1);
          for (const threads of [1, 2]) {
            tg.setNumThreads(threads);
            const y = tg.matmul(a, b);
            expect(y.shape).toEqual(batch === 1 ? [m, n] : [batch, m, n]);
            expectNear(Float64Array.from(y.data()), want, dtype, k, `${isa} matmul ${aShape} x ${bShape} ${dtype} at ${threads} threads`);
          }
        }
      }
    });
    tg.setNumThreads(THREADS);
  });

  it('gradients through the transposed kernels on each ISA', () => {
    forEachIsa(() => {
      gradcheckShapes((a, b) => tg.matmul(a, b), [[2, 13, 17], [17, 33]], { seed: 3 });
    });
  });
});

// ------------------------------------------------------------------ linear

describe('linear(input, weight, bias?)', () => {
  it('equals input W^T + b (matmul + add) for 1-D, 2-D and batched inputs, with and without bias', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const tol = dtype === 'float32' ? { atol: 1e-4, rtol: 1e-5 } : { atol: 1e-11, rtol: 1e-11 };
      for (const [xShape, out] of [[[7], 5], [[3, 7], 5], [[2, 4, 33], 65], [[129, 127], 255], [[0, 7], 5], [[3, 0], 4]] as Array<[number[], number]>) {
        const inF = xShape[xShape.length - 1];
        const x = randomTensor(xShape, { dtype, seed: 1 }).t;
        const w = randomTensor([out, inF], { dtype, seed: 2 }).t;
        const b = randomTensor([out], { dtype, seed: 3 }).t;
        const y = tg.linear(x, w, b);
        const ref = tg.add(tg.matmul(x, tg.transpose(w, 0, 1)), b);
        expect(y.shape).toEqual([...xShape.slice(0, -1), out]);
        expect(y.dtype).toBe(dtype);
        expectClose(y.data(), ref.data(), tol);
        const y0 = tg.linear(x, w);
        expectClose(y0.data(), tg.matmul(x, tg.transpose(w, 0, 1)).data(), tol);
        expect(Array.from(tg.linear(x, w, null).data())).toEqual(Array.from(y0.data()));
      }
    }
  });

  it('promotes mixed dtypes like matmul', () => {
    const x = tg.ones([2, 3], { dtype: 'float32' });
    const w = tg.ones([4, 3], { dtype: 'float64' });
    const y = tg.linear(x, w, tg.ones([4], { dtype: 'float32' }));
    expect(y.dtype).toBe('float64');
    expect(Array.from(y.data())).toEqual([4, 4, 4, 4, 4, 4, 4, 4]);
    const yi = tg.linear(tg.tensor(Int32Array.from([1, 2, 3]), { shape: [1, 3] }), tg.tensor(Int32Array.from([1, 1, 1, 2, 0, -1]), { shape: [2, 3] }));
    expect(yi.dtype).toBe('int32');
    expect(Array.from(yi.data())).toEqual([6, -1]);
  });

  it('gradients (gradcheck, float64) for input, weight and bias', () => {
    gradcheckShapes((x, w, b) => tg.linear(x, w, b), [[3, 4], [5, 4], [5]], { seed: 11 });
    gradcheckShapes((x, w, b) => tg.linear(x, w, b), [[2, 3, 4], [2, 4], [2]], { seed: 12 });
    gradcheckShapes((x, w, b) => tg.linear(x, w, b), [[4], [3, 4], [3]], { seed: 13 });
    gradcheckShapes((x, w) => tg.linear(x, w), [[2, 5], [3, 5]], { seed: 14 });
  });

  it('gradients match matmul + add on a larger float32 problem, and only requested ones are computed', () => {
    const grads = (f: (x: tg.Tensor, w: tg.Tensor, b: tg.Tensor) => tg.Tensor) => {
      const x = randomTensor([33, 65], { dtype: 'float32', seed: 21, requiresGrad: true }).t;
      const w = randomTensor([17, 65], { dtype: 'float32', seed: 22, requiresGrad: true }).t;
      const b = randomTensor([17], { dtype: 'float32', seed: 23, requiresGrad: true }).t;
      const v = randomTensor([33, 17], { dtype: 'float32', seed: 24 }).t;
      return tg.grad(tg.sum(tg.mul(f(x, w, b), v)), [x, w, b]).map((g) => g.data());
    };
    const fused = grads((x, w, b) => tg.linear(x, w, b));
    const plain = grads((x, w, b) => tg.add(tg.matmul(x, tg.transpose(w, 0, 1)), b));
    fused.forEach((g, i) => expectClose(g, plain[i], { atol: 1e-4, rtol: 1e-4 }));
    const x = tg.ones([2, 3], { requiresGrad: true });
    const w = tg.ones([4, 3]);
    tg.linear(x, w, tg.ones([4])).sum().backward();
    expect(Array.from(x.grad!.data())).toEqual([4, 4, 4, 4, 4, 4]);
    expect(w.grad).toBeNull();
  });

  it('second derivatives: the backward is itself differentiable', () => {
    // h(x, W, b) = <grad_x sum(tanh(linear(x, W, b))), v>: its autograd gradient (double
    // backward through linear's backward) against central differences of h
    const shapes = [[3, 4], [5, 4], [5]];
    const base = shapes.map((s, i) => randomTensor(s, { seed: 40 + i, low: -1, high: 1 }).v);
    const v = randomTensor([3, 4], { seed: 43 }).t;
    const h = (vals: Float64Array[], createGraph: boolean): { value: tg.Tensor; inputs: tg.Tensor[] } => {
      const inputs = vals.map((d, i) => tg.tensor(d, { dtype: 'float64', shape: shapes[i], requiresGrad: true }));
      const [gx] = tg.grad(tg.sum(tg.tanh(tg.linear(inputs[0], inputs[1], inputs[2]))), [inputs[0]], { createGraph });
      return { value: tg.sum(tg.mul(gx, v)), inputs };
    };
    const { value, inputs } = h(base, true);
    const analytic = tg.grad(value, inputs);
    const eps = 1e-6;
    base.forEach((vals, i) => {
      const numeric = Float64Array.from(vals, (_, e) => {
        const at = (d: number) => h(base.map((b, j) => (j === i ? Float64Array.from(b, (x, f) => (f === e ? x + d : x)) : b)), false).value.item();
        return (at(eps) - at(-eps)) / (2 * eps);
      });
      expectClose(analytic[i].data(), numeric, { atol: 1e-6, rtol: 1e-5 });
    });
  });

  it('errors name the op and the shapes', () => {
    expect(() => tg.linear(tg.zeros([2, 3]), tg.zeros([4, 5]))).toThrow('linear: shapes [2,3] and [4,5] do not align (3 != 5)');
    expect(() => tg.linear(tg.zeros([2, 3]), tg.zeros([4, 5]))).toThrow(RangeError);
    expect(() => tg.linear(tg.zeros([2, 3]), tg.zeros([3]))).toThrow('linear: weight must be 2-D [out, in], got shape [3]');
    expect(() => tg.linear(tg.tensor(1), tg.zeros([4, 1]))).toThrow('linear: input needs at least 1 dimension, got shape []');
    expect(() => tg.linear(tg.zeros([2, 3]), tg.zeros([4, 3]), tg.zeros([3]))).toThrow(
      'linear: bias of shape [3] does not match weight of shape [4,3] (expected [4])',
    );
    expect(() => tg.linear(tg.zeros([2, 3], { dtype: 'bool' }), tg.zeros([4, 3]))).toThrow(TypeError);
    expect(() => tg.linear(tg.zeros([2, 3]), 'w' as unknown as tg.Tensor)).toThrow('linear: Expected a Tensor for weight but received \'w\'');
  });
});
