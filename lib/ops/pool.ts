/**
 * 2-D pooling with PyTorch's semantics: maxPool2d (with the argmax positions),
 * avgPool2d and adaptiveAvgPool2d over the last two dims of [N, C, H, W] or
 * [C, H, W] input. Each backward kernel is an op with its own backward (the
 * average poolings are linear, max pooling's backward is a scatter whose adjoint
 * is a gather), so derivatives of any order work.
 */
import { native, type PoolKind } from '../binding';
import { record } from '../autograd';
import { checkBoolean, checkInteger, checkOptions, checkTensor, expected } from '../check';
import { isFloating } from '../dtype';
import { formatShape } from '../shape';
import { Tensor } from '../tensor';
import { cast } from './convert';
import { gather, reshape } from './shape';

type Pair = readonly [number, number];

export interface MaxPool2dOptions {
  /** Default: the kernel size. */
  stride?: number | Pair | null;
  /** Implicit -infinity on each side, at most half the kernel (default 0). */
  padding?: number | Pair;
  /** Spacing between window taps (default 1). */
  dilation?: number | Pair;
  /** Round the output size up, so a last partial window counts (default false). */
  ceilMode?: boolean;
}

export interface AvgPool2dOptions {
  /** Default: the kernel size. */
  stride?: number | Pair | null;
  /** Implicit zeros on each side, at most half the kernel (default 0). */
  padding?: number | Pair;
  /** Round the output size up, so a last partial window counts (default false). */
  ceilMode?: boolean;
  /** Divide by the whole window, padding included (default true), or by the input elements in it. */
  countIncludePad?: boolean;
}

export interface MaxPool2dResult {
  values: Tensor;
  /** int32, the position of each maximum in its flattened input plane (h * W + w), as PyTorch's return_indices. */
  indices: Tensor;
}

/** Planes (every dim but the last two) and the kernel parameters. */
interface Geometry {
  planes: number; h: number; w: number; oh: number; ow: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
  countIncludePad: boolean;
}

function run(kind: PoolKind, src: Tensor, shape: readonly number[], g: Geometry, indices: Tensor | null): Tensor {
  const out = Tensor._empty('pool2d', shape, src.dtype, src.device);
  native.pool2d(
    native.poolKinds[kind], src._s, out._s, indices ? indices._s : null,
    [g.planes, g.h, g.w, g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw], g.countIncludePad,
  );
  return out;
}

function like(g: Tensor, ref: Tensor): Tensor {
  return g.dtype === ref.dtype ? g : cast(g, ref.dtype);
}

const outShape = (x: Tensor, g: Geometry): number[] => [...x.shape.slice(0, -2), g.oh, g.ow];

function checkInput(op: string, input: unknown): Tensor {
  const x = checkTensor(op, 'input', input);
  if (x.ndim !== 3 && x.ndim !== 4) expected(RangeError, op, 'a 3-D (unbatched) or 4-D (batched) tensor', 'input', x);
  if (!isFloating(x.dtype)) expected(TypeError, op, 'a floating-point tensor', 'input', x);
  // the batch may be empty; a plane or a channel count may not (PyTorch's rule)
  if (x.shape.slice(-3).some((d) => d === 0)) {
    expected(RangeError, op, 'non-empty channel and spatial dims', 'input', x);
  }
  return x;
}

function pair(op: string, name: string, value: unknown, min: number): [number, number] {
  if (typeof value === 'number') {
    const v = checkInteger(op, name, value, min);
    return [v, v];
  }
  if (Array.isArray(value) && value.length === 2) {
    return [checkInteger(op, `${name}[0]`, value[0], min), checkInteger(op, `${name}[1]`, value[1], min)];
  }
  const what = min === 1 ? 'a positive integer' : 'a non-negative integer';
  return expected(TypeError, op, `${what} or a pair of them`, name, value);
}

const hw = (v: readonly number[]): string => `${v[0]}x${v[1]}`;

/** PyTorch's pooling output size, ceil mode included. */
function outputSize(size: number, k: number, s: number, p: number, d: number, ceilMode: boolean): number {
  const span = d * (k - 1) + 1;
  let out = Math.floor((size + 2 * p - span + (ceilMode ? s - 1 : 0)) / s) + 1;
  // a last window must start inside the input or its left padding
  if (ceilMode && (out - 1) * s >= size + p) out--;
  return out;
}

/** Geometry of a windowed pooling after its checks; dilation is 1 for average pooling. */
function windowed(
  op: string, x: Tensor, kernelSize: unknown, opts: Record<string, unknown>, withDilation: boolean, countIncludePad: boolean,
): Geometry {
  const k = pair(op, 'kernelSize', kernelSize, 1);
  const s = opts.stride === undefined || opts.stride === null ? k : pair(op, 'stride', opts.stride, 1);
  const p = pair(op, 'padding', opts.padding ?? 0, 0);
  const d = withDilation ? pair(op, 'dilation', opts.dilation ?? 1, 1) : [1, 1];
  const ceilMode = checkBoolean(op, 'ceilMode', opts.ceilMode ?? false);
  if (p[0] > Math.floor(k[0] / 2) || p[1] > Math.floor(k[1] / 2)) {
    throw new RangeError(`${op}: padding ${hw(p)} must be at most half the kernel size ${hw(k)}`);
  }
  const [h, w] = x.shape.slice(-2);
  const oh = outputSize(h, k[0], s[0], p[0], d[0], ceilMode);
  const ow = outputSize(w, k[1], s[1], p[1], d[1], ceilMode);
  const span = [d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1];
  if (oh <= 0 || ow <= 0) {
    throw new RangeError(
      `${op}: output size ${hw([oh, ow])} is not positive: the kernel spans ${hw(span)} but the padded input is ` +
        `${hw([h + 2 * p[0], w + 2 * p[1]])} (input shape ${formatShape(x.shape)}, padding ${hw(p)}` +
        `${withDilation ? `, dilation ${hw(d)}` : ''})`,
    );
  }
  return {
    planes: x.numel / (h * w), h, w, oh, ow,
    kh: k[0], kw: k[1], sh: s[0], sw: s[1], ph: p[0], pw: p[1], dh: d[0], dw: d[1], countIncludePad,
  };
}

/**
 * With dilation a window can fall between input rows altogether (kernel 2,
 * dilation 3 over 2 rows with padding 1): it would have no maximum. PyTorch
 * returns -inf and an index outside the plane there; this rejects it.
 */
function checkWindowsHit(op: string, x: Tensor, g: Geometry): void {
  const dims = [
    { name: 'row', size: g.h, out: g.oh, k: g.kh, s: g.sh, p: g.ph, d: g.dh },
    { name: 'column', size: g.w, out: g.ow, k: g.kw, s: g.sw, p: g.pw, d: g.dw },
  ];
  for (const { name, size, out, k, s, p, d } of dims) {
    if (d === 1) continue; // an undilated window always overlaps the input (padding <= kernel / 2)
    for (let i = 0; i < out; i++) {
      const start = i * s - p;
      const first = start >= 0 ? 0 : Math.ceil(-start / d);
      if (first >= k || start + first * d >= size) {
        throw new RangeError(
          `${op}: the window of output ${name} ${i} holds no input element (kernel ${k}, dilation ${d}, padding ${p}, ` +
            `input shape ${formatShape(x.shape)})`,
        );
      }
    }
  }
}

// ------------------------------------------------------------------ max

function maxPoolBackward(gy: Tensor, indices: Tensor, x: Tensor, g: Geometry): Tensor {
  const gx = run('maxBackward', gy, x.shape, g, indices);
  return record(gx, 'maxPool2dBackward', [gy], (h) => {
    // the adjoint of scattering gy to the argmax positions is reading h there
    const flat = reshape(like(h, gx), [g.planes, g.h * g.w]);
    const picked = gather(flat, 1, reshape(indices, [g.planes, g.oh * g.ow]));
    return [reshape(picked, gy.shape)];
  });
}

function maxPool(op: string, input: unknown, kernelSize: unknown, options: unknown): MaxPool2dResult {
  const x = checkInput(op, input);
  const g = windowed(op, x, kernelSize, checkOptions(op, options), true, true);
  checkWindowsHit(op, x, g);
  const shape = outShape(x, g);
  const indices = Tensor._empty(op, shape, 'int32', x.device);
  const values = run('max', x, shape, g, indices);
  record(values, 'maxPool2d', [x], (gy) => [maxPoolBackward(like(gy, values), indices, x, g)]);
  return { values, indices };
}

/**
 * Maximum over each kernelSize window (torch.nn.functional.max_pool2d): NaN wins,
 * ties go to the first position, padding counts as -infinity.
 */
export function maxPool2d(input: Tensor, kernelSize: number | Pair, options?: MaxPool2dOptions): Tensor {
  return maxPool('maxPool2d', input, kernelSize, options).values;
}

/** maxPool2d that also returns where each maximum came from (return_indices=True). */
export function maxPool2dWithIndices(input: Tensor, kernelSize: number | Pair, options?: MaxPool2dOptions): MaxPool2dResult {
  return maxPool('maxPool2dWithIndices', input, kernelSize, options);
}

// ------------------------------------------------------------------ average

function avgPoolForward(kind: 'avg' | 'adaptiveAvg', x: Tensor, g: Geometry): Tensor {
  const y = run(kind, x, outShape(x, g), g, null);
  return record(y, kind === 'avg' ? 'avgPool2d' : 'adaptiveAvgPool2d', [x], (gy) => [avgPoolBackward(kind, like(gy, y), x.shape, g)]);
}

function avgPoolBackward(kind: 'avg' | 'adaptiveAvg', gy: Tensor, inShape: readonly number[], g: Geometry): Tensor {
  const gx = run(kind === 'avg' ? 'avgBackward' : 'adaptiveAvgBackward', gy, inShape, g, null);
  // average pooling is linear: the adjoint of its adjoint is itself
  return record(gx, kind === 'avg' ? 'avgPool2dBackward' : 'adaptiveAvgPool2dBackward', [gy], (h) => [avgPoolForward(kind, like(h, gx), g)]);
}

/** Mean over each kernelSize window (torch.nn.functional.avg_pool2d). */
export function avgPool2d(input: Tensor, kernelSize: number | Pair, options?: AvgPool2dOptions): Tensor {
  const op = 'avgPool2d';
  const x = checkInput(op, input);
  const opts = checkOptions(op, options);
  const countIncludePad = checkBoolean(op, 'countIncludePad', opts.countIncludePad ?? true);
  return avgPoolForward('avg', x, windowed(op, x, kernelSize, opts, false, countIncludePad));
}

/**
 * Mean over windows chosen so the output has outputSize (torch's
 * adaptive_avg_pool2d): output i covers input [floor(i*H/oh), ceil((i+1)*H/oh)).
 * A null size keeps the input's.
 */
export function adaptiveAvgPool2d(input: Tensor, outputSize: number | readonly [number | null, number | null]): Tensor {
  const op = 'adaptiveAvgPool2d';
  const x = checkInput(op, input);
  const [h, w] = x.shape.slice(-2);
  let size: [number, number];
  if (typeof outputSize === 'number') {
    const v = checkInteger(op, 'outputSize', outputSize, 1);
    size = [v, v];
  } else if (Array.isArray(outputSize) && outputSize.length === 2) {
    size = [
      outputSize[0] === null ? h : checkInteger(op, 'outputSize[0]', outputSize[0], 1),
      outputSize[1] === null ? w : checkInteger(op, 'outputSize[1]', outputSize[1], 1),
    ];
  } else {
    return expected(TypeError, op, 'a positive integer or a pair of them (null keeps a size)', 'outputSize', outputSize);
  }
  const g: Geometry = {
    planes: x.numel / (h * w), h, w, oh: size[0], ow: size[1],
    kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, countIncludePad: true,
  };
  return avgPoolForward('adaptiveAvg', x, g);
}
