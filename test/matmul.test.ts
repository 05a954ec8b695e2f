/**
 * matmul: every rank form (1-D and 2-D operands, batched 3-D / 4-D with batch
 * broadcasting) against a triple-loop reference, dtypes, errors, gradients
 * (gradcheck in float64) and second derivatives through the GEMM backward.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tg from '../lib/index';
import { native } from '../lib/binding';
import { expectClose, gradcheckShapes, numelOf, randomTensor, randomValues, ravel, unravel } from './helpers';

type Tol = { atol: number; rtol: number };
const F64: Tol = { atol: 1e-11, rtol: 1e-11 };
const F32: Tol = { atol: 1e-4, rtol: 1e-5 };

// ------------------------------------------------------------------ reference

/** torch.matmul by loops: 1-D operands gain (then lose) a dim, batch dims broadcast. */
function refMatmul(
  a: ArrayLike<number>,
  aShape: readonly number[],
  b: ArrayLike<number>,
  bShape: readonly number[],
): { values: Float64Array; shape: number[] } {
  const a2 = aShape.length === 1 ? [1, aShape[0]] : [...aShape];
  const b2 = bShape.length === 1 ? [bShape[0], 1] : [...bShape];
  const [m, k] = a2.slice(-2);
  const [k2, n] = b2.slice(-2);
  if (k !== k2) throw new Error('refMatmul: shapes do not align');
  const batchA = a2.slice(0, -2);
  const batchB = b2.slice(0, -2);
  const nb = Math.max(batchA.length, batchB.length);
  const batch = Array.from({ length: nb }, (_, i) => {
    const da = batchA[batchA.length - nb + i] ?? 1;
    const db = batchB[batchB.length - nb + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error('refMatmul: batch dims do not broadcast');
    return da === 1 ? db : da;
  });
  const values = new Float64Array(numelOf(batch) * m * n);
  for (let bi = 0; bi < numelOf(batch); bi++) {
    const idx = unravel(bi, batch);
    const pick = (s: number[]) => ravel(s.map((d, j) => (d === 1 ? 0 : idx[nb - s.length + j])), s);
    const ao = pick(batchA) * m * k;
    const bo = pick(batchB) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[ao + i * k + p] * b[bo + p * n + j];
        values[(bi * m + i) * n + j] = s;
      }
    }
  }
  const shape = [...batch, ...(aShape.length === 1 ? [] : [m]), ...(bShape.length === 1 ? [] : [n])];
  return { values, shape };
}

/** Runs matmul on seeded random operands and compares with the reference. */
function check(aShape: number[], bShape: number[], dtype: tg.DType, tol: Tol, seed = 1): void {
  const { t: a, v: av } = randomTensor(aShape, { dtype, seed });
  const { t: b, v: bv } = randomTensor(bShape, { dtype, seed: seed + 1000 });
  const y = tg.matmul(a, b);
  const want = refMatmul(av, aShape, bv, bShape);
  const where = `[${aShape}] x [${bShape}] ${dtype}`;
  expect(y.shape, where).toEqual(want.shape);
  expect(y.dtype, where).toBe(dtype);
  try {
    expectClose(y.data(), want.values, tol);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

const SIZES = [1, 7, 17, 33, 65];

/** Forms whose batch dims broadcast: [a, b] shape pairs with M=3, K=4, N=6 style sizes. */
const BROADCAST_FORMS: Array<[number[], number[]]> = [
  [[2, 1, 3, 4], [5, 4, 6]], // -> [2,5,3,6]
  [[3, 5, 7], [7, 9]], // [B,M,K] x [K,N]
  [[5, 7], [3, 7, 9]], // [M,K] x [B,K,N]
  [[1, 5, 7], [3, 7, 9]], // batch of 1 against 3
  [[3, 5, 7], [1, 7, 9]],
  [[2, 3, 5, 7], [3, 7, 9]], // [2,3] with [3]
  [[2, 1, 5, 7], [1, 3, 7, 9]], // both sides broadcast
  [[4, 1, 5, 7], [4, 7, 9]], // [4,1] with [4] -> [4,4]
  [[7], [3, 7, 9]], // 1-D x batched
  [[3, 5, 7], [7]], // batched x 1-D
  [[2, 1, 5, 7], [7]],
  [[7], [2, 3, 7, 1]],
  [[1, 1, 5, 7], [1, 7, 9]],
];

// ------------------------------------------------------------------ forward

describe('matmul: forward against a triple-loop reference', () => {
  for (const [dtype, tol] of [['float32', F32], ['float64', F64]] as const) {
    it(`2-D x 2-D, all sizes in {1,7,17,33,65}^3 (${dtype})`, () => {
      for (const m of SIZES) for (const k of SIZES) for (const n of SIZES) check([m, k], [k, n], dtype, tol, m * 100 + k * 10 + n);
    });

    it(`1-D x 1-D, 2-D x 1-D, 1-D x 2-D (${dtype})`, () => {
      for (const k of SIZES) {
        check([k], [k], dtype, tol, k);
        for (const n of [1, 7, 33]) {
          check([n, k], [k], dtype, tol, k + n);
          check([k], [k, n], dtype, tol, k + 2 * n);
        }
      }
    });

    it(`batched 3-D and 4-D, same batch (${dtype})`, () => {
      for (const [m, k, n] of [[7, 17, 33], [1, 65, 7], [33, 1, 17], [17, 33, 1], [65, 7, 65]]) {
        check([3, m, k], [3, k, n], dtype, tol, m + k + n);
        check([2, 3, m, k], [2, 3, k, n], dtype, tol, m + k + n + 1);
      }
    });

    it(`batch broadcasting forms (${dtype})`, () => {
      BROADCAST_FORMS.forEach(([as, bs], i) => check(as, bs, dtype, tol, 40 + i));
      // the same forms with odd sizes that miss SIMD widths
      check([2, 1, 17, 33], [5, 33, 65], dtype, tol, 60);
      check([3, 65, 33], [33, 17], dtype, tol, 61);
      check([17, 33], [2, 33, 7], dtype, tol, 62);
    });
  }

  it('the method form agrees and a 1-D x 1-D product is 0-d', () => {
    const { t: a } = randomTensor([4, 5], { seed: 3 });
    const { t: b } = randomTensor([5, 2], { seed: 4 });
    expect(Array.from(a.matmul(b).data())).toEqual(Array.from(tg.matmul(a, b).data()));
    const dot = tg.matmul(tg.tensor([1, 2, 3]), tg.tensor([4, 5, 6]));
    expect(dot.shape).toEqual([]);
    expect(dot.item()).toBe(32);
  });

  it('known small values', () => {
    const a = tg.tensor([[1, 2], [3, 4], [5, 6]], { dtype: 'float64' });
    const b = tg.tensor([[1, 0, -1], [2, 1, 0]], { dtype: 'float64' });
    expect(tg.matmul(a, b).toArray()).toEqual([[5, 2, -1], [11, 4, -3], [17, 6, -5]]);
    expect(tg.matmul(b, a).toArray()).toEqual([[-4, -4], [5, 8]]);
    expect(tg.matmul(a, tg.tensor([1, -1], { dtype: 'float64' })).toArray()).toEqual([-1, -1, -1]);
    expect(tg.matmul(tg.tensor([1, 1, 1], { dtype: 'float64' }), a).toArray()).toEqual([9, 12]);
  });

  it('int32 matmul is exact; int32 x float32 promotes to float32; float32 x float64 to float64', () => {
    for (const [as, bs] of [[[7, 17], [17, 33]], [[3, 5, 7], [7, 9]], [[2, 1, 5, 7], [3, 7, 1]], [[13], [13]]] as Array<[number[], number[]]>) {
      const av = Int32Array.from(randomValues(numelOf(as), 7, -50, 50), Math.floor);
      const bv = Int32Array.from(randomValues(numelOf(bs), 8, -50, 50), Math.floor);
      const y = tg.matmul(tg.tensor(av, { shape: as }), tg.tensor(bv, { shape: bs }));
      const want = refMatmul(av, as, bv, bs);
      expect(y.dtype).toBe('int32');
      expect(y.shape).toEqual(want.shape);
      expect(Array.from(y.data())).toEqual(Array.from(want.values));
    }
    const ai = tg.tensor(Int32Array.from([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
    const bf = tg.tensor([[0.5], [0.25], [-1]]);
    const mixed = tg.matmul(ai, bf);
    expect(mixed.dtype).toBe('float32');
    expectClose(mixed.data(), [-2, -2.75], F32);
    const b64 = tg.tensor([[0.1], [0.2], [0.3]], { dtype: 'float64' });
    const y64 = tg.matmul(tg.tensor([[1, 2, 3]]), b64);
    expect(y64.dtype).toBe('float64');
    expectClose(y64.data(), [1.4], F64);
  });

  it('float16 and bfloat16: close to the reference on half-rounded inputs', () => {
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const tol = dtype === 'float16' ? { atol: 2e-2, rtol: 5e-3 } : { atol: 1e-1, rtol: 2e-2 };
      for (const [as, bs] of [[[17, 33], [33, 7]], [[2, 1, 7, 65], [3, 65, 17]], [[33], [33, 9]], [[65, 65], [65, 65]]] as Array<
        [number[], number[]]
      >) {
        check(as, bs, dtype, tol, 5);
      }
    }
  });

  it('empty operands: zero rows, zero cols, zero batch and K = 0 (a sum over nothing is 0)', () => {
    const cases: Array<[number[], number[], number[]]> = [
      [[0, 3], [3, 4], [0, 4]],
      [[2, 3], [3, 0], [2, 0]],
      [[3, 0], [0, 4], [3, 4]],
      [[0], [0], []],
      [[0, 2, 3], [0, 3, 4], [0, 2, 4]],
      [[2, 0], [0], [2]],
      [[2, 5, 0], [0, 3], [2, 5, 3]],
    ];
    for (const [as, bs, out] of cases) {
      for (const dtype of ['float32', 'float64', 'int32'] as const) {
        const y = tg.matmul(tg.zeros(as, { dtype }), tg.ones(bs, { dtype }));
        expect(y.shape, `[${as}] x [${bs}]`).toEqual(out);
        expect(Array.from(y.data()).every((x) => x === 0)).toBe(true);
      }
    }
    // gradients of an empty-K product are zeros of the operands' shapes
    const a = tg.zeros([3, 0], { dtype: 'float64', requiresGrad: true });
    const b = tg.zeros([0, 4], { dtype: 'float64', requiresGrad: true });
    const [ga, gb] = tg.grad(tg.sum(tg.matmul(a, b)), [a, b]);
    expect(ga.shape).toEqual([3, 0]);
    expect(gb.shape).toEqual([0, 4]);
  });

  it('errors: misaligned K, 0-d operands, batch dims that do not broadcast, bool', () => {
    expect(() => tg.matmul(tg.zeros([2, 3]), tg.zeros([4, 5]))).toThrow(RangeError);
    expect(() => tg.matmul(tg.zeros([2, 3]), tg.zeros([4, 5]))).toThrow('matmul: shapes [2,3] and [4,5] do not align (3 != 4)');
    expect(() => tg.matmul(tg.zeros([3]), tg.zeros([4]))).toThrow(/matmul.*do not align/);
    expect(() => tg.matmul(tg.zeros([2, 3]), tg.zeros([2]))).toThrow(RangeError);
    expect(() => tg.matmul(tg.tensor(2), tg.zeros([2]))).toThrow(RangeError);
    expect(() => tg.matmul(tg.zeros([2]), tg.tensor(2))).toThrow(/matmul/);
    expect(() => tg.matmul(tg.zeros([2, 2, 3]), tg.zeros([3, 3, 4]))).toThrow(/matmul.*broadcast/);
    expect(() => tg.matmul(tg.zeros([2, 2], { dtype: 'bool' }), tg.zeros([2, 2]))).toThrow(TypeError);
    expect(() => tg.matmul(tg.zeros([2, 2]), 3 as unknown as tg.Tensor)).toThrow(TypeError);
  });
});

describe('matmul: large inputs (multithreaded)', () => {
  let threads = 1;
  beforeAll(() => {
    threads = tg.getNumThreads();
    tg.setNumThreads(4);
  });
  afterAll(() => tg.setNumThreads(threads));

  it('2-D, batched and broadcast products over 40000 elements agree with the reference and across thread counts', () => {
    const forms: Array<[number[], number[]]> = [
      [[129, 97], [97, 81]],
      [[4, 65, 33], [33, 67]],
      [[1, 65, 33], [5, 33, 17]],
      [[3, 1, 33, 65], [4, 65, 33]],
    ];
    for (const [as, bs] of forms) {
      for (const dtype of ['float32', 'float64'] as const) check(as, bs, dtype, dtype === 'float64' ? F64 : F32, 9);
      const { t: a } = randomTensor(as, { dtype: 'float32', seed: 10 });
      const { t: b } = randomTensor(bs, { dtype: 'float32', seed: 11 });
      const many = Array.from(tg.matmul(a, b).data());
      expect(many.length).toBeGreaterThan(0);
      tg.setNumThreads(1);
      const one = Array.from(tg.matmul(a, b).data());
      tg.setNumThreads(4);
      expect(many).toEqual(one);
    }
  });
});

describe('matmul: every GEMM kernel ISA this CPU can run', () => {
  const chosen = tg.cpuInfo().isa;
  afterAll(() => {
    native.selectIsa(chosen);
  });

  it('generic, avx2, avx512, avx512bf16 and amx loop nests agree with the reference (float32, float64, transposed backward)', () => {
    const ran: string[] = [];
    for (const isa of ['generic', 'avx2', 'avx512', 'avx512bf16', 'amx']) {
      if (!native.selectIsa(isa)) continue;
      expect(tg.cpuInfo().isa).toBe(isa);
      ran.push(isa);
      for (const [as, bs] of [[[17, 33], [33, 65]], [[2, 1, 7, 33], [3, 33, 17]], [[65], [65, 7]], [[1, 1], [1, 1]]] as Array<
        [number[], number[]]
      >) {
        check(as, bs, 'float32', F32, 70);
        check(as, bs, 'float64', F64, 71);
      }
      // the backward runs the transposed forms of the kernel
      gradcheckShapes((a, b) => tg.matmul(a, b), [[2, 3, 5], [5, 4]], { seed: 72 });
    }
    expect(ran).toContain('generic');
    expect(ran).toContain(chosen);
  });
});

// ------------------------------------------------------------------ gradients

describe('matmul: gradients (gradcheck, float64)', () => {
  const FORMS: Array<[number[], number[]]> = [
    [[5], [5]], // 1-D x 1-D
    [[3, 5], [5]], // 2-D x 1-D
    [[5], [5, 3]], // 1-D x 2-D
    [[1], [1, 1]],
    [[3, 5], [5, 2]], // 2-D
    [[1, 5], [5, 1]],
    [[3, 1], [1, 4]],
    [[2, 3, 5], [2, 5, 3]], // batched 3-D
    [[2, 2, 1, 3], [2, 2, 3, 2]], // batched 4-D
    [[2, 1, 3, 4], [5, 4, 6]], // 4-D batch broadcasting
    [[3, 2, 4], [4, 5]], // [B,M,K] x [K,N]
    [[2, 4], [3, 4, 5]], // [M,K] x [B,K,N]
    [[1, 2, 3], [4, 3, 2]], // batch of 1 against 4
    [[4, 2, 3], [1, 3, 2]],
    [[2, 1, 2, 3], [1, 3, 3, 2]], // both sides broadcast
    [[3, 1, 2, 3], [3, 3, 2]], // [3,1] with [3]
    [[3], [2, 3, 4]], // 1-D x batched
    [[2, 3, 4], [4]], // batched x 1-D
    [[2, 1, 3, 4], [4]],
  ];

  for (const [as, bs] of FORMS) {
    it(`[${as}] x [${bs}]`, () => {
      gradcheckShapes((a, b) => tg.matmul(a, b), [as, bs], { seed: 3 + as.length * 10 + bs.length });
    });
  }

  it('only one operand requiring grad', () => {
    const a = randomTensor([2, 3, 4], { seed: 5, requiresGrad: true }).t;
    const b = randomTensor([4, 5], { seed: 6 }).t;
    expect(tg.testing.gradcheck((x, y) => tg.matmul(x, y), [a, b])).toBe(true);
    const c = randomTensor([2, 1, 3, 4], { seed: 7 }).t;
    const d = randomTensor([5, 4, 2], { seed: 8, requiresGrad: true }).t;
    expect(tg.testing.gradcheck((x, y) => tg.matmul(x, y), [c, d])).toBe(true);
  });

  it('the same tensor on both sides (x^T x) and chained products', () => {
    gradcheckShapes((x) => tg.matmul(tg.transpose(x, 0, 1), x), [[4, 3]]);
    gradcheckShapes((x, y, z) => tg.matmul(tg.matmul(x, y), z), [[2, 3], [3, 4], [4, 2]]);
    gradcheckShapes((x, y) => tg.matmul(tg.tanh(tg.matmul(x, y)), y.transpose(-1, -2)), [[2, 3, 4], [4, 5]]);
  });

  it('gradients keep the operand dtype and shape (float32 with float64)', () => {
    const a = tg.ones([2, 3], { dtype: 'float32', requiresGrad: true });
    const b = tg.ones([3], { dtype: 'float64', requiresGrad: true });
    tg.matmul(a, b).sum().backward();
    expect(a.grad!.dtype).toBe('float32');
    expect(a.grad!.shape).toEqual([2, 3]);
    expect(b.grad!.dtype).toBe('float64');
    expect(Array.from(b.grad!.data())).toEqual([2, 2, 2]);
    expect(Array.from(a.grad!.data())).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('float32 gradients match the float64 ones on a larger broadcast product', () => {
    const as = [3, 1, 17, 33];
    const bs = [2, 33, 7];
    const grads = (dtype: tg.DType) => {
      const a = randomTensor(as, { dtype, seed: 31, requiresGrad: true }).t;
      const b = randomTensor(bs, { dtype, seed: 32, requiresGrad: true }).t;
      const w = randomTensor([3, 2, 17, 7], { dtype, seed: 33 }).t;
      return tg.grad(tg.sum(tg.mul(tg.matmul(a, b), w)), [a, b]).map((g) => g.data());
    };
    const [a32, b32] = grads('float32');
    const [a64, b64] = grads('float64');
    expectClose(a32, a64, { atol: 1e-4, rtol: 1e-4 });
    expectClose(b32, b64, { atol: 1e-4, rtol: 1e-4 });
  });
});

// ------------------------------------------------------------------ second derivatives

describe('matmul: second derivatives (createGraph)', () => {
  /**
   * For a scalar f(X, W): the Hessian-vector products d/dX <grad_W f, V> and d/dW <grad_W f, V>
   * from double backward, against central differences of <grad_W f, V> in each element.
   */
  function checkHvp(f: (x: tg.Tensor, w: tg.Tensor) => tg.Tensor, xShape: number[], wShape: number[], seed: number): void {
    const { t: x, v: xv } = randomTensor(xShape, { seed, requiresGrad: true, low: -1, high: 1 });
    const { t: w, v: wv } = randomTensor(wShape, { seed: seed + 1, requiresGrad: true, low: -1, high: 1 });
    const v = randomTensor(wShape, { seed: seed + 2 }).t;

    const [gw] = tg.grad(f(x, w), [w], { createGraph: true });
    expect(gw.requiresGrad).toBe(true);
    const [hx, hw] = tg.grad(tg.sum(tg.mul(gw, v)), [x, w]);

    // <grad_W f(X, W), V> at given values, by a fresh first-order pass
    const gv = (xvals: Float64Array, wvals: Float64Array): number => {
      const xi = tg.tensor(xvals, { dtype: 'float64', shape: xShape });
      const wi = tg.tensor(wvals, { dtype: 'float64', shape: wShape, requiresGrad: true });
      return tg.sum(tg.mul(tg.grad(f(xi, wi), [wi])[0], v)).item();
    };
    const eps = 1e-6;
    const numeric = (base: Float64Array, at: (vals: Float64Array) => number) =>
      Float64Array.from(base, (_, e) => {
        const plus = Float64Array.from(base);
        const minus = Float64Array.from(base);
        plus[e] += eps;
        minus[e] -= eps;
        return (at(plus) - at(minus)) / (2 * eps);
      });
    const tol = { atol: 1e-6, rtol: 1e-5 };
    expectClose(hw.data(), numeric(wv, (vals) => gv(xv, vals)), tol);
    expectClose(hx.data(), numeric(xv, (vals) => gv(vals, wv)), tol);

    // and along V as a whole: (grad_W f(W + hV) - grad_W f(W - hV)) / 2h = H V
    const h = 1e-5;
    const vv = v.data();
    const gradAt = (sign: number) => {
      const wi = tg.tensor(Float64Array.from(wv, (a, i) => a + sign * h * vv[i]), { dtype: 'float64', shape: wShape, requiresGrad: true });
      return tg.grad(f(tg.tensor(xv, { dtype: 'float64', shape: xShape }), wi), [wi])[0].data();
    };
    const gp = gradAt(1);
    const gm = gradAt(-1);
    expectClose(hw.data(), Float64Array.from(gp, (a, i) => (a - gm[i]) / (2 * h)), tol);
  }

  it('f(W) = sum(tanh(X W)), 2-D', () => {
    checkHvp((x, w) => tg.sum(tg.tanh(tg.matmul(x, w))), [5, 3], [3, 4], 100);
  });

  it('f(W) = sum(tanh(X W)) with X [B,M,K] and W [K,N] (the batch-sum in the backward)', () => {
    checkHvp((x, w) => tg.sum(tg.tanh(tg.matmul(x, w))), [2, 3, 4], [4, 5], 200);
  });

  it('W on the left and batch broadcasting [2,1,3,4] x [5,4,6]', () => {
    checkHvp((x, w) => tg.sum(tg.tanh(tg.matmul(w, x))), [5, 4, 6], [2, 1, 3, 4], 300);
  });

  it('vector forms: 1-D x 2-D and 2-D x 1-D', () => {
    checkHvp((x, w) => tg.sum(tg.tanh(tg.matmul(x, w))), [4], [4, 3], 400);
    checkHvp((x, w) => tg.sum(tg.square(tg.tanh(tg.matmul(w, x)))), [4], [3, 4], 500);
  });

  it('a quadratic form has a constant Hessian: d2/dW2 sum((X W)^2) V = 2 X^T X V', () => {
    const { t: x, v: xv } = randomTensor([6, 3], { seed: 600 });
    const w = randomTensor([3, 2], { seed: 601, requiresGrad: true }).t;
    const { t: v, v: vv } = randomTensor([3, 2], { seed: 602 });
    const [gw] = tg.grad(tg.sum(tg.square(tg.matmul(x, w))), [w], { createGraph: true });
    const [hv] = tg.grad(tg.sum(tg.mul(gw, v)), [w]);
    // 2 X^T X V by loops
    const xtx = refMatmul(
      Float64Array.from({ length: 9 }, (_, e) => {
        const [i, j] = unravel(e, [3, 3]);
        let s = 0;
        for (let r = 0; r < 6; r++) s += xv[r * 3 + i] * xv[r * 3 + j];
        return s;
      }),
      [3, 3],
      vv,
      [3, 2],
    );
    expectClose(hv.data(), xtx.values.map((a) => 2 * a), { atol: 1e-10, rtol: 1e-10 });
    expect(x.requiresGrad).toBe(false);
  });
});
