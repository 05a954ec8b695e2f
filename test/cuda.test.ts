/**
 * The CUDA backend, op by op against the CPU backend: every case builds the same
 * seeded inputs on both devices (made on the CPU, then moved), runs the op (and its
 * backward where it has one) and compares the CUDA results, read back, with the CPU
 * results. Sizes are odd on purpose: they miss warp, tile and vector widths.
 *
 * On a machine without a usable GPU every GPU case is skipped (and counted as
 * skipped by vitest); only the "without CUDA" cases run there.
 */
import { describe, expect, it } from 'vitest';
import * as tg from '../lib/index';
import { native } from '../lib/binding';
import { MNIST_DIR, expectClose, numelOf, randomValues } from './helpers';

const HAS_CUDA = tg.cuda.isAvailable();
const gpu = describe.skipIf(!HAS_CUDA);
// The host CUDA emulator (scripts/cuda-emu.mjs) runs kernels thousands of times
// slower than a GPU: an epoch of training is left to real devices.
const EMULATED = HAS_CUDA && /emulator/.test(tg.cuda.deviceName());
type Dev = 'cpu' | 'cuda';
type FloatDType = 'float32' | 'float64' | 'float16' | 'bfloat16';

// Agreement expected between two correct implementations that may sum in another order.
const TOL: Record<tg.DType, { atol: number; rtol: number }> = {
  float64: { atol: 1e-12, rtol: 1e-10 },
  float32: { atol: 2e-5, rtol: 2e-4 },
  float16: { atol: 4e-3, rtol: 4e-3 },
  bfloat16: { atol: 3e-2, rtol: 2e-2 },
  int32: { atol: 0, rtol: 0 },
  uint8: { atol: 0, rtol: 0 },
  bool: { atol: 0, rtol: 0 },
};

interface InputOptions {
  dtype?: tg.DType;
  seed?: number;
  low?: number;
  high?: number;
  grad?: boolean;
}

/** Seeded values in [low, high) (floored for integer dtypes), made on the CPU in `dtype`, then moved to `dev`. */
function input(dev: Dev, shape: readonly number[], o: InputOptions = {}): tg.Tensor {
  const dtype = o.dtype ?? 'float32';
  const ints = dtype === 'int32' || dtype === 'uint8' || dtype === 'bool';
  const values = randomValues(numelOf(shape), o.seed ?? 1, o.low, o.high);
  const t = tg.tensor(ints ? values.map(Math.floor) : values, { shape, dtype: 'float64' }).to(dtype).to(dev);
  if (o.grad) t.requiresGrad_();
  return t;
}

/** Runs build on both devices and compares every output; tolerance from each output's dtype unless given. */
function same(name: string, build: (dev: Dev) => (tg.Tensor | null)[], tol?: { atol: number; rtol: number }): void {
  it(name, { timeout: EMULATED ? 900_000 : undefined }, () => {
    const want = build('cpu');
    const got = build('cuda');
    expect(got.length).toBe(want.length);
    got.forEach((g, k) => {
      const w = want[k];
      if (w === null || g === null) {
        expect(g, `output ${k}`).toBe(w);
        return;
      }
      expect(g.device, `output ${k}`).toBe('cuda');
      expect(g.shape, `output ${k}`).toEqual(w.shape);
      expect(g.dtype, `output ${k}`).toBe(w.dtype);
      expectClose(Array.from(g.cpu().data()), Array.from(w.data()), tol ?? TOL[w.dtype]);
    });
  });
}

/** Forward and the gradients of sum(y * probe) w.r.t. every input that requires grad. */
function withGrads(y: tg.Tensor, inputs: tg.Tensor[], seed = 99): tg.Tensor[] {
  const probe = input(y.device as Dev, y.shape, { dtype: y.dtype, seed });
  tg.sum(tg.mul(y, probe)).backward();
  return [y, ...inputs.filter((t) => t.requiresGrad).map((t) => t.grad!)];
}

describe.skipIf(HAS_CUDA)('cuda: without a usable GPU', () => {
  it('reports itself unavailable, and asking for it throws CudaUnavailableError saying why', () => {
    expect(tg.cuda.isAvailable()).toBe(false);
    expect(tg.cuda.deviceCount()).toBe(0);
    expect(tg.cuda.deviceName()).toBe('');
    expect(tg.cuda.memoryAllocated()).toBe(0);
    expect(() => tg.cuda.emptyCache()).not.toThrow();
    expect(() => tg.cuda.synchronize()).not.toThrow();
    for (const device of ['cuda', 'cuda:0'] as const) {
      expect(() => tg.zeros([2], { device })).toThrow(tg.CudaUnavailableError);
      expect(() => tg.zeros([2], { device })).toThrow(`zeros: CUDA is not available: ${tg.cuda.status()}`);
    }
    expect(() => tg.ones([2]).to('cuda')).toThrow(tg.CudaUnavailableError);
    expect(() => new tg.nn.Linear(2, 2).to('cuda')).toThrow(tg.CudaUnavailableError);
    expect(() => native.cudaGemmTensorCores()).toThrow(/CUDA is not available/);
  });
});

gpu('cuda: devices, memory and errors', () => {
  it('names the device; cuda:0 is cuda; other indices say why they cannot be used', () => {
    expect(tg.cuda.deviceCount()).toBeGreaterThan(0);
    expect(tg.cuda.deviceName().length).toBeGreaterThan(0);
    expect(tg.zeros([2], { device: 'cuda:0' }).device).toBe('cuda');
    expect(() => tg.zeros([2], { device: `cuda:${tg.cuda.deviceCount()}` })).toThrow(tg.CudaUnavailableError);
  });

  it('half GEMMs take wgmma on an H100 or H200 (the sm_90a code loaded; TMA-fed when asked), mma.sync on other GPUs', () => {
    const hopper = /\bH100\b|\bH200\b|\bH800\b|\bGH200\b/.test(tg.cuda.deviceName());
    const asked = process.env.TENSORGRAD_CUDA_WGMMA;
    const want = asked === '0' || !hopper ? 'mma.sync' : asked === 'tma' ? 'wgmma-tma' : 'wgmma';
    expect(native.cudaGemmTensorCores()).toBe(want);
  });

  it('round trips every dtype through the device; dataAsync waits off the main thread', async () => {
    for (const dtype of ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'uint8', 'bool'] as const) {
      const h = input('cpu', [3, 17], { dtype, seed: 3, low: 0, high: 5 });
      const d = h.to('cuda');
      expect(d.device).toBe('cuda');
      expect(Array.from(d.cpu().data())).toEqual(Array.from(h.data()));
      expect(Array.from(d.data())).toEqual(Array.from(h.data()));
      expect(Array.from(await tg.mul(d, 1).dataAsync())).toEqual(Array.from(h.data()));
    }
  });

  it('ops on tensors of different devices throw DeviceMismatchError', () => {
    const a = tg.ones([3]);
    const b = tg.ones([3], { device: 'cuda' });
    expect(() => tg.add(a, b)).toThrow(tg.DeviceMismatchError);
    expect(() => tg.matmul(tg.ones([2, 3]), tg.ones([3, 2], { device: 'cuda' }))).toThrow(tg.DeviceMismatchError);
  });

  it('the caching allocator reuses freed blocks and emptyCache returns them', () => {
    tg.cuda.synchronize();
    const before = tg.cuda.memoryAllocated();
    const t = tg.zeros([1024, 1024], { device: 'cuda' });
    expect(tg.cuda.memoryAllocated() - before).toBe(4 * 1024 * 1024);
    t.dispose();
    expect(tg.cuda.memoryAllocated()).toBe(before);
    const reserved = tg.cuda.memoryReserved();
    expect(reserved).toBeGreaterThanOrEqual(before + 4 * 1024 * 1024);
    const again = tg.zeros([1024, 1024], { device: 'cuda' });
    expect(tg.cuda.memoryReserved()).toBe(reserved); // the cached block, not a new one
    again.dispose();
    tg.cuda.emptyCache();
    expect(tg.cuda.memoryReserved()).toBe(tg.cuda.memoryAllocated());
  });

  it('an allocation larger than the device throws a RangeError with the sizes', () => {
    expect(() => tg.zeros([1 << 30, 1 << 16], { device: 'cuda' })).toThrow(RangeError);
    expect(() => tg.zeros([1 << 30, 1 << 16], { device: 'cuda' })).toThrow(/CUDA out of memory: asked for \d+ MiB .* MiB free of \d+ MiB/);
    expect(tg.zeros([4], { device: 'cuda' }).sum().item()).toBe(0); // still usable
  });

  it('a training loop on the GPU without dispose keeps device memory flat', () => {
    const model = new tg.nn.Sequential(new tg.nn.Linear(32, 64), new tg.nn.ReLU(), new tg.nn.Linear(64, 4)).to('cuda');
    const opt = new tg.optim.Adam(model.parameters(), { lr: 1e-3 });
    const x = tg.randn([16, 32], { seed: 1 }).to('cuda');
    const y = tg.randint(0, 4, [16], { seed: 2 }).to('cuda');
    const step = () => {
      opt.zeroGrad();
      const loss = tg.nn.functional.crossEntropy(model.forward(x), y);
      loss.backward();
      opt.step();
      return loss.item();
    };
    for (let i = 0; i < 50; i++) step();
    (globalThis as { gc?: () => void }).gc?.();
    const settled = tg.cuda.memoryAllocated();
    for (let i = 0; i < 500; i++) step();
    (globalThis as { gc?: () => void }).gc?.();
    expect(tg.cuda.memoryAllocated()).toBeLessThanOrEqual(settled * 1.5 + (1 << 20));
  });
});

gpu('cuda: creation, casts and random numbers', () => {
  same('zeros, ones, full, arange, linspace, eye', (d) => [
    tg.zeros([3, 5], { device: d }), tg.ones([7], { device: d, dtype: 'int32' }), tg.full([2, 3], -1.5, { device: d, dtype: 'float16' }),
    tg.arange(0, 17, 3, { device: d }), tg.linspace(-1, 1, 9, { device: d, dtype: 'float64' }), tg.eye(5, 3, { device: d }),
  ]);
  for (const from of ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'uint8', 'bool'] as const) {
    same(`casts from ${from} to every dtype`, (d) => {
      const x = input(d, [37], { dtype: from, seed: 5, low: -300, high: 300 });
      return (['float32', 'float64', 'float16', 'bfloat16', 'int32', 'uint8', 'bool'] as const).map((to) => x.to(to));
    });
  }
  same('rand, randn, randint and dropout masks equal the CPU generator for the same seed', (d) => [
    tg.rand([1001], { seed: 7, device: d }), tg.randn([1001], { seed: 8, device: d, dtype: 'float64' }),
    tg.randint(-5, 9, [333], { seed: 9, device: d }), tg.rand([55], { seed: 7, device: d, dtype: 'bfloat16' }),
    tg.nn.functional.dropout(tg.ones([77], { device: d }), 0.3, { seed: 11 }),
  ], { atol: 1e-12, rtol: 1e-12 });
});

gpu('cuda: elementwise ops with broadcasting', () => {
  const unary: [string, (x: tg.Tensor) => tg.Tensor][] = [
    ['neg', tg.neg], ['abs', tg.abs], ['exp', tg.exp], ['log', (x) => tg.log(tg.abs(x))], ['log1p', (x) => tg.log1p(tg.abs(x))],
    ['sqrt', (x) => tg.sqrt(tg.abs(x))], ['rsqrt', (x) => tg.rsqrt(tg.add(tg.abs(x), 0.1))], ['square', tg.square], ['sin', tg.sin],
    ['cos', tg.cos], ['tanh', tg.tanh], ['sigmoid', tg.sigmoid], ['relu', tg.relu], ['leakyRelu', (x) => tg.leakyRelu(x, 0.1)],
    ['elu', (x) => tg.elu(x, 0.7)], ['gelu', (x) => tg.gelu(x)], ['geluTanh', (x) => tg.gelu(x, { approximate: 'tanh' })],
    ['silu', tg.silu], ['softplus', (x) => tg.softplus(x)], ['clamp', (x) => tg.clamp(x, -0.5, 0.7)], ['sign', tg.sign],
    ['reciprocal', (x) => tg.reciprocal(tg.add(tg.abs(x), 0.1))], ['erf', tg.erf],
  ];
  for (const dtype of ['float32', 'float64', 'float16', 'bfloat16'] as const) {
    same(`every unary op in ${dtype}, with its gradient`, (d) =>
      unary.flatMap(([, f]) => {
        const x = input(d, [5, 13], { dtype, seed: 21, grad: dtype === 'float32' || dtype === 'float64' });
        return x.requiresGrad ? withGrads(f(x), [x]) : [f(x)];
      }),
    );
  }
  same('integer unary ops (neg, abs, square, relu, clamp, sign) on int32 and uint8', (d) =>
    (['int32', 'uint8'] as const).flatMap((dtype) => {
      const x = input(d, [41], { dtype, seed: 22, low: -50, high: 50 });
      return [tg.neg(x), tg.abs(x), tg.square(x), tg.relu(x), tg.clamp(x, 3, 20), tg.sign(x)];
    }),
  );
  const binary: [string, (a: tg.Tensor, b: tg.Tensor) => tg.Tensor][] = [
    ['add', tg.add], ['sub', tg.sub], ['mul', tg.mul], ['div', tg.div], ['pow', (a, b) => tg.pow(tg.abs(a), b)],
    ['maximum', tg.maximum], ['minimum', tg.minimum],
  ];
  const shapes: [number[], number[]][] = [[[7, 1, 5], [1, 3, 5]], [[129], [129]], [[2, 3, 1, 1], [17]], [[1], [4, 33]], [[0, 3], [3]]];
  for (const dtype of ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'uint8'] as const) {
    same(`every binary op in ${dtype} over broadcast shapes${dtype === 'float64' ? ', with gradients' : ''}`, (d) =>
      binary.flatMap(([name, f]) =>
        shapes.flatMap(([sa, sb], k) => {
          if ((dtype === 'int32' || dtype === 'uint8') && name === 'div') return [];
          const grad = dtype === 'float64';
          const a = input(d, sa, { dtype, seed: 30 + k, low: dtype === 'uint8' ? 0 : -3, high: 4, grad });
          const b = input(d, sb, { dtype, seed: 40 + k, low: dtype === 'uint8' ? 1 : 0.5, high: 3, grad });
          const y = f(a, b);
          return grad ? withGrads(y, [a, b]) : [y];
        }),
      ),
    );
  }
  same('comparisons and where, strided views (transpose, slice with step) made contiguous', (d) => {
    const a = input(d, [6, 1, 9], { seed: 51 });
    const b = input(d, [5, 1], { seed: 52 });
    const v = tg.slice(tg.transpose(input(d, [8, 11, 3], { seed: 53 }), 0, 2), 1, 1, 10, 3);
    return [tg.lt(a, b), tg.le(a, b), tg.eq(a, a), tg.ne(a, b), tg.gt(a, b), tg.ge(a, b), tg.where(tg.gt(a, b), a, b), tg.clone(v)];
  });
});

gpu('cuda: shape, indexing and reductions', () => {
  same('cat, stack, pad, tril, triu, permute copies', (d) => {
    const a = input(d, [3, 5, 7], { seed: 61 });
    const b = input(d, [3, 2, 7], { seed: 62, dtype: 'float16' }).to('float32');
    return [tg.cat([a, b], 1), tg.stack([a, a], 2), tg.pad(a, [1, 2, 0, 3], -1), tg.tril(a, -1), tg.triu(a, 2), tg.permute(a, [2, 0, 1])];
  });
  same('indexSelect, gather and scatterAdd in every dtype', (d) =>
    (['float32', 'float64', 'float16', 'bfloat16', 'int32', 'uint8'] as const).flatMap((dtype) => {
      const x = input(d, [9, 6], { seed: 63, dtype, low: 0, high: 9 });
      const idx = tg.tensor([8, 0, 3, 3, 1], { dtype: 'int32' }).to(d);
      const gi = tg.tensor(Int32Array.from({ length: 9 * 4 }, (_, i) => (i * 7) % 6), { shape: [9, 4] }).to(d);
      const src = input(d, [9, 4], { seed: 64, dtype, low: 0, high: 3 });
      return [tg.indexSelect(x, 0, idx), tg.gather(x, 1, gi), tg.scatterAdd(x, 1, gi, src)];
    }),
  );
  it('an out-of-range index on the GPU is caught before any kernel runs', () => {
    const x = tg.ones([4, 3], { device: 'cuda' });
    expect(() => tg.indexSelect(x, 0, tg.tensor([0, 4], { dtype: 'int32' }).to('cuda'))).toThrow(RangeError);
  });
  for (const dtype of ['float32', 'float64', 'float16', 'bfloat16', 'int32'] as const) {
    same(`sum, prod, max, min, argmax, mean over each dim of odd shapes in ${dtype}`, (d) => {
      const x = input(d, [7, 33, 5], { seed: 71, dtype, low: dtype === 'int32' ? -3 : 0.5, high: dtype === 'int32' ? 4 : 1.5 });
      const outs: tg.Tensor[] = [tg.sum(x), tg.max(x), tg.min(x)];
      for (const dim of [0, 1, 2]) {
        outs.push(tg.sum(x, dim), tg.prod(x, dim), tg.max(x, dim), tg.min(x, dim), tg.argmax(x, dim));
        if (dtype !== 'int32') outs.push(tg.mean(x, dim, { keepDim: true }));
      }
      return outs;
    });
  }
  same('a long row reduction (1,000,003 elements) and softmax/logSoftmax along each dim, with gradients', (d) => {
    const long = input(d, [1000003], { seed: 72, low: 0, high: 1, dtype: 'float64' });
    const outs: tg.Tensor[] = [tg.sum(long), tg.max(long)];
    for (const dim of [0, 1, 2]) {
      const x = input(d, [4, 37, 3], { seed: 73 + dim, dtype: 'float64', grad: true });
      outs.push(...withGrads(tg.softmax(x, dim), [x]));
      const z = input(d, [4, 37, 3], { seed: 76 + dim, dtype: 'float64', grad: true });
      outs.push(...withGrads(tg.logSoftmax(z, dim), [z]));
    }
    const h = input(d, [5, 1031], { seed: 79, dtype: 'float16' });
    outs.push(tg.softmax(h, 1), tg.logSoftmax(h, 1));
    return outs;
  });
});

/**
 * C = act(1.5 op(A) op(B) + 0.5 C + bias) through native.gemm, with transposes as flags
 * (matmul hands transposed views over as contiguous copies, so it would ask for one
 * kernel of the four); C starts random, act is ReLU.
 */
function gemmCase(d: Dev, dtype: tg.DType, ta: boolean, tb: boolean, [m, n, k]: readonly number[], seed: number): tg.Tensor {
  const a = input(d, ta ? [k, m] : [m, k], { dtype, seed, low: -1, high: 1 });
  const b = input(d, tb ? [n, k] : [k, n], { dtype, seed: seed + 1, low: -1, high: 1 });
  const c = input(d, [m, n], { dtype, seed: seed + 2 });
  const bias = input(d, [n], { dtype, seed: seed + 3 });
  native.gemm(ta, tb, m, n, k, 1.5, a._s, ta ? m : k, 0, b._s, tb ? k : n, 0, 0.5, c._s, n, 0, 1,
    bias._s, native.gemmActivations.relu);
  return c;
}
const TRANSPOSES = [[false, false], [true, false], [false, true], [true, true]] as const;

gpu('cuda: matmul and linear (tensor cores for float16 and bfloat16)', () => {
  const sizes = [1, 3, 17, 127, 255, 513];
  for (const dtype of ['float32', 'float64', 'float16', 'bfloat16'] as const) {
    same(`GEMM in ${dtype}: sizes {1,3,17,127,255,513} mixed, every transpose pair, alpha, beta, bias, ReLU`, (d) =>
      sizes.flatMap((m, i) => TRANSPOSES.map(([ta, tb]) =>
        gemmCase(d, dtype, ta, tb, [m, sizes[(i + 2) % sizes.length], sizes[(i + 4) % sizes.length]], 100 + 10 * i))),
    dtype === 'float32' ? { atol: 1e-4, rtol: 1e-4 } : undefined);
  }
  // Rows whose length is a multiple of 8 half elements are 16-byte aligned: these take
  // the cp.async path (wgmma on sm_90a, mma.sync elsewhere); the sizes above never do.
  // [2112, 2048] fills 136 tiles of 128x256: sm_90a's wide kernels run on GPUs with up
  // to 136 SMs.
  for (const dtype of ['float16', 'bfloat16'] as const) {
    same(`${dtype} GEMM with 16-byte aligned rows: every transpose pair, ragged tile edges, split K, both wgmma widths, batched, linear`, (d) => {
      const shapes = [[8, 8, 8], [136, 264, 200], [264, 72, 136], [1032, 520, 1096], [64, 136, 4096], [2112, 2048, 136]];
      const outs = shapes.flatMap((shape, i) => TRANSPOSES.map(([ta, tb]) => gemmCase(d, dtype, ta, tb, shape, 320 + 10 * i)));
      const a = input(d, [3, 72, 136], { dtype, seed: 390 });
      const b = input(d, [3, 136, 40], { dtype, seed: 391 });
      const x = input(d, [40, 200], { dtype, seed: 392, grad: true });
      const w = input(d, [72, 200], { dtype, seed: 393, grad: true });
      const bias = input(d, [72], { dtype, seed: 394, grad: true });
      return [...outs, tg.matmul(a, b), ...withGrads(tg.relu(tg.linear(x, w, bias)), [x, w, bias])];
    }, dtype === 'float16' ? { atol: 0.03, rtol: 4e-3 } : { atol: 0.2, rtol: 2e-2 });
  }
  same('batched matmul with a broadcast operand, and linear with bias and gradients', (d) => {
    const a = input(d, [3, 33, 65], { seed: 301, dtype: 'float64', grad: true });
    const b = input(d, [65, 19], { seed: 302, dtype: 'float64', grad: true });
    const x = input(d, [13, 31], { seed: 303, dtype: 'float64', grad: true });
    const w = input(d, [7, 31], { seed: 304, dtype: 'float64', grad: true });
    const bias = input(d, [7], { seed: 305, dtype: 'float64', grad: true });
    return [...withGrads(tg.matmul(a, b), [a, b]), ...withGrads(tg.linear(x, w, bias), [x, w, bias])];
  });
  same('a [1000,2049]x[2049,515] float16 GEMM (many tiles, long K) agrees with the CPU within half rounding', (d) => {
    const a = input(d, [1000, 2049], { dtype: 'float16', seed: 311, low: -1, high: 1 });
    const b = input(d, [2049, 515], { dtype: 'float16', seed: 312, low: -1, high: 1 });
    return [tg.matmul(a, b)];
  }, { atol: 0.06, rtol: 4e-3 });
});

gpu('cuda: convolution, pooling and normalization', () => {
  const convs: { x: number[]; w: number[]; o: tg.Conv2dOptions }[] = [
    { x: [2, 3, 11, 9], w: [5, 3, 3, 3], o: { padding: 1 } },
    { x: [1, 4, 13, 7], w: [6, 2, 3, 2], o: { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2 } },
    { x: [3, 6, 8, 8], w: [6, 1, 3, 3], o: { padding: 'same', groups: 6 } },
    { x: [2, 16, 9, 9], w: [33, 16, 1, 1], o: {} },
    { x: [1, 1, 5, 5], w: [1, 1, 5, 5], o: {} },
  ];
  for (const dtype of ['float32', 'float64', 'float16', 'bfloat16'] as const) {
    same(`conv2d forward, grad-input, grad-weight and grad-bias in ${dtype}`, (d) =>
      convs.flatMap(({ x: xs, w: ws, o }, k) => {
        const x = input(d, xs, { dtype, seed: 400 + k, grad: true });
        const w = input(d, ws, { dtype, seed: 410 + k, grad: true });
        const b = input(d, [ws[0]], { dtype, seed: 420 + k, grad: true });
        return withGrads(tg.conv2d(x, w, b, o), [x, w, b]);
      }),
    // float32 sums of up to 9*6*... products in another order
    dtype === 'float32' ? { atol: 1e-4, rtol: 1e-4 } : dtype === 'float16' ? { atol: 2e-2, rtol: 8e-3 } : dtype === 'bfloat16' ? { atol: 0.15, rtol: 3e-2 } : undefined);
  }
  for (const dtype of ['float32', 'float64', 'float16'] as const) {
    same(`max, average and adaptive pooling with gradients in ${dtype}`, (d) => {
      const make = (seed: number) => input(d, [2, 3, 11, 10], { dtype, seed, grad: true });
      const x1 = make(501), x2 = make(502), x3 = make(503);
      return [
        ...withGrads(tg.maxPool2d(x1, 3, { stride: 2, padding: 1, dilation: 1, ceilMode: true }), [x1]),
        ...withGrads(tg.avgPool2d(x2, [3, 2], { stride: [2, 1], padding: [1, 1], countIncludePad: false }), [x2]),
        ...withGrads(tg.adaptiveAvgPool2d(x3, [4, 3]), [x3]),
      ];
    });
  }
  same('layerNorm, batchNorm (training, running stats) and groupNorm with gradients', (d) => {
    const x = input(d, [6, 10, 5], { seed: 601, dtype: 'float64', grad: true });
    const g = input(d, [5], { seed: 602, dtype: 'float64', grad: true });
    const bn = input(d, [8, 3, 5, 5], { seed: 603, dtype: 'float64', grad: true });
    const rm = tg.zeros([3], { dtype: 'float64', device: d });
    const rv = tg.ones([3], { dtype: 'float64', device: d });
    const gn = input(d, [2, 6, 7], { seed: 604, dtype: 'float64', grad: true });
    return [
      ...withGrads(tg.nn.functional.layerNorm(x, 5, { weight: g }), [x, g]),
      ...withGrads(tg.nn.functional.batchNorm(bn, rm, rv, { training: true }), [bn]),
      rm, rv,
      ...withGrads(tg.nn.functional.groupNorm(gn, 3), [gn]),
    ];
  });
  same('losses: crossEntropy (indices, label smoothing, ignoreIndex), mse, nll, BCE with logits', (d) => {
    const logits = input(d, [37, 11], { seed: 701, dtype: 'float64', grad: true });
    const target = tg.tensor(Int32Array.from({ length: 37 }, (_, i) => (i * 5) % 11)).to(d);
    const a = input(d, [9, 4], { seed: 702, dtype: 'float64', grad: true });
    const b = input(d, [9, 4], { seed: 703, dtype: 'float64' });
    const p = input(d, [9, 4], { seed: 704, dtype: 'float64', low: 0, high: 1 });
    const F = tg.nn.functional;
    return [
      ...withGrads(F.crossEntropy(logits, target, { labelSmoothing: 0.1, ignoreIndex: 3 }), [logits]),
      ...withGrads(F.mseLoss(a, b), [a]),
      F.nllLoss(F.logSoftmax(logits, 1), target), F.binaryCrossEntropyWithLogits(a, p),
    ];
  });
});

gpu('cuda: fused softmax cross-entropy at class indices', () => {
  const F = tg.nn.functional;
  // a warp per row (C < 4096), a block per row (C = 5000), a thread per position (inner > 1)
  const shapes = [[33, 1], [37, 11], [9, 1001], [3, 5000], [3, 5, 4, 3], [2, 17, 1, 7], [2, 3, 300]];
  const targets = (d: Dev, shape: number[], seed: number): tg.Tensor => {
    const positions = [shape[0], ...shape.slice(2)];
    const r = randomValues(numelOf(positions), seed, 0, shape[1]);
    return tg.tensor(Int32Array.from(r, (v, i) => (i % 4 === 1 ? -100 : Math.floor(v))), { shape: positions }).to(d);
  };
  for (const dtype of ['float32', 'float64', 'float16', 'bfloat16'] as const) {
    same(`loss and gradient in ${dtype}: weights, ignoreIndex and smoothing, every reduction`, (d) =>
      shapes.flatMap((shape, k) => {
        const t = targets(d, shape, 720 + k);
        const w = input(d, [shape[1]], { dtype, seed: 740 + k, low: 0.25, high: 2 });
        return (['none', 'sum', 'mean'] as const).flatMap((reduction) => {
          const plain = input(d, shape, { dtype, seed: 700 + k, low: -4, high: 4, grad: true });
          const smoothed = input(d, shape, { dtype, seed: 760 + k, low: -4, high: 4, grad: true });
          return [
            ...withGrads(F.crossEntropy(plain, t, { reduction }), [plain]),
            ...withGrads(F.crossEntropy(smoothed, t, { reduction, weight: w, labelSmoothing: 0.2 }), [smoothed]),
          ];
        });
      }),
    // sums over up to 5000 classes in another order, in float for the half types
    dtype === 'float32' ? { atol: 1e-4, rtol: 1e-4 } : undefined);
  }
  it('rejects a target out of range (read back from the device) with the CPU message', () => {
    const x = input('cuda', [3, 4], { seed: 790 });
    expect(() => F.crossEntropy(x, tg.tensor([0, 4, 1], { dtype: 'int32' }).to('cuda'), { ignoreIndex: 2 }))
      .toThrow('crossEntropy: target class 4 is out of range for 4 classes (ignoreIndex 2)');
  });
  it('second derivatives through it agree with the CPU', () => {
    const run = (d: Dev): number[] => {
      const x = input(d, [4, 6, 3], { seed: 791, dtype: 'float64', grad: true });
      const t = targets(d, [4, 6, 3], 792);
      const [g] = tg.grad(F.crossEntropy(x, t, { labelSmoothing: 0.1 }), [x], { createGraph: true });
      const [h] = tg.grad(tg.sum(tg.mul(g, g)), [x]);
      return Array.from(h.cpu().data());
    };
    expectClose(run('cuda'), run('cpu'), TOL.float64);
  });
});

gpu('cuda: gradcheck on the device (float64, finite differences)', () => {
  it('matmul, conv2d, pooling, softmax, layerNorm and the elementwise chain', () => {
    const d = 'cuda';
    const cases: [(...xs: tg.Tensor[]) => tg.Tensor, tg.Tensor[]][] = [
      [(a, b) => tg.matmul(a, b), [input(d, [3, 5], { dtype: 'float64', seed: 801, grad: true }), input(d, [5, 1], { dtype: 'float64', seed: 802, grad: true })]],
      [(x, w) => tg.conv2d(x, w, null, { stride: 2, padding: 1 }), [input(d, [1, 2, 5, 4], { dtype: 'float64', seed: 803, grad: true }), input(d, [3, 2, 3, 3], { dtype: 'float64', seed: 804, grad: true })]],
      [(x) => tg.maxPool2d(x, 2), [input(d, [1, 2, 5, 4], { dtype: 'float64', seed: 805, grad: true })]],
      [(x) => tg.softmax(x, 1), [input(d, [3, 7], { dtype: 'float64', seed: 806, grad: true })]],
      [(x) => tg.nn.functional.layerNorm(x, 4), [input(d, [3, 4], { dtype: 'float64', seed: 807, grad: true })]],
      [(a, b) => tg.mul(tg.tanh(a), tg.exp(tg.div(b, 3))), [input(d, [2, 1, 3], { dtype: 'float64', seed: 808, grad: true }), input(d, [4, 1], { dtype: 'float64', seed: 809, grad: true })]],
    ];
    for (const [f, xs] of cases) expect(() => tg.testing.gradcheck(f, xs)).not.toThrow();
  });
});

gpu('cuda: fused optimizer steps and the grad scaler', () => {
  const makers: [string, (ps: tg.Tensor[]) => tg.optim.Optimizer<object, unknown>][] = [
    ['SGD momentum nesterov', (ps) => new tg.optim.SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-2 })],
    ['Adam amsgrad', (ps) => new tg.optim.Adam(ps, { lr: 1e-2, amsgrad: true })],
    ['AdamW', (ps) => new tg.optim.AdamW(ps, { lr: 1e-2, weightDecay: 0.1 })],
    ['RMSprop centered', (ps) => new tg.optim.RMSprop(ps, { lr: 1e-2, momentum: 0.5, centered: true })],
    ['Adagrad', (ps) => new tg.optim.Adagrad(ps, { lr: 0.1, lrDecay: 1e-3 })],
  ];
  for (const [name, make] of makers) {
    same(`${name}: 5 steps over three parameters (odd sizes) match the CPU`, (d) => {
      const ps = [input(d, [1], { seed: 901 }), input(d, [37, 3], { seed: 902 }), input(d, [1025], { seed: 903 })].map((p) => p.requiresGrad_());
      const opt = make(ps);
      for (let s = 0; s < 5; s++) {
        opt.zeroGrad();
        tg.sum(ps.map((p, k) => tg.sum(tg.mul(tg.square(p), k + 1 + s))).reduce((a, b) => tg.add(a, b))).backward();
        opt.step();
      }
      return ps.map((p) => p.detach());
    }, { atol: 1e-5, rtol: 1e-4 });
  }

  it('an inf gradient on the GPU skips the step bit for bit and halves the scale', () => {
    const p = input('cuda', [33], { seed: 910, grad: true });
    const opt = new tg.optim.Adam([p], { lr: 1e-2 });
    const scaler = new tg.amp.GradScaler({ initScale: 1024 });
    const stepWith = (bad: boolean) => {
      opt.zeroGrad();
      const y = tg.sum(tg.square(p));
      scaler.scale(bad ? tg.mul(y, Infinity) : y).backward();
      scaler.step(opt);
      scaler.update();
    };
    stepWith(false);
    const before = Array.from(p.data());
    stepWith(true);
    expect(Array.from(p.data())).toEqual(before);
    expect(scaler.getScale()).toBe(512);
  });
});

gpu('cuda: training', () => {
  it('an MLP trained for 20 steps on cuda follows the CPU run step by step', () => {
    const run = (d: Dev) => {
      tg.manualSeed(0);
      const model = new tg.nn.Sequential(new tg.nn.Linear(20, 33), new tg.nn.ReLU(), new tg.nn.Linear(33, 5)).to(d);
      const opt = new tg.optim.AdamW(model.parameters(), { lr: 1e-2 });
      const x = input(d, [64, 20], { seed: 1001 });
      const y = tg.tensor(Int32Array.from({ length: 64 }, (_, i) => (i * 3) % 5)).to(d);
      const losses: number[] = [];
      for (let s = 0; s < 20; s++) {
        opt.zeroGrad();
        const loss = tg.nn.functional.crossEntropy(model.forward(x), y);
        loss.backward();
        opt.step();
        losses.push(loss.item());
      }
      return losses;
    };
    expectClose(run('cuda'), run('cpu'), { atol: 1e-4, rtol: 1e-3 });
  });

  it.skipIf(EMULATED)('the MNIST CNN reaches 98.5% test accuracy in one epoch under autocast(float16) with GradScaler', () => {
    const dir = MNIST_DIR;
    const train = tg.data.loadMnist(dir, { split: 'train' });
    const test = tg.data.loadMnist(dir, { split: 'test' });
    tg.manualSeed(0);
    const nn = tg.nn;
    const model = new nn.Sequential(
      new nn.Conv2d(1, 32, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Conv2d(32, 64, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Flatten(), new nn.Linear(64 * 7 * 7, 128), new nn.ReLU(), new nn.Linear(128, 10),
    ).to('cuda');
    const opt = new tg.optim.Adam(model.parameters(), { lr: 1e-3 });
    const scaler = new tg.amp.GradScaler();
    const loader = new tg.data.DataLoader(new tg.data.TensorDataset(train.images, train.labels), { batchSize: 64, shuffle: true, seed: 0 });
    for (const [xb, yb] of loader) {
      const x = xb.to('cuda');
      const y = yb.to('cuda');
      opt.zeroGrad();
      const loss = tg.amp.autocast('float16', () => tg.nn.functional.crossEntropy(model.forward(x), y));
      scaler.scale(loss).backward();
      scaler.step(opt);
      scaler.update();
    }
    model.eval();
    const accuracy = tg.noGrad(() => {
      let correct = 0;
      for (let i = 0; i < test.labels.shape[0]; i += 1000) {
        const x = tg.slice(test.images, 0, i, i + 1000).to('cuda');
        const pred = tg.amp.autocast('float16', () => tg.argmax(model.forward(x), 1)).data();
        const labels = tg.slice(test.labels, 0, i, i + 1000).data();
        for (let k = 0; k < labels.length; k++) if (pred[k] === labels[k]) correct++;
      }
      return correct / test.labels.shape[0];
    });
    console.log(`MNIST CNN on ${tg.cuda.deviceName()}, 1 epoch, float16 + GradScaler: ${(100 * accuracy).toFixed(2)}%`);
    expect(accuracy).toBeGreaterThanOrEqual(0.985);
  });
});
