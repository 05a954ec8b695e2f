/**
 * fit(): the training loop. Each step is zeroGrad, forward, loss, backward,
 * optimizer step, and one item() to read the loss (the only sync per step; the
 * step's tensors are left to the garbage collector, so the loop needs no
 * dispose calls). After each epoch: validation loss and metrics, the scheduler,
 * the history record (returned, and appended as a JSON line when asked), a
 * checkpoint when the monitored loss improved, early stopping, onEpochEnd.
 *
 * The monitored loss is the validation loss, or the training loss when there
 * is no validation data.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkBoolean, checkInteger, checkNumber, checkOptions, describe, expected } from '../check';
import { Module } from '../nn/module';
import type { Optimizer } from '../optim/optimizer';
import { Tensor } from '../tensor';
import { batchCount, checkIterable, unpackBatch } from './batch';
import { saveCheckpoint } from './checkpoint';
import { BestTracker, type EarlyStoppingOptions } from './early-stopping';
import { checkLoss, checkModel, evaluateWith, type LossFn } from './evaluate';
import { resolveMetrics, type Metric } from './metrics';
import { checkOptionsNamed, checkPath } from './options';
import { Progress, type ProgressStream } from './progress';
import { checkScheduler, isPlateauScheduler, type Scheduler, type SchedulerInterval } from './scheduler';

export interface CheckpointOptions {
  /** The safetensors file to write (replaced atomically each time). */
  path: string;
  /** Save the optimizer's state too (default true), so the run can resume. */
  optimizer?: boolean;
  /** Save only when the monitored loss improves (default true); false saves after every epoch. */
  saveBestOnly?: boolean;
}

/** One epoch of the history. */
export interface EpochRecord {
  /** 1-based. */
  epoch: number;
  /** Mean training loss per sample over the epoch (the weights changed during it). */
  trainLoss: number;
  /** After the epoch; null without validation data. */
  valLoss: number | null;
  /** valMetrics.accuracy, or null when not measured. */
  valAccuracy: number | null;
  /** Every validation metric by name. */
  valMetrics: Record<string, number>;
  /** The first parameter group's learning rate during the epoch (null if the optimizer has none). */
  lr: number | null;
  /** Wall time of the epoch, validation included. */
  seconds: number;
}

export interface EpochContext {
  model: Module;
  optimizer: Optimizer<object, unknown>;
  /** The records so far, this epoch's last. */
  history: readonly EpochRecord[];
}

export interface FitOptions {
  /** Training batches: a DataLoader, or any re-iterable of [input, target] or { input, target }. */
  train: Iterable<unknown>;
  /** Validation batches, evaluated after each epoch. */
  validation?: Iterable<unknown>;
  /** Default 1. */
  epochs?: number;
  optimizer: Optimizer<object, unknown>;
  /** Default tg.nn.functional.crossEntropy; must return a one-element tensor (a batch mean). */
  loss?: LossFn;
  /** Validation metrics: 'accuracy' (the default) and named functions (output, target) => batch mean. */
  metrics?: readonly Metric[];
  /** Stepped once per epoch (ReduceLROnPlateau gets the monitored loss), or after each batch (see schedulerInterval). */
  scheduler?: Scheduler;
  /** When the scheduler steps: 'epoch' (the default) or 'batch' (the default for OneCycleLR). */
  schedulerInterval?: SchedulerInterval;
  earlyStopping?: EarlyStoppingOptions;
  /** A file path, or options; the checkpoint holds 'model.*' and 'optimizer.*' tensors (see loadCheckpoint). */
  checkpoint?: string | CheckpointOptions;
  /** Called after each epoch; returning false stops training. */
  onEpochEnd?: (record: EpochRecord, context: EpochContext) => unknown;
  /** A file to append each epoch's record to, as one JSON line. */
  history?: string;
  /** Progress output: true (stdout, the default), false, or a stream. */
  log?: boolean | ProgressStream;
  /** Seconds between progress lines when the stream is not a terminal (default 10). */
  logInterval?: number;
}

const OP = 'fit';

function checkOptimizer(value: unknown): Optimizer<object, unknown> {
  const o = value as Optimizer<object, unknown> | null;
  if (typeof o !== 'object' || o === null || typeof o.step !== 'function' || typeof o.zeroGrad !== 'function') {
    expected(TypeError, OP, 'an optimizer (tg.optim)', 'optimizer', value);
  }
  return o;
}

function checkCheckpoint(value: unknown): Required<CheckpointOptions> | null {
  if (value === undefined) return null;
  if (typeof value === 'string') return { path: checkPath(OP, 'checkpoint', value), optimizer: true, saveBestOnly: true };
  const o = checkOptionsNamed(OP, 'checkpoint', value);
  return {
    path: checkPath(OP, 'checkpoint.path', o.path),
    optimizer: o.optimizer === undefined ? true : checkBoolean(OP, 'checkpoint.optimizer', o.optimizer),
    saveBestOnly: o.saveBestOnly === undefined ? true : checkBoolean(OP, 'checkpoint.saveBestOnly', o.saveBestOnly),
  };
}

function checkLog(value: unknown, epochs: number, intervalS: number): Progress | null {
  if (value === false) return null;
  if (value === undefined || value === true) return new Progress(process.stdout, { epochs, intervalS });
  if (typeof value !== 'object' || value === null || typeof (value as ProgressStream).write !== 'function') {
    expected(TypeError, OP, 'true, false or a stream with write()', 'log', value);
  }
  return new Progress(value as ProgressStream, { epochs, intervalS });
}

function learningRate(optimizer: Optimizer<object, unknown>): number | null {
  const lr = (optimizer.paramGroups?.[0] as { lr?: unknown } | undefined)?.lr;
  return typeof lr === 'number' ? lr : null;
}

/** One pass over the training data; returns the mean loss per sample. */
function trainEpoch(
  model: Module,
  train: Iterable<unknown>,
  optimizer: Optimizer<object, unknown>,
  loss: LossFn,
  progress: Progress | null,
  epoch: number,
  afterStep: (() => void) | null,
): number {
  progress?.startEpoch(epoch, batchCount(train));
  let lossSum = 0;
  let samples = 0;
  let done = 0;
  for (const batch of train) {
    const { input, target, size } = unpackBatch(OP, `train batch ${done}`, batch);
    optimizer.zeroGrad();
    const output = model.forward(input);
    const value = loss(output, target);
    if (!(value instanceof Tensor) || value.numel !== 1) {
      throw new TypeError(`${OP}: Expected a one-element tensor (a batch mean) from the loss function but received ${describe(value)}`);
    }
    value.backward();
    optimizer.step();
    afterStep?.();
    lossSum += value.item() * size;
    samples += size;
    done++;
    progress?.step(done, lossSum / samples, samples);
  }
  if (done === 0) {
    throw new RangeError(`${OP}: the training data yielded no batches in epoch ${epoch} (a generator runs once; pass a DataLoader or an array of batches)`);
  }
  return lossSum / samples;
}

/**
 * Trains model for `epochs` epochs and returns the history, one record per epoch
 * run. With earlyStopping, training stops after `patience` epochs without
 * improvement and (restoreBestWeights, the default) the model ends with the
 * weights of its best epoch. Every module's training flag is restored at the end.
 */
export async function fit(model: Module, options: FitOptions): Promise<EpochRecord[]> {
  checkModel(OP, model);
  const o = checkOptions(OP, options);
  const train = checkIterable(OP, 'train', o.train);
  const validation = o.validation === undefined ? null : checkIterable(OP, 'validation', o.validation);
  const epochs = o.epochs === undefined ? 1 : checkInteger(OP, 'epochs', o.epochs, 1);
  const optimizer = checkOptimizer(o.optimizer);
  const loss = checkLoss(OP, o.loss);
  const metrics = resolveMetrics(OP, o.metrics);
  const interval = checkScheduler(OP, o.scheduler, o.schedulerInterval);
  const scheduler = o.scheduler as Scheduler | undefined;
  const stepScheduler = (): void => {
    (scheduler as { step(): unknown }).step();
  };
  const stopper = BestTracker.from(OP, o.earlyStopping);
  const checkpoint = checkCheckpoint(o.checkpoint);
  const onEpochEnd = o.onEpochEnd;
  if (onEpochEnd !== undefined && typeof onEpochEnd !== 'function') expected(TypeError, OP, 'a function', 'onEpochEnd', onEpochEnd);
  const historyPath = o.history === undefined ? null : checkPath(OP, 'history', o.history);
  const logInterval = o.logInterval === undefined ? 10 : checkNumber(OP, 'logInterval', o.logInterval);
  if (!(logInterval > 0)) expected(RangeError, OP, 'a positive number of seconds', 'logInterval', logInterval);
  const progress = checkLog(o.log, epochs, logInterval);
  if (historyPath !== null) fs.mkdirSync(path.dirname(path.resolve(historyPath)), { recursive: true });

  const modes = Array.from(model.modules(), (m) => [m, m.training] as const);
  const history: EpochRecord[] = [];
  let bestMonitored = Infinity;
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const start = performance.now();
      const lr = learningRate(optimizer);
      model.train();
      const trainLoss = trainEpoch(model, train, optimizer, loss, progress, epoch, interval === 'batch' ? stepScheduler : null);
      const val = validation === null ? null : evaluateWith(OP, model, validation, loss, metrics);
      const monitored = val === null ? trainLoss : val.loss;
      if (scheduler !== undefined && interval === 'epoch') {
        if (isPlateauScheduler(scheduler)) scheduler.step(monitored);
        else stepScheduler();
      }
      const improved = monitored < bestMonitored;
      if (improved) bestMonitored = monitored;
      const stopImproved = stopper === null ? improved : stopper.update(epoch, monitored, model);
      if (checkpoint !== null && (improved || !checkpoint.saveBestOnly)) {
        const record = { epoch, trainLoss, valLoss: val?.loss ?? null, lr };
        await saveCheckpoint(checkpoint.path, model, { optimizer: checkpoint.optimizer ? optimizer : null, info: record });
      }
      const record: EpochRecord = {
        epoch,
        trainLoss,
        valLoss: val?.loss ?? null,
        valAccuracy: val?.metrics.accuracy ?? null,
        valMetrics: val?.metrics ?? {},
        lr,
        seconds: (performance.now() - start) / 1000,
      };
      history.push(record);
      if (historyPath !== null) fs.appendFileSync(historyPath, `${JSON.stringify(record)}\n`);
      progress?.endEpoch({ ...record, note: stopImproved && epoch > 1 ? 'best' : undefined });
      const answer = onEpochEnd === undefined ? undefined : await onEpochEnd(record, { model, optimizer, history });
      if (answer === false) {
        progress?.message(`stopped by onEpochEnd after epoch ${epoch}`);
        break;
      }
      if (stopper?.shouldStop) {
        const what = val === null ? 'training loss' : 'validation loss';
        progress?.message(`early stopping after epoch ${epoch}: no improvement of the ${what} for ${Math.max(stopper.patience, 1)} epoch(s)`);
        break;
      }
    }
    if (stopper !== null && history.length > 0 && stopper.bestEpoch !== history[history.length - 1].epoch && stopper.restore(model)) {
      progress?.message(`restored the weights of epoch ${stopper.bestEpoch} (monitored loss ${stopper.best.toPrecision(4)})`);
    }
  } finally {
    stopper?.release();
    for (const [m, training] of modes) m.training = training;
  }
  return history;
}
