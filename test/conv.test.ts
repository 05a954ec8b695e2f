/**
 * conv2d / conv1d: forward and both gradients against nested-loop references over
 * many geometries (sizes that miss SIMD widths and col blocks, stride, padding,
 * dilation, groups, depthwise, 1x1, 'same'), float32 and float64, every direct
 * kernel ISA, 1 to 3 threads; gradcheck (first and second order); exact errors.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tg from '../lib/index';
import { native } from '../lib/binding';
import { CPU_RUNS, expectClose, gradcheckShapes, numelOf, randomTensor } from './helpers';

type Pair = [number, number];

/** A resolved geometry: padding is the top/left amount, out the output size. */
interface Geo {
  stride: Pair;
  padding: Pair;
  dilation: Pair;
  groups: number;
  out: Pair;
}

function geometry(xs: readonly number[], ws: readonly number[], opts: tg.Conv2dOptions): Geo {
  const pair = (v: number | readonly number[] | undefined, d: number): Pair =>
    v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  const stride = pair(opts.stride, 1);
  const dilation = pair(opts.dilation, 1);
  const span: Pair = [dilation[0] * (ws[2] - 1) + 1, dilation[1] * (ws[3] - 1) + 1];
  if (opts.padding === 'same') {
    return { stride, dilation, groups: opts.groups ?? 1, padding: [Math.floor((span[0] - 1) / 2), Math.floor((span[1] - 1) / 2)], out: [xs[2], xs[3]] };
  }
  const padding = opts.padding === 'valid' ? ([0, 0] as Pair) : pair(opts.padding as number | Pair | undefined, 0);
  const out: Pair = [
    Math.floor((xs[2] + 2 * padding[0] - span[0]) / stride[0]) + 1,
    Math.floor((xs[3] + 2 * padding[1] - span[1]) / stride[1]) + 1,
  ];
  return { stride, dilation, groups: opts.groups ?? 1, padding, out };
}

/**
 * Visits every (output, input, weight) triple of the convolution: fn(yIndex,
 * xIndex, wIndex, oc). The forward and both gradients are sums over these.
 */
function eachTap(xs: readonly number[], ws: readonly number[], g: Geo, fn: (yi: number, xi: number, wi: number, oc: number) => void): void {
  const [n, c, h, w] = xs;
  const [oc, cg, kh, kw] = ws;
  const [oh, ow] = g.out;
  const ocg = oc / g.groups;
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < oc; o++) {
      const grp = Math.floor(o / ocg);
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          const yi = ((b * oc + o) * oh + i) * ow + j;
          for (let ci = 0; ci < cg; ci++) {
            for (let a = 0; a < kh; a++) {
              const ih = i * g.stride[0] - g.padding[0] + a * g.dilation[0];
              if (ih < 0 || ih >= h) continue;
              for (let e = 0; e < kw; e++) {
                const iw = j * g.stride[1] - g.padding[1] + e * g.dilation[1];
                if (iw < 0 || iw >= w) continue;
                fn(yi, ((b * c + grp * cg + ci) * h + ih) * w + iw, ((o * cg + ci) * kh + a) * kw + e, o);
              }
            }
          }
        }
      }
    }
  }
}

function refForward(x: Float64Array, xs: number[], w: Float64Array, ws: number[], bias: Float64Array | null, g: Geo): Float64Array {
  const [oh, ow] = g.out;
  const y = new Float64Array(xs[0] * ws[0] * oh * ow);
  if (bias) for (let i = 0; i < y.length; i++) y[i] = bias[Math.floor(i / (oh * ow)) % ws[0]];
  eachTap(xs, ws, g, (yi, xi, wi) => {
    y[yi] += x[xi] * w[wi];
  });
  return y;
}

function refGrads(x: Float64Array, xs: number[], w: Float64Array, ws: number[], gy: Float64Array, g: Geo) {
  const gx = new Float64Array(x.length);
  const gw = new Float64Array(w.length);
  const gb = new Float64Array(ws[0]);
  const plane = g.out[0] * g.out[1];
  for (let i = 0; i < gy.length; i++) gb[Math.floor(i / plane) % ws[0]] += gy[i];
  eachTap(xs, ws, g, (yi, xi, wi) => {
    gx[xi] += gy[yi] * w[wi];
    gw[wi] += gy[yi] * x[xi];
  });
  return { gx, gw, gb };
}

/** Float32 sums of `terms` products of values up to 2 in size. */
const tolFor = (dtype: tg.DType, terms: number) =>
  dtype === 'float64' ? { atol: 1e-11 * (terms + 1), rtol: 1e-11 } : { atol: 2e-6 * (terms + 1), rtol: 1e-5 };

interface Case {
  x: number[];
  w: number[];
  opts?: tg.Conv2dOptions;
  bias?: boolean;
}

/** Runs conv2d forward and backward and compares all of it with the references. */
function check({ x: xs, w: ws, opts = {}, bias = true }: Case, dtype: tg.DType, seed: number): void {
  const where = `x [${xs}] w [${ws}] ${JSON.stringify(opts)} ${dtype}`;
  const { t: x, v: xv } = randomTensor(xs, { dtype, seed, requiresGrad: true });
  const { t: w, v: wv } = randomTensor(ws, { dtype, seed: seed + 1, requiresGrad: true });
  const b = bias ? randomTensor([ws[0]], { dtype, seed: seed + 2, requiresGrad: true }) : null;
  const g = geometry(xs, ws, opts);
  const y = tg.conv2d(x, w, b?.t, opts);
  try {
    expect(y.shape).toEqual([xs[0], ws[0], ...g.out]);
    expect(y.dtype).toBe(dtype);
    expectClose(y.data(), refForward(xv, xs, wv, ws, b ? b.v : null, g), tolFor(dtype, numelOf(ws.slice(1))));
    const { t: gy, v: gyv } = randomTensor(y.shape, { dtype, seed: seed + 3 });
    y.backward(gy);
    const want = refGrads(xv, xs, wv, ws, gyv, g);
    const perWeight = xs[0] * g.out[0] * g.out[1];
    expectClose(x.grad!.data(), want.gx, tolFor(dtype, ws[0] * numelOf(ws.slice(2))));
    expectClose(w.grad!.data(), want.gw, tolFor(dtype, perWeight));
    if (b) expectClose(b.t.grad!.data(), want.gb, tolFor(dtype, perWeight));
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

const CASES: Case[] = [
  { x: [2, 3, 8, 8], w: [4, 3, 3, 3], opts: { padding: 1 } },
  { x: [1, 1, 1, 1], w: [1, 1, 1, 1] },
  { x: [3, 17, 17, 17], w: [5, 17, 3, 3], opts: { padding: 1 } },
  // R = 297 rows of col, P = 961 positions: several col blocks in float32 and float64
  { x: [2, 33, 33, 33], w: [3, 33, 3, 3] },
  // R = 1600: narrow blocks of 48 columns
  { x: [1, 64, 20, 20], w: [2, 64, 5, 5], opts: { padding: 2 } },
  { x: [2, 3, 17, 17], w: [4, 3, 3, 3], opts: { stride: 2, padding: 1 } },
  { x: [2, 4, 17, 33], w: [3, 4, 3, 2], opts: { stride: [2, 3], padding: [0, 2], dilation: [2, 1] } },
  { x: [1, 3, 9, 9], w: [2, 3, 3, 3], opts: { dilation: 2, padding: 2 } },
  { x: [2, 4, 9, 9], w: [6, 2, 3, 3], opts: { padding: 1, groups: 2 } },
  { x: [1, 9, 10, 11], w: [3, 3, 2, 2], opts: { stride: 2, groups: 3 } },
  // kernel larger than the input, padding makes room
  { x: [1, 2, 3, 3], w: [2, 2, 5, 5], opts: { padding: 2 } },
  // 1x1: no col at all; and a strided 1x1, which needs one
  { x: [2, 33, 5, 7], w: [17, 33, 1, 1] },
  { x: [1, 6, 4, 4], w: [9, 2, 1, 1], opts: { groups: 3 } },
  { x: [1, 4, 7, 7], w: [3, 4, 1, 1], opts: { stride: 2 } },
  // padding beyond the kernel's reach: output larger than the input
  { x: [1, 3, 4, 5], w: [2, 3, 1, 1], opts: { padding: 2 } },
  // one input channel, many filters: GEMM with R = kh*kw
  { x: [3, 1, 12, 12], w: [8, 1, 3, 3], opts: { padding: 1 } },
  // one input channel, two filters: the direct kernels with groups 1
  { x: [2, 1, 7, 7], w: [2, 1, 3, 3], opts: { padding: 1 } },
  { x: [1, 3, 6, 7], w: [2, 3, 4, 4], opts: { padding: 'same' } },
  { x: [1, 2, 8, 8], w: [2, 2, 3, 3], opts: { padding: 'same', dilation: 2 } },
  { x: [2, 2, 6, 5], w: [3, 2, 3, 2], opts: { padding: 'valid' }, bias: false },
  { x: [2, 3, 33, 33], w: [8, 3, 3, 3], opts: { padding: 1 } },
  { x: [0, 3, 5, 5], w: [2, 3, 3, 3] },
];

// groups == channels: the direct (non-GEMM) kernels
const DEPTHWISE: Case[] = [
  { x: [2, 17, 17, 17], w: [17, 1, 3, 3], opts: { padding: 1, groups: 17 } },
  { x: [2, 3, 9, 9], w: [6, 1, 3, 3], opts: { padding: 1, groups: 3 } },
  { x: [2, 5, 17, 17], w: [5, 1, 3, 3], opts: { stride: 2, padding: 1, groups: 5 } },
  { x: [1, 4, 13, 12], w: [4, 1, 5, 3], opts: { padding: [3, 1], dilation: 2, groups: 4 } },
  { x: [1, 3, 7, 9], w: [3, 1, 3, 3], opts: { stride: [1, 2], groups: 3 } },
  { x: [1, 3, 9, 7], w: [3, 1, 3, 3], opts: { stride: [2, 1], padding: [1, 0], groups: 3 } },
  { x: [1, 2, 4, 5], w: [2, 1, 1, 1], opts: { padding: 2, groups: 2 } },
  { x: [1, 2, 12, 12], w: [2, 1, 9, 9], opts: { padding: 4, groups: 2 } },
  { x: [1, 3, 10, 10], w: [3, 1, 7, 7], opts: { padding: 3, groups: 3 } },
  { x: [3, 33, 1, 33], w: [33, 1, 1, 5], opts: { padding: [0, 2], groups: 33 } },
  { x: [1, 4, 6, 6], w: [4, 1, 4, 4], opts: { padding: 'same', groups: 4 } },
  { x: [2, 3, 5, 5], w: [3, 1, 2, 2], opts: { stride: 3, padding: 1, groups: 3 } },
];

describe('conv2d: forward, grad-input and grad-weight against nested loops', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    it(`GEMM path: sizes, stride, padding, dilation, groups, 1x1, 'same' (${dtype})`, () => {
      CASES.forEach((c, i) => check(c, dtype, 100 + i));
    });

    it(`direct path: depthwise and channel multipliers (${dtype})`, () => {
      DEPTHWISE.forEach((c, i) => check(c, dtype, 200 + i));
    });
  }

  it('known values: a 2x2 kernel over a 3x3 ramp', () => {
    const x = tg.arange(9, undefined, 1, { dtype: 'float64' }).reshape([1, 1, 3, 3]);
    const w = tg.tensor([[[[1, 0], [0, -1]]]], { dtype: 'float64' });
    expect(tg.conv2d(x, w).toArray()).toEqual([[[[-4, -4], [-4, -4]]]]);
    expect(tg.conv2d(x, w, tg.tensor([10], { dtype: 'float64' }), { padding: 1 }).toArray()).toEqual([
      [[[10, 9, 8, 10], [7, 6, 6, 12], [4, 6, 6, 15], [10, 16, 17, 18]]],
    ]);
  });

  it('unbatched [C, H, W] input gives the batched result without the batch dim', () => {
    const { t: x } = randomTensor([3, 9, 8], { dtype: 'float32', seed: 5 });
    const { t: w } = randomTensor([4, 3, 3, 3], { dtype: 'float32', seed: 6 });
    const y = tg.conv2d(x, w, null, { stride: 2, padding: 1 });
    expect(y.shape).toEqual([4, 5, 4]);
    const batched = tg.conv2d(x.reshape([1, 3, 9, 8]), w, null, { stride: 2, padding: 1 });
    expect(Array.from(y.data())).toEqual(Array.from(batched.data()));
  });

  it('only the inputs that require grad get one', () => {
    const { t: x } = randomTensor([1, 2, 5, 5], { seed: 7, requiresGrad: true });
    const { t: w } = randomTensor([3, 2, 3, 3], { seed: 8 });
    const { t: b } = randomTensor([3], { seed: 9 });
    tg.sum(tg.conv2d(x, w, b)).backward();
    expect(x.grad?.shape).toEqual([1, 2, 5, 5]);
    expect(w.grad).toBeNull();
    expect(b.grad).toBeNull();
    const y = tg.noGrad(() => tg.conv2d(x, w, b));
    expect(y.requiresGrad).toBe(false);
  });
});

describe('conv1d', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    it(`agrees with conv2d over a height of 1 (${dtype})`, () => {
      const forms: Array<[number[], number[], tg.Conv1dOptions]> = [
        [[2, 4, 17], [6, 2, 3], { stride: 2, padding: 1, groups: 2 }],
        [[3, 5, 33], [5, 1, 5], { padding: 'same', groups: 5 }],
        [[1, 3, 16], [4, 3, 4], { dilation: [3], padding: [2] }],
        [[2, 1, 1], [2, 1, 1], {}],
      ];
      forms.forEach(([xs, ws, opts], i) => {
        const { t: x, v: xv } = randomTensor(xs, { dtype, seed: 300 + i, requiresGrad: true });
        const { t: w, v: wv } = randomTensor(ws, { dtype, seed: 310 + i, requiresGrad: true });
        const y = tg.conv1d(x, w, null, opts);
        const one = (v: unknown) => (Array.isArray(v) ? v[0] : v) as number | undefined;
        const opts2: tg.Conv2dOptions = {
          stride: [1, one(opts.stride) ?? 1],
          dilation: [1, one(opts.dilation) ?? 1],
          padding: opts.padding === 'same' ? 'same' : [0, one(opts.padding) ?? 0],
          groups: opts.groups,
        };
        const xs4 = [xs[0], xs[1], 1, xs[2]];
        const ws4 = [ws[0], ws[1], 1, ws[2]];
        const g = geometry(xs4, ws4, opts2);
        expect(y.shape).toEqual([xs[0], ws[0], g.out[1]]);
        expectClose(y.data(), refForward(xv, xs4, wv, ws4, null, g), tolFor(dtype, numelOf(ws.slice(1))));
        const { t: gy, v: gyv } = randomTensor(y.shape, { dtype, seed: 320 + i });
        y.backward(gy);
        const want = refGrads(xv, xs4, wv, ws4, gyv, g);
        expectClose(x.grad!.data(), want.gx, tolFor(dtype, 64));
        expectClose(w.grad!.data(), want.gw, tolFor(dtype, 64));
      });
    });
  }

  it('unbatched [C, L] input', () => {
    const { t: x } = randomTensor([4, 12], { dtype: 'float32', seed: 11 });
    const { t: w } = randomTensor([2, 4, 3], { dtype: 'float32', seed: 12 });
    const y = tg.conv1d(x, w, null, { padding: 1 });
    expect(y.shape).toEqual([2, 12]);
    expect(Array.from(y.data())).toEqual(Array.from(tg.conv1d(x.reshape([1, 4, 12]), w, null, { padding: 1 }).data()));
  });
});

describe('conv2d: every direct-kernel ISA this CPU can run', () => {
  const chosen = tg.cpuInfo().isa;
  afterAll(() => {
    native.selectIsa(chosen);
  });

  for (const isa of ['generic', 'avx2', 'avx512'] as const) {
    it.skipIf(!CPU_RUNS[isa])(`${isa} stencils agree with the reference`, () => {
      expect(native.selectIsa(isa)).toBe(true);
      try {
        for (const dtype of ['float32', 'float64'] as const) {
          [DEPTHWISE[0], DEPTHWISE[2], DEPTHWISE[3], DEPTHWISE[7], DEPTHWISE[9]].forEach((c, i) => check(c, dtype, 400 + i));
        }
      } finally {
        native.selectIsa(chosen);
      }
    });
  }
});

describe('conv2d: thread counts', () => {
  const threads = tg.getNumThreads();
  afterAll(() => tg.setNumThreads(threads));

  it('1, 2 and 3 threads agree (image split, group split, batch 1, depthwise)', () => {
    const forms: Case[] = [
      { x: [4, 8, 17, 17], w: [16, 8, 3, 3], opts: { padding: 1 } },
      { x: [1, 8, 33, 17], w: [16, 8, 3, 3], opts: { padding: 1, stride: [1, 2] } },
      { x: [2, 8, 9, 9], w: [8, 2, 3, 3], opts: { groups: 4 } },
      { x: [3, 6, 17, 17], w: [12, 1, 3, 3], opts: { padding: 1, groups: 6 } },
      { x: [5, 4, 9, 9], w: [4, 1, 3, 3], opts: { stride: 2, groups: 4 } },
    ];
    forms.forEach((c, i) => {
      const { t: x } = randomTensor(c.x, { dtype: 'float32', seed: 500 + i, requiresGrad: true });
      const { t: w } = randomTensor(c.w, { dtype: 'float32', seed: 510 + i, requiresGrad: true });
      const runs = [1, 2, 3].map((n) => {
        tg.setNumThreads(n);
        x.grad = null;
        w.grad = null;
        const y = tg.conv2d(x, w, null, c.opts);
        y.backward(tg.onesLike(y));
        return [y.data(), x.grad!.data(), w.grad!.data()];
      });
      for (const r of runs.slice(1)) {
        for (let k = 0; k < 3; k++) expectClose(r[k], runs[0][k], { atol: 1e-3, rtol: 1e-5 });
      }
    });
  });
});

describe('conv2d: gradients (gradcheck, float64)', () => {
  it('conv2d with bias, stride, padding and groups', () => {
    gradcheckShapes((x, w, b) => tg.conv2d(x, w, b, { stride: 2, padding: 1, groups: 2 }), [[2, 4, 5, 5], [6, 2, 3, 3], [6]]);
  });

  it('conv2d with dilation and a 1x1 kernel', () => {
    gradcheckShapes((x, w) => tg.conv2d(x, w, null, { dilation: [2, 1], padding: [2, 0] }), [[1, 3, 5, 4], [2, 3, 3, 2]], { seed: 3 });
    gradcheckShapes((x, w, b) => tg.conv2d(x, w, b), [[2, 3, 3, 2], [4, 3, 1, 1], [4]], { seed: 4 });
  });

  it('depthwise, strided depthwise, conv1d', () => {
    gradcheckShapes((x, w, b) => tg.conv2d(x, w, b, { padding: 1, dilation: [1, 2], groups: 3 }), [[1, 3, 5, 6], [3, 1, 3, 3], [3]], { seed: 5 });
    gradcheckShapes((x, w) => tg.conv2d(x, w, null, { stride: 2, groups: 2 }), [[1, 2, 6, 6], [4, 1, 3, 3]], { seed: 6 });
    gradcheckShapes((x, w, b) => tg.conv1d(x, w, b, { padding: 'same' }), [[2, 2, 7], [3, 2, 3], [3]], { seed: 8 });
  });

  // gradients of gradients: the grad-input and grad-weight ops differentiate into conv ops again
  const secondOrder =
    (opts: tg.Conv2dOptions) =>
    (...xs: tg.Tensor[]): tg.Tensor =>
      tg.enableGrad(() => {
        const leaves = xs.map((t) => (t.requiresGrad ? t : t.detach().requiresGrad_()));
        const y = tg.conv2d(leaves[0], leaves[1], leaves[2] ?? null, opts);
        const grads = tg.grad(tg.sum(tg.mul(tg.mul(y, y), 0.5)), leaves, { createGraph: true });
        return tg.cat(grads.map((g) => g.reshape([-1])));
      });

  it('second derivatives (GEMM path)', () => {
    gradcheckShapes(secondOrder({ stride: 2, padding: 1 }), [[1, 2, 5, 5], [3, 2, 3, 3], [3]], { seed: 9 });
    gradcheckShapes(secondOrder({ padding: 1 }), [[2, 2, 4, 4], [2, 2, 3, 3]], { seed: 15 });
    gradcheckShapes(secondOrder({ groups: 2 }), [[2, 4, 3, 3], [2, 2, 2, 2]], { seed: 10 });
  });

  it('second derivatives (direct path)', () => {
    gradcheckShapes(secondOrder({ padding: 1, groups: 2 }), [[1, 2, 4, 4], [4, 1, 3, 3]], { seed: 11 });
    gradcheckShapes(secondOrder({ stride: 2, groups: 2 }), [[1, 2, 5, 5], [2, 1, 3, 3]], { seed: 12 });
  });

  it('the backward of grad-input and grad-weight is recorded as conv ops', () => {
    const { t: x } = randomTensor([1, 2, 4, 4], { seed: 13, requiresGrad: true });
    const { t: w } = randomTensor([3, 2, 3, 3], { seed: 14, requiresGrad: true });
    const { t: b } = randomTensor([3], { seed: 16, requiresGrad: true });
    const y = tg.conv2d(x, w, b);
    const [gx, gw, gb] = tg.grad(tg.sum(tg.mul(y, y)), [x, w, b], { createGraph: true });
    expect(gx.gradFn?.name).toBe('conv2dGradInput');
    expect(gw.gradFn?.name).toBe('conv2dGradWeight');
    expect(gb.gradFn?.name).toBe('conv2dGradBias');
  });
});

describe('conv2d / conv1d: errors', () => {
  const z = (shape: number[], dtype: tg.DType = 'float32') => tg.zeros(shape, { dtype });

  it('shapes, channels and groups', () => {
    expect(() => tg.conv2d(z([2, 4, 8, 8]), z([8, 3, 3, 3]))).toThrow(RangeError);
    expect(() => tg.conv2d(z([2, 4, 8, 8]), z([8, 3, 3, 3]))).toThrow(
      'conv2d: weight shape [8,3,3,3] needs 3 input channels per group but input has 4 channels (shape [2,4,8,8])',
    );
    expect(() => tg.conv2d(z([2, 4, 8, 8]), z([8, 3, 3, 3]), null, { groups: 2 })).toThrow(
      'conv2d: weight shape [8,3,3,3] needs 3 input channels per group (6 for groups 2) but input has 4 channels (shape [2,4,8,8])',
    );
    expect(() => tg.conv2d(z([1, 4, 5, 5]), z([6, 2, 3, 3]), null, { groups: 4 })).toThrow(
      'conv2d: weight shape [6,2,3,3] has 6 output channels, which groups 4 does not divide',
    );
    expect(() => tg.conv2d(z([4, 8, 8, 8, 1]), z([8, 8, 3, 3]))).toThrow(
      'conv2d: Expected a 3-D (unbatched) or 4-D (batched) tensor for input but received a float32 tensor of shape [4,8,8,8,1]',
    );
    expect(() => tg.conv2d(z([1, 3, 8, 8]), z([8, 3, 3]))).toThrow(
      'conv2d: Expected a 4-D tensor for weight but received a float32 tensor of shape [8,3,3]',
    );
    expect(() => tg.conv2d(z([1, 3, 8, 8]), z([8, 3, 3, 3]), z([4]))).toThrow(
      'conv2d: Expected a 1-D tensor of 8 elements for bias but received a float32 tensor of shape [4]',
    );
    expect(() => tg.conv2d(z([1, 3, 8, 8]), z([2, 3, 0, 3]))).toThrow('conv2d: weight shape [2,3,0,3] has an empty kernel');
    expect(() => tg.conv1d(z([2, 3, 8, 8]), z([4, 3, 3]))).toThrow(
      'conv1d: Expected a 2-D (unbatched) or 3-D (batched) tensor for input but received a float32 tensor of shape [2,3,8,8]',
    );
  });

  it('output size', () => {
    expect(() => tg.conv2d(z([2, 3, 4, 4]), z([2, 3, 5, 5]))).toThrow(RangeError);
    expect(() => tg.conv2d(z([2, 3, 4, 4]), z([2, 3, 5, 5]))).toThrow(
      'conv2d: output size 0x0 is not positive: the kernel spans 5x5 but the padded input is 4x4 (input shape [2,3,4,4], padding 0x0, dilation 1x1)',
    );
    expect(() => tg.conv2d(z([1, 1, 5, 9]), z([1, 1, 3, 3]), null, { dilation: [3, 1] })).toThrow(
      'conv2d: output size -1x7 is not positive: the kernel spans 7x3 but the padded input is 5x9 (input shape [1,1,5,9], padding 0x0, dilation 3x1)',
    );
    expect(() => tg.conv1d(z([1, 2, 4]), z([3, 2, 5]))).toThrow(
      'conv1d: output size 0 is not positive: the kernel spans 5 but the padded input is 4 (input shape [1,2,4], padding 0, dilation 1)',
    );
  });

  it('options', () => {
    const x = z([1, 3, 8, 8]);
    const w = z([4, 3, 3, 3]);
    expect(() => tg.conv2d(x, w, null, { stride: 0 })).toThrow(RangeError);
    expect(() => tg.conv2d(x, w, null, { stride: 0 })).toThrow('conv2d: Expected a positive integer for stride but received 0');
    expect(() => tg.conv2d(x, w, null, { stride: [1, 0] })).toThrow('conv2d: Expected a positive integer for stride[1] but received 0');
    expect(() => tg.conv2d(x, w, null, { padding: -1 })).toThrow('conv2d: Expected a non-negative integer for padding but received -1');
    expect(() => tg.conv2d(x, w, null, { dilation: 1.5 })).toThrow('conv2d: Expected a positive integer for dilation but received 1.5');
    expect(() => tg.conv2d(x, w, null, { groups: 0 })).toThrow('conv2d: Expected a positive integer for groups but received 0');
    expect(() => tg.conv2d(x, w, null, { padding: 'full' as 'same' })).toThrow(TypeError);
    expect(() => tg.conv2d(x, w, null, { padding: 'full' as 'same' })).toThrow(
      "conv2d: Expected a non-negative integer, a pair of them, 'valid' or 'same' for padding but received 'full'",
    );
    expect(() => tg.conv2d(x, w, null, { stride: [1, 2, 3] as unknown as [number, number] })).toThrow(
      'conv2d: Expected a positive integer or a pair of them for stride but received [1,2,3]',
    );
    expect(() => tg.conv2d(x, w, null, { stride: 2, padding: 'same' })).toThrow(
      "conv2d: padding 'same' is not supported for strided convolutions (stride 2x2)",
    );
    expect(() => tg.conv2d(x, w, null, 3 as never)).toThrow('conv2d: Expected an options object for options but received 3');
    expect(() => tg.conv1d(z([1, 3, 8]), z([4, 3, 3]), null, { stride: [1, 2] as unknown as [number] })).toThrow(
      'conv1d: Expected a positive integer or an array of one for stride but received [1,2]',
    );
  });

  it('float16 and bfloat16: forward and both gradients equal float32 on the half-rounded operands, rounded once', () => {
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const x = tg.randn([2, 4, 7, 5], { seed: 31 }).to(dtype).requiresGrad_();
      const w = tg.randn([6, 2, 3, 2], { seed: 32 }).to(dtype).requiresGrad_();
      const b = tg.randn([6], { seed: 33 }).to(dtype).requiresGrad_();
      const opts = { stride: [2, 1] as [number, number], padding: 1, groups: 2 };
      const y = tg.conv2d(x, w, b, opts);
      expect(y.dtype).toBe(dtype);
      const gy = tg.randn(y.shape, { seed: 34 }).to(dtype);
      tg.sum(tg.mul(y, gy)).backward();
      const f = (t: tg.Tensor) => t.detach().to('float32').requiresGrad_();
      const [xf, wf, bf] = [f(x), f(w), f(b)];
      const yf = tg.conv2d(xf, wf, bf, opts);
      tg.sum(tg.mul(yf, gy.to('float32'))).backward();
      const same = (got: tg.Tensor, want: tg.Tensor) => expect(Array.from(got.data())).toEqual(Array.from(want.to(dtype).data()));
      same(y, yf);
      same(x.grad!, xf.grad!);
      same(w.grad!, wf.grad!);
      same(b.grad!, bf.grad!);
    }
  });

  it('types and dtypes', () => {
    expect(() => tg.conv2d(3 as never, z([4, 3, 3, 3]))).toThrow(TypeError);
    expect(() => tg.conv2d(3 as never, z([4, 3, 3, 3]))).toThrow('conv2d: Expected a Tensor for input but received 3');
    expect(() => tg.conv2d(z([1, 1, 3, 3], 'int32'), z([1, 1, 3, 3], 'int32'))).toThrow(
      'conv2d: Expected a floating-point tensor for input but received a int32 tensor of shape [1,1,3,3]',
    );
    expect(() => tg.conv2d(z([1, 1, 3, 3], 'float64'), z([1, 1, 3, 3]))).toThrow(
      'conv2d: input (float64) and weight (float32) must have the same dtype',
    );
    expect(() => tg.conv2d(z([1, 1, 3, 3]), z([1, 1, 3, 3]), z([1], 'float64'))).toThrow(
      'conv2d: input (float32) and bias (float64) must have the same dtype',
    );
  });

  it('the native entry re-checks sizes against the storages', () => {
    const s = (n: number, dtype: tg.DType = 'float32') => new native.Storage(native.dtypes[dtype], n, 0);
    const k = native.convKinds;
    const geo = [1, 3, 5, 5, 2, 3, 3, 3, 3, 1, 1, 0, 0, 1, 1, 1];
    expect(() => native.conv2d(k.forward, s(74), s(54), null, s(18), geo)).toThrow(
      'conv2d: argument 1 is too small: the op reads 75 elements but it holds 74',
    );
    expect(() => native.conv2d(k.forward, s(75), s(54), s(1), s(18), geo)).toThrow(
      'conv2d: argument 3 is too small: the op reads 2 elements but it holds 1',
    );
    expect(() => native.conv2d(k.gradInput, s(18), s(54), null, s(74), geo)).toThrow(
      'conv2d: argument 4 is too small: the op reads 75 elements but it holds 74',
    );
    expect(() => native.conv2d(k.gradWeight, s(75), s(17), null, s(54), geo)).toThrow(
      'conv2d: argument 2 is too small: the op reads 18 elements but it holds 17',
    );
    expect(() => native.conv2d(k.gradInput, s(18), s(54), s(2), s(75), geo)).toThrow('conv2d: only the forward kernel takes a bias');
    expect(() => native.conv2d(k.forward, s(75), s(54), null, s(18), geo.slice(1))).toThrow(
      'conv2d: argument 5 has 15 entries, expected 16',
    );
    expect(() => native.conv2d(k.forward, s(75), s(54), null, s(18), [...geo.slice(0, 15), 2])).toThrow(
      'conv2d: groups must divide the input and output channels',
    );
    expect(() => native.conv2d(k.forward, s(75), s(54), null, s(18), [...geo.slice(0, 9), 0, ...geo.slice(10)])).toThrow(
      'conv2d: kernel size, stride, dilation and groups must be positive',
    );
    expect(() => native.conv2d(k.forward, s(75), s(54), null, s(18), [...geo.slice(0, 11), 2 ** 31, ...geo.slice(12)])).toThrow(
      'conv2d: argument 5 has a size outside [0, 2^31)',
    );
    expect(() => native.conv2d(k.forward, s(75, 'int32'), s(54, 'int32'), null, s(18, 'int32'), geo)).toThrow(
      'conv2d: argument 4 must be a floating-point storage, got int32',
    );
    expect(() => native.conv2d(k.forward, s(75, 'float64'), s(54), null, s(18), geo)).toThrow(
      'conv2d: argument 1 has dtype float64, expected float32',
    );
    expect(() => native.conv2d(k.gradBias, s(17), null, null, s(2), geo)).toThrow(
      'conv2d: argument 1 is too small: the op reads 18 elements but it holds 17',
    );
    expect(() => native.conv2d(k.gradBias, s(18), null, null, s(1), geo)).toThrow(
      'conv2d: argument 4 is too small: the op reads 2 elements but it holds 1',
    );
    expect(() => native.conv2d(k.gradWeight, s(75), null, null, s(54), geo)).toThrow('conv2d: argument 2 is not a Storage');
    expect(() => native.conv2d(7, s(75), s(54), null, s(18), geo)).toThrow('conv2d: unknown kind');
  });
});
