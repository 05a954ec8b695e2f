/**
 * conv2d and conv1d with PyTorch's semantics (NCHW; stride, padding, dilation,
 * groups). conv1d is conv2d over a height of 1.
 *
 * Three native kernels do the work: forward, the gradient w.r.t. the input (a
 * transposed convolution) and the gradient w.r.t. the weight. Each is an op here
 * whose backward is made of the others, since all three are bilinear in their two
 * operands: derivatives of any order work (DESIGN section 1).
 */
import { native, type ConvKind } from '../binding';
import { record } from '../autograd';
import { checkInteger, checkOptions, checkSameDevice, checkTensor, expected } from '../check';
import { formatShape } from '../shape';
import { Tensor } from '../tensor';
import { cast } from './convert';
import { expand, reshape } from './shape';
import { autocastToHalf } from '../amp/autocast';
import { isFloating } from '../dtype';

type Pair = readonly [number, number];

export interface Conv2dOptions {
  /** Default 1. */
  stride?: number | Pair;
  /** Zeros added on each side (default 0), or 'valid' (none) or 'same' (output as large as the input; stride 1). */
  padding?: number | Pair | 'valid' | 'same';
  /** Spacing between kernel taps (default 1). */
  dilation?: number | Pair;
  /** Channels are split into this many groups, each convolved with its own filters (default 1). */
  groups?: number;
}

export interface Conv1dOptions {
  stride?: number | readonly [number];
  padding?: number | readonly [number] | 'valid' | 'same';
  dilation?: number | readonly [number];
  groups?: number;
}

/** Everything a kernel needs; sizes of the 4-D (n, c, h, w) problem. */
interface Geometry {
  n: number; c: number; h: number; w: number;
  oc: number; kh: number; kw: number; oh: number; ow: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
  groups: number;
}

function geometryArray(g: Geometry): number[] {
  return [g.n, g.c, g.h, g.w, g.oc, g.kh, g.kw, g.oh, g.ow, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.groups];
}

function run(kind: ConvKind, a: Tensor, b: Tensor, bias: Tensor | null, shape: readonly number[], g: Geometry): Tensor {
  const out = Tensor._empty('conv2d', shape, a.dtype, a.device);
  native.conv2d(native.convKinds[kind], a._s, b._s, bias ? bias._s : null, out._s, geometryArray(g));
  return out;
}

// A gradient handed to backward may come in another dtype; the kernels need one.
function like(g: Tensor, ref: Tensor): Tensor {
  return g.dtype === ref.dtype ? g : cast(g, ref.dtype);
}

/** y = conv(x, w) + bias. */
function convForward(x: Tensor, w: Tensor, bias: Tensor | null, g: Geometry): Tensor {
  const y = run('forward', x, w, bias, [g.n, g.oc, g.oh, g.ow], g);
  return record(y, 'conv2d', [x, w, bias], (gy) => {
    gy = like(gy, y);
    return [
      x.requiresGrad ? convGradInput(gy, w, g) : null,
      w.requiresGrad ? convGradWeight(x, gy, g) : null,
      bias?.requiresGrad ? convGradBias(gy, g) : null,
    ];
  });
}

/** gb = gy summed over images and positions: the adjoint of adding the bias. */
function convGradBias(gy: Tensor, g: Geometry): Tensor {
  const gb = Tensor._empty('conv2d', [g.oc], gy.dtype, gy.device);
  native.conv2d(native.convKinds.gradBias, gy._s, null, null, gb._s, geometryArray(g));
  return record(gb, 'conv2dGradBias', [gy], (h) => [expand(reshape(like(h, gb), [1, g.oc, 1, 1]), gy.shape)]);
}

/** gx = conv_transpose(gy, w): the adjoint of convForward in x. */
function convGradInput(gy: Tensor, w: Tensor, g: Geometry): Tensor {
  const gx = run('gradInput', gy, w, null, [g.n, g.c, g.h, g.w], g);
  return record(gx, 'conv2dGradInput', [gy, w], (h) => {
    h = like(h, gx);
    // <gx, h> = <conv(h, w), gy>
    return [gy.requiresGrad ? convForward(h, w, null, g) : null, w.requiresGrad ? convGradWeight(h, gy, g) : null];
  });
}

/** gw = sum over images and positions of gy (x) im2col(x): the adjoint of convForward in w. */
function convGradWeight(x: Tensor, gy: Tensor, g: Geometry): Tensor {
  const gw = run('gradWeight', x, gy, null, [g.oc, g.c / g.groups, g.kh, g.kw], g);
  return record(gw, 'conv2dGradWeight', [x, gy], (h) => {
    h = like(h, gw);
    // <gw, h> = <conv(x, h), gy>
    return [x.requiresGrad ? convGradInput(gy, h, g) : null, gy.requiresGrad ? convForward(x, h, null, g) : null];
  });
}

/** Spatial sizes as 'HxW' (2-D) or 'L' (1-D), for messages. */
function sizes(v: readonly number[], spatial: number): string {
  return v.slice(2 - spatial).join('x');
}

/**
 * A per-dimension parameter: one integer for every spatial dim, or an array with one
 * per dim. Returned as [h, w]; a 1-D op gets `fill` for h.
 */
function spatialParam(op: string, name: string, value: unknown, spatial: 1 | 2, min: number, fill: number): [number, number] {
  if (typeof value === 'number') {
    const v = checkInteger(op, name, value, min);
    return spatial === 2 ? [v, v] : [fill, v];
  }
  if (Array.isArray(value) && value.length === spatial) {
    const v = value.map((x, i) => checkInteger(op, `${name}[${i}]`, x, min));
    return spatial === 2 ? [v[0], v[1]] : [fill, v[0]];
  }
  const what = min === 1 ? 'a positive integer' : 'a non-negative integer';
  return expected(TypeError, op, spatial === 2 ? `${what} or a pair of them` : `${what} or an array of one`, name, value);
}

/** The checked float dtype shared by input, weight and bias. */
function checkFloatOperands(op: string, input: Tensor, weight: Tensor, bias: Tensor | null): void {
  if (!isFloating(input.dtype)) {
    // integer convolution is not a thing in PyTorch either
    expected(TypeError, op, 'a floating-point tensor', 'input', input);
  }
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t !== null && t.dtype !== input.dtype) {
      throw new TypeError(`${op}: input (${input.dtype}) and ${name} (${t.dtype}) must have the same dtype`);
    }
  }
}

/** Validation and geometry shared by conv1d and conv2d; `spatial` is the user's number of spatial dims. */
function convolve(op: string, spatial: 1 | 2, input: unknown, weight: unknown, bias: unknown, options: unknown): Tensor {
  const x = checkTensor(op, 'input', input);
  const w = checkTensor(op, 'weight', weight);
  const b = bias === undefined || bias === null ? null : checkTensor(op, 'bias', bias);
  checkSameDevice(op, b ? [x, w, b] : [x, w]);
  const rank = spatial + 2;
  if (x.ndim !== rank - 1 && x.ndim !== rank) {
    expected(RangeError, op, `a ${rank - 1}-D (unbatched) or ${rank}-D (batched) tensor`, 'input', x);
  }
  if (w.ndim !== rank) expected(RangeError, op, `a ${rank}-D tensor`, 'weight', w);
  checkFloatOperands(op, x, w, b);
  const opts = checkOptions(op, options);
  const stride = spatialParam(op, 'stride', opts.stride ?? 1, spatial, 1, 1);
  const dilation = spatialParam(op, 'dilation', opts.dilation ?? 1, spatial, 1, 1);
  const groups = checkInteger(op, 'groups', opts.groups ?? 1, 1);
  const paddingOpt = opts.padding ?? 0;

  const batched = x.ndim === rank;
  // the 4-D problem: unbatched gains n = 1, 1-D gains h = 1
  const lead = batched ? [x.shape[0]] : [1];
  const xs = spatial === 1 ? [...lead, x.shape[x.ndim - 2], 1, x.shape[x.ndim - 1]] : [...lead, ...x.shape.slice(-3)];
  const ws = spatial === 1 ? [w.shape[0], w.shape[1], 1, w.shape[2]] : [...w.shape];
  const [n, c, h, wd] = xs;
  const [oc, cg, kh, kw] = ws;
  if (oc % groups !== 0) {
    throw new RangeError(`${op}: weight shape ${formatShape(w.shape)} has ${oc} output channels, which groups ${groups} does not divide`);
  }
  if (cg * groups !== c) {
    const all = groups === 1 ? '' : ` (${cg * groups} for groups ${groups})`;
    throw new RangeError(
      `${op}: weight shape ${formatShape(w.shape)} needs ${cg} input channels per group${all} but input has ${c} channels (shape ${formatShape(x.shape)})`,
    );
  }
  if (kh === 0 || kw === 0) throw new RangeError(`${op}: weight shape ${formatShape(w.shape)} has an empty kernel`);
  if (b !== null && (b.ndim !== 1 || b.shape[0] !== oc)) {
    expected(RangeError, op, `a 1-D tensor of ${oc} elements`, 'bias', b);
  }

  const span = [dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1];
  let padding: [number, number];
  if (paddingOpt === 'valid') {
    padding = [0, 0];
  } else if (paddingOpt === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) {
      throw new RangeError(`${op}: padding 'same' is not supported for strided convolutions (stride ${sizes(stride, spatial)})`);
    }
    // the odd one out of an even total goes after (bottom/right), as in PyTorch; the
    // kernels take the top/left amount and the output size implies the rest
    padding = [Math.floor((span[0] - 1) / 2), Math.floor((span[1] - 1) / 2)];
  } else {
    if (typeof paddingOpt === 'string') {
      expected(TypeError, op, `a non-negative integer, ${spatial === 2 ? 'a pair of them' : 'an array of one'}, 'valid' or 'same'`, 'padding', paddingOpt);
    }
    padding = spatialParam(op, 'padding', paddingOpt, spatial, 0, 0);
  }
  const same = paddingOpt === 'same';
  const oh = same ? h : Math.floor((h + 2 * padding[0] - span[0]) / stride[0]) + 1;
  const ow = same ? wd : Math.floor((wd + 2 * padding[1] - span[1]) / stride[1]) + 1;
  if (oh <= 0 || ow <= 0) {
    throw new RangeError(
      `${op}: output size ${sizes([oh, ow], spatial)} is not positive: the kernel spans ${sizes(span, spatial)} ` +
        `but the padded input is ${sizes([h + 2 * padding[0], wd + 2 * padding[1]], spatial)} ` +
        `(input shape ${formatShape(x.shape)}, padding ${sizes(padding, spatial)}, dilation ${sizes(dilation, spatial)})`,
    );
  }

  const g: Geometry = {
    n, c, h, w: wd, oc, kh, kw, oh, ow,
    sh: stride[0], sw: stride[1], ph: padding[0], pw: padding[1], dh: dilation[0], dw: dilation[1], groups,
  };
  const x4 = reshape(x, xs);
  const w4 = spatial === 1 ? reshape(w, ws) : w;
  const y = convForward(x4, w4, b, g);
  const outShape = spatial === 1 ? [n, oc, ow] : [n, oc, oh, ow];
  return reshape(y, batched ? outShape : outShape.slice(1));
}

/**
 * 2-D convolution (torch.nn.functional.conv2d): input [N, C, H, W] or [C, H, W],
 * weight [OC, C / groups, KH, KW], bias [OC]. Any float dtype; float16 and bfloat16
 * accumulate in float32.
 */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options?: Conv2dOptions): Tensor {
  const [x, w, b] = autocastToHalf('conv2d', [input, weight, bias] as const);
  return convolve('conv2d', 2, x, w, b, options);
}

/**
 * 1-D convolution (torch.nn.functional.conv1d): input [N, C, L] or [C, L],
 * weight [OC, C / groups, K], bias [OC]. Any float dtype, as conv2d.
 */
export function conv1d(input: Tensor, weight: Tensor, bias?: Tensor | null, options?: Conv1dOptions): Tensor {
  const [x, w, b] = autocastToHalf('conv1d', [input, weight, bias] as const);
  return convolve('conv1d', 1, x, w, b, options);
}
