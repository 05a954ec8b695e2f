/**
 * maxPool2d, avgPool2d, adaptiveAvgPool2d: forward (values and argmax indices) and
 * backward against nested-loop references, with overlapping windows, padding,
 * dilation, ceil mode and countIncludePad; gradcheck (first and second order);
 * thread counts; exact errors.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tg from '../lib/index';
import { native } from '../lib/binding';
import { expectClose, gradcheckShapes, numelOf, randomTensor } from './helpers';

type Pair = [number, number];

interface Window {
  k: Pair;
  s?: Pair;
  p?: Pair;
  d?: Pair;
  ceil?: boolean;
  countIncludePad?: boolean;
}

/** PyTorch's pooling output size (pooling_output_shape). */
function outSize(size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  let out = Math.floor((size + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

function resolve(win: Window, h: number, w: number) {
  const s = win.s ?? win.k;
  const p = win.p ?? [0, 0];
  const d = win.d ?? [1, 1];
  const ceil = win.ceil ?? false;
  return { k: win.k, s, p, d, oh: outSize(h, win.k[0], s[0], p[0], d[0], ceil), ow: outSize(w, win.k[1], s[1], p[1], d[1], ceil) };
}

function refMaxPool(x: Float64Array, shape: number[], win: Window) {
  const [h, w] = shape.slice(-2);
  const planes = numelOf(shape) / (h * w);
  const { k, s, p, d, oh, ow } = resolve(win, h, w);
  const values = new Float64Array(planes * oh * ow);
  const indices = new Int32Array(planes * oh * ow);
  for (let pl = 0; pl < planes; pl++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let best = -Infinity;
        let at = -1;
        for (let a = 0; a < k[0]; a++) {
          const ih = i * s[0] - p[0] + a * d[0];
          if (ih < 0 || ih >= h) continue;
          for (let b = 0; b < k[1]; b++) {
            const iw = j * s[1] - p[1] + b * d[1];
            if (iw < 0 || iw >= w) continue;
            const v = x[pl * h * w + ih * w + iw];
            if (at < 0) at = ih * w + iw; // an all -inf window points at its first cell
            if (v > best || Number.isNaN(v)) {
              best = v;
              at = ih * w + iw;
            }
          }
        }
        values[(pl * oh + i) * ow + j] = best;
        indices[(pl * oh + i) * ow + j] = at;
      }
    }
  }
  return { values, indices, out: [...shape.slice(0, -2), oh, ow] };
}

/** Each output's input cells and divisor, as PyTorch's avg_pool2d defines them. */
function avgWindows(h: number, w: number, win: Window, fn: (o: number, cells: number[], divisor: number) => void): number[] {
  const { k, s, p, oh, ow } = resolve(win, h, w);
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      const hs = i * s[0] - p[0];
      const ws = j * s[1] - p[1];
      const he = Math.min(hs + k[0], h + p[0]);
      const we = Math.min(ws + k[1], w + p[1]);
      const cells: number[] = [];
      for (let a = Math.max(hs, 0); a < Math.min(hs + k[0], h); a++) {
        for (let b = Math.max(ws, 0); b < Math.min(ws + k[1], w); b++) cells.push(a * w + b);
      }
      fn(i * ow + j, cells, (win.countIncludePad ?? true) ? (he - hs) * (we - ws) : cells.length);
    }
  }
  return [oh, ow];
}

function adaptiveWindows(h: number, w: number, oh: number, ow: number, fn: (o: number, cells: number[], divisor: number) => void): void {
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      const h0 = Math.floor((i * h) / oh);
      const h1 = Math.ceil(((i + 1) * h) / oh);
      const w0 = Math.floor((j * w) / ow);
      const w1 = Math.ceil(((j + 1) * w) / ow);
      const cells: number[] = [];
      for (let a = h0; a < h1; a++) for (let b = w0; b < w1; b++) cells.push(a * w + b);
      fn(i * ow + j, cells, cells.length);
    }
  }
}

type Windows = (h: number, w: number, fn: (o: number, cells: number[], divisor: number) => void) => Pair;

/** Forward and backward of an averaging pool from its windows. */
function refAverage(x: Float64Array, gy: Float64Array | null, shape: number[], windows: Windows) {
  const [h, w] = shape.slice(-2);
  const planes = numelOf(shape) / (h * w);
  let out: Pair = [0, 0];
  const per: Array<[number, number[], number]> = [];
  out = windows(h, w, (o, cells, divisor) => per.push([o, cells, divisor]));
  const ohw = out[0] * out[1];
  const y = new Float64Array(planes * ohw);
  const gx = new Float64Array(x.length);
  for (let pl = 0; pl < planes; pl++) {
    for (const [o, cells, divisor] of per) {
      let sum = 0;
      for (const c of cells) sum += x[pl * h * w + c];
      y[pl * ohw + o] = sum / divisor;
      if (gy) for (const c of cells) gx[pl * h * w + c] += gy[pl * ohw + o] / divisor;
    }
  }
  return { y, gx, shape: [...shape.slice(0, -2), ...out] };
}

const F64 = { atol: 1e-12, rtol: 1e-12 };
const F32 = { atol: 1e-5, rtol: 1e-5 };

interface MaxCase {
  x: number[];
  win: Window;
}

const MAX_CASES: MaxCase[] = [
  { x: [2, 3, 8, 8], win: { k: [2, 2] } },
  { x: [1, 2, 17, 17], win: { k: [3, 3], s: [2, 2], p: [1, 1] } }, // overlapping windows, padding
  { x: [2, 1, 9, 33], win: { k: [3, 2], s: [1, 2], p: [1, 0] } },
  { x: [1, 2, 9, 9], win: { k: [3, 3], s: [1, 1], p: [1, 1], d: [2, 2] } },
  { x: [1, 2, 7, 7], win: { k: [2, 2], ceil: true } },
  { x: [1, 1, 8, 8], win: { k: [3, 3], s: [2, 2], p: [1, 1], ceil: true } },
  { x: [3, 5, 5], win: { k: [2, 2], s: [1, 1] } }, // unbatched
  { x: [1, 33, 3, 3], win: { k: [3, 3], s: [1, 1], p: [1, 1] } },
  { x: [2, 2, 5, 6], win: { k: [1, 1] } },
  { x: [1, 1, 1, 17], win: { k: [1, 5], s: [1, 3], p: [0, 2], d: [1, 2] } },
];

const AVG_CASES: Window[] = [
  { k: [2, 2] },
  { k: [3, 3], s: [2, 2], p: [1, 1] },
  { k: [3, 3], s: [2, 2], p: [1, 1], countIncludePad: false },
  { k: [3, 2], s: [1, 2], p: [1, 1] },
  { k: [3, 3], s: [2, 2], p: [1, 1], ceil: true },
  { k: [3, 3], s: [2, 2], p: [1, 1], ceil: true, countIncludePad: false },
  { k: [2, 2], s: [2, 2], ceil: true },
  { k: [1, 3], s: [1, 1], p: [0, 1] },
];

describe('maxPool2d', () => {
  for (const [dtype, tol] of [['float32', F32], ['float64', F64]] as const) {
    it(`values, indices and gradient against the reference (${dtype})`, () => {
      MAX_CASES.forEach(({ x: shape, win }, i) => {
        const where = `[${shape}] ${JSON.stringify(win)}`;
        const { t: x, v: xv } = randomTensor(shape, { dtype, seed: 10 + i, requiresGrad: true });
        const opts = { stride: win.s, padding: win.p, dilation: win.d, ceilMode: win.ceil };
        const { values, indices } = tg.maxPool2dWithIndices(x, win.k, opts);
        const want = refMaxPool(xv, shape, win);
        expect(values.shape, where).toEqual(want.out);
        expect(indices.dtype).toBe('int32');
        expect(Array.from(indices.data()), where).toEqual(Array.from(want.indices));
        expectClose(values.data(), want.values, tol);
        expect(Array.from(tg.maxPool2d(x, win.k, opts).data())).toEqual(Array.from(values.data()));
        const { t: gy, v: gyv } = randomTensor(values.shape, { dtype, seed: 50 + i });
        values.backward(gy);
        const gx = new Float64Array(xv.length);
        const hw = shape[shape.length - 1] * shape[shape.length - 2];
        const ohw = want.out[want.out.length - 1] * want.out[want.out.length - 2];
        want.indices.forEach((at, o) => {
          gx[Math.floor(o / ohw) * hw + at] += gyv[o];
        });
        expectClose(x.grad!.data(), gx, tol);
      });
    });
  }

  it('known values, -infinity padding, ties to the first position, NaN wins', () => {
    const x = tg.tensor([[[[1, 5, 5, 0], [2, 3, 4, -1], [-7, -8, -9, -6], [0, NaN, 1, 2]]]]);
    const { values, indices } = tg.maxPool2dWithIndices(x, 2);
    expect(values.toArray()).toEqual([[[[5, 5], [NaN, 2]]]]);
    expect(indices.toArray()).toEqual([[[[1, 2], [13, 15]]]]);
    const neg = tg.tensor([[[[-3, -2], [-5, -4]]]]);
    expect(tg.maxPool2d(neg, 2, { stride: 1, padding: 1 }).toArray()).toEqual([[[[-3, -2, -2], [-3, -2, -2], [-5, -4, -4]]]]);
  });

  it('second derivatives go through the gather of the argmax', () => {
    const second = (x: tg.Tensor): tg.Tensor =>
      tg.enableGrad(() => {
        const leaf = x.requiresGrad ? x : x.detach().requiresGrad_();
        const y = tg.maxPool2d(leaf, 3, { stride: 2, padding: 1 });
        const [g] = tg.grad(tg.sum(tg.mul(tg.mul(y, y), y)), [leaf], { createGraph: true });
        return g;
      });
    gradcheckShapes(second, [[1, 2, 5, 5]], { seed: 3 });
  });
});

describe('avgPool2d', () => {
  for (const [dtype, tol] of [['float32', F32], ['float64', F64]] as const) {
    it(`forward and gradient against the reference (${dtype})`, () => {
      for (const shape of [[2, 3, 8, 8], [1, 2, 17, 17], [3, 9, 10], [1, 1, 3, 33]]) {
        AVG_CASES.forEach((win, i) => {
          const where = `[${shape}] ${JSON.stringify(win)}`;
          const { t: x, v: xv } = randomTensor(shape, { dtype, seed: 100 + i, requiresGrad: true });
          const y = tg.avgPool2d(x, win.k, { stride: win.s, padding: win.p, ceilMode: win.ceil, countIncludePad: win.countIncludePad });
          const { t: gy, v: gyv } = randomTensor(y.shape, { dtype, seed: 150 + i });
          const want = refAverage(xv, gyv, shape, (h, w, fn) => avgWindows(h, w, win, fn) as Pair);
          expect(y.shape, where).toEqual(want.shape);
          expectClose(y.data(), want.y, tol);
          y.backward(gy);
          expectClose(x.grad!.data(), want.gx, tol);
        });
      }
    });
  }

  it('known values: countIncludePad divides by the padded window', () => {
    const x = tg.tensor([[[[1, 2], [3, 4]]]]);
    expect(tg.avgPool2d(x, 2, { stride: 1, padding: 1 }).toArray()).toEqual([[[[0.25, 0.75, 0.5], [1, 2.5, 1.5], [0.75, 1.75, 1]]]]);
    expect(tg.avgPool2d(x, 2, { stride: 1, padding: 1, countIncludePad: false }).toArray()).toEqual([
      [[[1, 1.5, 2], [2, 2.5, 3], [3, 3.5, 4]]],
    ]);
  });
});

describe('adaptiveAvgPool2d', () => {
  const forms: Array<[number[], number | [number | null, number | null]]> = [
    [[2, 3, 7, 9], [3, 4]],
    [[1, 2, 5, 5], 1],
    [[1, 1, 6, 6], [4, null]],
    [[1, 1, 3, 3], [5, 5]], // more outputs than inputs: windows overlap
    [[4, 17, 33], [17, 5]],
  ];
  for (const [dtype, tol] of [['float32', F32], ['float64', F64]] as const) {
    it(`forward and gradient against the reference (${dtype})`, () => {
      forms.forEach(([shape, size], i) => {
        const { t: x, v: xv } = randomTensor(shape, { dtype, seed: 200 + i, requiresGrad: true });
        const y = tg.adaptiveAvgPool2d(x, size);
        const [h, w] = shape.slice(-2);
        const oh = typeof size === 'number' ? size : (size[0] ?? h);
        const ow = typeof size === 'number' ? size : (size[1] ?? w);
        const { t: gy, v: gyv } = randomTensor(y.shape, { dtype, seed: 250 + i });
        const want = refAverage(xv, gyv, shape, (hh, ww, fn) => {
          adaptiveWindows(hh, ww, oh, ow, fn);
          return [oh, ow];
        });
        expect(y.shape).toEqual(want.shape);
        expectClose(y.data(), want.y, tol);
        y.backward(gy);
        expectClose(x.grad!.data(), want.gx, tol);
      });
    });
  }
});

describe('pooling: gradients (gradcheck, float64)', () => {
  it('maxPool2d with overlapping windows, padding, dilation and ceil mode', () => {
    gradcheckShapes((x) => tg.maxPool2d(x, 3, { stride: 2, padding: 1 }), [[2, 2, 5, 6]], { seed: 1 });
    gradcheckShapes((x) => tg.maxPool2d(x, [2, 3], { stride: 1, dilation: [2, 1], ceilMode: true }), [[1, 2, 5, 5]], { seed: 2 });
  });

  it('avgPool2d and adaptiveAvgPool2d, with second derivatives', () => {
    gradcheckShapes((x) => tg.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false, ceilMode: true }), [[1, 2, 6, 5]], { seed: 4 });
    gradcheckShapes((x) => tg.adaptiveAvgPool2d(x, [3, 2]), [[2, 1, 5, 7]], { seed: 5 });
    for (const pool of [(t: tg.Tensor) => tg.avgPool2d(t, 2, { stride: 1, padding: 1 }), (t: tg.Tensor) => tg.adaptiveAvgPool2d(t, 3)]) {
      const second = (x: tg.Tensor): tg.Tensor =>
        tg.enableGrad(() => {
          const leaf = x.requiresGrad ? x : x.detach().requiresGrad_();
          const y = pool(leaf);
          return tg.grad(tg.sum(tg.mul(tg.mul(y, y), y)), [leaf], { createGraph: true })[0];
        });
      gradcheckShapes(second, [[1, 2, 4, 5]], { seed: 6 });
    }
  });
});

describe('pooling: float16 and bfloat16', () => {
  it('every kind, forward and backward, equals float32 on the same half values, rounded once', () => {
    const kinds: [string, (t: tg.Tensor) => tg.Tensor][] = [
      ['max', (t) => tg.maxPool2d(t, 3, { stride: 2, padding: 1 })],
      ['avg', (t) => tg.avgPool2d(t, [2, 3], { stride: [1, 2], padding: [1, 1], countIncludePad: false })],
      ['adaptive', (t) => tg.adaptiveAvgPool2d(t, [3, 2])],
    ];
    for (const dtype of ['float16', 'bfloat16'] as const) {
      for (const [name, pool] of kinds) {
        const x = tg.randn([2, 3, 7, 6], { seed: 41 }).to(dtype).requiresGrad_();
        const xf = x.detach().to('float32').requiresGrad_();
        const y = pool(x);
        const yf = pool(xf);
        expect(y.dtype, name).toBe(dtype);
        const gy = tg.randn(y.shape, { seed: 42 }).to(dtype);
        tg.sum(tg.mul(y, gy)).backward();
        tg.sum(tg.mul(yf, gy.to('float32'))).backward();
        expect(Array.from(y.data()), name).toEqual(Array.from(yf.to(dtype).data()));
        expect(Array.from(x.grad!.data()), name).toEqual(Array.from(xf.grad!.to(dtype).data()));
      }
    }
  });
});

describe('pooling: thread counts', () => {
  const threads = tg.getNumThreads();
  afterAll(() => tg.setNumThreads(threads));

  it('1, 2 and 3 threads give identical results', () => {
    const { t: x } = randomTensor([4, 16, 33, 17], { dtype: 'float32', seed: 9, requiresGrad: true });
    const ops = [
      (t: tg.Tensor) => tg.maxPool2d(t, 3, { stride: 2, padding: 1 }),
      (t: tg.Tensor) => tg.avgPool2d(t, 3, { stride: 2, padding: 1 }),
      (t: tg.Tensor) => tg.adaptiveAvgPool2d(t, [5, 7]),
    ];
    for (const op of ops) {
      const runs = [1, 2, 3].map((n) => {
        tg.setNumThreads(n);
        x.grad = null;
        const y = op(x);
        y.backward(tg.onesLike(y));
        return [Array.from(y.data()), Array.from(x.grad!.data())];
      });
      expect(runs[1]).toEqual(runs[0]);
      expect(runs[2]).toEqual(runs[0]);
    }
  });
});

describe('pooling: errors', () => {
  const z = (shape: number[], dtype: tg.DType = 'float32') => tg.zeros(shape, { dtype });

  it('inputs', () => {
    expect(() => tg.maxPool2d(z([8, 8]), 2)).toThrow(RangeError);
    expect(() => tg.maxPool2d(z([8, 8]), 2)).toThrow(
      'maxPool2d: Expected a 3-D (unbatched) or 4-D (batched) tensor for input but received a float32 tensor of shape [8,8]',
    );
    expect(() => tg.avgPool2d(z([1, 4, 4], 'int32'), 2)).toThrow(TypeError);
    expect(() => tg.avgPool2d(z([1, 4, 4], 'int32'), 2)).toThrow(
      'avgPool2d: Expected a floating-point tensor for input but received a int32 tensor of shape [1,4,4]',
    );
    expect(() => tg.maxPool2d(z([2, 0, 4, 4]), 2)).toThrow(
      'maxPool2d: Expected non-empty channel and spatial dims for input but received a float32 tensor of shape [2,0,4,4]',
    );
    expect(() => tg.adaptiveAvgPool2d(3 as never, 2)).toThrow('adaptiveAvgPool2d: Expected a Tensor for input but received 3');
    // an empty batch is fine
    expect(tg.maxPool2d(z([0, 2, 4, 4]), 2).shape).toEqual([0, 2, 2, 2]);
  });

  it('window parameters and output size', () => {
    const x = z([1, 1, 8, 8]);
    expect(() => tg.maxPool2d(x, 0)).toThrow('maxPool2d: Expected a positive integer for kernelSize but received 0');
    expect(() => tg.maxPool2d(x, [2, 2, 2] as never)).toThrow(
      'maxPool2d: Expected a positive integer or a pair of them for kernelSize but received [2,2,2]',
    );
    expect(() => tg.maxPool2d(x, 2, { stride: [1, 0] })).toThrow('maxPool2d: Expected a positive integer for stride[1] but received 0');
    expect(() => tg.avgPool2d(x, 3, { padding: -1 })).toThrow('avgPool2d: Expected a non-negative integer for padding but received -1');
    expect(() => tg.maxPool2d(x, 3, { padding: [2, 0] })).toThrow(RangeError);
    expect(() => tg.maxPool2d(x, 3, { padding: [2, 0] })).toThrow('maxPool2d: padding 2x0 must be at most half the kernel size 3x3');
    expect(() => tg.maxPool2d(x, 2, { dilation: 0 })).toThrow('maxPool2d: Expected a positive integer for dilation but received 0');
    expect(() => tg.maxPool2d(x, 2, { ceilMode: 1 as never })).toThrow('maxPool2d: Expected a boolean for ceilMode but received 1');
    expect(() => tg.avgPool2d(x, 2, { countIncludePad: 'yes' as never })).toThrow(
      "avgPool2d: Expected a boolean for countIncludePad but received 'yes'",
    );
    expect(() => tg.maxPool2d(z([1, 1, 2, 8]), 3)).toThrow(
      'maxPool2d: output size 0x2 is not positive: the kernel spans 3x3 but the padded input is 2x8 (input shape [1,1,2,8], padding 0x0, dilation 1x1)',
    );
    expect(() => tg.avgPool2d(z([1, 1, 2, 8]), 3)).toThrow(
      'avgPool2d: output size 0x2 is not positive: the kernel spans 3x3 but the padded input is 2x8 (input shape [1,1,2,8], padding 0x0)',
    );
    expect(() => tg.maxPool2d(z([1, 1, 2, 6]), 2, { padding: 1, dilation: 3 })).toThrow(
      'maxPool2d: the window of output row 0 holds no input element (kernel 2, dilation 3, padding 1, input shape [1,1,2,6])',
    );
    expect(() => tg.adaptiveAvgPool2d(x, 0)).toThrow('adaptiveAvgPool2d: Expected a positive integer for outputSize but received 0');
    expect(() => tg.adaptiveAvgPool2d(x, [1, 2, 3] as never)).toThrow(
      'adaptiveAvgPool2d: Expected a positive integer or a pair of them (null keeps a size) for outputSize but received [1,2,3]',
    );
    expect(() => tg.adaptiveAvgPool2d(x, [2, 0])).toThrow('adaptiveAvgPool2d: Expected a positive integer for outputSize[1] but received 0');
  });

  it('the native entry re-checks sizes and indices', () => {
    const s = (n: number, dtype: tg.DType = 'float32') => new native.Storage(native.dtypes[dtype], n, 0);
    const k = native.poolKinds;
    const geo = [2, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 1, 1];
    expect(() => native.pool2d(k.avg, s(31), s(8), null, geo, true)).toThrow(
      'pool2d: argument 1 is too small: the op reads 32 elements but it holds 31',
    );
    expect(() => native.pool2d(k.avgBackward, s(8), s(31), null, geo, true)).toThrow(
      'pool2d: argument 2 is too small: the op reads 32 elements but it holds 31',
    );
    expect(() => native.pool2d(k.max, s(32), s(8), null, geo, true)).toThrow('pool2d: max pooling needs indices and the other kinds take none');
    expect(() => native.pool2d(k.max, s(32), s(8), s(8), geo, true)).toThrow('pool2d: indices must be int32 on the output\'s device');
    expect(() => native.pool2d(k.max, s(32), s(8), s(7, 'int32'), geo, true)).toThrow(
      'pool2d: argument 3 is too small: the op reads 8 elements but it holds 7',
    );
    const bad = tg.tensor([0, 1, 2, 16, 0, 0, 0, 0], { dtype: 'int32' });
    expect(() => native.pool2d(k.maxBackward, s(8), s(32), bad._s, geo, true)).toThrow(
      'pool2d: index 16 is out of range for a plane of 16 elements',
    );
    expect(() => native.pool2d(k.avg, s(32), s(8), null, [...geo.slice(0, 7), 0, ...geo.slice(8)], true)).toThrow(
      'pool2d: kernel size, stride and dilation must be positive',
    );
    expect(() => native.pool2d(k.avg, s(32, 'float64'), s(8), null, geo, true)).toThrow(
      'pool2d: argument 1 has dtype float64, expected float32',
    );
  });
});
