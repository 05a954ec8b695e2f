/**
 * Metrics for evaluate() and fit(): a metric maps one batch's model output and
 * target to that batch's mean value; evaluate() weights the batches by their
 * sample counts, so the result is the mean over the whole dataset (exact for
 * accuracy even when the last batch is short).
 */
import { noGrad } from '../autograd';
import { describe, expected } from '../check';
import { isFloating } from '../dtype';
import { cast } from '../ops/convert';
import { eq } from '../ops/elementwise';
import { argmax, mean } from '../ops/reduce';
import { formatShape, sameShape } from '../shape';
import type { Tensor } from '../tensor';

export type MetricFn = (output: Tensor, target: Tensor) => number;

/** 'accuracy', or a named function (its name keys the result: function top3(...) {...} gives 'top3'). */
export type Metric = 'accuracy' | MetricFn;

/**
 * The share of samples whose largest logit is the target class. The output is
 * [N, C] (or [N, C, ...]); the target holds class indices [N] (or [N, ...]), or
 * class probabilities of the output's shape, whose largest entry is the class.
 */
export function accuracy(output: Tensor, target: Tensor): number {
  const op = 'accuracy';
  if (output.ndim < 1) expected(RangeError, op, 'an output [N, C] of class scores', 'output', output);
  return noGrad(() => {
    const classDim = output.ndim === 1 ? 0 : 1;
    const predicted = argmax(output, classDim);
    let truth = target;
    if (isFloating(target.dtype) && sameShape(target.shape, output.shape)) truth = argmax(target, classDim);
    if (!sameShape(predicted.shape, truth.shape)) {
      throw new RangeError(
        `${op}: the target ${formatShape(target.shape)} does not fit the output ${formatShape(output.shape)} (expected class indices ${formatShape(predicted.shape)})`,
      );
    }
    const hits = eq(predicted, cast(truth, predicted.dtype, op));
    return mean(cast(hits, 'float32', op)).item();
  });
}

/** Metrics by result name, checked once per fit() or evaluate(). */
export function resolveMetrics(op: string, metrics: unknown): Array<[string, MetricFn]> {
  if (metrics === undefined) return [['accuracy', accuracy]];
  if (!Array.isArray(metrics)) expected(TypeError, op, "an array of metrics ('accuracy' or named functions)", 'metrics', metrics);
  const out: Array<[string, MetricFn]> = [];
  metrics.forEach((m: unknown, i) => {
    let entry: [string, MetricFn];
    if (m === 'accuracy') entry = ['accuracy', accuracy];
    else if (typeof m === 'function' && m.name !== '') entry = [m.name, m as MetricFn];
    else {
      const what = typeof m === 'function' ? 'a named function (this one has no name)' : "'accuracy' or a named function";
      throw new TypeError(`${op}: Expected ${what} for metrics[${i}] but received ${describe(m)}`);
    }
    if (out.some(([name]) => name === entry[0])) expected(TypeError, op, 'metrics with distinct names', `metrics[${i}]`, entry[0]);
    out.push(entry);
  });
  return out;
}
