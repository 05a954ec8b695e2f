/**
 * Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_). Each
 * replaces the gradients of the given parameters with clipped ones and leaves
 * parameters without a gradient alone.
 */
import { noGrad } from '../autograd';
import { checkOptions, checkTensor, expected } from '../check';
import { TensorgradError } from '../errors';
import { clamp, mul } from '../ops/elementwise';
import { cast } from '../ops/convert';
import { norm } from '../ops/reduce';
import { stack } from '../ops/shape';
import { Tensor } from '../tensor';

/** clipGradNorm_ with errorIfNonfinite found an inf or NaN total norm. */
export class NonFiniteNormError extends TensorgradError {}

export interface ClipGradNormOptions {
  /** Order of the norm: 2 (default), 1, Infinity or any positive p. */
  normType?: number;
  /** Throw instead of scaling when the total norm is inf or NaN (default false). */
  errorIfNonfinite?: boolean;
}

function paramsWithGrad(op: string, parameters: unknown): Tensor[] {
  if (parameters instanceof Tensor) parameters = [parameters];
  if (typeof parameters !== 'object' || parameters === null || !(Symbol.iterator in parameters)) {
    expected(TypeError, op, 'a Tensor or an iterable of Tensors', 'parameters', parameters);
  }
  const list = Array.from(parameters as Iterable<unknown>).map((p, i) => checkTensor(op, `parameters[${i}]`, p));
  list.forEach((p, i) => {
    if (p.grad !== null) checkTensor(op, `the gradient of parameters[${i}]`, p.grad);
  });
  return list.filter((p) => p.grad !== null);
}

/**
 * Scales the gradients so their joint norm (as if all were one vector) is at most
 * maxNorm: g *= min(1, maxNorm / (total + 1e-6)). Returns the total norm before clipping.
 */
export function clipGradNorm_(parameters: Tensor | Iterable<Tensor>, maxNorm: number, options?: ClipGradNormOptions): number {
  const op = 'clipGradNorm_';
  const o = checkOptions(op, options) as ClipGradNormOptions;
  if (typeof maxNorm !== 'number') expected(TypeError, op, 'a number', 'maxNorm', maxNorm);
  const p = o.normType ?? 2;
  if (typeof p !== 'number') expected(TypeError, op, 'a number', 'normType', p);
  if (!(p > 0)) expected(RangeError, op, 'a positive number or Infinity', 'normType', p);
  const errorIfNonfinite = o.errorIfNonfinite ?? false;
  if (typeof errorIfNonfinite !== 'boolean') expected(TypeError, op, 'a boolean', 'errorIfNonfinite', errorIfNonfinite);
  const params = paramsWithGrad(op, parameters);
  if (params.length === 0) return 0;
  // the norm of the per-gradient norms, read back once (one synchronization on a GPU)
  const total = noGrad(() => norm(stack(params.map((q) => cast(norm(q.grad!, p), 'float64'))), p).item());
  if (errorIfNonfinite && !Number.isFinite(total)) {
    throw new NonFiniteNormError(
      `${op}: the total norm of order ${p} for gradients from parameters is non-finite, so it cannot be clipped. ` +
        'To disable this error and scale the gradients by the non-finite norm anyway, set errorIfNonfinite: false',
    );
  }
  const coef = Math.min(maxNorm / (total + 1e-6), 1);
  if (!(coef >= 1)) {
    // also for a NaN coefficient, as PyTorch scales by it
    for (const q of params) q.grad = noGrad(() => mul(q.grad!, coef));
  }
  return total;
}

/** Clamps every gradient element into [-clipValue, clipValue]. */
export function clipGradValue_(parameters: Tensor | Iterable<Tensor>, clipValue: number): void {
  const op = 'clipGradValue_';
  if (typeof clipValue !== 'number') expected(TypeError, op, 'a number', 'clipValue', clipValue);
  for (const q of paramsWithGrad(op, parameters)) q.grad = noGrad(() => clamp(q.grad!, -clipValue, clipValue));
}
