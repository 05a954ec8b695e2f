/**
 * Shape ops (lib/ops/shape.ts): forward values against index-arithmetic references,
 * byte-moving kernels on every element size, gradients (first and second order),
 * out-of-range index errors and storage sharing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tg from '../lib/index';
import { expectClose, gradcheckShapes, numelOf, randomTensor, randomValues, ravel, unravel } from './helpers';

// ---------------------------------------------------------------- local references

/** Values of `shape` in row-major order, each computed from its multi-index. */
function build(shape: readonly number[], f: (idx: number[]) => number): Float64Array {
  const n = numelOf(shape);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = f(unravel(i, shape));
  return out;
}

/**
 * Shape, dtype and values; exact by default (these ops move values without arithmetic),
 * within rtol for scatterAdd's sums. One expect per tensor, so large cases stay fast.
 */
function expectTensor(t: tg.Tensor, shape: readonly number[], ref: ArrayLike<number>, dtype?: tg.DType, rtol = 0): void {
  expect(t.shape).toEqual(shape);
  if (dtype !== undefined) expect(t.dtype).toBe(dtype);
  const got = t.data();
  expect(got.length).toBe(ref.length);
  let bad = -1;
  for (let i = 0; i < ref.length; i++) {
    if (!(got[i] === ref[i] || Math.abs(got[i] - ref[i]) <= rtol * (1 + Math.abs(ref[i])))) {
      bad = i;
      break;
    }
  }
  const where = bad >= 0 ? `element ${bad} at [${unravel(bad, shape)}]: got ${got[bad]}, expected ${ref[bad]}` : '';
  expect(bad, where).toBe(-1);
}

/** Integer-valued tensors for int32/uint8/bool, random floats otherwise; values as stored. */
function sample(shape: readonly number[], dtype: tg.DType, seed: number): { t: tg.Tensor; v: Float64Array } {
  const ranges: Partial<Record<tg.DType, [number, number]>> = {
    bool: [0, 2],
    uint8: [0, 256],
    int32: [-2_000_000_000, 2_000_000_000],
  };
  const range = ranges[dtype];
  if (range === undefined) return randomTensor(shape, { dtype, seed });
  const values = Float64Array.from(randomValues(numelOf(shape), seed, range[0], range[1]), Math.floor);
  const t = tg.tensor(values, { dtype, shape });
  return { t, v: Float64Array.from(t.data()) };
}

function int32(values: number[] | number[][] | number[][][], shape?: number[]): tg.Tensor {
  return shape ? tg.tensor(Int32Array.from(values as number[]), { dtype: 'int32', shape }) : tg.tensor(values, { dtype: 'int32' });
}

/** Random int32 index values in [0, limit). */
function randomIndex(shape: readonly number[], limit: number, seed: number): { t: tg.Tensor; v: Int32Array } {
  const v = Int32Array.from(randomValues(numelOf(shape), seed, 0, limit), Math.floor);
  return { t: tg.tensor(v, { dtype: 'int32', shape }), v };
}

/** Python's range(len)[start:end:step] for step >= 1. */
function pySlice(n: number, start: number | null | undefined, end: number | null | undefined, step: number): number[] {
  const norm = (v: number | null | undefined, dflt: number) => {
    if (v == null) return dflt;
    if (v < 0) return Math.max(0, v + n);
    return Math.min(v, n);
  };
  const out: number[] = [];
  for (let i = norm(start, 0); i < norm(end, n); i += step) out.push(i);
  return out;
}

const BYTE_DTYPES: tg.DType[] = ['bool', 'uint8', 'float16', 'bfloat16', 'int32', 'float32', 'float64'];

let threadsBefore = 1;
beforeAll(() => {
  // more workers than chunks of the small cases, so the large cases split across threads
  threadsBefore = tg.getNumThreads();
  tg.setNumThreads(Math.max(4, threadsBefore));
});
afterAll(() => tg.setNumThreads(threadsBefore));

// ---------------------------------------------------------------- views

describe('reshape / view', () => {
  it('keeps row-major order, infers -1 and accepts both call forms', () => {
    const { t, v } = randomTensor([3, 5, 7], { seed: 1 });
    expectTensor(tg.reshape(t, [7, -1]), [7, 15], v);
    expectTensor(tg.view(t, [-1]), [105], v);
    expectTensor(t.reshape(5, -1, 7), [5, 3, 7], v);
    expectTensor(t.view([1, 105, 1]), [1, 105, 1], v);
    expectTensor(t.reshape([3, 5, 7]), [3, 5, 7], v);
    const s = tg.tensor(4.5, { dtype: 'float64' });
    expectTensor(s.reshape([1, 1]), [1, 1], [4.5]);
    expectTensor(s.reshape([1, 1]).reshape([]), [], [4.5]);
    expectTensor(tg.zeros([0, 3]).reshape([3, -1, 5]), [3, 0, 5], []);
  });

  it('rejects bad shapes with RangeError', () => {
    const { t } = randomTensor([3, 5, 7], { seed: 1 });
    expect(() => t.reshape(4, -1)).toThrow(RangeError);
    expect(() => t.reshape(4, -1)).toThrow(/reshape: shape \[4,-1\] is invalid for a tensor of 105 elements/);
    expect(() => t.reshape(-1, -1)).toThrow(/reshape: only one dimension can be -1/);
    expect(() => t.reshape(10, 10)).toThrow(RangeError);
    expect(() => tg.zeros([0, 3]).reshape([0, -1])).toThrow(RangeError);
  });

  it('shares storage with its input; copying ops do not', () => {
    const { t } = randomTensor([3, 5, 7], { seed: 2 });
    for (const y of [t.reshape(7, 15), tg.view(t, [-1]), t.flatten(), t.unsqueeze(0), t.unsqueeze(0).squeeze(), t.flatten(1)]) {
      expect(y._s).toBe(t._s);
    }
    const r = t.reshape(15, 7);
    expect(r._s).toBe(t._s);
    expect(r._ref).toBe(t._ref);
    // these produce new contiguous storage whose flat order is the result's row-major order
    const copies = [t.transpose(0, 2), t.permute(2, 0, 1), t.expand(2, 3, 5, 7), t.slice(1, 1), t.pad([1, 1]),
      tg.cat([t, t]), t.repeat(1, 2, 1), t.tril(), t.narrow(2, 0, 3)];
    for (const y of copies) expect(y._s).not.toBe(t._s);
    // a transpose's flat data is already in its own row-major order, so reshaping it needs no copy
    const tr = t.transpose(0, 2);
    const flat = tr.reshape(-1);
    expect(flat._s).toBe(tr._s);
    expectTensor(flat, [105], permuteRef(t.data(), [3, 5, 7], [2, 1, 0]).values);
  });
});

describe('flatten', () => {
  it('merges startDim..endDim', () => {
    const { t, v } = randomTensor([2, 3, 4, 5], { seed: 3 });
    expectTensor(t.flatten(), [120], v);
    expectTensor(tg.flatten(t, 1), [2, 60], v);
    expectTensor(t.flatten(1, 2), [2, 12, 5], v);
    expectTensor(t.flatten(-3, -2), [2, 12, 5], v);
    expectTensor(t.flatten(0, 0), [2, 3, 4, 5], v);
    expectTensor(t.flatten(2, -1), [2, 3, 20], v);
    expectTensor(tg.tensor(3, { dtype: 'int32' }).flatten(), [1], [3]);
    expect(() => t.flatten(2, 1)).toThrow(/flatten: startDim 2 comes after endDim 1/);
    expect(() => t.flatten(4)).toThrow(RangeError);
  });
});

describe('squeeze / unsqueeze', () => {
  it('squeeze removes all, one or listed size-1 dims', () => {
    const { t, v } = randomTensor([2, 1, 9, 1], { seed: 4 });
    expectTensor(t.squeeze(), [2, 9], v);
    expectTensor(tg.squeeze(t, 1), [2, 9, 1], v);
    expectTensor(t.squeeze(-1), [2, 1, 9], v);
    expectTensor(t.squeeze(0), [2, 1, 9, 1], v); // size 2: unchanged
    expectTensor(t.squeeze([1, -1]), [2, 9], v);
    expectTensor(t.squeeze([0, 3]), [2, 1, 9], v);
    expectTensor(tg.ones([1, 1, 1]).squeeze(), [], [1]);
    expect(() => t.squeeze(4)).toThrow(RangeError);
  });

  it('unsqueeze inserts a size-1 dim, negative dims counting from the new end', () => {
    const { t, v } = randomTensor([3, 5], { seed: 5 });
    expectTensor(t.unsqueeze(0), [1, 3, 5], v);
    expectTensor(tg.unsqueeze(t, 1), [3, 1, 5], v);
    expectTensor(t.unsqueeze(2), [3, 5, 1], v);
    expectTensor(t.unsqueeze(-1), [3, 5, 1], v);
    expectTensor(t.unsqueeze(-2), [3, 1, 5], v);
    expectTensor(t.unsqueeze(-3), [1, 3, 5], v);
    expectTensor(tg.tensor(2, { dtype: 'float64' }).unsqueeze(-1), [1], [2]);
    expect(() => t.unsqueeze(3)).toThrow(RangeError);
    expect(() => t.unsqueeze(-4)).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------- strided copies

function permuteRef(v: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): { shape: number[]; values: Float64Array } {
  const out = perm.map((p) => shape[p]);
  return {
    shape: out,
    values: build(out, (idx) => {
      const src = new Array<number>(shape.length);
      perm.forEach((p, i) => (src[p] = idx[i]));
      return v[ravel(src, shape)];
    }),
  };
}

describe('transpose / permute', () => {
  it('transpose swaps two dims (negative dims too) into new contiguous data', () => {
    const { t, v } = randomTensor([3, 5, 7], { seed: 6 });
    let r = permuteRef(v, [3, 5, 7], [2, 1, 0]);
    expectTensor(tg.transpose(t, 0, 2), r.shape, r.values);
    r = permuteRef(v, [3, 5, 7], [0, 2, 1]);
    expectTensor(t.transpose(-1, -2), r.shape, r.values);
    expectTensor(t.transpose(1, 1), [3, 5, 7], v);
    const m = randomTensor([4, 9], { seed: 7 });
    r = permuteRef(m.v, [4, 9], [1, 0]);
    expectTensor(m.t.T, [9, 4], r.values);
    const one = randomTensor([6], { seed: 8 });
    expectTensor(one.t.transpose(0, 0), [6], one.v);
    expectTensor(one.t.transpose(-1, 0), [6], one.v);
    expect(() => t.transpose(0, 3)).toThrow(RangeError);
    // dims are checked even where there is nothing to swap
    expect(() => one.t.transpose(0, 5)).toThrow(/transpose: dim1 5 is out of range for a tensor with 1 dimensions/);
    expect(() => tg.tensor(1).transpose(2, 0)).toThrow(RangeError);
  });

  it('permute reorders every dim', () => {
    const shape = [2, 3, 1, 5];
    const { t, v } = randomTensor(shape, { seed: 9 });
    for (const perm of [[3, 1, 0, 2], [0, 1, 2, 3], [1, 3, 2, 0], [2, 0, 3, 1]]) {
      const r = permuteRef(v, shape, perm);
      expectTensor(tg.permute(t, perm), r.shape, r.values);
    }
    const r = permuteRef(v, shape, [3, 2, 1, 0]);
    expectTensor(t.permute(-1, -2, 1, 0), r.shape, r.values);
    expect(() => t.permute(0, 1, 2)).toThrow(/permute: dims \[0,1,2\] must list each of the 4 dimensions once/);
    expect(() => t.permute(0, 1, 1, 3)).toThrow(RangeError);
  });

  it('moves 1, 2, 4 and 8-byte elements', () => {
    const shape = [3, 5, 7];
    for (const dtype of BYTE_DTYPES) {
      const { t, v } = sample(shape, dtype, 10);
      const r = permuteRef(v, shape, [2, 0, 1]);
      expectTensor(t.permute(2, 0, 1), r.shape, r.values, dtype);
      const r2 = permuteRef(v, shape, [1, 0, 2]);
      expectTensor(t.transpose(0, 1), r2.shape, r2.values, dtype);
    }
  });

  it('large permute (multithreaded copy)', () => {
    const shape = [61, 47, 37];
    for (const dtype of ['float32', 'uint8'] as tg.DType[]) {
      const { t, v } = sample(shape, dtype, 11);
      const r = permuteRef(v, shape, [2, 0, 1]);
      expectTensor(t.permute(2, 0, 1), r.shape, r.values, dtype);
      const r2 = permuteRef(v, shape, [0, 2, 1]);
      expectTensor(t.transpose(1, 2), r2.shape, r2.values, dtype);
    }
  });
});

function expandRef(v: ArrayLike<number>, shape: readonly number[], target: readonly number[]): Float64Array {
  const off = target.length - shape.length;
  return build(target, (idx) => v[ravel(shape.map((d, i) => (d === 1 ? 0 : idx[i + off])), shape)]);
}

describe('expand / broadcastTo', () => {
  it('repeats size-1 dims, keeps -1 dims and adds leading dims', () => {
    const { t, v } = randomTensor([3, 1, 7], { seed: 12 });
    expectTensor(tg.expand(t, [3, 4, 7]), [3, 4, 7], expandRef(v, [3, 1, 7], [3, 4, 7]));
    expectTensor(t.expand(2, -1, 5, -1), [2, 3, 5, 7], expandRef(v, [3, 1, 7], [2, 3, 5, 7]));
    expectTensor(t.expand([-1, -1, -1]), [3, 1, 7], v);
    expectTensor(tg.broadcastTo(t, [1, 3, 6, 7]), [1, 3, 6, 7], expandRef(v, [3, 1, 7], [1, 3, 6, 7]));
    expectTensor(t.broadcastTo([2, 3, 2, 7]), [2, 3, 2, 7], expandRef(v, [3, 1, 7], [2, 3, 2, 7]));
    expectTensor(t.expand(3, 0, 7), [3, 0, 7], []);
    const s = tg.tensor(1.25, { dtype: 'float64' });
    expectTensor(s.expand(2, 3), [2, 3], new Array(6).fill(1.25));
    const row = randomTensor([1, 9], { seed: 13 });
    expectTensor(row.t.expand(4, 9), [4, 9], expandRef(row.v, [1, 9], [4, 9]));
  });

  it('rejects incompatible shapes', () => {
    const { t } = randomTensor([3, 1, 7], { seed: 12 });
    expect(() => t.expand(3, 4, 6)).toThrow(/expand: the input shape \[3,1,7\] cannot expand to \[3,4,6\] \(dim 2: 7 vs 6\)/);
    expect(() => t.expand(4, 7)).toThrow(/expand: the target shape \[4,7\] has fewer dims/);
    expect(() => t.expand(-1, 3, 4, 7)).toThrow(RangeError); // -1 is not allowed for a new dim
  });

  it('moves every element size, and large outputs', () => {
    for (const dtype of BYTE_DTYPES) {
      const { t, v } = sample([2, 1, 9], dtype, 14);
      expectTensor(t.expand(3, 2, 5, 9), [3, 2, 5, 9], expandRef(v, [2, 1, 9], [3, 2, 5, 9]), dtype);
    }
    const { t, v } = sample([1, 47, 1], 'float16', 15);
    expectTensor(t.expand(61, 47, 37), [61, 47, 37], expandRef(v, [1, 47, 1], [61, 47, 37]), 'float16');
  });
});

function sliceRef(v: ArrayLike<number>, shape: readonly number[], dim: number, picks: number[]): { shape: number[]; values: Float64Array } {
  const out = shape.map((d, i) => (i === dim ? picks.length : d));
  return { shape: out, values: build(out, (idx) => v[ravel(idx.map((x, i) => (i === dim ? picks[x] : x)), shape)]) };
}

describe('slice / narrow', () => {
  const shape = [3, 5, 7];
  const cases: Array<[number, number | null | undefined, number | null | undefined, number]> = [
    [0, 1, undefined, 1],
    [1, 1, null, 2],
    [2, -3, undefined, 1],
    [2, 0, -1, 3],
    [-1, -100, 100, 2],
    [1, 5, 2, 1], // empty: end before start
    [2, 10, 20, 1], // empty: start past the end
    [1, -2, -1, 1],
    [2, undefined, undefined, 7],
    [2, 1, 6, 4],
    [0, null, null, 1], // whole dim: may return the input itself
    [-2, -7, 3, 1],
  ];

  it('matches Python slicing, with out-of-range bounds clamped', () => {
    const { t, v } = randomTensor(shape, { seed: 16 });
    for (const [dim, start, end, step] of cases) {
      const d = dim < 0 ? dim + 3 : dim;
      const r = sliceRef(v, shape, d, pySlice(shape[d], start, end, step));
      expectTensor(tg.slice(t, dim, start, end, step), r.shape, r.values);
    }
    expectTensor(t.slice(2, 2), [3, 5, 5], sliceRef(v, shape, 2, [2, 3, 4, 5, 6]).values);
    expect(() => t.slice(1, 0, 3, 0)).toThrow(RangeError);
    expect(() => t.slice(3)).toThrow(RangeError);
    expect(() => tg.tensor(1).slice(0)).toThrow(/slice: cannot slice a 0-d tensor/);
  });

  it('narrow takes length elements from start (negative start counts from the end)', () => {
    const { t, v } = randomTensor(shape, { seed: 17 });
    expectTensor(tg.narrow(t, 1, 1, 3), [3, 3, 7], sliceRef(v, shape, 1, [1, 2, 3]).values);
    expectTensor(t.narrow(-1, -3, 2), [3, 5, 2], sliceRef(v, shape, 2, [4, 5]).values);
    expectTensor(t.narrow(0, 2, 0), [0, 5, 7], []);
    expectTensor(t.narrow(0, 0, 3), shape, v);
    expect(() => t.narrow(1, 3, 3)).toThrow(/narrow: start 3 and length 3 exceed dimension 1 of size 5/);
    expect(() => t.narrow(1, -6, 1)).toThrow(RangeError);
    expect(() => tg.tensor(1).narrow(0, 0, 1)).toThrow(/narrow: cannot narrow a 0-d tensor/);
  });

  it('moves every element size, and large inputs', () => {
    for (const dtype of BYTE_DTYPES) {
      const { t, v } = sample(shape, dtype, 18);
      const r = sliceRef(v, shape, 2, pySlice(7, 1, null, 3));
      expectTensor(t.slice(2, 1, null, 3), r.shape, r.values, dtype);
      const r2 = sliceRef(v, shape, 1, [2, 3]);
      expectTensor(t.narrow(1, 2, 2), r2.shape, r2.values, dtype);
    }
    const big = [61, 47, 37];
    const { t, v } = sample(big, 'float64', 19);
    let r = sliceRef(v, big, 1, pySlice(47, 3, -2, 2));
    expectTensor(t.slice(1, 3, -2, 2), r.shape, r.values);
    r = sliceRef(v, big, 0, pySlice(61, 1, 60, 1));
    expectTensor(t.slice(0, 1, 60), r.shape, r.values);
  });
});

describe('pad', () => {
  /** Reference: pairs from the last dim; negative amounts crop. */
  function padRef(v: ArrayLike<number>, shape: readonly number[], pads: number[], value: number): { shape: number[]; values: Float64Array } {
    const before = shape.map(() => 0);
    const after = shape.map(() => 0);
    for (let i = 0; i < pads.length / 2; i++) {
      before[shape.length - 1 - i] = pads[2 * i];
      after[shape.length - 1 - i] = pads[2 * i + 1];
    }
    const out = shape.map((d, i) => d + before[i] + after[i]);
    return {
      shape: out,
      values: build(out, (idx) => {
        const src = idx.map((x, i) => x - before[i]);
        return src.every((s, i) => s >= 0 && s < shape[i]) ? v[ravel(src, shape)] : value;
      }),
    };
  }

  it('pads and crops in PyTorch order (pairs from the last dim)', () => {
    const shape = [3, 5, 7];
    const { t, v } = randomTensor(shape, { seed: 20 });
    const cases: Array<[number[], number]> = [
      [[1, 2], 0],
      [[0, 0, 2, 1], -1.5],
      [[1, 1, 1, 1, 1, 1], 3],
      [[-1, 2], 0],
      [[2, -3, -1, 0, 0, 1], 7],
      [[-3, -4], 0], // crops the last dim to 0
      [[0, 0, 0, 0, -1, -2], 0],
      [[], 5],
      [[-2, 3], 0.5], // crop before, pad after
    ];
    for (const [pads, value] of cases) {
      const r = padRef(v, shape, pads, value);
      expectTensor(tg.pad(t, pads, value), r.shape, r.values);
    }
    const r = padRef(v, shape, [1, 0], 0);
    expectTensor(t.pad([1, 0]), r.shape, r.values);
    expect(() => t.pad([1])).toThrow(RangeError);
    expect(() => t.pad([1, 1, 1, 1, 1, 1, 1, 1])).toThrow(RangeError);
    expect(() => t.pad([-4, -4])).toThrow(/pad: padding \[-4,-4\] makes dimension 2 of \[3,5,7\] negative/);
  });

  it('moves every element size, and large outputs', () => {
    const shape = [2, 1, 9];
    for (const dtype of BYTE_DTYPES) {
      const { t, v } = sample(shape, dtype, 21);
      const value = dtype === 'bool' ? 1 : 3;
      const r = padRef(v, shape, [2, -1, 1, 1, 0, 1], value);
      expectTensor(t.pad([2, -1, 1, 1, 0, 1], value), r.shape, r.values, dtype);
    }
    const big = [61, 47, 37];
    const { t, v } = sample(big, 'int32', 22);
    const r = padRef(v, big, [1, 2, -3, 4], -9);
    expectTensor(t.pad([1, 2, -3, 4], -9), r.shape, r.values, 'int32');
  });
});

describe('repeat', () => {
  function repeatRef(v: ArrayLike<number>, shape: readonly number[], reps: number[]): { shape: number[]; values: Float64Array } {
    const off = reps.length - shape.length;
    const full = [...reps.slice(0, off).map(() => 1), ...shape];
    const out = full.map((d, i) => d * reps[i]);
    return { shape: out, values: build(out, (idx) => v[ravel(shape.map((d, i) => idx[i + off] % d), shape)]) };
  }

  it('tiles along each dim, extra leading repeats add dims', () => {
    const shape = [2, 1, 3];
    const { t, v } = randomTensor(shape, { seed: 23 });
    for (const reps of [[2, 3, 1], [1, 1, 1], [3, 2, 2, 1], [2, 1, 1, 3, 2], [1, 0, 2]]) {
      const r = repeatRef(v, shape, reps);
      expectTensor(tg.repeat(t, reps), r.shape, r.values);
    }
    const r = repeatRef(v, shape, [2, 1, 2, 2]);
    expectTensor(t.repeat(2, 1, 2, 2), r.shape, r.values);
    const s = tg.tensor(2, { dtype: 'float64' });
    expectTensor(s.repeat(3), [3], [2, 2, 2]);
    expect(() => t.repeat(2, 2)).toThrow(/repeat: 2 repeats given for a tensor with 3 dimensions/);
  });

  it('moves every element size, and large outputs', () => {
    for (const dtype of BYTE_DTYPES) {
      const { t, v } = sample([3, 5], dtype, 24);
      const r = repeatRef(v, [3, 5], [2, 2, 3]);
      expectTensor(t.repeat(2, 2, 3), r.shape, r.values, dtype);
    }
    const { t, v } = sample([7, 9, 11], 'float32', 25);
    const r = repeatRef(v, [7, 9, 11], [4, 3, 3, 3]);
    expect(numelOf(r.shape)).toBeGreaterThan(40000);
    expectTensor(t.repeat(4, 3, 3, 3), r.shape, r.values);
  });
});

describe('tril / triu', () => {
  function triRef(v: ArrayLike<number>, shape: readonly number[], k: number, upper: boolean): Float64Array {
    return build(shape, (idx) => {
      const i = idx[idx.length - 2];
      const j = idx[idx.length - 1];
      const keep = upper ? j >= i + k : j <= i + k;
      return keep ? v[ravel(idx, shape)] : 0;
    });
  }

  it('keeps the triangle from diagonal k (positive, negative, batched, non-square)', () => {
    for (const shape of [[5, 5], [4, 7], [7, 3], [3, 5, 4], [2, 1, 3, 6], [1, 1], [0, 4]]) {
      const { t, v } = randomTensor(shape, { seed: 26 });
      for (const k of [-8, -2, -1, 0, 1, 3, 9]) {
        expectTensor(tg.tril(t, k), shape, triRef(v, shape, k, false));
        expectTensor(tg.triu(t, k), shape, triRef(v, shape, k, true));
      }
      expectTensor(t.tril(), shape, triRef(v, shape, 0, false));
      expectTensor(t.triu(), shape, triRef(v, shape, 0, true));
    }
    expect(() => tg.tril(tg.ones([4]))).toThrow(/tril: input must have at least 2 dims, got shape \[4\]/);
    expect(() => tg.triu(tg.ones([4, 4]), 0.5)).toThrow(RangeError);
  });

  it('moves every element size, and large batches', () => {
    for (const dtype of BYTE_DTYPES) {
      const { t, v } = sample([2, 4, 5], dtype, 27);
      expectTensor(t.tril(1), [2, 4, 5], triRef(v, [2, 4, 5], 1, false), dtype);
      expectTensor(t.triu(-1), [2, 4, 5], triRef(v, [2, 4, 5], -1, true), dtype);
    }
    const big = [61, 47, 37];
    const { t, v } = sample(big, 'float32', 28);
    expectTensor(t.triu(2), big, triRef(v, big, 2, true));
    expectTensor(t.tril(-5), big, triRef(v, big, -5, false));
  });
});

// ---------------------------------------------------------------- joining and splitting

describe('cat / stack', () => {
  function catRef(parts: Array<{ v: ArrayLike<number>; shape: number[] }>, dim: number): { shape: number[]; values: Float64Array } {
    const shape = [...parts[0].shape];
    shape[dim] = parts.reduce((a, p) => a + p.shape[dim], 0);
    return {
      shape,
      values: build(shape, (idx) => {
        let at = idx[dim];
        for (const p of parts) {
          if (at < p.shape[dim]) return p.v[ravel(idx.map((x, i) => (i === dim ? at : x)), p.shape)];
          at -= p.shape[dim];
        }
        throw new Error('unreachable');
      }),
    };
  }

  it('concatenates along any dim, size-0 pieces included', () => {
    const a = randomTensor([3, 2, 7], { seed: 29 });
    const b = randomTensor([3, 5, 7], { seed: 30 });
    const e = randomTensor([3, 0, 7], { seed: 31 });
    const c = randomTensor([3, 1, 7], { seed: 32 });
    const parts = [a, e, b, c, e];
    const r = catRef(parts.map((p) => ({ v: p.v, shape: [...p.t.shape] })), 1);
    expectTensor(tg.cat(parts.map((p) => p.t), 1), [3, 8, 7], r.values);
    expectTensor(tg.cat([a.t, b.t, c.t], -2), [3, 8, 7], catRef([a, b, c].map((p) => ({ v: p.v, shape: [...p.t.shape] })), 1).values);
    const x = randomTensor([2, 5], { seed: 33 });
    const y = randomTensor([4, 5], { seed: 34 });
    expectTensor(tg.cat([x.t, y.t]), [6, 5], [...x.v, ...y.v]);
    const z = randomTensor([2, 3], { seed: 35 });
    expectTensor(tg.cat([x.t, z.t], 1), [2, 8], catRef([{ v: x.v, shape: [2, 5] }, { v: z.v, shape: [2, 3] }], 1).values);
    expectTensor(tg.cat([x.t]), [2, 5], x.v);
    expectTensor(tg.cat([tg.zeros([0, 5]), tg.zeros([0, 5])]), [0, 5], []);
    expect(() => tg.cat([x.t, z.t])).toThrow(/cat: tensors\[1\] has shape \[2,3\] but tensors\[0\] has \[2,5\]; sizes must match except in dim 0/);
    expect(() => tg.cat([])).toThrow(TypeError);
    expect(() => tg.cat([tg.tensor(1), tg.tensor(2)])).toThrow(RangeError);
  });

  it('promotes mixed dtypes', () => {
    const f = sample([2, 3], 'float32', 36);
    const i = sample([1, 3], 'int32', 37);
    const u = sample([2, 3], 'uint8', 38);
    const b = sample([3, 3], 'bool', 39);
    const h = sample([1, 3], 'float16', 40);
    const d = sample([1, 3], 'float64', 41);
    const out = tg.cat([f.t, i.t, u.t]);
    expect(out.dtype).toBe('float32');
    expectTensor(out, [5, 3], Float64Array.from(new Float32Array([...f.v, ...i.v, ...u.v])));
    expectTensor(tg.cat([u.t, b.t]), [5, 3], [...u.v, ...b.v], 'uint8');
    expectTensor(tg.cat([b.t, i.t]), [4, 3], [...b.v, ...i.v], 'int32');
    expectTensor(tg.cat([b.t, b.t]), [6, 3], [...b.v, ...b.v], 'bool');
    expectTensor(tg.cat([h.t, d.t, u.t]), [4, 3], [...h.v, ...d.v, ...u.v], 'float64');
    expectTensor(tg.cat([u.t, h.t]), [3, 3], [...u.v, ...h.v], 'float16');
  });

  it('moves every element size, and large outputs', () => {
    for (const dtype of BYTE_DTYPES) {
      const a = sample([2, 3, 5], dtype, 42);
      const b = sample([2, 4, 5], dtype, 43);
      const r = catRef([{ v: a.v, shape: [2, 3, 5] }, { v: b.v, shape: [2, 4, 5] }], 1);
      expectTensor(tg.cat([a.t, b.t], 1), r.shape, r.values, dtype);
    }
    const a = sample([61, 47, 20], 'float64', 44);
    const b = sample([61, 47, 17], 'float64', 45);
    const r = catRef([{ v: a.v, shape: [61, 47, 20] }, { v: b.v, shape: [61, 47, 17] }], 2);
    expectTensor(tg.cat([a.t, b.t], -1), r.shape, r.values);
  });

  it('stack inserts a new dim', () => {
    const shape = [3, 5];
    const ps = [41, 42, 43].map((s) => randomTensor(shape, { seed: s }));
    for (const dim of [0, 1, 2, -1, -3]) {
      const d = dim < 0 ? dim + 3 : dim;
      const out = [...shape];
      out.splice(d, 0, 3);
      const ref = build(out, (idx) => {
        const k = idx[d];
        const rest = idx.filter((_, i) => i !== d);
        return ps[k].v[ravel(rest, shape)];
      });
      expectTensor(tg.stack(ps.map((p) => p.t), dim), out, ref);
    }
    const i = sample([2, 2], 'int32', 46);
    const b = sample([2, 2], 'bool', 47);
    expectTensor(tg.stack([b.t, i.t], 1), [2, 2, 2], build([2, 2, 2], ([r, k, c]) => (k === 0 ? b.v : i.v)[r * 2 + c]), 'int32');
    expectTensor(tg.stack([tg.tensor(1, { dtype: 'float64' }), tg.tensor(2, { dtype: 'float64' })]), [2], [1, 2]);
    expect(() => tg.stack([ps[0].t, tg.zeros([5, 3])])).toThrow(/stack: tensors\[1\] has shape \[5,3\] but tensors\[0\] has \[3,5\]/);
    expect(() => tg.stack(ps.map((p) => p.t), 3)).toThrow(RangeError);
  });
});

describe('split / chunk', () => {
  function pieces(v: ArrayLike<number>, shape: number[], dim: number, sizes: number[]) {
    let at = 0;
    return sizes.map((s) => {
      const picks = Array.from({ length: s }, (_, k) => at + k);
      at += s;
      return sliceRef(v, shape, dim, picks);
    });
  }

  it('split by size (smaller last piece) and by a list of sizes', () => {
    const shape = [3, 11, 2];
    const { t, v } = randomTensor(shape, { seed: 48 });
    const check = (got: tg.Tensor[], want: ReturnType<typeof pieces>) => {
      expect(got.length).toBe(want.length);
      got.forEach((g, i) => expectTensor(g, want[i].shape, want[i].values));
    };
    check(tg.split(t, 4, 1), pieces(v, shape, 1, [4, 4, 3]));
    check(t.split(11, 1), pieces(v, shape, 1, [11]));
    check(t.split(20, 1), pieces(v, shape, 1, [11]));
    check(t.split(1, -1), pieces(v, shape, 2, [1, 1]));
    check(t.split(2), pieces(v, shape, 0, [2, 1]));
    check(t.split([2, 0, 5, 4], 1), pieces(v, shape, 1, [2, 0, 5, 4]));
    check(tg.split(t, [3], 0), pieces(v, shape, 0, [3]));
    expect(() => t.split([2, 5], 1)).toThrow(/split: sizes \[2,5\] add up to 7 but dimension 1 has size 11/);
    expect(() => t.split(0, 1)).toThrow(RangeError);
    expect(() => tg.tensor(1).split(1)).toThrow(/split: cannot split a 0-d tensor/);
    expect(() => tg.tensor(1).split([1])).toThrow(/split: cannot split a 0-d tensor/);
    expect(tg.split(tg.zeros([0, 2]), 2).map((p) => p.shape)).toEqual([[0, 2]]);
  });

  it('chunk into at most n pieces of ceil(size / n)', () => {
    const shape = [10, 3];
    const { t, v } = randomTensor(shape, { seed: 49 });
    const sizes = (ts: tg.Tensor[]) => ts.map((x) => x.shape[0]);
    expect(sizes(tg.chunk(t, 3))).toEqual([4, 4, 2]);
    expect(sizes(t.chunk(4))).toEqual([3, 3, 3, 1]);
    expect(sizes(t.chunk(6))).toEqual([2, 2, 2, 2, 2]); // like torch.chunk: fewer pieces than asked
    expect(sizes(t.chunk(1))).toEqual([10]);
    expect(sizes(t.chunk(20))).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const got = t.chunk(2, 1);
    const want = pieces(v, shape, 1, [2, 1]);
    got.forEach((g, i) => expectTensor(g, want[i].shape, want[i].values));
    t.chunk(3).forEach((g, i) => expectTensor(g, pieces(v, shape, 0, [4, 4, 2])[i].shape, pieces(v, shape, 0, [4, 4, 2])[i].values));
    expect(() => t.chunk(0)).toThrow(RangeError);
    expect(() => tg.tensor(1).chunk(2)).toThrow(/chunk: cannot chunk a 0-d tensor/);
  });

  it('moves every element size', () => {
    for (const dtype of BYTE_DTYPES) {
      const { t, v } = sample([3, 7], dtype, 50);
      const want = pieces(v, [3, 7], 1, [3, 3, 1]);
      t.split(3, 1).forEach((g, i) => expectTensor(g, want[i].shape, want[i].values, dtype));
    }
  });
});

// ---------------------------------------------------------------- indexing

function indexSelectRef(v: ArrayLike<number>, shape: number[], dim: number, index: ArrayLike<number>): { shape: number[]; values: Float64Array } {
  return sliceRef(v, shape, dim, Array.from(index));
}

function gatherRef(v: ArrayLike<number>, shape: readonly number[], dim: number, index: ArrayLike<number>, ishape: readonly number[]): Float64Array {
  return build(ishape, (idx) => v[ravel(idx.map((x, i) => (i === dim ? index[ravel(idx, ishape)] : x)), shape)]);
}

function scatterAddRef(
  x: ArrayLike<number>, shape: readonly number[], dim: number,
  index: ArrayLike<number>, ishape: readonly number[], src: ArrayLike<number>, sshape: readonly number[],
): Float64Array {
  const out = Float64Array.from(x);
  for (let p = 0; p < numelOf(ishape); p++) {
    const idx = unravel(p, ishape);
    const dst = idx.map((c, i) => (i === dim ? index[p] : c));
    out[ravel(dst, shape)] += src[ravel(idx, sshape)];
  }
  return out;
}

describe('indexSelect', () => {
  it('picks slices along dim, with repeated indices', () => {
    const shape = [3, 5, 7];
    const { t, v } = randomTensor(shape, { seed: 51 });
    const cases: Array<[number, number[]]> = [
      [0, [2, 0, 2, 1]],
      [1, [4, 0, 4, 2, 2]],
      [2, [6]],
      [-1, [0, 6, 3, 3, 3, 1, 5, 2]],
      [1, []],
    ];
    for (const [dim, idx] of cases) {
      const d = dim < 0 ? dim + 3 : dim;
      const r = indexSelectRef(v, shape, d, idx);
      expectTensor(tg.indexSelect(t, dim, int32(idx, [idx.length])), r.shape, r.values);
    }
    const r = indexSelectRef(v, shape, 1, [3]);
    expectTensor(t.indexSelect(1, tg.tensor(3, { dtype: 'int32' })), r.shape, r.values); // 0-d index
    const s = tg.tensor(1.5, { dtype: 'float64' });
    expectTensor(s.indexSelect(0, int32([0], [1])), [], [1.5]);
    expectTensor(s.indexSelect(-1, tg.tensor(0, { dtype: 'int32' })), [], [1.5]);
    expect(() => s.indexSelect(0, int32([0, 0], [2]))).toThrow(/indexSelect: a 0-d input takes exactly one index, got 2/);
    expect(() => t.indexSelect(1, int32([[1, 2]]))).toThrow(/indexSelect: index must be 0-d or 1-d, got shape \[1,2\]/);
    expect(() => t.indexSelect(1, tg.tensor([1, 2]))).toThrow(TypeError);
  });

  it('moves every element size, and large outputs', () => {
    for (const dtype of BYTE_DTYPES) {
      const { t, v } = sample([3, 5, 7], dtype, 52);
      const r = indexSelectRef(v, [3, 5, 7], 1, [1, 4, 1, 0]);
      expectTensor(t.indexSelect(1, int32([1, 4, 1, 0], [4])), r.shape, r.values, dtype);
    }
    const big = [61, 47, 37];
    const { t, v } = sample(big, 'float32', 53);
    const idx = randomIndex([60], 47, 54);
    const r = indexSelectRef(v, big, 1, idx.v);
    expectTensor(t.indexSelect(1, idx.t), r.shape, r.values);
    const idx0 = randomIndex([70], 61, 55);
    const r0 = indexSelectRef(v, big, 0, idx0.v);
    expectTensor(t.indexSelect(0, idx0.t), r0.shape, r0.values);
  });
});

describe('gather', () => {
  it('reads x at index values along dim; index may be smaller in other dims', () => {
    const shape = [3, 5, 7];
    const { t, v } = randomTensor(shape, { seed: 56 });
    const cases: Array<[number, number[]]> = [
      [0, [3, 5, 7]],
      [1, [2, 8, 4]],
      [2, [3, 5, 2]],
      [-1, [1, 1, 12]],
      [1, [3, 0, 7]],
    ];
    cases.forEach(([dim, ishape], k) => {
      const d = dim < 0 ? dim + 3 : dim;
      const idx = randomIndex(ishape, shape[d], 57 + k);
      expectTensor(tg.gather(t, dim, idx.t), ishape, gatherRef(v, shape, d, idx.v, ishape));
    });
    const idx = int32([[0, 0, 1], [1, 0, 0]]);
    const m = randomTensor([2, 2], { seed: 58 });
    expectTensor(m.t.gather(1, idx), [2, 3], [m.v[0], m.v[0], m.v[1], m.v[3], m.v[2], m.v[2]]);
    expect(() => t.gather(1, int32([[0]]))).toThrow(/gather: index has 2 dims but input has 3/);
    expect(() => t.gather(1, randomIndex([4, 1, 1], 5, 1).t)).toThrow(/gather: index shape \[4,1,1\] exceeds input shape \[3,5,7\] in dim 0/);
  });

  it('moves every element size, and large outputs', () => {
    for (const dtype of BYTE_DTYPES) {
      const { t, v } = sample([3, 5, 7], dtype, 59);
      const idx = randomIndex([3, 6, 7], 5, 60);
      expectTensor(t.gather(1, idx.t), [3, 6, 7], gatherRef(v, [3, 5, 7], 1, idx.v, [3, 6, 7]), dtype);
    }
    const big = [61, 47, 37];
    const { t, v } = sample(big, 'float64', 61);
    const idx = randomIndex([61, 47, 20], 37, 62);
    expectTensor(t.gather(2, idx.t), [61, 47, 20], gatherRef(v, big, 2, idx.v, [61, 47, 20]));
  });
});

describe('scatterAdd', () => {
  it('adds src at index positions; repeated indices accumulate; src may be larger than index', () => {
    const shape = [3, 5, 7];
    const { t, v } = randomTensor(shape, { seed: 63 });
    const cases: Array<[number, number[], number[]]> = [
      [0, [3, 5, 7], [3, 5, 7]],
      [1, [3, 9, 7], [3, 9, 7]], // more index entries than dim size: must repeat
      [2, [2, 4, 5], [3, 5, 6]], // index smaller than src and than x
      [-2, [1, 2, 3], [2, 3, 4]],
      [0, [0, 5, 7], [1, 5, 7]],
    ];
    cases.forEach(([dim, ishape, sshape], k) => {
      const d = dim < 0 ? dim + 3 : dim;
      const idx = randomIndex(ishape, shape[d], 64 + k);
      const src = randomTensor(sshape, { seed: 70 + k });
      expectTensor(tg.scatterAdd(t, dim, idx.t, src.t), shape, scatterAddRef(v, shape, d, idx.v, ishape, src.v, sshape), 'float64', 1e-12);
    });
    // every entry to the same slot
    const x = tg.zeros([2, 3], { dtype: 'float64' });
    const out = x.scatterAdd(1, int32([[1, 1, 1, 1], [0, 0, 2, 0]]), tg.tensor([[1, 2, 3, 4], [5, 6, 7, 8]], { dtype: 'float64' }));
    expectTensor(out, [2, 3], [0, 10, 0, 19, 0, 7]);
    expectTensor(x, [2, 3], [0, 0, 0, 0, 0, 0]); // the input is not modified
    expect(() => t.scatterAdd(1, randomIndex([3, 2, 7], 5, 1).t, tg.zeros([3, 2, 7]))).toThrow(TypeError); // dtype of src
    expect(() => t.scatterAdd(1, randomIndex([3, 2, 7], 5, 1).t, tg.zeros([3, 1, 7], { dtype: 'float64' }))).toThrow(
      /scatterAdd: index shape \[3,2,7\] exceeds src shape \[3,1,7\] in dim 1/,
    );
  });

  it('adds in every dtype, and on large inputs', () => {
    for (const dtype of ['int32', 'uint8', 'float16', 'bfloat16', 'float32', 'float64'] as tg.DType[]) {
      const ranges: Partial<Record<tg.DType, [number, number]>> = { int32: [-1000, 1000], uint8: [0, 20] };
      const [lo, hi] = ranges[dtype] ?? [-2, 2];
      const mk = (shape: number[], seed: number) => {
        const vals = randomValues(numelOf(shape), seed, lo, hi);
        const t = tg.tensor(ranges[dtype] ? Float64Array.from(vals, Math.floor) : Float64Array.from(vals, (q) => Math.round(q * 8) / 8), { dtype, shape });
        return { t, v: Float64Array.from(t.data()) };
      };
      const x = mk([3, 4], 65);
      const src = mk([3, 6], 66);
      const idx = randomIndex([3, 6], 4, 67);
      const out = x.t.scatterAdd(1, idx.t, src.t);
      expect(out.dtype).toBe(dtype);
      // small multiples of 1/8 add exactly in every float type here
      expectTensor(out, [3, 4], scatterAddRef(x.v, [3, 4], 1, idx.v, [3, 6], src.v, [3, 6]), dtype);
    }
    const big = [61, 47, 37];
    const x = randomTensor(big, { seed: 68 });
    const src = randomTensor([61, 47, 40], { seed: 69 });
    const idx = randomIndex([61, 47, 40], 37, 70);
    expectTensor(x.t.scatterAdd(2, idx.t, src.t), big, scatterAddRef(x.v, big, 2, idx.v, [61, 47, 40], src.v, [61, 47, 40]), 'float64', 1e-12);
  });
});

describe('oneHot', () => {
  it('returns int32 rows, numClasses given or inferred', () => {
    const idx = int32([[0, 3, 1], [4, 4, 2]]);
    const ref = (n: number) => build([2, 3, n], ([i, j, c]) => (c === [[0, 3, 1], [4, 4, 2]][i][j] ? 1 : 0));
    expectTensor(tg.oneHot(idx, 6), [2, 3, 6], ref(6), 'int32');
    expectTensor(tg.oneHot(idx), [2, 3, 5], ref(5), 'int32');
    const r = randomIndex([37], 9, 71);
    expectTensor(tg.oneHot(r.t, 9), [37, 9], build([37, 9], ([i, c]) => (r.v[i] === c ? 1 : 0)), 'int32');
    expectTensor(tg.oneHot(tg.tensor(2, { dtype: 'int32' }), 3), [3], [0, 0, 1], 'int32');
    expectTensor(tg.oneHot(tg.zeros([0], { dtype: 'int32' }), 4), [0, 4], [], 'int32');
    expect(() => tg.oneHot(idx, 4)).toThrow(/oneHot: class index 4 is out of range for 4 classes/);
    expect(() => tg.oneHot(int32([1, -1]))).toThrow(/oneHot: class index -1 is negative/);
    expect(() => tg.oneHot(tg.zeros([0], { dtype: 'int32' }))).toThrow(/oneHot: numClasses is needed for an empty tensor/);
    expect(() => tg.oneHot(tg.tensor([1, 2]))).toThrow(TypeError);
  });
});

// ---------------------------------------------------------------- out-of-range indices

describe('out-of-range index values', () => {
  const x = randomTensor([3, 5, 7], { seed: 72 }).t;

  it('indexSelect throws a RangeError naming the index', () => {
    for (const [idx, re] of [
      [[0, 5], /indexSelect: index 5 is out of range for dimension 1 with size 5/],
      [[-1, 2], /indexSelect: index -1 is out of range for dimension 1 with size 5/],
      [[1, 2147483647], /indexSelect: index 2147483647 is out of range/],
    ] as Array<[number[], RegExp]>) {
      expect(() => x.indexSelect(1, int32(idx, [idx.length]))).toThrow(RangeError);
      expect(() => x.indexSelect(1, int32(idx, [idx.length]))).toThrow(re);
    }
    expect(() => x.indexSelect(0, int32([3], [1]))).toThrow(/indexSelect: index 3 is out of range for dimension 0 with size 3/);
    expect(() => tg.tensor(1.5).indexSelect(0, int32([1], [1]))).toThrow(/indexSelect: index 1 is out of range for dimension 0 with size 1/);
  });

  it('gather throws a RangeError naming the index', () => {
    const idx = randomIndex([3, 5, 4], 7, 73);
    const bad = Int32Array.from(idx.v);
    bad[17] = 7;
    expect(() => x.gather(2, tg.tensor(bad, { dtype: 'int32', shape: [3, 5, 4] }))).toThrow(RangeError);
    expect(() => x.gather(2, tg.tensor(bad, { dtype: 'int32', shape: [3, 5, 4] }))).toThrow(
      /gather: index 7 is out of range for dimension 2 with size 7/,
    );
    bad[17] = -3;
    expect(() => x.gather(-1, tg.tensor(bad, { dtype: 'int32', shape: [3, 5, 4] }))).toThrow(/gather: index -3 is out of range/);
    expect(() => x.gather(0, int32([[[3]]]))).toThrow(/gather: index 3 is out of range for dimension 0 with size 3/);
    // a 0-d input has one valid index, 0
    const s = tg.tensor(1.5, { dtype: 'float64' });
    expectTensor(s.gather(0, tg.tensor(0, { dtype: 'int32' })), [], [1.5]);
    expect(() => s.gather(0, tg.tensor(5, { dtype: 'int32' }))).toThrow(RangeError);
    expect(() => s.gather(-1, tg.tensor(5, { dtype: 'int32' }))).toThrow(/gather: index 5 is out of range for dimension 0 with size 1/);
  });

  it('scatterAdd throws a RangeError naming the index and leaves its input alone', () => {
    const before = Float64Array.from(x.data());
    const src = randomTensor([3, 2, 7], { seed: 74 }).t;
    const idx = randomIndex([3, 2, 7], 5, 75);
    const bad = Int32Array.from(idx.v);
    bad[bad.length - 1] = 5;
    expect(() => x.scatterAdd(1, tg.tensor(bad, { dtype: 'int32', shape: [3, 2, 7] }), src)).toThrow(RangeError);
    expect(() => x.scatterAdd(1, tg.tensor(bad, { dtype: 'int32', shape: [3, 2, 7] }), src)).toThrow(
      /scatterAdd: index 5 is out of range for dimension 1 with size 5/,
    );
    bad[0] = -2147483648;
    expect(() => x.scatterAdd(1, tg.tensor(bad, { dtype: 'int32', shape: [3, 2, 7] }), src)).toThrow(
      /scatterAdd: index -2147483648 is out of range/,
    );
    expectTensor(x, [3, 5, 7], before);
    const s = tg.tensor(1.5, { dtype: 'float64' });
    const one = tg.tensor(2, { dtype: 'float64' });
    expectTensor(s.scatterAdd(0, tg.tensor(0, { dtype: 'int32' }), one), [], [3.5]);
    expect(() => s.scatterAdd(0, tg.tensor(1, { dtype: 'int32' }), one)).toThrow(/scatterAdd: index 1 is out of range for dimension 0 with size 1/);
    // the library keeps working afterwards
    expectTensor(x.scatterAdd(1, idx.t, src), [3, 5, 7], scatterAddRef(before, [3, 5, 7], 1, idx.v, [3, 2, 7], Float64Array.from(src.data()), [3, 2, 7]));
  });

  it('valid repeated indices still accumulate in backward after the errors', () => {
    const w = randomTensor([4, 3], { seed: 76, requiresGrad: true }).t;
    const y = w.indexSelect(0, int32([3, 3, 0], [3])).sum();
    y.backward();
    expectTensor(w.grad!, [4, 3], [1, 1, 1, 0, 0, 0, 0, 0, 0, 2, 2, 2]);
  });
});

// ---------------------------------------------------------------- gradients

describe('gradcheck (float64)', () => {
  it('reshape, view, flatten, squeeze, unsqueeze', () => {
    gradcheckShapes((x) => tg.reshape(x, [5, -1]), [[3, 5, 1]]);
    gradcheckShapes((x) => tg.view(x, [-1]), [[2, 1, 3]]);
    gradcheckShapes((x) => x.flatten(1, 2), [[2, 3, 1, 2]]);
    gradcheckShapes((x) => x.squeeze(), [[1, 3, 1, 2]]);
    gradcheckShapes((x) => x.squeeze([0, 2]), [[1, 3, 1, 2]]);
    gradcheckShapes((x) => x.unsqueeze(-2), [[3, 5]]);
  });

  it('transpose, permute', () => {
    gradcheckShapes((x) => tg.transpose(x, 0, 2), [[3, 1, 5]]);
    gradcheckShapes((x) => x.transpose(-1, -2), [[2, 3, 5]]);
    gradcheckShapes((x) => tg.permute(x, [2, 0, 3, 1]), [[2, 3, 1, 5]]);
  });

  it('expand, broadcastTo', () => {
    gradcheckShapes((x) => tg.expand(x, [2, 3, 4, 5]), [[3, 1, 5]]);
    gradcheckShapes((x) => x.expand(3, -1, 4), [[1, 1]]);
    gradcheckShapes((x) => tg.broadcastTo(x, [4, 2, 3]), [[2, 1]]);
  });

  it('slice, narrow', () => {
    gradcheckShapes((x) => tg.slice(x, 1, 1, null, 2), [[3, 7, 2]]);
    gradcheckShapes((x) => x.slice(-1, -4, 100, 3), [[2, 9]]);
    gradcheckShapes((x) => x.slice(0, 5, 2), [[3, 4]]); // empty
    gradcheckShapes((x) => tg.narrow(x, 2, 1, 3), [[2, 1, 5]]);
  });

  it('pad (positive and negative amounts), repeat', () => {
    gradcheckShapes((x) => tg.pad(x, [1, 2, 0, 1], 0.5), [[3, 1, 4]]);
    gradcheckShapes((x) => x.pad([-1, 2, 1, -2]), [[5, 3]]);
    gradcheckShapes((x) => tg.repeat(x, [2, 1, 3]), [[1, 2]]);
    gradcheckShapes((x) => x.repeat(2, 3, 1), [[3, 1, 2]]);
  });

  it('tril, triu', () => {
    gradcheckShapes((x) => tg.tril(x, -1), [[2, 3, 5]]);
    gradcheckShapes((x) => tg.triu(x, 2), [[5, 3]]);
    gradcheckShapes((x) => x.triu(), [[1, 4, 4]]);
  });

  it('cat (mixed sizes, size 0), stack', () => {
    gradcheckShapes((a, b, c) => tg.cat([a, b, c], 1), [[2, 3, 1], [2, 0, 1], [2, 1, 1]]);
    gradcheckShapes((a, b) => tg.cat([a, b], -1), [[3, 2], [3, 5]]);
    gradcheckShapes((a, b, c) => tg.stack([a, b, c], 1), [[2, 3], [2, 3], [2, 3]]);
    gradcheckShapes((a, b) => tg.stack([a, b], -1), [[1, 3], [1, 3]]);
  });

  it('split, chunk', () => {
    const weighted = (ps: tg.Tensor[], d: number) => tg.cat(ps.map((p, i) => tg.mul(p, i + 1)), d);
    gradcheckShapes((x) => weighted(tg.split(x, 3, 1), 1), [[2, 7]]);
    gradcheckShapes((x) => weighted(x.split([1, 0, 2], 0), 0), [[3, 1, 2]]);
    gradcheckShapes((x) => weighted(tg.chunk(x, 3, -1), -1), [[2, 5]]);
  });

  it('indexSelect with repeated indices', () => {
    gradcheckShapes((x) => tg.indexSelect(x, 1, int32([2, 0, 2, 2, 3], [5])), [[3, 4, 2]]);
    gradcheckShapes((x) => x.indexSelect(0, int32([0, 0, 0], [3])), [[1, 5]]);
    gradcheckShapes((x) => x.indexSelect(-1, int32([4, 1, 4], [3])), [[2, 5]]);
  });

  it('gather with repeated indices', () => {
    const idx = int32([[[1, 1], [0, 1], [1, 1]], [[0, 0], [0, 0], [1, 0]]]); // [2,3,2] into dim 2 of [2,3,3]
    gradcheckShapes((x) => tg.gather(x, 2, idx), [[2, 3, 3]]);
    const idx2 = randomIndex([4, 2], 3, 77).t; // repeats: 8 entries into 3 rows
    gradcheckShapes((x) => x.gather(0, idx2), [[3, 5]]);
  });

  it('scatterAdd with repeated indices, index smaller than src', () => {
    const idx = int32([[2, 2, 0], [1, 1, 1]]); // [2,3] into dim 1 of [3,4]
    gradcheckShapes((x, src) => tg.scatterAdd(x, 1, idx, src), [[3, 4], [2, 5]]);
    const idx2 = randomIndex([4, 2, 1], 2, 78).t;
    gradcheckShapes((x, src) => x.scatterAdd(0, idx2, src), [[2, 3, 1], [5, 2, 2]]);
  });

  it('second derivative through slice and pad matches finite differences', () => {
    const shape = [3, 6];
    const w = randomTensor([3, 4], { seed: 79 }).t;
    const u = randomTensor(shape, { seed: 80 }).t;
    // (3,6) -slice dim 1, 1::2-> (3,3) -pad (2,-1) last, (-1,1) first-> (3,4)
    const f = (x: tg.Tensor) => tg.sum(tg.mul(tg.pow(tg.pad(tg.slice(x, 1, 1, null, 2), [2, -1, -1, 1]), 3), w));
    /** <grad f(x), u>, computed once with a graph (for backward) or plainly */
    const gradDotU = (values: Float64Array, createGraph: boolean) => {
      const x = tg.tensor(values, { dtype: 'float64', shape, requiresGrad: true });
      const [g] = tg.grad(f(x), [x], { createGraph });
      return { x, g, h: tg.sum(tg.mul(g, u)) };
    };
    const base = randomValues(numelOf(shape), 81);
    const { x, g, h } = gradDotU(base, true);
    // first derivative against its closed form: 3 s^2 w, moved back through pad and slice
    expect(g.requiresGrad).toBe(true);
    h.backward();
    const analytic = x.grad!.data();
    const eps = 1e-6;
    const numeric = new Float64Array(base.length);
    for (let e = 0; e < base.length; e++) {
      const plus = Float64Array.from(base);
      const minus = Float64Array.from(base);
      plus[e] += eps;
      minus[e] -= eps;
      numeric[e] = (gradDotU(plus, false).h.item() - gradDotU(minus, false).h.item()) / (2 * eps);
    }
    expectClose(analytic, numeric, { atol: 1e-5, rtol: 1e-4 });
    // entries cropped away or skipped by the slice have zero first and second derivatives
    const kept = new Set([1, 3].flatMap((c) => [1, 2].map((r) => r * 6 + c)));
    for (let e = 0; e < base.length; e++) if (!kept.has(e)) expect(analytic[e]).toBe(0);
  });
});
