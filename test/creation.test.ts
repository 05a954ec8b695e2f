import { describe, expect, test } from 'vitest';
import * as tg from '../lib/index';
import { expectClose, randomValues } from './helpers';

describe('tensor()', () => {
  test('nested arrays, scalars, booleans and typed arrays', () => {
    const t = tg.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    const s = tg.tensor(2.5);
    expect(s.shape).toEqual([]);
    expect(s.item()).toBe(2.5);
    const b = tg.tensor([true, false]);
    expect(b.dtype).toBe('bool');
    expect(b.toArray()).toEqual([true, false]);
    expect(tg.tensor(new Int32Array([1, -2])).dtype).toBe('int32');
    expect(tg.tensor(new Float64Array([0.1])).dtype).toBe('float64');
    expect(tg.tensor(new Uint8Array([255])).item()).toBe(255);
    const shaped = tg.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [3, 2] });
    expect(shaped.toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(tg.tensor([[], []]).shape).toEqual([2, 0]);
    expect(tg.tensor([1, 2], { dtype: 'float64' }).data()).toBeInstanceOf(Float64Array);
  });

  test('data, dataAsync, item and toArray read the values back', async () => {
    const v = randomValues(7, 3);
    const t = tg.tensor(v, { dtype: 'float64' });
    expect(Array.from(t.data())).toEqual(Array.from(v));
    expect(Array.from(await t.dataAsync())).toEqual(Array.from(v));
    expect(() => t.item()).toThrow('item: only a single-element tensor converts to a number, got shape [7]');
    expect(tg.tensor([[4]]).item()).toBe(4);
  });
});

describe('filled and ranged tensors', () => {
  test('zeros, ones, full and the *Like forms', () => {
    expect(Array.from(tg.zeros([2, 3]).data())).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(tg.ones([3], { dtype: 'int32' }).data())).toEqual([1, 1, 1]);
    expect(Array.from(tg.full([2], -1.5, { dtype: 'float16' }).data())).toEqual([-1.5, -1.5]);
    const like = tg.tensor([[1, 2]], { dtype: 'float64' });
    expect(tg.zerosLike(like).dtype).toBe('float64');
    expect(tg.onesLike(like).shape).toEqual([1, 2]);
    expect(Array.from(tg.fullLike(like, 7).data())).toEqual([7, 7]);
    expect(tg.zerosLike(like, { dtype: 'int32' }).dtype).toBe('int32');
    expect(tg.zeros([0, 4]).numel).toBe(0);
  });

  test('arange, linspace and eye', () => {
    expect(Array.from(tg.arange(5).data())).toEqual([0, 1, 2, 3, 4]);
    expect(tg.arange(5).dtype).toBe('int32');
    expect(Array.from(tg.arange(2, 11, 3).data())).toEqual([2, 5, 8]);
    expect(Array.from(tg.arange(5, 0, -2).data())).toEqual([5, 3, 1]);
    expectClose(tg.arange(0, 1, 0.25).data(), [0, 0.25, 0.5, 0.75]);
    expect(tg.arange(0, 1, 0.25).dtype).toBe('float32');
    const l = tg.linspace(-1, 2, 7, { dtype: 'float64' }).data();
    expectClose(l, [-1, -0.5, 0, 0.5, 1, 1.5, 2], { atol: 1e-15 });
    expect(l[6]).toBe(2);
    expect(tg.linspace(3, 3, 1).toArray()).toEqual([3]);
    expect(tg.eye(2, 3).toArray()).toEqual([[1, 0, 0], [0, 1, 0]]);
    expect(tg.eye(3).toArray()).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  });
});

describe('casts between all dtypes', () => {
  const values = [-3.75, -1, -0.5, 0, 0.25, 1, 2.5, 100];

  test('every pair of dtypes converts as PyTorch does', () => {
    const expectedIn: Record<tg.DType, (v: number) => number> = {
      float32: (v) => Math.fround(v),
      float64: (v) => v,
      float16: (v) => v, // these values are exact in half precision
      bfloat16: (v) => v,
      int32: (v) => Math.trunc(v) + 0, // + 0 turns -0 into 0
      uint8: (v) => ((Math.trunc(v) % 256) + 256) % 256,
      bool: (v) => (v !== 0 ? 1 : 0),
    };
    const dtypes = Object.keys(expectedIn) as tg.DType[];
    for (const from of dtypes) {
      const src = tg.tensor(values, { dtype: 'float64' }).to(from);
      const srcValues = Array.from(src.data());
      for (const to of dtypes) {
        const out = src.to(to);
        expect(out.dtype).toBe(to);
        expect(Array.from(out.data()), `${from} -> ${to}`).toEqual(srcValues.map(expectedIn[to]));
      }
    }
  });

  test('float16 rounds to nearest even and keeps subnormals, infinities and NaN', () => {
    const ulp = 2 ** -10;
    const cases: Array<[number, number]> = [
      [1 + ulp / 2, 1], // a tie rounds to even
      [1 + 1.5 * ulp, 1 + 2 * ulp], // a tie rounds to even (up)
      [1 + 0.6 * ulp, 1 + ulp],
      [2 ** -24, 2 ** -24], // smallest subnormal
      [2 ** -25, 0], // tie with zero rounds to even
      [3 * 2 ** -25, 2 ** -23],
      [5e-5, 839 * 2 ** -24], // subnormal: the nearest multiple of 2^-24
      [65504, 65504],
      [65519, 65504],
      [65520, Infinity],
      [-1e6, -Infinity],
      [Infinity, Infinity],
    ];
    const out = tg.tensor(cases.map((c) => c[0]), { dtype: 'float64' }).to('float16').data();
    cases.forEach(([, want], i) => expect(out[i], `case ${i}`).toBe(want));
    const nan = tg.tensor([NaN], { dtype: 'float64' }).to('float16').to('float64').item();
    expect(Number.isNaN(nan)).toBe(true);
  });

  test('bfloat16 rounds to nearest even with float32 range', () => {
    const ulp = 2 ** -7;
    const out = tg.tensor([1 + ulp / 2, 1 + 1.5 * ulp, 3e38, 1e-40, -0.1], { dtype: 'float64' }).to('bfloat16').data();
    expect(out[0]).toBe(1);
    expect(out[1]).toBe(1 + 2 * ulp);
    expect(out[2]).toBeCloseTo(3e38, -36);
    expect(out[3]).toBeGreaterThan(0); // subnormal kept
    expect(out[4]).toBe(-0.10009765625);
    expect(Number.isNaN(tg.tensor([NaN]).to('bfloat16').item())).toBe(true);
  });

  test('NaN and out-of-range floats pin to defined integers', () => {
    expect(Array.from(tg.tensor([NaN, 3e9, -3e9]).to('int32').data())).toEqual([0, 2147483647, -2147483648]);
    expect(tg.tensor([NaN]).to('bool').item()).toBe(1);
  });
});

describe('random', () => {
  test('a seed alone fixes the numbers, whatever the thread count', () => {
    const threads = tg.getNumThreads();
    try {
      tg.setNumThreads(1);
      const one = tg.randn([70001], { seed: 42 }).data();
      tg.setNumThreads(2);
      expect(tg.getNumThreads()).toBe(2);
      const two = tg.randn([70001], { seed: 42 }).data();
      expect(Buffer.from(one.buffer).equals(Buffer.from(two.buffer))).toBe(true);
      expect(Array.from(tg.rand([5], { seed: 1 }).data())).not.toEqual(Array.from(tg.rand([5], { seed: 2 }).data()));
    } finally {
      tg.setNumThreads(threads);
    }
  });

  test('manualSeed restarts the global stream; successive calls differ', () => {
    tg.manualSeed(7);
    const a = tg.rand([4]).data();
    const b = tg.rand([4]).data();
    tg.manualSeed(7);
    expect(Array.from(tg.rand([4]).data())).toEqual(Array.from(a));
    expect(Array.from(b)).not.toEqual(Array.from(a));
  });

  test('distributions have the right range and moments', () => {
    const n = 200_000;
    const u = tg.rand([n], { seed: 3, dtype: 'float64' }).data();
    let lo = 1;
    let hi = 0;
    let sum = 0;
    for (const v of u) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      sum += v;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.005);
    const z = tg.randn([n], { seed: 4, dtype: 'float64' });
    expect(Math.abs(z.mean().item())).toBeLessThan(0.01);
    expect(Math.abs(z.std().item() - 1)).toBeLessThan(0.01);
    const r = tg.randint(-3, 4, [n], { seed: 5 });
    expect(r.dtype).toBe('int32');
    const counts = new Map<number, number>();
    for (const v of r.data()) counts.set(v, (counts.get(v) ?? 0) + 1);
    expect([...counts.keys()].sort((x, y) => x - y)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    for (const c of counts.values()) expect(Math.abs(c / n - 1 / 7)).toBeLessThan(0.01);
    const bern = tg.bernoulli(0.3, { shape: [n], seed: 6 });
    expect(Math.abs(bern.mean().item() - 0.3)).toBeLessThan(0.01);
    const probs = tg.tensor([0, 1, 0.5, 0.5]);
    const draws = tg.bernoulli(probs.expand([n / 4, 4]), { seed: 8 }).mean(0).data();
    expectClose(draws, [0, 1, 0.5, 0.5], { atol: 0.01 });
    expect(tg.rand([3], { dtype: 'bfloat16', seed: 1 }).dtype).toBe('bfloat16');
    expect(tg.randnLike(z).shape).toEqual([n]);
  });
});

describe('printing, threads and devices', () => {
  test('toString looks like PyTorch print', () => {
    expect(tg.tensor([[1, 2], [3, 4]]).toString()).toBe('tensor([[1., 2.],\n        [3., 4.]])');
    expect(tg.tensor([0.5, -1.25]).toString()).toBe('tensor([ 0.5000, -1.2500])');
    expect(tg.tensor([1, 2], { dtype: 'float64', requiresGrad: true }).toString()).toBe(
      'tensor([1., 2.], dtype=float64, requiresGrad=true)',
    );
    expect(tg.arange(3).toString()).toBe('tensor([0, 1, 2])');
    expect(tg.tensor([true, false]).toString()).toBe('tensor([ True, False])');
    expect(tg.zeros([2, 0]).toString()).toBe('tensor([], size=(2, 0))');
    const big = tg.arange(2000).reshape([2, 1000]).toString();
    expect(big).toBe('tensor([[   0,    1,    2, ...,  997,  998,  999],\n        [1000, 1001, 1002, ..., 1997, 1998, 1999]])');
    const x = tg.tensor([1], { requiresGrad: true });
    expect(x.mul(2).toString()).toBe('tensor([2.], gradFn=<mul>)');
    expect(tg.tensor([1e-5, 1]).toString()).toBe('tensor([1.0000e-05, 1.0000e+00])');
  });

  test('setNumThreads and getNumThreads', () => {
    const n = tg.getNumThreads();
    expect(n).toBeGreaterThanOrEqual(1);
    tg.setNumThreads(3);
    expect(tg.getNumThreads()).toBe(3);
    const v = randomValues(100_003, 9);
    expectClose(tg.tensor(v, { dtype: 'float64' }).exp().data(), v.map(Math.exp), { rtol: 1e-14 });
    tg.setNumThreads(n);
  });

  test('cpu info and cuda status answer without a GPU', () => {
    expect(['amx', 'avx512bf16', 'avx512', 'avx2', 'generic']).toContain(tg.cpuInfo().isa);
    expect(typeof tg.cuda.isAvailable()).toBe('boolean');
    expect(tg.cuda.status().length).toBeGreaterThan(0);
  });
});
