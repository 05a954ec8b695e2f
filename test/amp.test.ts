/**
 * Mixed precision: the half-precision GEMM (fp32 accumulation) on every ISA, the bfloat16
 * paths on AVX512-BF16 dot products and AMX tiles included (cases for an ISA this CPU
 * lacks are skipped), tg.amp.autocast's per-op policy, tg.amp.GradScaler (loss scaling, overflow
 * skip, growth/backoff, call order, state dict) and MNIST trained in fp32, float16 +
 * GradScaler and bfloat16.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tg from '../lib';
import { native } from '../lib/binding';
import { CPU_RUNS, ISAS, MNIST_DIR, randomValues, thrown } from './helpers';

type Half = 'float16' | 'bfloat16';
const HALVES: Half[] = ['float16', 'bfloat16'];
const DEFAULT_ISA = tg.cpuInfo().isa;

afterAll(() => {
  native.selectIsa(DEFAULT_ISA);
});

/** values rounded to dtype by the scalar cast kernel (tested in creation.test.ts). */
function rounded(v: ArrayLike<number>, dtype: Half): Float64Array {
  return Float64Array.from(tg.tensor(Array.from(v), { dtype: 'float64' }).to(dtype).data());
}

interface Case {
  ta: boolean; tb: boolean; m: number; n: number; k: number;
  alpha: number; beta: number; bias: boolean; act: 'none' | 'relu' | 'geluTanh';
  /** matrices stacked without gaps (default 1); with shareB one B serves them all */
  batch?: number; shareB?: boolean;
}

function activate(v: number, act: Case['act']): number {
  if (act === 'relu') return Math.max(v, 0);
  if (act === 'geluTanh') return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
  return v;
}

/** C = act(alpha op(A) op(B) + beta C + bias) in float64 on the given (already rounded) values. */
function reference(c: Case, A: Float64Array, B: Float64Array, C0: Float64Array, bias: Float64Array | null): Float64Array {
  const batch = c.batch ?? 1;
  const out = new Float64Array(batch * c.m * c.n);
  for (let bi = 0; bi < batch; bi++) {
    const a0 = bi * c.m * c.k;
    const b0 = c.shareB ? 0 : bi * c.k * c.n;
    const c0 = bi * c.m * c.n;
    for (let i = 0; i < c.m; i++) {
      for (let j = 0; j < c.n; j++) {
        let s = 0;
        for (let p = 0; p < c.k; p++) {
          const a = c.ta ? A[a0 + p * c.m + i] : A[a0 + i * c.k + p];
          const b = c.tb ? B[b0 + j * c.k + p] : B[b0 + p * c.n + j];
          s += a * b;
        }
        const v = c.alpha * s + (c.beta === 0 ? 0 : c.beta * C0[c0 + i * c.n + j]) + (bias ? bias[j] : 0);
        out[c0 + i * c.n + j] = activate(v, c.act);
      }
    }
  }
  return out;
}

function runHalf(c: Case, dtype: Half, A: Float64Array, B: Float64Array, C0: Float64Array, bias: Float64Array | null): Float64Array {
  const batch = c.batch ?? 1;
  const a = tg.tensor(Array.from(A), { dtype });
  const b = tg.tensor(Array.from(B), { dtype });
  const out = tg.tensor(Array.from(C0), { dtype });
  const bt = bias ? tg.tensor(Array.from(bias), { dtype }) : null;
  native.gemm(
    c.ta, c.tb, c.m, c.n, c.k, c.alpha,
    a._s, c.ta ? c.m : c.k, c.m * c.k, b._s, c.tb ? c.k : c.n, c.shareB ? 0 : c.k * c.n,
    c.beta, out._s, c.n, c.m * c.n, batch, bt ? bt._s : null, native.gemmActivations[c.act],
  );
  return Float64Array.from(out.data());
}

function relNormError(got: Float64Array, want: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

const SIZES = [1, 3, 17, 33, 127];

describe('half-precision GEMM (fp32 accumulation)', () => {
  for (const isa of ISAS) {
    it.skipIf(!CPU_RUNS[isa])(`${isa}: random operands, every size in {1,3,17,33,127}^3 and transpose: relative error within half rounding`, () => {
      expect(native.selectIsa(isa)).toBe(true);
      let seed = 1;
      const worst: Record<Half, number> = { float16: 0, bfloat16: 0 };
      for (const dtype of HALVES) {
        for (const m of SIZES) for (const n of SIZES) for (const k of SIZES) {
          for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
            const c: Case = { ta, tb, m, n, k, alpha: 1, beta: 0, bias: false, act: 'none' };
            const A = rounded(randomValues(m * k, seed++, -1, 1), dtype);
            const B = rounded(randomValues(k * n, seed++, -1, 1), dtype);
            const C0 = new Float64Array(m * n).fill(NaN); // beta = 0 never reads C
            const got = runHalf(c, dtype, A, B, C0, null);
            // the exact product on the rounded inputs, rounded once to the output dtype
            const want = reference(c, A, B, C0, null);
            const err = relNormError(got, want);
            if (!(err <= 1e-2)) throw new Error(`${dtype} m=${m} n=${n} k=${k} ta=${ta} tb=${tb}: error ${err}`);
            worst[dtype] = Math.max(worst[dtype], err);
          }
        }
      }
      // one rounding of each output: about 2^-12 (fp16) and 2^-9 (bf16) relative, far below 1e-2
      expect(worst.float16).toBeLessThan(1e-3);
      expect(worst.bfloat16).toBeLessThan(6e-3);
    });

    it.skipIf(!CPU_RUNS[isa])(`${isa}: exact products (small integers) come out exact, with alpha, beta, bias and relu`, () => {
      expect(native.selectIsa(isa)).toBe(true);
      let seed = 1000;
      const ints = (len: number, lim: number) => Float64Array.from(randomValues(len, seed++, -lim - 0.49, lim + 0.49), Math.round);
      for (const dtype of HALVES) {
        // |sums| stay below 2^8 (bf16) / 2^11 (fp16), so every sum is an exact half value
        const lim = dtype === 'float16' ? 2 : 1;
        for (const [m, n, k] of [[1, 1, 1], [3, 17, 33], [127, 33, 17], [33, 127, 3], [17, 3, 127]]) {
          for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
            for (const extra of [false, true]) {
              const c: Case = { ta, tb, m, n, k, alpha: extra ? 0.5 : 1, beta: extra ? 2 : 0, bias: extra, act: extra ? 'relu' : 'none' };
              const A = ints(m * k, lim);
              const B = ints(k * n, lim);
              const C0 = extra ? ints(m * n, 4) : new Float64Array(m * n).fill(NaN);
              const bias = extra ? ints(n, 4) : null;
              const got = runHalf(c, dtype, A, B, C0, bias);
              const want = reference(c, A, B, C0, bias);
              expect(Array.from(got), `${dtype} m=${m} n=${n} k=${k} ta=${ta} tb=${tb} extra=${extra}`).toEqual(Array.from(want));
            }
          }
        }
      }
    });

    it.skipIf(!CPU_RUNS[isa])(`${isa}: C is rounded to nearest even once, with subnormals, overflow to inf and NaN`, () => {
      expect(native.selectIsa(isa)).toBe(true);
      for (const dtype of HALVES) {
        // AVX512-BF16 (VDPBF16PS) and AMX tiles (TDPBF16PS) flush subnormal results to
        // zero; bfloat16 has float32's exponent range, so that is every product below
        // 2^-126 and nothing else
        const flushes = (isa === 'avx512bf16' || isa === 'amx') && dtype === 'bfloat16';
        const ulp = dtype === 'float16' ? 2 ** -10 : 2 ** -7;
        const tiny = dtype === 'float16' ? 2 ** -14 : 2 ** -126; // smallest normal
        const big = dtype === 'float16' ? 256 : 2 ** 64;
        // C[0][j] = x_j * y_j with k = 1: an exact product in fp32, rounded once when stored
        const xs = [1 + ulp, 1 + ulp, tiny, tiny, tiny, big, Infinity, -3, 1.5, 1 + ulp, 1, 0.1, 7, tiny, -tiny, 0.3, 1 + ulp, 2];
        const ys = [1 + ulp, 1.5, 2 ** -5, 2 ** -11, 3 * 2 ** -12, big, 0, 1 / 3, 1 + ulp, 3, -1, 0.7, 9, 0.75, 0.5, 0.25, 1 + 3 * ulp, NaN];
        const X = rounded(xs, dtype);
        const Y = rounded(ys, dtype);
        const n = X.length;
        // A: an n x 1 column times B: a 1 x n row, diagonal entries are the products; the
        // 18 columns cover the 8-wide vector path and its tail
        const c: Case = { ta: false, tb: false, m: n, n, k: 1, alpha: 1, beta: 0, bias: false, act: 'none' };
        const got = runHalf(c, dtype, X, Y, new Float64Array(n * n), null);
        const want = rounded(Array.from(X, (x, i) => x * Y[i]), dtype);
        const flushed = (v: number) => flushes && v !== 0 && Math.abs(v) < 2 ** -126;
        for (let i = 0; i < n; i++) {
          const g = got[i * n + i];
          const w = want[i];
          const ok = flushed(w) ? g === 0 : Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w));
          if (!ok) throw new Error(`${dtype}: ${X[i]} * ${Y[i]} stored as ${g}, expected ${flushed(w) ? 0 : w}`);
        }
        // the cases above really reach the subnormal, overflow and NaN outputs
        expect(want.some((v) => v !== 0 && Math.abs(v) < tiny)).toBe(true);
        expect(want.includes(Infinity)).toBe(true);
        expect(want.some(Number.isNaN)).toBe(true);
      }
    });

    it.skipIf(!CPU_RUNS[isa])(`${isa}: batched, K odd and not a multiple of 32, with alpha, beta, bias and activations`, () => {
      expect(native.selectIsa(isa)).toBe(true);
      let seed = 2000;
      for (const dtype of HALVES) {
        let worst = 0;
        // K just past one 32-step tile row, one short of two, and three rows less one
        for (const [m, n, k] of [[33, 47, 33], [17, 40, 63], [40, 5, 95]]) {
          for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
            for (const [act, shareB] of [['relu', false], ['geluTanh', true], ['none', false]] as const) {
              const batch = 3;
              const c: Case = { ta, tb, m, n, k, alpha: 0.75, beta: act === 'none' ? 0 : -0.5, bias: act !== 'none', act, batch, shareB };
              const A = rounded(randomValues(batch * m * k, seed++, -1, 1), dtype);
              const B = rounded(randomValues((shareB ? 1 : batch) * k * n, seed++, -1, 1), dtype);
              const C0 = c.beta === 0 ? new Float64Array(batch * m * n).fill(NaN) : rounded(randomValues(batch * m * n, seed++, -1, 1), dtype);
              const bias = c.bias ? rounded(randomValues(n, seed++, -1, 1), dtype) : null;
              const err = relNormError(runHalf(c, dtype, A, B, C0, bias), reference(c, A, B, C0, bias));
              if (!(err <= 1e-2)) throw new Error(`${dtype} m=${m} n=${n} k=${k} ta=${ta} tb=${tb} act=${act} shareB=${shareB}: error ${err}`);
              worst = Math.max(worst, err);
            }
          }
        }
        expect(worst).toBeLessThan(dtype === 'float16' ? 1e-3 : 6e-3);
      }
    });

    it.skipIf(!CPU_RUNS[isa])(`${isa}: K over several KC slices sums in fp32, C is read and rounded once, at any thread count`, () => {
      expect(native.selectIsa(isa)).toBe(true);
      let seed = 3000;
      const ints = (len: number, lim: number) => Float64Array.from(randomValues(len, seed++, -lim - 0.49, lim + 0.49), Math.round);
      const threads = tg.getNumThreads();
      try {
        for (const dtype of HALVES) {
          // K = 1300: several slices of the fp32 (288) and bf16-pair (576) KC, odd, not a
          // multiple of 32; integer operands keep every fp32 partial sum exact, so the
          // result is exact only if the slices never round to half and beta C counts once
          for (const [m, n, k] of [[45, 70, 1300], [13, 33, 1025]]) {
            for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
              const c: Case = { ta, tb, m, n, k, alpha: 0.5, beta: 2, bias: true, act: 'relu' };
              const A = ints(m * k, 1);
              const B = ints(k * n, 1);
              const C0 = ints(m * n, 4);
              const bias = ints(n, 4);
              const want = rounded(reference(c, A, B, C0, bias), dtype);
              expect(Array.from(runHalf(c, dtype, A, B, C0, bias)), `${dtype} m=${m} n=${n} k=${k} ta=${ta} tb=${tb}`).toEqual(Array.from(want));
            }
          }
          // random operands: every element sums in the same order on 1 and 2 threads
          const c: Case = { ta: false, tb: true, m: 200, n: 190, k: 1300, alpha: 1, beta: 0, bias: false, act: 'none' };
          const A = rounded(randomValues(c.m * c.k, seed++, -1, 1), dtype);
          const B = rounded(randomValues(c.k * c.n, seed++, -1, 1), dtype);
          const C0 = new Float64Array(c.m * c.n).fill(NaN);
          tg.setNumThreads(1);
          const one = runHalf(c, dtype, A, B, C0, null);
          tg.setNumThreads(2);
          const two = runHalf(c, dtype, A, B, C0, null);
          expect(Array.from(two)).toEqual(Array.from(one));
          expect(relNormError(one, reference(c, A, B, C0, null))).toBeLessThan(dtype === 'float16' ? 1e-3 : 6e-3);
        }
      } finally {
        tg.setNumThreads(threads);
      }
    });
  }
});

describe('autocast', () => {
  const x = tg.randn([4, 8], { seed: 1 });
  const w = tg.randn([5, 8], { seed: 2, requiresGrad: true });
  const b = tg.randn([5], { seed: 3, requiresGrad: true });

  it('linear and matmul run in the half dtype; parameters stay float32 and get float32 gradients', () => {
    for (const dtype of HALVES) {
      w.grad = null;
      b.grad = null;
      const y = tg.amp.autocast(dtype, () => tg.linear(x, w, b));
      expect(y.dtype).toBe(dtype);
      expect(w.dtype).toBe('float32');
      const want = tg.linear(x.to(dtype), w.to(dtype), b.to(dtype));
      expect(Array.from(y.data())).toEqual(Array.from(want.data()));
      const m = tg.amp.autocast(dtype, () => tg.matmul(x, tg.transpose(w, 0, 1)));
      expect(m.dtype).toBe(dtype);
      tg.sum(y.to('float32')).backward();
      expect(w.grad!.dtype).toBe('float32');
      expect(b.grad!.dtype).toBe('float32');
      // dL/db = number of rows, exact in any precision
      expect(Array.from(b.grad!.data())).toEqual([4, 4, 4, 4, 4]);
    }
    // float64 operands are not cast (PyTorch's rule)
    expect(tg.amp.autocast('float16', () => tg.matmul(x.to('float64'), x.to('float64').transpose(0, 1))).dtype).toBe('float64');
  });

  it('softmax, logSoftmax, losses and accumulating reductions run in float32', () => {
    const h = tg.randn([3, 6], { seed: 4 }).to('float16');
    tg.amp.autocast('float16', () => {
      expect(tg.softmax(h, 1).dtype).toBe('float32');
      expect(tg.logSoftmax(h, 1).dtype).toBe('float32');
      expect(tg.sum(h).dtype).toBe('float32');
      expect(tg.mean(h, 1).dtype).toBe('float32');
      expect(tg.logSumExp(h, 1).dtype).toBe('float32');
      expect(tg.norm(h).dtype).toBe('float32');
      const logits = tg.linear(tg.randn([3, 8], { seed: 5 }), w, b);
      expect(logits.dtype).toBe('float16');
      expect(tg.nn.functional.crossEntropy(logits, tg.tensor([0, 1, 2], { dtype: 'int32' })).dtype).toBe('float32');
    });
    // outside autocast a half softmax stays half
    expect(tg.softmax(h, 1).dtype).toBe('float16');
  });

  it('conv2d and conv1d under autocast: half output computed on half-rounded operands', () => {
    const xi = tg.randn([2, 3, 7, 7], { seed: 6 });
    const wc = tg.randn([4, 3, 3, 3], { seed: 7, requiresGrad: true });
    const bc = tg.randn([4], { seed: 8 });
    for (const dtype of HALVES) {
      const y = tg.amp.autocast(dtype, () => tg.conv2d(xi, wc, bc, { padding: 1 }));
      expect(y.dtype).toBe(dtype);
      const r = (t: tg.Tensor) => t.to(dtype).to('float32');
      const want = tg.conv2d(r(xi), r(wc), r(bc), { padding: 1 }).to(dtype);
      expect(Array.from(y.data())).toEqual(Array.from(want.data()));
      wc.grad = null;
      tg.sum(y.to('float32')).backward();
      expect(wc.grad!.dtype).toBe('float32');
      const y1 = tg.amp.autocast(dtype, () => tg.conv1d(tg.randn([2, 3, 9], { seed: 9 }), tg.randn([4, 3, 3], { seed: 10 })));
      expect(y1.dtype).toBe(dtype);
    }
  });

  it('regions nest like PyTorch: the inner dtype and enabled flag apply, the outer returns after', () => {
    expect(tg.amp.isAutocastEnabled()).toBe(false);
    expect(tg.amp.getAutocastDtype()).toBe(null);
    tg.amp.autocast('float16', () => {
      expect(tg.linear(x, w).dtype).toBe('float16');
      tg.amp.autocast('bfloat16', () => {
        expect(tg.amp.getAutocastDtype()).toBe('bfloat16');
        expect(tg.linear(x, w).dtype).toBe('bfloat16');
      });
      tg.amp.autocast('float16', () => {
        expect(tg.amp.isAutocastEnabled()).toBe(false);
        expect(tg.linear(x, w).dtype).toBe('float32');
        expect(tg.softmax(x.to('float16'), 1).dtype).toBe('float16');
      }, { enabled: false });
      expect(tg.linear(x, w).dtype).toBe('float16');
    });
    expect(tg.linear(x, w).dtype).toBe('float32');
    // a throwing region still ends
    expect(() => tg.amp.autocast('float16', () => { throw new Error('boom'); })).toThrow('boom');
    expect(tg.amp.isAutocastEnabled()).toBe(false);
    expect(tg.amp.autocast('bfloat16', () => 42)).toBe(42);
  });

  it('errors name the argument', () => {
    expect(thrown(() => tg.amp.autocast('float32' as Half, () => 0)).message).toBe(
      "autocast: Expected 'float16' or 'bfloat16' for dtype but received 'float32'",
    );
    expect(thrown(() => tg.amp.autocast('float16', 3 as unknown as () => number)).message).toBe(
      'autocast: Expected a function for fn but received 3',
    );
    expect(thrown(() => tg.amp.autocast('float16', () => 0, { enabled: 1 as unknown as boolean })).message).toBe(
      'autocast: Expected a boolean for enabled but received 1',
    );
  });
});

/** A tiny model whose true gradients are about 1e-8 (below fp16's smallest subnormal, 6e-8). */
function tinyGradModel(seed: number): { model: tg.nn.Sequential; x: tg.Tensor; lossOf: (out: tg.Tensor) => tg.Tensor } {
  tg.manualSeed(seed);
  const model = new tg.nn.Sequential(new tg.nn.Linear(32, 16), new tg.nn.ReLU(), new tg.nn.Linear(16, 4));
  const x = tg.rand([8, 32], { seed: seed + 1 });
  return { model, x, lossOf: (out) => tg.mul(tg.sum(out), 1e-8) };
}

function grads(model: tg.nn.Module): Float64Array[] {
  return model.parameters().map((p) => Float64Array.from(p.grad!.data()));
}

function snapshot(model: tg.nn.Module, opt: tg.optim.Adam): { params: Float32Array[]; state: Array<[number, Float32Array[]]> } {
  return {
    params: model.parameters().map((p) => Float32Array.from(p.data() as Float32Array)),
    state: model.parameters().map((p) => {
      const s = opt.getState(p)!;
      return [s.step, Object.keys(s.tensors).sort().map((k) => Float32Array.from(s.tensors[k].data() as Float32Array))];
    }),
  };
}

describe('GradScaler', () => {
  it('(a) gradients of ~1e-8 vanish in fp16 without scaling and match fp32 with GradScaler', () => {
    // fp32 reference
    const ref = tinyGradModel(0);
    ref.lossOf(ref.model.forward(ref.x)).backward();
    const want = grads(ref.model);
    const magnitude = Math.max(...want.map((g) => Math.max(...Array.from(g, Math.abs))));
    expect(magnitude).toBeGreaterThan(1e-9);
    expect(magnitude).toBeLessThan(1e-7);

    // fp16 without scaling: every gradient underflows to zero
    const plain = tinyGradModel(0);
    const loss16 = tg.amp.autocast('float16', () => {
      const out16 = plain.model.forward(plain.x);
      expect(out16.dtype).toBe('float16');
      return plain.lossOf(out16); // the sum runs in float32 under autocast
    });
    expect(loss16.dtype).toBe('float32');
    loss16.backward();
    for (const g of grads(plain.model)) expect(g.every((v) => v === 0)).toBe(true);

    // fp16 with the scaler: unscaled gradients match fp32 within half tolerance
    const scaled = tinyGradModel(0);
    const opt = new tg.optim.Adam(scaled.model.parameters(), { lr: 1e-3 });
    const scaler = new tg.amp.GradScaler();
    expect(scaler.getScale()).toBe(65536);
    const loss = tg.amp.autocast('float16', () => scaled.lossOf(scaled.model.forward(scaled.x)));
    scaler.scale(loss).backward();
    scaler.unscale_(opt);
    const got = grads(scaled.model);
    got.forEach((g, i) => {
      expect(scaled.model.parameters()[i].grad!.dtype).toBe('float32');
      expect(relNormError(g, want[i]), `parameter ${i}`).toBeLessThan(1e-2);
    });
    scaler.step(opt);
    scaler.update();
    expect(scaler.getScale()).toBe(65536);
  });

  it('(b) an inf gradient skips the step bit for bit and halves the scale; growthInterval clean steps double it', () => {
    for (const fused of [true, false]) {
      const { model, x } = tinyGradModel(1);
      const adam = new tg.optim.Adam(model.parameters(), { lr: 1e-2 });
      // without supportsAmpScaling the scaler falls back to unscale_ + a plain step
      const opt = fused
        ? adam
        : ({ paramGroups: adam.paramGroups, step: () => adam.step() } as unknown as tg.optim.Adam);
      const scaler = new tg.amp.GradScaler({ initScale: 1024, growthInterval: 5 });
      const iteration = (inject: boolean) => {
        adam.zeroGrad();
        const loss = tg.amp.autocast('float16', () => tg.mean(tg.square(model.forward(x))));
        scaler.scale(loss).backward();
        if (inject) {
          const p = model.parameters()[2];
          const g = Float32Array.from(p.grad!.data() as Float32Array);
          g[3] = Infinity;
          p.grad = tg.tensor(g).reshape(p.shape);
        }
        scaler.step(opt);
        scaler.update();
      };
      iteration(false);
      expect(scaler.getScale()).toBe(1024);
      const before = snapshot(model, adam);
      iteration(true);
      expect(snapshot(model, adam), `fused=${fused}`).toEqual(before);
      expect(scaler.getScale()).toBe(512);
      for (let i = 1; i <= 5; i++) {
        iteration(false);
        expect(scaler.getScale(), `clean step ${i}`).toBe(i < 5 ? 512 : 1024);
      }
      expect(snapshot(model, adam).state[0][0]).toBe(6); // 1 + 5 applied steps
      expect(scaler.stateDict()).toEqual({ scale: 1024, growthFactor: 2, backoffFactor: 0.5, growthInterval: 5, growthTracker: 0 });
    }
  });

  it('unscale_ then clipGradNorm_ then step equals the fp32 update on clipped gradients', () => {
    const a = tinyGradModel(2);
    const b = tinyGradModel(2);
    const optA = new tg.optim.Adam(a.model.parameters(), { lr: 1e-2 });
    const optB = new tg.optim.Adam(b.model.parameters(), { lr: 1e-2 });
    const scaler = new tg.amp.GradScaler();
    const lossA = tg.mean(tg.square(a.model.forward(a.x)));
    scaler.scale(lossA).backward();
    scaler.unscale_(optA);
    tg.optim.clipGradNorm_(a.model.parameters(), 0.01);
    scaler.step(optA);
    scaler.update();
    tg.mean(tg.square(b.model.forward(b.x))).backward();
    tg.optim.clipGradNorm_(b.model.parameters(), 0.01);
    optB.step();
    // a power-of-two scale and its inverse are exact in fp32
    a.model.parameters().forEach((p, i) => expect(Array.from(p.data())).toEqual(Array.from(b.model.parameters()[i].data())));
  });

  it('the fused native pass unscales every gradient and flags inf and NaN of every dtype', () => {
    for (const dtype of ['float32', 'float64', 'float16', 'bfloat16'] as const) {
      const gs = [tg.tensor([2, -4, 8], { dtype }), tg.full([20000], 6, { dtype })];
      const flag = tg.zeros([1]);
      native.ampUnscale(gs.map((g) => g._s), gs.map((g) => g.numel), 0.5, flag._s);
      expect(flag.item()).toBe(0);
      expect(Array.from(gs[0].data())).toEqual([1, -2, 4]);
      expect(Array.from(gs[1].data()).every((v) => v === 3)).toBe(true);
      for (const bad of [Infinity, -Infinity, NaN]) {
        const g = tg.tensor(Array.from({ length: 20001 }, (_, i) => (i === 19999 ? bad : 1)), { dtype });
        const f = tg.zeros([1]);
        native.ampUnscale([gs[0]._s, g._s], [3, g.numel], 1, f._s);
        expect(f.item(), `${dtype} ${bad}`).toBe(1);
        // inv_scale 1 only checks
        expect(Array.from(gs[0].data())).toEqual([1, -2, 4]);
      }
    }
    expect(() => native.ampUnscale([tg.tensor([1])._s], [1], 1, tg.zeros([1], { dtype: 'float64' })._s)).toThrow(
      'ampUnscale: argument 3 must be a float32 storage',
    );
  });

  it('enforces the ready -> unscaled -> stepped order and says which call was out of order', () => {
    const { model, x } = tinyGradModel(3);
    const opt = new tg.optim.SGD(model.parameters(), { lr: 0.1 });
    const scaler = new tg.amp.GradScaler();
    const backward = () => scaler.scale(tg.sum(model.forward(x))).backward();
    expect(thrown(() => scaler.update()).message).toBe(
      'GradScaler.update: no inf checks were recorded before update(); call step(optimizer) (or unscale_) first',
    );
    backward();
    scaler.unscale_(opt);
    const twice = thrown(() => scaler.unscale_(opt));
    expect(twice).toBeInstanceOf(tg.amp.AmpStateError);
    expect(twice.message).toBe('GradScaler.unscale_: unscale_() has already been called on this optimizer since the last update()');
    scaler.step(opt);
    expect(thrown(() => scaler.step(opt)).message).toBe('GradScaler.step: step() has already been called since the last update()');
    expect(thrown(() => scaler.unscale_(opt)).message).toBe('GradScaler.unscale_: unscale_() is being called after step(); call update() first');
    scaler.update();
    backward();
    expect(thrown(() => scaler.step(opt, () => 0)).message).toBe('GradScaler.step: a closure is not supported while the GradScaler is enabled');
    scaler.step(opt);
    scaler.update(8);
    expect(scaler.getScale()).toBe(8);
    expect(thrown(() => scaler.step({} as tg.optim.SGD)).message).toBe('GradScaler.step: Expected an optimizer for optimizer but received a Object');
    expect(thrown(() => new tg.amp.GradScaler({ growthFactor: 1 })).message).toBe('GradScaler: Expected a number > 1 for growthFactor but received 1');
    expect(thrown(() => new tg.amp.GradScaler({ backoffFactor: 1 })).message).toBe('GradScaler: Expected a number in (0, 1) for backoffFactor but received 1');
    expect(thrown(() => new tg.amp.GradScaler({ initScale: 0 })).message).toBe('GradScaler: Expected a finite number > 0 for initScale but received 0');
    expect(thrown(() => new tg.amp.GradScaler({ growthInterval: 1.5 })).message).toBe('GradScaler: Expected a positive integer for growthInterval but received 1.5');
  });

  it('stateDict / loadStateDict round-trip; a disabled scaler is a pass-through', () => {
    const s = new tg.amp.GradScaler({ initScale: 4, growthInterval: 3 });
    const { model, x } = tinyGradModel(4);
    const opt = new tg.optim.SGD(model.parameters(), { lr: 0.1 });
    s.scale(tg.sum(model.forward(x))).backward();
    s.step(opt);
    s.update();
    const sd = s.stateDict() as tg.amp.GradScalerStateDict;
    expect(sd).toEqual({ scale: 4, growthFactor: 2, backoffFactor: 0.5, growthInterval: 3, growthTracker: 1 });
    const t = new tg.amp.GradScaler();
    t.loadStateDict(sd);
    expect(t.stateDict()).toEqual(sd);
    expect(t.getScale()).toBe(4);
    expect(thrown(() => t.loadStateDict({ ...sd, growthTracker: -1 })).message).toBe(
      'GradScaler.loadStateDict: Expected a non-negative integer for state.growthTracker but received -1',
    );
    const off = new tg.amp.GradScaler({ enabled: false });
    const loss = tg.tensor(3);
    expect(off.scale(loss)).toBe(loss);
    expect(off.getScale()).toBe(1);
    expect(off.stateDict()).toEqual({});
    off.step(opt);
    off.update();
  });
});

describe('float32 master weights for half parameters', () => {
  it('AdamW: the master follows an all-float32 AdamW bit for bit; the half parameter is the master rounded', () => {
    for (const dtype of HALVES) {
      const p = tg.randn([37], { seed: 51 }).to(dtype).requiresGrad_();
      const ref = p.detach().to('float32').requiresGrad_();
      const c = tg.randn([37], { seed: 52 }).to(dtype);
      const opt = new tg.optim.AdamW([p], { lr: 1e-2, weightDecay: 0.1 });
      const optRef = new tg.optim.AdamW([ref], { lr: 1e-2, weightDecay: 0.1 });
      for (let step = 0; step < 5; step++) {
        opt.zeroGrad();
        optRef.zeroGrad();
        tg.sum(tg.mul(tg.square(p), c)).backward();
        // the same half gradient, exactly, for the float32 run
        ref.grad = p.grad!.to('float32');
        opt.step();
        optRef.step();
        const state = opt.getState(p)!;
        expect(state.tensors.master.dtype).toBe('float32');
        expect(state.tensors.expAvg.dtype).toBe('float32');
        expect(Array.from(state.tensors.master.data())).toEqual(Array.from(ref.data()));
        expect(Array.from(p.data())).toEqual(Array.from(ref.to(dtype).data()));
      }
      expect(p.dtype).toBe(dtype);
    }
  });

  it('updates smaller than half a float16 step still add up', () => {
    const p = tg.ones([3], { dtype: 'float16', requiresGrad: true });
    const opt = new tg.optim.SGD([p], { lr: 1e-4, momentum: 0.5 });
    for (let step = 0; step < 20; step++) {
      opt.zeroGrad();
      tg.sum(p).backward(); // gradient 1: each step moves 1e-4, a tenth of float16's step at 1
      opt.step();
    }
    // plain float16 SGD would round every update away and stay at 1
    const master = opt.getState(p)!.tensors.master.data()[0];
    expect(master).toBeLessThan(0.997);
    expect(p.data()[0]).toBe(tg.tensor([master]).to('float16').item());
    expect(p.data()[0]).toBeLessThan(1);
  });

  it('an overflow step under GradScaler leaves master, moments and half parameter bit-identical', () => {
    const p = tg.randn([9], { seed: 53 }).to('float16').requiresGrad_();
    const opt = new tg.optim.Adam([p], { lr: 1e-2 });
    const scaler = new tg.amp.GradScaler({ initScale: 256 });
    const run = (bad: boolean) => {
      opt.zeroGrad();
      const y = tg.sum(tg.square(p));
      scaler.scale(bad ? tg.mul(y, Infinity) : y).backward();
      scaler.step(opt);
      scaler.update();
    };
    run(false);
    const snap = () => [p, ...Object.values(opt.getState(p)!.tensors)].map((t) => Array.from(t.data()));
    const before = snap();
    run(true);
    expect(snap()).toEqual(before);
    expect(scaler.getScale()).toBe(128);
  });

  it('the state dict keeps the master in float32 and a loaded optimizer continues identically', () => {
    const make = () => tg.randn([5], { seed: 54 }).to('bfloat16').requiresGrad_();
    const p = make();
    const opt = new tg.optim.Adam([p], { lr: 1e-2 });
    const stepOnce = (q: tg.Tensor, o: tg.optim.Adam) => {
      o.zeroGrad();
      tg.sum(tg.square(q)).backward();
      o.step();
    };
    stepOnce(p, opt);
    const saved = opt.stateDict();
    expect(saved.state[0].tensors.master.dtype).toBe('float32');
    const q = p.detach().clone().requiresGrad_();
    const opt2 = new tg.optim.Adam([q], { lr: 1e-2 });
    opt2.loadStateDict(saved);
    stepOnce(p, opt);
    stepOnce(q, opt2);
    expect(Array.from(q.data())).toEqual(Array.from(p.data()));
    expect(opt2.getState(q)!.tensors.master.dtype).toBe('float32');
  });
});

describe('MNIST MLP: fp32, float16 + GradScaler and bfloat16 reach the same accuracy', () => {
  const dir = MNIST_DIR;

  function flat(images: tg.Tensor): tg.Tensor {
    return tg.reshape(images, [images.shape[0], 784]);
  }

  function train(mode: 'fp32' | Half): number {
    const trainSet = tg.data.loadMnist(dir, { split: 'train' });
    const testSet = tg.data.loadMnist(dir, { split: 'test' });
    tg.manualSeed(0);
    const model = new tg.nn.Sequential(new tg.nn.Linear(784, 128), new tg.nn.ReLU(), new tg.nn.Linear(128, 10));
    const opt = new tg.optim.Adam(model.parameters(), { lr: 2e-3 });
    const scaler = new tg.amp.GradScaler({ enabled: mode === 'float16' });
    const loader = new tg.data.DataLoader(new tg.data.TensorDataset(flat(trainSet.images), trainSet.labels), {
      batchSize: 128, shuffle: true, seed: 0,
    });
    const forward = (input: tg.Tensor) =>
      mode === 'fp32' ? model.forward(input) : tg.amp.autocast(mode, () => model.forward(input));
    for (const [input, target] of loader) {
      opt.zeroGrad();
      const logits = forward(input);
      expect(logits.dtype).toBe(mode === 'fp32' ? 'float32' : mode);
      const loss = tg.nn.functional.crossEntropy(logits, target);
      scaler.scale(loss).backward();
      scaler.step(opt);
      scaler.update();
    }
    return tg.noGrad(() => {
      const pred = tg.argmax(forward(flat(testSet.images)), 1).data();
      const labels = testSet.labels.data();
      let correct = 0;
      for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) correct++;
      return (100 * correct) / labels.length;
    });
  }

  it('1 epoch, batch 128, Adam, same seed: each half run within 0.5 points of fp32', () => {
    const t0 = Date.now();
    const fp32 = train('fp32');
    const t1 = Date.now();
    const f16 = train('float16');
    const t2 = Date.now();
    const bf16 = train('bfloat16');
    const t3 = Date.now();
    console.log(`MNIST test accuracy: fp32 ${fp32.toFixed(2)}% (${t1 - t0} ms), float16+GradScaler ${f16.toFixed(2)}% (${t2 - t1} ms), bfloat16 ${bf16.toFixed(2)}% (${t3 - t2} ms)`);
    expect(fp32).toBeGreaterThan(92);
    expect(Math.abs(f16 - fp32)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(bf16 - fp32)).toBeLessThanOrEqual(0.5);
  }, 180_000);
});
