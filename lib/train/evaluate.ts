/**
 * evaluate(): the mean loss and metrics of a model over a dataset, without
 * building a graph (noGrad) and in evaluation mode (dropout off, batch norm on
 * its running statistics). Each module's own training flag is put back after,
 * so a model that had some layers frozen in eval mode keeps them so.
 */
import { noGrad } from '../autograd';
import { checkOptions, expected } from '../check';
import { Module } from '../nn/module';
import { crossEntropy } from '../nn/losses';
import { Tensor } from '../tensor';
import { checkIterable, unpackBatch } from './batch';
import { resolveMetrics, type Metric, type MetricFn } from './metrics';

export type LossFn = (output: Tensor, target: Tensor) => Tensor;

export interface EvaluateOptions {
  /** The loss (default tg.nn.functional.crossEntropy), a batch mean. */
  loss?: LossFn;
  /** Default ['accuracy']; [] for none. */
  metrics?: readonly Metric[];
}

export interface EvaluateResult {
  /** Mean loss per sample. */
  loss: number;
  /** Each metric's mean per sample, by name. */
  metrics: Record<string, number>;
  samples: number;
}

export function checkModel(op: string, model: unknown): Module {
  if (!(model instanceof Module)) expected(TypeError, op, 'a Module', 'model', model);
  return model;
}

export function checkLoss(op: string, loss: unknown): LossFn {
  if (loss === undefined) return (output, target) => crossEntropy(output, target);
  if (typeof loss !== 'function') expected(TypeError, op, 'a loss function (output, target) => Tensor', 'loss', loss);
  return loss as LossFn;
}

/** Runs fn with every module of model in eval mode, then restores each module's flag. */
export function inEvalMode<T>(model: Module, fn: () => T): T {
  const saved = Array.from(model.modules(), (m) => [m, m.training] as const);
  model.eval();
  try {
    return fn();
  } finally {
    for (const [m, training] of saved) m.training = training;
  }
}

/** The loop of evaluate(), for fit() too, whose options are checked already. */
export function evaluateWith(
  op: string,
  model: Module,
  data: Iterable<unknown>,
  loss: LossFn,
  metrics: ReadonlyArray<[string, MetricFn]>,
): EvaluateResult {
  return inEvalMode(model, () =>
    noGrad(() => {
      let samples = 0;
      let lossSum = 0;
      const sums = metrics.map(() => 0);
      let i = 0;
      for (const batch of data) {
        const { input, target, size } = unpackBatch(op, `batch ${i}`, batch);
        const output = model.forward(input);
        const value = loss(output, target);
        if (!(value instanceof Tensor)) expected(TypeError, op, 'a Tensor from the loss function', 'loss', value);
        lossSum += value.item() * size;
        metrics.forEach(([, fn], k) => {
          sums[k] += fn(output, target) * size;
        });
        samples += size;
        i++;
      }
      if (samples === 0) throw new RangeError(`${op}: the data yielded no samples (a generator runs once; pass a DataLoader or an array of batches)`);
      const result: Record<string, number> = {};
      metrics.forEach(([name], k) => {
        result[name] = sums[k] / samples;
      });
      return { loss: lossSum / samples, metrics: result, samples };
    }),
  );
}

/** The mean loss and metrics of model over data (a DataLoader or any iterable of [input, target] batches). */
export function evaluate(model: Module, data: Iterable<unknown>, options?: EvaluateOptions): EvaluateResult {
  const op = 'evaluate';
  checkModel(op, model);
  checkIterable(op, 'data', data);
  const o = checkOptions(op, options);
  return evaluateWith(op, model, data, checkLoss(op, o.loss), resolveMetrics(op, o.metrics));
}
