/**
 * Softmax cross-entropy at class indices as one differentiable op over two native kernels
 * (native/cpu/cross_entropy.cc, cuda/cross_entropy.cu). The forward reads each row of logits
 * for its loss, its log-sum-exp (kept for the backward) and the weight 'mean' divides by;
 * the backward writes the whole gradient in one more pass. Composed from logSoftmax, gather
 * and the weight and smoothing terms, the same loss costs about eight passes and as many
 * temporaries each way. The formulas are in native/kernel_list.inc.
 *
 * The backward differentiates again: under createGraph it is written with public ops
 * (softmax times a per-position scale, minus a constant), so higher-order gradients work.
 */
import { native } from '../binding';
import { isGradEnabled, noGrad, record } from '../autograd';
import { autocastToFloat32 } from '../amp/autocast';
import { promoteTypes } from '../dtype';
import { numel } from '../shape';
import { Tensor } from '../tensor';
import { cast } from './convert';
import { zerosLike } from './creation';
import { add, mul, ne, sub, where } from './elementwise';
import { softmax, sum } from './reduce';
import { indexSelect, reshape, scatterAdd, unsqueeze } from './shape';

const OP = 'crossEntropy';

export interface SoftmaxCrossEntropyOptions {
  /** Class weights [C], or null for all 1. */
  weight: Tensor | null;
  ignoreIndex: number;
  /** PyTorch's label_smoothing, in [0, 1]. */
  smoothing: number;
  /** Whether to return weightUsed (the 'mean' reduction's denominator terms). */
  withWeightUsed: boolean;
}

export interface CrossEntropyResult {
  /** [N, d1, ...]: the loss at each position, 0 where the target is ignored. */
  loss: Tensor;
  /** [N, d1, ...]: weight[target] at each position (1 without weights), 0 where ignored; null unless asked for. */
  weightUsed: Tensor | null;
}

/** The kernels' view of logits [N, C, d1, ...]: (outer, c, inner). */
interface Geometry {
  outer: number;
  c: number;
  inner: number;
  ignoreIndex: number;
  smoothing: number;
}

/**
 * The per-position softmax cross-entropy of logits [N, C, d1, ...] at int32 class indices
 * [N, d1, ...] that the caller checked for shape and device; the kernel checks every target
 * is a class or ignoreIndex. Half logits run in float32 under autocast; logits and weight of
 * different dtypes both run in their promoted dtype, as the composed ops would.
 */
export function softmaxCrossEntropy(logits: Tensor, target: Tensor, o: SoftmaxCrossEntropyOptions): CrossEntropyResult {
  let x = autocastToFloat32(OP, logits);
  let w = o.weight;
  if (w !== null && w.dtype !== x.dtype) {
    const dtype = promoteTypes(x.dtype, w.dtype);
    x = cast(x, dtype, OP);
    w = cast(w, dtype, OP);
  }
  const g: Geometry = {
    outer: x.shape[0],
    c: x.shape[1],
    inner: numel(x.shape.slice(2)),
    // no int32 target can equal an index beyond 2^53, and the kernel takes only exact integers
    ignoreIndex: Math.max(-(2 ** 53), Math.min(2 ** 53, o.ignoreIndex)),
    smoothing: o.smoothing,
  };
  const positions = target.shape;
  const loss = Tensor._empty(OP, positions, x.dtype, x.device);
  const lse = Tensor._empty(OP, positions, x.dtype === 'float64' ? 'float64' : 'float32', x.device);
  const weightUsed = o.withWeightUsed ? Tensor._empty(OP, positions, x.dtype, x.device) : null;
  native.crossEntropy(x._s, target._s, w?._s ?? null, g.outer, g.c, g.inner, g.ignoreIndex, g.smoothing, loss._s, lse._s,
    weightUsed?._s ?? null);
  record(loss, OP, [x], (gloss) => {
    if (gloss.dtype !== loss.dtype) gloss = cast(gloss, loss.dtype);
    return [isGradEnabled() ? composedGrad(x, target, w, g, gloss) : fusedGrad(x, target, w, g, lse, gloss)];
  });
  return { loss, weightUsed };
}

function fusedGrad(x: Tensor, target: Tensor, w: Tensor | null, g: Geometry, lse: Tensor, gloss: Tensor): Tensor {
  const gx = Tensor._empty('crossEntropyBackward', x.shape, x.dtype, x.device);
  native.crossEntropyBackward(x._s, target._s, w?._s ?? null, g.outer, g.c, g.inner, g.ignoreIndex, g.smoothing, lse._s,
    gloss._s, gx._s);
  return gx;
}

/**
 * The fused backward's gradient from public ops, so that it records a graph (createGraph):
 * gloss (scale softmax(x) - q) with the constants scale = (1 - eps) w_t + eps W / C and
 * q_j = (1 - eps) w_t [j == t] + eps / C w_j, both 0 where the target is ignored.
 */
function composedGrad(x: Tensor, target: Tensor, w: Tensor | null, g: Geometry, gloss: Tensor): Tensor {
  const eps = g.smoothing;
  const { scale, q } = noGrad(() => {
    const counts = ne(target, g.ignoreIndex);
    const safe = where(counts, target, 0);
    const counted = cast(counts, x.dtype);
    const wt = w === null ? counted : mul(counted, reshape(indexSelect(w, 0, reshape(safe, [safe.numel])), safe.shape));
    const smoothingScale = mul(counted, w === null ? eps : mul(sum(w), eps / g.c));
    const atTarget = scatterAdd(zerosLike(x), 1, unsqueeze(safe, 1), unsqueeze(mul(wt, 1 - eps), 1));
    const perClass = w === null ? eps / g.c : mul(reshape(w, [1, g.c, ...x.shape.slice(2).map(() => 1)]), eps / g.c);
    return {
      scale: unsqueeze(add(mul(wt, 1 - eps), smoothingScale), 1),
      q: add(atTarget, mul(unsqueeze(counted, 1), perClass)),
    };
  });
  return mul(unsqueeze(gloss, 1), sub(mul(softmax(x, 1), scale), q));
}
