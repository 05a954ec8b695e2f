/**
 * Autocast: the per-op precision policy of mixed precision (torch.autocast).
 *
 * Inside `autocast(dtype, fn)` the ops whose cost is multiply-adds (matmul, linear,
 * conv1d/conv2d) cast their floating operands to the half dtype and run in it; the ops
 * that accumulate or exponentiate (softmax, logSoftmax and so the class losses, sum,
 * prod, mean, logSumExp, norm) cast half inputs up to float32 and run in it. Each op
 * calls one hook from here; the policy itself lives only in this file. Casts are
 * ordinary differentiable ops, so gradients flow back through them and arrive at
 * float32 parameters in float32. float64 operands are left alone (as in PyTorch).
 */
import { checkBoolean, checkOptions, expected } from '../check';
import type { DType } from '../dtype';
import { cast } from '../ops/convert';
import { Tensor } from '../tensor';

/** The half dtypes autocast can run in. */
export type AutocastDType = 'float16' | 'bfloat16';

export interface AutocastOptions {
  /** false runs fn with autocast off, also inside an enclosing autocast (default true). */
  enabled?: boolean;
}

interface State {
  enabled: boolean;
  dtype: AutocastDType;
}

// The innermost region wins; leaving a region restores the one around it.
const stack: State[] = [];

function current(): State | undefined {
  return stack[stack.length - 1];
}

/**
 * Runs fn with autocast in `dtype` (or off with { enabled: false }) and returns its
 * result. Regions nest: the inner one's dtype and enabled flag apply until it ends.
 * fn runs synchronously; work after an await inside fn is outside the region.
 * Run backward outside the region, as in PyTorch: backward ops take the dtypes the
 * forward chose.
 */
export function autocast<T>(dtype: AutocastDType, fn: () => T, options?: AutocastOptions): T {
  const op = 'autocast';
  if (dtype !== 'float16' && dtype !== 'bfloat16') expected(TypeError, op, "'float16' or 'bfloat16'", 'dtype', dtype);
  if (typeof fn !== 'function') expected(TypeError, op, 'a function', 'fn', fn);
  const o = checkOptions(op, options) as AutocastOptions;
  const enabled = o.enabled === undefined ? true : checkBoolean(op, 'enabled', o.enabled);
  stack.push({ enabled, dtype });
  try {
    return fn();
  } finally {
    stack.pop();
  }
}

/** Whether ops called now run under autocast. */
export function isAutocastEnabled(): boolean {
  return current()?.enabled ?? false;
}

/** The dtype of the innermost autocast region, or null outside every region. */
export function getAutocastDtype(): AutocastDType | null {
  return current()?.dtype ?? null;
}

function lowPrecisionEligible(t: Tensor): boolean {
  return t.dtype === 'float32' || t.dtype === 'float16' || t.dtype === 'bfloat16';
}

/**
 * @internal The hook of the half-precision ops (matmul, linear, conv): under autocast,
 * every float32/float16/bfloat16 operand cast to the autocast dtype; otherwise (and
 * for null entries) the operands unchanged.
 */
export function autocastToHalf<A extends ReadonlyArray<Tensor | null | undefined>>(op: string, operands: A): A {
  const s = current();
  if (s === undefined || !s.enabled) return operands;
  return operands.map((t) => (t && lowPrecisionEligible(t) ? cast(t, s.dtype, op) : t)) as unknown as A;
}

/**
 * @internal The hook of the float32 ops (softmax, logSoftmax, accumulating reductions):
 * under autocast a float16/bfloat16 input cast to float32; otherwise x unchanged.
 */
export function autocastToFloat32(op: string, x: Tensor): Tensor {
  if (!isAutocastEnabled()) return x;
  return x.dtype === 'float16' || x.dtype === 'bfloat16' ? cast(x, 'float32' as DType, op) : x;
}
