/**
 * Reductions (sum, mean, prod, max/min, the *WithIndices and arg* forms, var/std,
 * logSumExp, norm) and softmax / logSoftmax: forward values against loop references
 * over multi-indices, numerical edge cases, and gradients (gradcheck in float64).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tg from '../lib/index';
import { expectClose, gradcheckShapes, numelOf, randomTensor, randomValues, ravel, unravel } from './helpers';

type Dims = number | number[] | undefined;
type Tol = { atol: number; rtol: number };

const F32: Tol = { atol: 1e-5, rtol: 2e-5 };
const F64: Tol = { atol: 1e-12, rtol: 1e-10 };
const tolOf = (dtype: tg.DType): Tol => (dtype === 'float64' ? F64 : F32);

// ------------------------------------------------------------------ references

/** Sorted, non-negative dims (all of them when undefined). */
function dimsOf(dim: Dims, ndim: number): number[] {
  if (dim === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof dim === 'number' ? [dim] : dim;
  return list.map((d) => (d < 0 ? d + Math.max(ndim, 1) : d)).filter((d) => d < ndim).sort((a, b) => a - b);
}

function outShapeOf(shape: readonly number[], dims: readonly number[], keepDim: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!dims.includes(i)) out.push(d);
    else if (keepDim) out.push(1);
  });
  return out;
}

/**
 * For each output element (row-major), the flat input positions that reduce into it,
 * in row-major order of the reduced dims (so for one dim, position j is index j along it).
 */
function groupsOf(shape: readonly number[], dim: Dims, keepDim: boolean): { shape: number[]; groups: number[][] } {
  const key = JSON.stringify([shape, dimsOf(dim, shape.length), keepDim]);
  let found = groupCache.get(key);
  if (found === undefined) {
    found = computeGroups(shape, dim, keepDim);
    groupCache.set(key, found);
  }
  return found;
}
const groupCache = new Map<string, { shape: number[]; groups: number[][] }>();

function computeGroups(shape: readonly number[], dim: Dims, keepDim: boolean): { shape: number[]; groups: number[][] } {
  const dims = dimsOf(dim, shape.length);
  const kept = shape.map((d, i) => (dims.includes(i) ? 1 : d));
  const groups: number[][] = Array.from({ length: numelOf(kept) }, () => []);
  for (let i = 0; i < numelOf(shape); i++) {
    const idx = unravel(i, shape);
    groups[ravel(idx.map((v, d) => (dims.includes(d) ? 0 : v)), kept)].push(i);
  }
  return { shape: outShapeOf(shape, dims, keepDim), groups };
}

function refReduce(
  v: ArrayLike<number>,
  shape: readonly number[],
  dim: Dims,
  keepDim: boolean,
  f: (xs: number[]) => number,
): { shape: number[]; values: Float64Array } {
  const { shape: out, groups } = groupsOf(shape, dim, keepDim);
  return { shape: out, values: Float64Array.from(groups, (g) => f(g.map((i) => v[i]))) };
}

const refSum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const refMean = (xs: number[]) => refSum(xs) / xs.length;
const refProd = (xs: number[]) => xs.reduce((a, b) => a * b, 1);
const nanOr = (xs: number[], f: (a: number, b: number) => number) =>
  xs.some(Number.isNaN) ? NaN : xs.reduce((a, b) => f(a, b));
const refMax = (xs: number[]) => nanOr(xs, Math.max);
const refMin = (xs: number[]) => nanOr(xs, Math.min);
/** Index of the first extreme value (first NaN if any), as torch.argmax / argmin. */
function refArg(xs: number[], isMax: boolean): number {
  const nan = xs.findIndex(Number.isNaN);
  if (nan >= 0) return nan;
  let at = 0;
  for (let j = 1; j < xs.length; j++) if (isMax ? xs[j] > xs[at] : xs[j] < xs[at]) at = j;
  return at;
}
const refVar = (correction: number) => (xs: number[]) => {
  const m = refMean(xs);
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / Math.max(xs.length - correction, 0);
};
function refLogSumExp(xs: number[]): number {
  const m = Math.max(...xs);
  if (m === -Infinity) return -Infinity;
  if (m === Infinity) return Infinity;
  return m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
}
const refNorm = (p: number) => (xs: number[]) => {
  const a = xs.map(Math.abs);
  if (p === Infinity) return Math.max(...a);
  if (p === -Infinity) return Math.min(...a);
  if (p === 0) return a.filter((x) => x !== 0).length;
  return a.reduce((s, x) => s + x ** p, 0) ** (1 / p);
};

/** Softmax (or its log) along one dim, as a loop over the lines of that dim. */
function refSoftmax(v: ArrayLike<number>, shape: readonly number[], dim: number, log: boolean): Float64Array {
  const out = new Float64Array(v.length);
  const { groups } = groupsOf(shape, dim, true);
  for (const g of groups) {
    const xs = g.map((i) => v[i]);
    const lse = refLogSumExp(xs);
    g.forEach((i, j) => {
      out[i] = log ? xs[j] - lse : Math.exp(xs[j] - lse);
    });
  }
  return out;
}

// ------------------------------------------------------------------ cases

/** Odd shapes that miss SIMD widths, with dims: all, each one (also negative), adjacent and non-adjacent sets. */
const CASES: Array<{ shape: number[]; dims: Dims[] }> = [
  { shape: [13], dims: [undefined, 0, -1] },
  { shape: [2, 1, 9], dims: [undefined, 0, 1, 2, -1, [0, 1], [1, 2], [0, 2], [-1, 0]] },
  {
    shape: [3, 5, 7],
    dims: [undefined, 0, 1, 2, -1, -2, -3, [0, 1], [1, 2], [0, 2], [2, 0], [-1, -3], [0, 1, 2]],
  },
  { shape: [2, 3, 4, 5], dims: [[1, 3], [0, 2, 3], [0, 3], [1, 2], [-4], [0, 1, 2, 3]] },
  { shape: [5, 33], dims: [0, 1, [0, 1]] },
];

interface ReduceCase {
  name: string;
  fn: (x: tg.Tensor, dim: Dims, keepDim: boolean) => tg.Tensor;
  ref: (xs: number[]) => number;
  low?: number;
  high?: number;
  /** extra tolerance factor for float32 (ops composed of several float32 passes) */
  loose?: number;
}

const REDUCERS: ReduceCase[] = [
  { name: 'sum', fn: (x, d, k) => tg.sum(x, d, { keepDim: k }), ref: refSum },
  { name: 'mean', fn: (x, d, k) => tg.mean(x, d, { keepDim: k }), ref: refMean },
  { name: 'prod', fn: (x, d, k) => tg.prod(x, d, { keepDim: k }), ref: refProd, low: -1.8, high: 1.8 },
  { name: 'max', fn: (x, d, k) => tg.max(x, d, { keepDim: k }), ref: refMax },
  { name: 'min', fn: (x, d, k) => tg.min(x, d, { keepDim: k }), ref: refMin },
  { name: 'var (correction 1)', fn: (x, d, k) => tg.var(x, d, { keepDim: k }), ref: refVar(1), loose: 10 },
  { name: 'var (correction 0)', fn: (x, d, k) => tg.var(x, d, { keepDim: k, correction: 0 }), ref: refVar(0), loose: 10 },
  {
    name: 'std (correction 1)',
    fn: (x, d, k) => tg.std(x, d, { keepDim: k, correction: 1 }),
    ref: (xs) => Math.sqrt(refVar(1)(xs)),
    loose: 10,
  },
  { name: 'std (correction 0)', fn: (x, d, k) => x.std(d, { keepDim: k, correction: 0 }), ref: (xs) => Math.sqrt(refVar(0)(xs)), loose: 10 },
  { name: 'logSumExp', fn: (x, d, k) => tg.logSumExp(x, d, { keepDim: k }), ref: refLogSumExp, low: -5, high: 5 },
  ...[2, 1, Infinity, -Infinity, 0, 3].map(
    (p): ReduceCase => ({ name: `norm p=${p}`, fn: (x, d, k) => tg.norm(x, p, d, { keepDim: k }), ref: refNorm(p), loose: 3 }),
  ),
];

/** Forward check of one reduction over every case, dim set and keepDim, in float32 and float64. */
function checkForward(c: ReduceCase, dtype: tg.DType): void {
  const base = tolOf(dtype);
  const tol = { atol: base.atol * (c.loose ?? 1), rtol: base.rtol * (c.loose ?? 1) };
  CASES.forEach(({ shape, dims }, ci) => {
    const { t, v } = randomTensor(shape, { dtype, seed: 11 + ci, low: c.low, high: c.high });
    for (const dim of dims) {
      for (const keepDim of [false, true]) {
        const y = c.fn(t, dim, keepDim);
        const want = refReduce(v, shape, dim, keepDim, c.ref);
        const where = `${c.name} ${dtype} shape [${shape}] dim ${JSON.stringify(dim)} keepDim ${keepDim}`;
        expect(y.shape, where).toEqual(want.shape);
        expect(y.dtype, where).toBe(dtype);
        try {
          expectClose(y.data(), want.values, tol);
        } catch (e) {
          throw new Error(`${where}: ${(e as Error).message}`);
        }
      }
    }
  });
}

// ------------------------------------------------------------------ forward

describe('reductions: forward against loop references', () => {
  for (const c of REDUCERS) {
    for (const dtype of ['float32', 'float64'] as const) {
      it(`${c.name} ${dtype}`, () => checkForward(c, dtype));
    }
  }

  it('a 0-d tensor reduces to itself', () => {
    const x = tg.tensor(2.5, { dtype: 'float64' });
    for (const y of [x.sum(), x.mean(), x.prod(), x.max(), x.min(), x.sum(0), x.max(-1), x.logSumExp(), x.norm()]) {
      expect(y.shape).toEqual([]);
      expect(y.item()).toBe(2.5);
    }
    expect(x.sum(0, { keepDim: true }).shape).toEqual([]);
    expect(x.var(undefined, { correction: 0 }).item()).toBe(0);
    expect(x.argmax().item()).toBe(0);
    expect(x.argmax(0).item()).toBe(0);
    const r = x.maxWithIndices(-1);
    expect(r.values.item()).toBe(2.5);
    expect(r.indices.item()).toBe(0);
  });

  it('bad options and dim types are TypeErrors', () => {
    const x = tg.zeros([2, 3]);
    expect(() => tg.sum(x, 0, { keepDim: 1 as unknown as boolean })).toThrow(TypeError);
    expect(() => tg.var(x, 0, { correction: '1' as unknown as number })).toThrow(TypeError);
    expect(() => tg.max(x, '0' as unknown as number)).toThrow(TypeError);
    expect(() => tg.max(x, 0.5)).toThrow(RangeError); // a number that is not a valid dim
    expect(() => tg.mean(x, 0, 'keep' as never)).toThrow(TypeError);
  });

  it('methods agree with the tg.* functions', () => {
    const { t } = randomTensor([3, 5, 7], { dtype: 'float64', seed: 3 });
    const pairs: Array<[tg.Tensor, tg.Tensor]> = [
      [t.sum([0, 2]), tg.sum(t, [0, 2])],
      [t.mean(1, { keepDim: true }), tg.mean(t, 1, { keepDim: true })],
      [t.prod(-1), tg.prod(t, -1)],
      [t.max([0, 2]), tg.max(t, [0, 2])],
      [t.min(), tg.min(t)],
      [t.var(1, { correction: 0 }), tg.var(t, 1, { correction: 0 })],
      [t.std(), tg.std(t)],
      [t.logSumExp(2), tg.logSumExp(t, 2)],
      [t.norm(1, [1]), tg.norm(t, 1, [1])],
      [t.softmax(1), tg.softmax(t, 1)],
      [t.logSoftmax(-1), tg.logSoftmax(t, -1)],
      [t.argmax(1), tg.argmax(t, 1)],
      [t.argmin(), tg.argmin(t)],
      [t.maxWithIndices(2).indices, tg.maxWithIndices(t, 2).indices],
      [t.minWithIndices(0).values, tg.minWithIndices(t, 0).values],
    ];
    for (const [a, b] of pairs) {
      expect(a.shape).toEqual(b.shape);
      expect(Array.from(a.data())).toEqual(Array.from(b.data()));
    }
  });

  it('norm defaults to p = 2 over all dims', () => {
    const { t, v } = randomTensor([3, 5, 7], { dtype: 'float64', seed: 5 });
    expect(t.norm().shape).toEqual([]);
    expectClose([t.norm().item()], [refNorm(2)(Array.from(v))], F64);
  });

  it('var defaults to correction 1 and over all dims', () => {
    const { t, v } = randomTensor([3, 5, 7], { dtype: 'float64', seed: 6 });
    expectClose([t.var().item()], [refVar(1)(Array.from(v))], F64);
    expectClose([tg.var(t, [0, 2]).data()[1]], [refReduce(v, [3, 5, 7], [0, 2], false, refVar(1)).values[1]], F64);
  });

  it('integer reductions: int32 sum/prod/max/min stay int32, mean and var give float32', () => {
    const shape = [3, 5, 7];
    const vals = Int32Array.from(randomValues(numelOf(shape), 21, -9, 9), Math.floor);
    const x = tg.tensor(vals, { shape });
    expect(x.dtype).toBe('int32');
    for (const dim of [undefined, 1, [0, 2], -1] as Dims[]) {
      for (const keepDim of [false, true]) {
        const cases: Array<[tg.Tensor, (xs: number[]) => number]> = [
          [tg.sum(x, dim, { keepDim }), refSum],
          [tg.max(x, dim, { keepDim }), refMax],
          [tg.min(x, dim, { keepDim }), refMin],
        ];
        for (const [y, f] of cases) {
          const want = refReduce(vals, shape, dim, keepDim, f);
          expect(y.dtype).toBe('int32');
          expect(y.shape).toEqual(want.shape);
          expect(Array.from(y.data())).toEqual(Array.from(want.values));
        }
        const m = tg.mean(x, dim, { keepDim });
        expect(m.dtype).toBe('float32');
        expectClose(m.data(), refReduce(vals, shape, dim, keepDim, refMean).values, F32);
      }
    }
    const small = tg.tensor(Int32Array.from([2, -3, 1, 4, 5, -1]), { shape: [2, 3] });
    const p = tg.prod(small, 1);
    expect(p.dtype).toBe('int32');
    expect(Array.from(p.data())).toEqual([-6, -20]);
    const v = tg.var(small, 1);
    expect(v.dtype).toBe('float32');
    expectClose(v.data(), [refVar(1)([2, -3, 1]), refVar(1)([4, 5, -1])], F32);
  });

  it('sum of bool and uint8 gives int32 (no uint8 overflow)', () => {
    const n = 1000;
    const bits = Uint8Array.from(randomValues(n, 4, 0, 1), (u) => (u < 0.3 ? 1 : 0));
    const b = tg.tensor(Array.from(bits, (u) => u === 1));
    expect(b.dtype).toBe('bool');
    const sb = b.sum();
    expect(sb.dtype).toBe('int32');
    expect(sb.item()).toBe(bits.reduce((a, x) => a + x, 0));

    const bytes = Uint8Array.from(randomValues(3 * 7 * 11, 5, 100, 255), Math.floor);
    const u = tg.tensor(bytes, { shape: [3, 7, 11] });
    expect(u.dtype).toBe('uint8');
    for (const dim of [undefined, 1, [0, 2]] as Dims[]) {
      const s = u.sum(dim);
      expect(s.dtype).toBe('int32');
      expect(Array.from(s.data())).toEqual(Array.from(refReduce(bytes, [3, 7, 11], dim, false, refSum).values));
    }
    expect(tg.sum(tg.tensor([true, true, false]), 0, { keepDim: true }).shape).toEqual([1]);
  });

  it('half types: sum/max/mean/softmax spot check in float16 and bfloat16', () => {
    const shape = [3, 5, 7];
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const { t, v } = randomTensor(shape, { dtype, seed: 8 });
      const tol = { atol: 2e-2, rtol: dtype === 'float16' ? 2e-3 : 1e-2 };
      for (const dim of [undefined, 1, [0, 2]] as Dims[]) {
        const s = tg.sum(t, dim);
        expect(s.dtype).toBe(dtype);
        expectClose(s.data(), refReduce(v, shape, dim, false, refSum).values, tol);
        expectClose(tg.max(t, dim).data(), refReduce(v, shape, dim, false, refMax).values, { atol: 0, rtol: 0 });
        expectClose(tg.mean(t, dim).data(), refReduce(v, shape, dim, false, refMean).values, tol);
      }
      expectClose(tg.softmax(t, 1).data(), refSoftmax(v, shape, 1, false), tol);
    }
  });
});

describe('maxWithIndices / minWithIndices / argmax / argmin', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    it(`values and first indices along each dim (${dtype})`, () => {
      CASES.forEach(({ shape }, ci) => {
        const { t, v } = randomTensor(shape, { dtype, seed: 40 + ci });
        for (let d = -shape.length; d < shape.length; d++) {
          for (const keepDim of [false, true]) {
            for (const isMax of [true, false]) {
              const r = isMax ? tg.maxWithIndices(t, d, { keepDim }) : tg.minWithIndices(t, d, { keepDim });
              const { shape: out, groups } = groupsOf(shape, d, keepDim);
              const where = `${isMax ? 'max' : 'min'} shape [${shape}] dim ${d} keepDim ${keepDim}`;
              expect(r.values.shape, where).toEqual(out);
              expect(r.indices.shape, where).toEqual(out);
              expect(r.values.dtype).toBe(dtype);
              expect(r.indices.dtype).toBe('int32');
              const xs = groups.map((g) => g.map((i) => v[i]));
              expectClose(r.values.data(), xs.map(isMax ? refMax : refMin), tolOf(dtype));
              const idx = xs.map((g) => refArg(g, isMax));
              expect(Array.from(r.indices.data()), where).toEqual(idx);
              const arg = isMax ? tg.argmax(t, d, { keepDim }) : tg.argmin(t, d, { keepDim });
              expect(arg.shape).toEqual(out);
              expect(arg.dtype).toBe('int32');
              expect(Array.from(arg.data()), where).toEqual(idx);
            }
          }
        }
      });
    });
  }

  it('argmax / argmin without dim index the flattened tensor', () => {
    for (const { shape } of CASES) {
      const { t, v } = randomTensor(shape, { seed: 77 });
      const xs = Array.from(v);
      const am = tg.argmax(t);
      expect(am.shape).toEqual([]);
      expect(am.dtype).toBe('int32');
      expect(am.item()).toBe(refArg(xs, true));
      expect(t.argmin().item()).toBe(refArg(xs, false));
      const kept = tg.argmax(t, undefined, { keepDim: true });
      expect(kept.shape).toEqual(shape.map(() => 1));
      expect(kept.item()).toBe(refArg(xs, true));
    }
  });

  it('ties give the first index (all forms)', () => {
    // integer-valued data in a small range: many ties per line
    const shape = [4, 6, 5];
    const vals = Float64Array.from(randomValues(numelOf(shape), 90, 0, 3), Math.floor);
    const t = tg.tensor(vals, { shape, dtype: 'float32' });
    for (let d = 0; d < 3; d++) {
      const { groups } = groupsOf(shape, d, false);
      const xs = groups.map((g) => g.map((i) => vals[i]));
      expect(Array.from(tg.argmax(t, d).data())).toEqual(xs.map((g) => refArg(g, true)));
      expect(Array.from(tg.argmin(t, d).data())).toEqual(xs.map((g) => refArg(g, false)));
      expect(Array.from(tg.maxWithIndices(t, d).indices.data())).toEqual(xs.map((g) => refArg(g, true)));
      expect(Array.from(tg.minWithIndices(t, d).indices.data())).toEqual(xs.map((g) => refArg(g, false)));
    }
    expect(tg.argmax(tg.tensor([1, 3, 0, 3, 3])).item()).toBe(1);
    expect(tg.argmin(tg.tensor([[2, 0], [0, 0]])).item()).toBe(1);
    expect(tg.argmax(tg.tensor([5, 5, 5, 5, 5, 5, 5, 5, 5])).item()).toBe(0);
    expect(tg.argmax(tg.tensor(Int32Array.from([-4, 7, 7, -9]))).item()).toBe(1);
  });

  it('NaN propagates through max/min and is what argmax/argmin point at', () => {
    const x = tg.tensor(
      [
        [1, NaN, 3, 2],
        [NaN, 5, NaN, -1],
        [0.5, -2, 4, 4],
      ],
      { dtype: 'float64' },
    );
    expectClose(tg.max(x, 1).data(), [NaN, NaN, 4]);
    expectClose(tg.min(x, 1).data(), [NaN, NaN, -2]);
    expectClose(tg.max(x, 0).data(), [NaN, NaN, NaN, 4]);
    expectClose(tg.min(x, 0).data(), [NaN, NaN, NaN, -1]);
    expect(Number.isNaN(tg.max(x).item())).toBe(true);
    expect(Number.isNaN(tg.min(x).item())).toBe(true);
    expect(Array.from(tg.argmax(x, 1).data())).toEqual([1, 0, 2]);
    expect(Array.from(tg.argmin(x, 1).data())).toEqual([1, 0, 1]);
    expect(tg.argmax(x).item()).toBe(1);
    const r = tg.maxWithIndices(x, 0);
    expectClose(r.values.data(), [NaN, NaN, NaN, 4]);
    expect(Array.from(r.indices.data())).toEqual([1, 0, 1, 2]);
    // NaN in the last position of a line, float32
    const y = tg.tensor([3, 2, NaN]);
    expect(Number.isNaN(y.max().item())).toBe(true);
    expect(Number.isNaN(y.min().item())).toBe(true);
    expect(y.argmin().item()).toBe(2);
  });

  it('infinities are ordinary extremes', () => {
    const x = tg.tensor([[-Infinity, -Infinity], [Infinity, 2]], { dtype: 'float64' });
    expect(Array.from(x.max(1).data())).toEqual([-Infinity, Infinity]);
    expect(Array.from(x.argmax(1).data())).toEqual([0, 0]);
    expect(Array.from(x.min(1).data())).toEqual([-Infinity, 2]);
  });

  it('max / min / argmax over an empty dim are errors; over the other dims of an empty tensor they are empty', () => {
    const e = tg.zeros([0, 3]);
    expect(() => tg.max(e)).toThrow(RangeError);
    expect(() => tg.min(e, 0)).toThrow(RangeError);
    expect(() => tg.argmax(e)).toThrow(RangeError);
    expect(() => tg.maxWithIndices(e, 0)).toThrow(RangeError);
    // a reduction over the non-empty dims of an empty tensor is an empty result (as in PyTorch)
    for (const y of [tg.max(e, 1), tg.min(e, -1), tg.argmax(e, 1), tg.maxWithIndices(e, 1).indices, tg.minWithIndices(e, 1).values]) {
      expect(y.shape).toEqual([0]);
    }
    expect(tg.max(e, 1, { keepDim: true }).shape).toEqual([0, 1]);
    expect(tg.logSumExp(e, 1).shape).toEqual([0]);
    expect(() => tg.max(tg.zeros([2, 0, 3]), [0, 1])).toThrow(/dim 1 of size 0/);
    expect(() => tg.argmin(tg.zeros([2, 0]))).toThrow(RangeError);
    // logSumExp over an empty dim is log(0)
    expect(Array.from(tg.logSumExp(e, 0).data())).toEqual([-Infinity, -Infinity, -Infinity]);
    expect(tg.logSumExp(e, [0, 1], { keepDim: true }).shape).toEqual([1, 1]);
    // mean of nothing is 0/0
    expectClose(tg.mean(e, 0).data(), [NaN, NaN, NaN]);
    // sum and prod of nothing are their identities
    expect(Array.from(tg.sum(e, 0).data())).toEqual([0, 0, 0]);
    expect(Array.from(tg.prod(e, 0).data())).toEqual([1, 1, 1]);
  });

  it('bad dims are RangeErrors naming the op', () => {
    const x = tg.zeros([2, 3]);
    expect(() => tg.sum(x, 2)).toThrow(/sum.*out of range/);
    expect(() => tg.max(x, [0, 0])).toThrow(RangeError);
    expect(() => tg.argmax(x, -3)).toThrow(/argmax/);
    expect(() => tg.softmax(x, 5)).toThrow(/softmax/);
  });
});

describe('softmax / logSoftmax: forward', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    it(`every dim of odd shapes (${dtype})`, () => {
      CASES.forEach(({ shape }, ci) => {
        const { t, v } = randomTensor(shape, { dtype, seed: 60 + ci, low: -6, high: 6 });
        for (let d = -shape.length; d < shape.length; d++) {
          const sm = tg.softmax(t, d);
          const lsm = tg.logSoftmax(t, d);
          expect(sm.shape).toEqual(shape);
          expect(sm.dtype).toBe(dtype);
          expectClose(sm.data(), refSoftmax(v, shape, d < 0 ? d + shape.length : d, false), tolOf(dtype));
          expectClose(lsm.data(), refSoftmax(v, shape, d < 0 ? d + shape.length : d, true), tolOf(dtype));
        }
      });
    });
  }

  it('a 0-d tensor and a size-1 dim give softmax 1 and logSoftmax 0', () => {
    const s = tg.tensor(-3.5, { dtype: 'float64' });
    expect(tg.softmax(s, 0).item()).toBe(1);
    expect(tg.logSoftmax(s, -1).item()).toBe(0);
    const x = randomTensor([4, 1, 3], { seed: 70 }).t;
    expect(Array.from(tg.softmax(x, 1).data()).every((a) => a === 1)).toBe(true);
    expect(Array.from(tg.logSoftmax(x, 1).data()).every((a) => a === 0)).toBe(true);
  });

  it('integer input is computed in float32', () => {
    const x = tg.tensor(Int32Array.from([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
    const y = tg.softmax(x, 1);
    expect(y.dtype).toBe('float32');
    expectClose(y.data(), refSoftmax([1, 2, 3, 4, 5, 6], [2, 3], 1, false), F32);
  });
});

describe('numerical stability', () => {
  it('softmax / logSoftmax / logSumExp of inputs near +1000 and -1000', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const offset of [1000, -1000]) {
        const shape = [3, 7];
        const raw = randomValues(21, 31, -3, 3).map((u) => offset + u);
        const t = tg.tensor(raw, { shape, dtype });
        const v = Float64Array.from(t.data());
        const sm = tg.softmax(t, 1).data();
        const lsm = tg.logSoftmax(t, 1).data();
        const lse = tg.logSumExp(t, 1).data();
        for (const a of [sm, lsm, lse]) expect(Array.from(a).every(Number.isFinite)).toBe(true);
        expectClose(sm, refSoftmax(v, shape, 1, false), tolOf(dtype));
        expectClose(lsm, refSoftmax(v, shape, 1, true), { atol: dtype === 'float64' ? 1e-12 : 1e-4, rtol: 1e-6 });
        expectClose(lse, refReduce(v, shape, 1, false, refLogSumExp).values, tolOf(dtype));
        // each softmax row sums to 1
        expectClose(tg.sum(tg.softmax(t, 1), 1).data(), [1, 1, 1], tolOf(dtype));
        // over dim 0 and over all dims too
        expectClose(tg.logSumExp(t).data(), [refLogSumExp(Array.from(v))], tolOf(dtype));
        expectClose(tg.softmax(t, 0).data(), refSoftmax(v, shape, 0, false), tolOf(dtype));
      }
    }
  });

  it('mixed huge and tiny logits: the small ones underflow to 0 in softmax, not NaN', () => {
    const x = tg.tensor([[1000, -1000, 0], [-1000, -1000, -999]], { dtype: 'float64' });
    const e1 = Math.exp(-1) / (1 + 2 * Math.exp(-1));
    expectClose(tg.softmax(x, 1).data(), [1, 0, 0, e1, e1, 1 / (1 + 2 * Math.exp(-1))], F64);
    expectClose(tg.logSoftmax(x, 1).data(), refSoftmax([1000, -1000, 0, -1000, -1000, -999], [2, 3], 1, true), F64);
    expectClose(tg.logSumExp(x, 1).data(), [1000, -999 + Math.log(1 + 2 * Math.exp(-1))], F64);
  });

  it('logSumExp of a row of -Infinity is -Infinity (not NaN); of a row with +Infinity is +Infinity', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const x = tg.tensor(
        [
          [-Infinity, -Infinity, -Infinity],
          [-Infinity, 0, Math.log(3)],
          [1, Infinity, 2],
        ],
        { dtype },
      );
      expectClose(tg.logSumExp(x, 1).data(), [-Infinity, Math.log(4), Infinity], tolOf(dtype));
      expectClose(tg.logSumExp(x, 1, { keepDim: true }).data(), [-Infinity, Math.log(4), Infinity], tolOf(dtype));
      expect(tg.logSumExp(tg.full([4], -Infinity, { dtype })).item()).toBe(-Infinity);
      // softmax with masked (-inf) entries gives them exactly 0
      const sm = tg.softmax(x.narrow(0, 1, 1), 1).data();
      expectClose(sm, [0, 0.25, 0.75], tolOf(dtype));
      expect(sm[0]).toBe(0);
      expectClose(tg.logSoftmax(x.narrow(0, 1, 1), 1).data(), [-Infinity, Math.log(0.25), Math.log(0.75)], tolOf(dtype));
    }
  });

  it('var / std: correction 0 and 1 on known values, large offsets, constant and single-element inputs', () => {
    const xs = [2, 4, 4, 4, 5, 5, 7, 9];
    const x = tg.tensor(xs, { dtype: 'float64' });
    expect(tg.var(x, undefined, { correction: 0 }).item()).toBeCloseTo(4, 12);
    expect(tg.std(x, undefined, { correction: 0 }).item()).toBeCloseTo(2, 12);
    expect(tg.var(x, undefined, { correction: 1 }).item()).toBeCloseTo(32 / 7, 12);
    expect(tg.var(x).item()).toBeCloseTo(32 / 7, 12);
    expect(tg.std(x).item()).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(tg.var(x, 0, { correction: 2 }).item()).toBeCloseTo(32 / 6, 12);
    // a large common offset must not swamp the variance (two-pass, not E[x^2] - E[x]^2)
    const shifted = tg.tensor(xs.map((a) => a + 1e4), { dtype: 'float32' });
    expectClose([tg.var(shifted, 0, { correction: 0 }).item()], [4], { atol: 1e-3, rtol: 1e-3 });
    expect(tg.var(tg.full([5, 3], 7.25, { dtype: 'float64' }), 0).data().every((a) => a === 0)).toBe(true);
    // one element: the unbiased estimate is 0/0 (NaN), the biased one is 0
    expect(Number.isNaN(tg.var(tg.tensor([3.5], { dtype: 'float64' })).item())).toBe(true);
    expect(tg.var(tg.tensor([3.5], { dtype: 'float64' }), 0, { correction: 0 }).item()).toBe(0);
    // keepDim shapes
    expect(tg.var(tg.zeros([2, 3, 4]), [0, 2], { keepDim: true }).shape).toEqual([1, 3, 1]);
    expect(tg.std(tg.zeros([2, 3, 4]), 1, { keepDim: false }).shape).toEqual([2, 4]);
  });

  it('sum accumulates float32 in higher precision', () => {
    // 1 followed by many 1e-8: naive float32 accumulation would stay at 1
    const n = 100001;
    const vals = new Float32Array(n).fill(1e-8);
    vals[0] = 1;
    const s = tg.tensor(vals).sum().item();
    expect(Math.abs(s - (1 + 1e-3))).toBeLessThan(1e-6);
  });

  it('norm: zero vector, huge and tiny values', () => {
    const z = tg.zeros([4], { dtype: 'float64' });
    for (const p of [2, 1, Infinity, -Infinity, 0, 3]) expect(tg.norm(z, p).item()).toBe(0);
    const x = tg.tensor([3e-200, 4e-200], { dtype: 'float64' });
    expect(tg.norm(x, Infinity).item()).toBe(4e-200);
    expect(tg.norm(x, 1).item()).toBeCloseTo(7e-200, 210);
    expect(tg.norm(tg.tensor([-3, 0, 4, 0, 1]), 0).item()).toBe(3);
    expect(tg.norm(tg.tensor([-3, 0.5, 4]), -Infinity).item()).toBe(0.5);
  });
});

// ------------------------------------------------------------------ large (multithreaded) cases

describe('large inputs (multithreaded kernels)', () => {
  let threads = 1;
  beforeAll(() => {
    threads = tg.getNumThreads();
    tg.setNumThreads(4);
  });
  afterAll(() => tg.setNumThreads(threads));

  const LARGE: Array<{ shape: number[]; dims: Dims[] }> = [
    { shape: [301, 157], dims: [undefined, 0, 1, -1] },
    { shape: [41, 49, 31], dims: [1, [0, 2], [1, 2], [0, 1]] },
    { shape: [45013], dims: [0] },
  ];

  it('sum / mean / max / min / var / logSumExp / norm over large tensors (float32)', () => {
    expect(tg.getNumThreads()).toBe(4);
    const cases: Array<[string, (x: tg.Tensor, d: Dims) => tg.Tensor, (xs: number[]) => number, Tol]> = [
      ['sum', (x, d) => tg.sum(x, d), refSum, { atol: 1e-3, rtol: 1e-5 }],
      ['mean', (x, d) => tg.mean(x, d), refMean, { atol: 1e-5, rtol: 1e-5 }],
      ['max', (x, d) => tg.max(x, d), refMax, { atol: 0, rtol: 0 }],
      ['min', (x, d) => tg.min(x, d), refMin, { atol: 0, rtol: 0 }],
      ['var', (x, d) => tg.var(x, d), refVar(1), { atol: 1e-5, rtol: 1e-4 }],
      ['logSumExp', (x, d) => tg.logSumExp(x, d), refLogSumExp, { atol: 1e-5, rtol: 1e-5 }],
      ['norm', (x, d) => tg.norm(x, 2, d), refNorm(2), { atol: 1e-5, rtol: 1e-5 }],
    ];
    LARGE.forEach(({ shape, dims }, ci) => {
      expect(numelOf(shape)).toBeGreaterThan(40000);
      const { t, v } = randomTensor(shape, { dtype: 'float32', seed: 500 + ci });
      for (const dim of dims) {
        for (const [name, fn, ref, tol] of cases) {
          const y = fn(t, dim);
          const want = refReduce(v, shape, dim, false, ref);
          expect(y.shape).toEqual(want.shape);
          try {
            expectClose(y.data(), want.values, tol);
          } catch (e) {
            throw new Error(`${name} shape [${shape}] dim ${JSON.stringify(dim)}: ${(e as Error).message}`);
          }
        }
      }
    });
  });

  it('prod over large tensors (values near 1, float64)', () => {
    const shape = [41, 49, 31];
    const { t, v } = randomTensor(shape, { seed: 520, low: 0.9, high: 1.1 });
    for (const dim of [undefined, 1, [0, 2]] as Dims[]) {
      expectClose(tg.prod(t, dim).data(), refReduce(v, shape, dim, false, refProd).values, { atol: 1e-12, rtol: 1e-9 });
    }
  });

  it('argmax / maxWithIndices / argmin over large tensors', () => {
    const shape = [301, 157];
    const { t, v } = randomTensor(shape, { dtype: 'float32', seed: 530 });
    for (const d of [0, 1]) {
      const { groups } = groupsOf(shape, d, false);
      const xs = groups.map((g) => g.map((i) => v[i]));
      expect(Array.from(tg.argmax(t, d).data())).toEqual(xs.map((g) => refArg(g, true)));
      expect(Array.from(tg.argmin(t, d).data())).toEqual(xs.map((g) => refArg(g, false)));
      const r = tg.maxWithIndices(t, d);
      expectClose(r.values.data(), xs.map(refMax), { atol: 0, rtol: 0 });
    }
    expect(tg.argmax(t).item()).toBe(refArg(Array.from(v), true));
    expect(tg.argmin(t).item()).toBe(refArg(Array.from(v), false));
  });

  it('softmax / logSoftmax over large tensors, along the last and a middle dim', () => {
    const shape = [41, 49, 31];
    const { t, v } = randomTensor(shape, { dtype: 'float32', seed: 540, low: -8, high: 8 });
    for (const d of [2, 1, 0]) {
      expectClose(tg.softmax(t, d).data(), refSoftmax(v, shape, d, false), { atol: 1e-6, rtol: 1e-5 });
      expectClose(tg.logSoftmax(t, d).data(), refSoftmax(v, shape, d, true), { atol: 1e-5, rtol: 1e-5 });
    }
  });

  it('results do not depend on the number of threads', () => {
    const { t } = randomTensor([41, 49, 31], { dtype: 'float32', seed: 550 });
    const run = () => [tg.sum(t, [0, 2]), tg.max(t, 1), tg.argmin(t, 0), tg.softmax(t, 1), tg.prod(t, 2)].map((y) => Array.from(y.data()));
    const many = run();
    tg.setNumThreads(1);
    const one = run();
    tg.setNumThreads(4);
    expect(many).toEqual(one);
  });
});

// ------------------------------------------------------------------ gradients

describe('gradients (gradcheck, float64)', () => {
  const SHAPES: Array<{ shape: number[]; dims: Dims[] }> = [
    { shape: [5], dims: [undefined, 0] },
    { shape: [3, 1, 5], dims: [undefined, 0, 1, -1, [0, 2], [1, 2]] },
    { shape: [2, 3, 4], dims: [[0, 2], 1, [0, 1, 2]] },
  ];

  function checkAll(
    name: string,
    fn: (x: tg.Tensor, dim: Dims, keepDim: boolean) => tg.Tensor,
    opts: { low?: number; high?: number } = {},
    shapes = SHAPES,
  ): void {
    shapes.forEach(({ shape, dims }, si) => {
      for (const dim of dims) {
        for (const keepDim of [false, true]) {
          try {
            gradcheckShapes((x) => fn(x, dim, keepDim), [shape], { seed: 900 + si, ...opts });
          } catch (e) {
            throw new Error(`${name} shape [${shape}] dim ${JSON.stringify(dim)} keepDim ${keepDim}: ${(e as Error).message}`);
          }
        }
      }
    });
  }

  it('sum', () => checkAll('sum', (x, d, k) => tg.sum(x, d, { keepDim: k })));
  it('mean', () => checkAll('mean', (x, d, k) => x.mean(d, { keepDim: k })));
  it('prod (no zeros)', () => checkAll('prod', (x, d, k) => tg.prod(x, d, { keepDim: k }), { low: -1.5, high: 1.5 }));
  it('max (distinct values)', () => checkAll('max', (x, d, k) => tg.max(x, d, { keepDim: k })));
  it('min (distinct values)', () => checkAll('min', (x, d, k) => x.min(d, { keepDim: k })));
  it('var (correction 0, 1)', () => {
    checkAll('var', (x, d, k) => tg.var(x, d, { keepDim: k, correction: 0 }));
    gradcheckShapes((x) => tg.var(x, [0, 2], { correction: 1 }), [[3, 2, 5]]);
    gradcheckShapes((x) => x.var(-1), [[4, 7]]);
  });
  it('std (correction 0, 1)', () => {
    // std is not differentiable where the spread is 0, so no reductions over a size-1 dim alone
    const shapes = [
      { shape: [5], dims: [undefined, 0] },
      { shape: [3, 1, 5], dims: [undefined, 0, -1, [0, 2], [1, 2]] },
      { shape: [2, 3, 4], dims: [[0, 2], 1, [0, 1, 2]] },
    ];
    checkAll('std', (x, d, k) => tg.std(x, d, { keepDim: k, correction: 1 }), {}, shapes);
    checkAll('std', (x, d, k) => x.std(d, { keepDim: k, correction: 0 }), {}, shapes);
  });
  it('logSumExp', () => checkAll('logSumExp', (x, d, k) => tg.logSumExp(x, d, { keepDim: k }), { low: -4, high: 4 }));

  it('maxWithIndices / minWithIndices values', () => {
    for (const shape of [[5], [3, 1, 5], [2, 3, 4]]) {
      for (let d = -shape.length; d < shape.length; d++) {
        for (const keepDim of [false, true]) {
          gradcheckShapes((x) => tg.maxWithIndices(x, d, { keepDim }).values, [shape], { seed: 950 });
          gradcheckShapes((x) => x.minWithIndices(d, { keepDim }).values, [shape], { seed: 951 });
        }
      }
    }
  });

  it('norm for p = 2, 1, Infinity, -Infinity, 0, 3 (inputs away from 0)', () => {
    for (const p of [2, 1, Infinity, -Infinity, 0, 3]) {
      SHAPES.forEach(({ shape, dims }, si) => {
        // |x| in [0.3, 2] with mixed signs
        const signs = tg.tensor(
          Float64Array.from(randomValues(numelOf(shape), 970 + si), (u) => (u < 0 ? -1 : 1)),
          { shape, dtype: 'float64' },
        );
        for (const dim of dims) {
          for (const keepDim of [false, true]) {
            try {
              gradcheckShapes((x) => tg.norm(tg.mul(x, signs), p, dim, { keepDim }), [shape], { seed: 980 + si, low: 0.3, high: 2 });
            } catch (e) {
              throw new Error(`norm p=${p} shape [${shape}] dim ${JSON.stringify(dim)}: ${(e as Error).message}`);
            }
          }
        }
      });
    }
  });

  it('max / min share the gradient evenly between ties; maxWithIndices gives it to the first', () => {
    const x = tg.tensor([[1, 3, 3, 2], [-1, -1, 0, -1]], { dtype: 'float64', requiresGrad: true });
    const [gmax] = tg.grad(tg.sum(tg.max(x, 1)), [x]);
    expectClose(gmax.data(), [0, 0.5, 0.5, 0, 0, 0, 1, 0], F64);
    const [gmin] = tg.grad(tg.sum(tg.min(x, 1)), [x]);
    expectClose(gmin.data(), [1, 0, 0, 0, 1 / 3, 1 / 3, 0, 1 / 3], F64);
    const [gall] = tg.grad(tg.max(x), [x]);
    expectClose(gall.data(), [0, 0.5, 0.5, 0, 0, 0, 0, 0], F64);
    const [gwi] = tg.grad(tg.sum(tg.maxWithIndices(x, 1).values), [x]);
    expectClose(gwi.data(), [0, 1, 0, 0, 0, 0, 1, 0], F64);
    const [gwimin] = tg.grad(tg.sum(tg.minWithIndices(x, 1, { keepDim: true }).values), [x]);
    expectClose(gwimin.data(), [1, 0, 0, 0, 1, 0, 0, 0], F64);
  });

  it('gradients flow into the right input through keepDim and scalar outputs', () => {
    const x = tg.tensor([[1, 2], [3, 4]], { dtype: 'float64', requiresGrad: true });
    tg.mean(x, 0, { keepDim: true }).sum().backward();
    expectClose(x.grad!.data(), [0.5, 0.5, 0.5, 0.5], F64);
  });

  it('norm p = 2 at an exact zero vector has gradient 0', () => {
    const x = tg.zeros([2, 3], { dtype: 'float64', requiresGrad: true });
    const [g] = tg.grad(tg.sum(tg.norm(x, 2, 1)), [x]);
    expect(Array.from(g.data())).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('softmax / logSoftmax along every dim', () => {
    for (const shape of [[5], [3, 1, 5], [2, 3, 4]]) {
      for (let d = -shape.length; d < shape.length; d++) {
        gradcheckShapes((x) => tg.softmax(x, d), [shape], { seed: 990, low: -3, high: 3 });
        gradcheckShapes((x) => x.logSoftmax(d), [shape], { seed: 991, low: -3, high: 3 });
      }
    }
  });

  describe('prod with exact zeros', () => {
    // row 0: one zero; row 1: two zeros; row 2: none; column 1 and 3 hold zeros too
    const values = [
      [1.5, 0, -2, 0.7],
      [0, 1.2, 0, 3],
      [0.5, -1, 2, 1.1],
    ];
    const make = () => tg.tensor(values, { dtype: 'float64', requiresGrad: true });

    for (const dim of [undefined, 0, 1, -1, [0, 1]] as Dims[]) {
      for (const keepDim of [false, true]) {
        it(`gradcheck dim ${JSON.stringify(dim)} keepDim ${keepDim}`, () => {
          expect(tg.testing.gradcheck((x) => tg.prod(x, dim, { keepDim }), [make()])).toBe(true);
        });
      }
    }

    it('analytic values: one zero gives the product of the others there and 0 elsewhere; two zeros give 0', () => {
      const x = make();
      const [g] = tg.grad(tg.sum(tg.prod(x, 1)), [x]);
      expectClose(g.data(), [0, 1.5 * -2 * 0.7, 0, 0, 0, 0, 0, 0, -1 * 2 * 1.1, 0.5 * 2 * 1.1, 0.5 * -1 * 1.1, 0.5 * -1 * 2], F64);
    });

    it('zeros in a 3-D tensor reduced over non-adjacent dims [0, 2]', () => {
      // group k (dim 1) holds x[:, k, :]; group 0 has one zero, group 1 two, group 2 none
      const x = tg.tensor(
        [
          [[0.5, 0, 1.2], [0, 2, 0.9], [1.1, -0.6, 0.8]],
          [[-1.3, 0.7, 1.5], [0.4, 0, -1.2], [0.9, 1.4, -0.5]],
        ],
        { dtype: 'float64', requiresGrad: true },
      );
      for (const keepDim of [false, true]) {
        expect(tg.testing.gradcheck((t) => tg.prod(t, [0, 2], { keepDim }), [x])).toBe(true);
      }
      expect(tg.testing.gradcheck((t) => tg.prod(t, [2, 0]), [x])).toBe(true);
    });

    it('a single zero in a whole-tensor product and a 1-element group', () => {
      const x = tg.tensor([[0, 2, 3]], { dtype: 'float64', requiresGrad: true });
      expect(tg.testing.gradcheck((t) => tg.prod(t), [x])).toBe(true);
      expect(tg.testing.gradcheck((t) => tg.prod(t, 0), [x])).toBe(true);
    });
  });

  it('second derivatives through softmax, logSoftmax, logSumExp, var, prod and norm', () => {
    // d/dx <grad f(x), v> against central differences of <grad f(x), v>
    const shape = [3, 4];
    const fns: Array<[string, (x: tg.Tensor) => tg.Tensor]> = [
      ['softmax', (x) => tg.sum(tg.mul(tg.softmax(x, 1), tg.arange(12, undefined, 1, { dtype: 'float64' }).reshape(shape)))],
      ['logSoftmax', (x) => tg.sum(tg.square(tg.logSoftmax(x, 0)))],
      ['logSumExp', (x) => tg.sum(tg.square(tg.logSumExp(x, 1)))],
      ['var', (x) => tg.sum(tg.square(tg.var(x, 1)))],
      ['prod', (x) => tg.sum(tg.prod(x, 0))],
      ['norm', (x) => tg.sum(tg.norm(x, 2, 1))],
      ['max', (x) => tg.sum(tg.square(tg.max(x, 1)))],
    ];
    const { v: vv } = randomTensor(shape, { seed: 1001 });
    const v = tg.tensor(vv, { dtype: 'float64', shape });
    for (const [name, f] of fns) {
      const { t: x, v: base } = randomTensor(shape, { seed: 1002, low: 0.3, high: 1.5, requiresGrad: true });
      const [g] = tg.grad(f(x), [x], { createGraph: true });
      const [hv] = tg.grad(tg.sum(tg.mul(g, v)), [x]);
      const gv = (vals: Float64Array): number => {
        const xi = tg.tensor(vals, { dtype: 'float64', shape, requiresGrad: true });
        return tg.sum(tg.mul(tg.grad(f(xi), [xi])[0], v)).item();
      };
      const eps = 1e-6;
      const numeric = Float64Array.from(base, (_, e) => {
        const plus = Float64Array.from(base);
        const minus = Float64Array.from(base);
        plus[e] += eps;
        minus[e] -= eps;
        return (gv(plus) - gv(minus)) / (2 * eps);
      });
      try {
        expectClose(hv.data(), numeric, { atol: 1e-5, rtol: 1e-4 });
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`);
      }
    }
  });
});
