/**
 * Compares autograd's gradients with central finite differences in float64.
 * A non-scalar output is contracted with fixed random weights v, so the check
 * covers the vector-Jacobian product v^T J that backward actually computes.
 */
import { grad, noGrad } from '../autograd';
import { checkOptions, checkTensor } from '../check';
import { TensorgradError } from '../errors';
import { mul } from '../ops/elementwise';
import { sum } from '../ops/reduce';
import { randn } from '../ops/random';
import { tensor } from '../ops/creation';
import { Tensor } from '../tensor';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
}

export class GradcheckError extends TensorgradError {}

export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: readonly Tensor[], options?: GradcheckOptions): true {
  const opts = checkOptions('gradcheck', options) as GradcheckOptions;
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-3;
  inputs.forEach((t, i) => {
    checkTensor('gradcheck', `inputs[${i}]`, t);
    if (t.requiresGrad && t.dtype !== 'float64') {
      throw new TypeError(`gradcheck: inputs[${i}] must be float64 for finite differences, got ${t.dtype}`);
    }
  });
  const out = fn(...inputs);
  checkTensor('gradcheck', 'output', out);
  const v = randn(out.shape, { dtype: 'float64', seed: opts.seed ?? 1234, device: out.device });
  const project = (o: Tensor): number => sum(mul(o, v)).item();
  const wrt = inputs.map((t, i) => ({ t, i })).filter(({ t }) => t.requiresGrad);
  if (wrt.length === 0) throw new TypeError('gradcheck: no input requires grad');
  const analytic = out.requiresGrad
    ? grad(sum(mul(out, v)), wrt.map(({ t }) => t), { allowUnused: true })
    : wrt.map(({ t }) => noGrad(() => mul(t, 0)));

  noGrad(() => {
    wrt.forEach(({ t, i }, k) => {
      const base = Float64Array.from(t.data());
      const got = analytic[k].data();
      const at = (values: Float64Array): number => {
        const replaced = inputs.map((x, j) => (j === i ? tensor(values, { dtype: 'float64', shape: t.shape, device: t.device }) : x));
        return project(fn(...replaced));
      };
      for (let e = 0; e < base.length; e++) {
        const plus = Float64Array.from(base);
        const minus = Float64Array.from(base);
        plus[e] += eps;
        minus[e] -= eps;
        const numeric = (at(plus) - at(minus)) / (2 * eps);
        const a = got[e];
        if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
          throw new GradcheckError(
            `gradcheck: inputs[${i}] (shape [${t.shape.join(',')}]) element ${e}: analytic ${a} vs numeric ${numeric}`,
          );
        }
      }
    });
  });
  return true;
}
