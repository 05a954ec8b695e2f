/**
 * Shape ops. reshape and its forms (view, flatten, squeeze, unsqueeze) share
 * storage; the rest copy through one strided-copy kernel (permute, expand, slice,
 * cat, pad) or an indexing kernel (indexSelect, gather, scatterAdd, tril/triu).
 */
import { native } from '../binding';
import { record } from '../autograd';
import { checkInteger, checkSameDevice, checkShape, checkTensor, expected, normalizeDim } from '../check';
import { promoteTypes } from '../dtype';
import { contiguousStrides, formatShape, numel, sameShape, type Shape } from '../shape';
import { Tensor } from '../tensor';
import { cast, clone } from './convert';
import { arange, filled, zerosLike } from './creation';
import { eq } from './elementwise';
import { max, min, sumToShape } from './reduce';

/** Accepts both f(2, 3) and f([2, 3]). */
export function shapeArgs(args: number[] | [readonly number[]]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? [...(args[0] as readonly number[])] : (args as number[]);
}

// ---------------------------------------------------------------- views

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('reshape', 'input', x);
  if (!Array.isArray(shape)) expected(TypeError, 'reshape', 'an array of sizes', 'shape', shape);
  const out = shape.map((d, i) => checkInteger('reshape', `shape[${i}]`, d, -1));
  const free = out.indexOf(-1);
  if (free !== out.lastIndexOf(-1)) throw new RangeError(`reshape: only one dimension can be -1, got ${formatShape(shape)}`);
  if (free >= 0) {
    const known = numel(out.filter((_, i) => i !== free));
    if (known === 0 || x.numel % known !== 0) {
      throw new RangeError(`reshape: shape ${formatShape(shape)} is invalid for a tensor of ${x.numel} elements (shape ${formatShape(x.shape)})`);
    }
    out[free] = x.numel / known;
  }
  if (numel(out) !== x.numel) {
    throw new RangeError(`reshape: shape ${formatShape(shape)} is invalid for a tensor of ${x.numel} elements (shape ${formatShape(x.shape)})`);
  }
  if (sameShape(out, x.shape)) return x;
  return record(x._alias(out), 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  checkTensor('flatten', 'input', x);
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeDim('flatten', startDim, x.ndim, 'startDim');
  const e = normalizeDim('flatten', endDim, x.ndim, 'endDim');
  if (s > e) throw new RangeError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  return reshape(x, [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  checkTensor('squeeze', 'input', x);
  const dims =
    dim === undefined
      ? x.shape.map((_, i) => i)
      : (typeof dim === 'number' ? [dim] : dim).map((d) => normalizeDim('squeeze', d, x.ndim));
  return reshape(x, x.shape.filter((d, i) => !(d === 1 && dims.includes(i))));
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  checkTensor('unsqueeze', 'input', x);
  const d = normalizeDim('unsqueeze', dim, x.ndim + 1);
  return reshape(x, [...x.shape.slice(0, d), 1, ...x.shape.slice(d)]);
}

// ---------------------------------------------------------------- strided copies

/** @internal A contiguous copy of x with its dims reordered, outside autograd. */
export function permuteCopy(x: Tensor, perm: readonly number[]): Tensor {
  const shape = perm.map((i) => x.shape[i]);
  const strides = contiguousStrides(x.shape);
  const out = Tensor._empty('permute', shape, x.dtype, x.device);
  native.copy(out._s, 0, contiguousStrides(shape), x._s, 0, perm.map((i) => strides[i]), shape);
  return out;
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  checkTensor('permute', 'input', x);
  if (!Array.isArray(dims) || dims.length !== x.ndim) {
    throw new RangeError(`permute: dims ${formatShape(dims ?? [])} must list each of the ${x.ndim} dimensions once`);
  }
  const perm = dims.map((d) => normalizeDim('permute', d, x.ndim));
  if (new Set(perm).size !== perm.length) {
    throw new RangeError(`permute: dims ${formatShape(dims)} must list each of the ${x.ndim} dimensions once`);
  }
  if (perm.every((p, i) => p === i)) return x;
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  return record(permuteCopy(x, perm), 'permute', [x], (g) => [permute(g, inverse)]);
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  checkTensor('transpose', 'input', x);
  const a = normalizeDim('transpose', dim0, x.ndim, 'dim0');
  const b = normalizeDim('transpose', dim1, x.ndim, 'dim1');
  if (x.ndim < 2) return x;
  const perm = x.shape.map((_, i) => i);
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return permute(x, perm);
}

/** Repeats size-1 dims to `shape` (-1 keeps a size), materialized as a copy. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('expand', 'input', x);
  if (!Array.isArray(shape)) expected(TypeError, 'expand', 'an array of sizes', 'shape', shape);
  if (shape.length < x.ndim) {
    throw new RangeError(`expand: the target shape ${formatShape(shape)} has fewer dims than the input ${formatShape(x.shape)}`);
  }
  const offset = shape.length - x.ndim;
  const target = shape.map((d, i) => {
    const own = i >= offset ? x.shape[i - offset] : 1;
    if (d === -1 && i >= offset) return own;
    checkInteger('expand', `shape[${i}]`, d, 0);
    if (own !== 1 && own !== d) {
      throw new RangeError(`expand: the input shape ${formatShape(x.shape)} cannot expand to ${formatShape(shape)} (dim ${i}: ${own} vs ${d})`);
    }
    return d;
  });
  if (sameShape(target, x.shape)) return x;
  const own = contiguousStrides(x.shape);
  const srcStrides = target.map((d, i) => (i < offset || x.shape[i - offset] === 1 ? 0 : own[i - offset]));
  const out = Tensor._empty('expand', target, x.dtype, x.device);
  native.copy(out._s, 0, contiguousStrides(target), x._s, 0, srcStrides, target);
  return record(out, 'expand', [x], (g) => [sumToShape(g, x.shape)]);
}

interface SliceSpec {
  dim: number;
  start: number;
  step: number;
  count: number;
}

/** out = x[..., start : start + count*step : step, ...] along spec.dim */
function sliceCopy(x: Tensor, s: SliceSpec): Tensor {
  const shape = x.shape.map((d, i) => (i === s.dim ? s.count : d));
  const strides = contiguousStrides(x.shape);
  const src = strides.map((st, i) => (i === s.dim ? st * s.step : st));
  const out = Tensor._empty('slice', shape, x.dtype, x.device);
  native.copy(out._s, 0, contiguousStrides(shape), x._s, s.start * strides[s.dim], src, shape);
  return out;
}

/** The adjoint of a slice: zeros of `shape` with g placed at the sliced positions. */
function embed(g: Tensor, shape: Shape, s: SliceSpec): Tensor {
  const out = filled('slice', shape, 0, g.dtype, g.device);
  const strides = contiguousStrides(shape);
  const dst = strides.map((st, i) => (i === s.dim ? st * s.step : st));
  native.copy(out._s, s.start * strides[s.dim], dst, g._s, 0, contiguousStrides(g.shape), g.shape);
  return record(out, 'sliceBackward', [g], (gg) => [sliceOf(gg, s)]);
}

function sliceOf(x: Tensor, s: SliceSpec): Tensor {
  if (s.start === 0 && s.step === 1 && s.count === x.shape[s.dim]) return x;
  return record(sliceCopy(x, s), 'slice', [x], (g) => [embed(g, x.shape, s)]);
}

/** x[start:end:step] along dim, with Python's clamping of out-of-range bounds. */
export function slice(x: Tensor, dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
  checkTensor('slice', 'input', x);
  if (x.ndim === 0) throw new RangeError('slice: cannot slice a 0-d tensor');
  const d = normalizeDim('slice', dim, x.ndim);
  checkInteger('slice', 'step', step, 1);
  const n = x.shape[d];
  const clampIndex = (v: number | null | undefined, fallback: number, name: string): number => {
    if (v == null) return fallback;
    checkInteger('slice', name, v);
    const r = v < 0 ? v + n : v;
    return Math.min(Math.max(r, 0), n);
  };
  const b = clampIndex(start, 0, 'start');
  const e = clampIndex(end, n, 'end');
  const count = e > b ? Math.ceil((e - b) / step) : 0;
  return sliceOf(x, { dim: d, start: b, step, count });
}

export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  checkTensor('narrow', 'input', x);
  if (x.ndim === 0) throw new RangeError('narrow: cannot narrow a 0-d tensor');
  const d = normalizeDim('narrow', dim, x.ndim);
  const n = x.shape[d];
  checkInteger('narrow', 'start', start);
  checkInteger('narrow', 'length', length, 0);
  const s = start < 0 ? start + n : start;
  if (s < 0 || s + length > n) {
    throw new RangeError(`narrow: start ${start} and length ${length} exceed dimension ${d} of size ${n}`);
  }
  return sliceOf(x, { dim: d, start: s, step: 1, count: length });
}

// ---------------------------------------------------------------- joining and splitting

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) expected(TypeError, 'cat', 'a non-empty array of tensors', 'tensors', tensors);
  tensors.forEach((t, i) => checkTensor('cat', `tensors[${i}]`, t));
  checkSameDevice('cat', tensors);
  const first = tensors[0];
  const d = normalizeDim('cat', dim, first.ndim);
  if (first.ndim === 0) throw new RangeError('cat: zero-dimensional tensors cannot be concatenated (use stack)');
  tensors.forEach((t, i) => {
    if (t.ndim !== first.ndim || t.shape.some((s: number, j: number) => j !== d && s !== first.shape[j])) {
      throw new RangeError(
        `cat: tensors[${i}] has shape ${formatShape(t.shape)} but tensors[0] has ${formatShape(first.shape)}; sizes must match except in dim ${d}`,
      );
    }
  });
  const dtype = tensors.map((t) => t.dtype).reduce(promoteTypes);
  const parts = tensors.map((t) => cast(t, dtype, 'cat'));
  const shape = [...first.shape];
  shape[d] = parts.reduce((a, t) => a + t.shape[d], 0);
  const out = Tensor._empty('cat', shape, dtype, first.device);
  const strides = contiguousStrides(shape);
  const starts: number[] = [];
  let at = 0;
  for (const t of parts) {
    starts.push(at);
    if (t.numel > 0) native.copy(out._s, at * strides[d], strides, t._s, 0, contiguousStrides(t.shape), t.shape);
    at += t.shape[d];
  }
  return record(out, 'cat', parts, (g) => parts.map((t, i) => narrow(g, d, starts[i], t.shape[d])));
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) expected(TypeError, 'stack', 'a non-empty array of tensors', 'tensors', tensors);
  tensors.forEach((t, i) => {
    checkTensor('stack', `tensors[${i}]`, t);
    if (!sameShape(t.shape, tensors[0].shape)) {
      throw new RangeError(`stack: tensors[${i}] has shape ${formatShape(t.shape)} but tensors[0] has ${formatShape(tensors[0].shape)}`);
    }
  });
  const d = normalizeDim('stack', dim, tensors[0].ndim + 1);
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}

/** Pieces of `size` along dim (the last may be smaller), or of the listed sizes. */
export function split(x: Tensor, sizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  checkTensor('split', 'input', x);
  if (x.ndim === 0) throw new RangeError('split: cannot split a 0-d tensor');
  const d = normalizeDim('split', dim, x.ndim);
  const n = x.shape[d];
  let sizes: number[];
  if (typeof sizeOrSections === 'number') {
    checkInteger('split', 'size', sizeOrSections, 1);
    sizes = [];
    for (let at = 0; at < n; at += sizeOrSections) sizes.push(Math.min(sizeOrSections, n - at));
    if (n === 0) sizes.push(0);
  } else {
    if (!Array.isArray(sizeOrSections)) expected(TypeError, 'split', 'a size or an array of sizes', 'sizeOrSections', sizeOrSections);
    sizes = sizeOrSections.map((s, i) => checkInteger('split', `sizeOrSections[${i}]`, s, 0));
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== n) throw new RangeError(`split: sizes ${formatShape(sizes)} add up to ${total} but dimension ${d} has size ${n}`);
  }
  let at = 0;
  return sizes.map((s) => {
    const piece = narrow(x, d, at, s);
    at += s;
    return piece;
  });
}

export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  checkTensor('chunk', 'input', x);
  if (x.ndim === 0) throw new RangeError('chunk: cannot chunk a 0-d tensor');
  checkInteger('chunk', 'chunks', chunks, 1);
  const d = normalizeDim('chunk', dim, x.ndim);
  return split(x, Math.max(1, Math.ceil(x.shape[d] / chunks)), d);
}

/**
 * Constant padding. pads lists (before, after) pairs starting from the last dim,
 * as torch.nn.functional.pad; negative amounts crop.
 */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  checkTensor('pad', 'input', x);
  if (!Array.isArray(pads) || pads.length % 2 !== 0 || pads.length > 2 * x.ndim) {
    throw new RangeError(`pad: pads ${formatShape(pads ?? [])} must hold (before, after) pairs for at most ${x.ndim} dims`);
  }
  pads.forEach((p, i) => checkInteger('pad', `pads[${i}]`, p));
  if (typeof value !== 'number') expected(TypeError, 'pad', 'a number', 'value', value);
  const before = x.shape.map(() => 0);
  const after = x.shape.map(() => 0);
  for (let i = 0; i < pads.length / 2; i++) {
    before[x.ndim - 1 - i] = pads[2 * i];
    after[x.ndim - 1 - i] = pads[2 * i + 1];
  }
  const shape = x.shape.map((d, i) => d + before[i] + after[i]);
  shape.forEach((d, i) => {
    if (d < 0) throw new RangeError(`pad: padding ${formatShape(pads)} makes dimension ${i} of ${formatShape(x.shape)} negative`);
  });
  const out = filled('pad', shape, value, x.dtype, x.device);
  // the part of x that survives cropping, and where it lands in out
  const region = x.shape.map((d, i) => Math.max(0, d - Math.max(0, -before[i]) - Math.max(0, -after[i])));
  if (numel(region) > 0) {
    const xs = contiguousStrides(x.shape);
    const os = contiguousStrides(shape);
    const srcOffset = x.shape.reduce((acc, _, i) => acc + Math.max(0, -before[i]) * xs[i], 0);
    const dstOffset = shape.reduce((acc, _, i) => acc + Math.max(0, before[i]) * os[i], 0);
    native.copy(out._s, dstOffset, os, x._s, srcOffset, xs, region);
  }
  return record(out, 'pad', [x], (g) => [pad(g, pads.map((p) => -p), 0)]);
}

/** Tiles x: repeats[i] copies along dim i (leading repeats add dims), like torch.Tensor.repeat. */
export function repeat(x: Tensor, repeats: readonly number[]): Tensor {
  checkTensor('repeat', 'input', x);
  const reps = checkShape('repeat', repeats, 'repeats');
  if (reps.length < x.ndim) {
    throw new RangeError(`repeat: ${reps.length} repeats given for a tensor with ${x.ndim} dimensions`);
  }
  const shape = [...reps.slice(0, reps.length - x.ndim).map(() => 1), ...x.shape];
  // [a, b] -> [1, a, 1, b] -> expand to [r0, a, r1, b] -> [r0*a, r1*b]
  const interleaved = shape.flatMap((d) => [1, d]);
  const expanded = interleaved.map((d, i) => (i % 2 === 0 ? reps[i / 2] : d));
  return reshape(expand(reshape(x, interleaved), expanded), shape.map((d, i) => d * reps[i]));
}

// ---------------------------------------------------------------- indexing

function checkIndex(op: string, index: Tensor): void {
  checkTensor(op, 'index', index);
  if (index.dtype !== 'int32') expected(TypeError, op, 'an int32 tensor', 'index', index);
}

export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  checkTensor('indexSelect', 'input', x);
  checkIndex('indexSelect', index);
  checkSameDevice('indexSelect', [x, index]);
  if (index.ndim > 1) throw new RangeError(`indexSelect: index must be 0-d or 1-d, got shape ${formatShape(index.shape)}`);
  const d = normalizeDim('indexSelect', dim, x.ndim);
  const n = index.numel;
  if (x.ndim === 0 && n !== 1) throw new RangeError(`indexSelect: a 0-d input takes exactly one index, got ${n}`);
  const srcDim = x.ndim === 0 ? 1 : x.shape[d];
  const shape = x.ndim === 0 ? [] : x.shape.map((s, i) => (i === d ? n : s));
  const out = Tensor._empty('indexSelect', shape, x.dtype, x.device);
  native.indexSelect(x._s, index._s, out._s, numel(x.shape.slice(0, d)), srcDim, n, numel(x.shape.slice(d + 1)), d);
  return record(out, 'indexSelect', [x], (g) => {
    if (x.ndim === 0) return [reshape(g, [])];
    const along = x.shape.map((_, i) => (i === d ? n : 1));
    const full = expand(reshape(index, along), g.shape);
    return [scatterAdd(zerosLike(x), d, full, g)];
  });
}

/** 0-d operands go to the native gather/scatter as [1], so their index value is range-checked too. */
function atLeast1d(shape: Shape): Shape {
  return shape.length === 0 ? [1] : shape;
}

function checkGatherShapes(op: string, x: Tensor, d: number, index: Tensor, other: Tensor | null): void {
  if (index.ndim !== x.ndim) {
    throw new RangeError(`${op}: index has ${index.ndim} dims but input has ${x.ndim}`);
  }
  index.shape.forEach((s, i) => {
    if (i !== d && s > x.shape[i]) {
      throw new RangeError(`${op}: index shape ${formatShape(index.shape)} exceeds input shape ${formatShape(x.shape)} in dim ${i}`);
    }
    if (other && s > other.shape[i]) {
      throw new RangeError(`${op}: index shape ${formatShape(index.shape)} exceeds src shape ${formatShape(other.shape)} in dim ${i}`);
    }
  });
}

/** out[i][j][k] = x[i][index[i][j][k]][k] for dim 1 (torch.gather). */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  checkTensor('gather', 'input', x);
  checkIndex('gather', index);
  checkSameDevice('gather', [x, index]);
  const d = normalizeDim('gather', dim, x.ndim);
  checkGatherShapes('gather', x, d, index, null);
  const out = Tensor._empty('gather', index.shape, x.dtype, x.device);
  native.gather(x._s, index._s, out._s, d, atLeast1d(index.shape), atLeast1d(x.shape), atLeast1d(index.shape));
  return record(out, 'gather', [x], (g) => [scatterAdd(zerosLike(x), d, index, g)]);
}

/** A copy of x with src added at the positions index names along dim (torch.scatter_add). */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  checkTensor('scatterAdd', 'input', x);
  checkIndex('scatterAdd', index);
  checkTensor('scatterAdd', 'src', src);
  checkSameDevice('scatterAdd', [x, index, src]);
  if (src.dtype !== x.dtype) expected(TypeError, 'scatterAdd', `a ${x.dtype} tensor`, 'src', src);
  const d = normalizeDim('scatterAdd', dim, x.ndim);
  if (src.ndim !== x.ndim) throw new RangeError(`scatterAdd: src has ${src.ndim} dims but input has ${x.ndim}`);
  checkGatherShapes('scatterAdd', x, d, index, src);
  const out = clone(x.detach());
  native.scatterAdd(out._s, index._s, src._s, d, atLeast1d(index.shape), atLeast1d(src.shape), atLeast1d(x.shape));
  return record(out, 'scatterAdd', [x, src], (g) => {
    const picked = gather(g, d, index);
    // src may be larger than index; its extra entries got no gradient
    const pads: number[] = [];
    for (let i = src.ndim - 1; i >= 0; i--) pads.push(0, src.shape[i] - index.shape[i]);
    return [g, pads.some((p) => p !== 0) ? pad(picked, pads) : picked];
  });
}

function triangle(op: 'tril' | 'triu', x: Tensor, diagonal: number): Tensor {
  checkTensor(op, 'input', x);
  checkInteger(op, 'diagonal', diagonal);
  if (x.ndim < 2) throw new RangeError(`${op}: input must have at least 2 dims, got shape ${formatShape(x.shape)}`);
  const rows = x.shape[x.ndim - 2];
  const cols = x.shape[x.ndim - 1];
  const out = Tensor._empty(op, x.shape, x.dtype, x.device);
  native.tri(x._s, out._s, numel(x.shape.slice(0, -2)), rows, cols, diagonal, op === 'triu');
  return record(out, op, [x], (g) => [triangle(op, g, diagonal)]);
}

/** Lower triangle (j <= i + diagonal) of the last two dims; the rest zero. */
export function tril(x: Tensor, diagonal = 0): Tensor {
  return triangle('tril', x, diagonal);
}

/** Upper triangle (j >= i + diagonal) of the last two dims; the rest zero. */
export function triu(x: Tensor, diagonal = 0): Tensor {
  return triangle('triu', x, diagonal);
}

/** int32 one-hot rows for int32 class indices; numClasses defaults to max + 1. */
export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  checkTensor('oneHot', 'indices', indices);
  if (indices.dtype !== 'int32') expected(TypeError, 'oneHot', 'an int32 tensor', 'indices', indices);
  checkInteger('oneHot', 'numClasses', numClasses, -1);
  if (indices.numel > 0) {
    const lo = min(indices).item();
    const hi = max(indices).item();
    if (lo < 0) throw new RangeError(`oneHot: class index ${lo} is negative`);
    if (numClasses >= 0 && hi >= numClasses) {
      throw new RangeError(`oneHot: class index ${hi} is out of range for ${numClasses} classes`);
    }
    if (numClasses < 0) numClasses = hi + 1;
  } else if (numClasses < 0) {
    throw new RangeError('oneHot: numClasses is needed for an empty tensor');
  }
  const classes = arange(numClasses, undefined, 1, { device: indices.device });
  return cast(eq(unsqueeze(indices, -1), classes), 'int32', 'oneHot');
}
