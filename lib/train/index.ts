/** tg.train: fit() and evaluate(), metrics, progress output and training checkpoints. */
export { fit } from './fit';
export type { FitOptions, EpochRecord, EpochContext, CheckpointOptions } from './fit';
export { evaluate } from './evaluate';
export type { EvaluateOptions, EvaluateResult, LossFn } from './evaluate';
export { accuracy } from './metrics';
export type { Metric, MetricFn } from './metrics';
export type { EarlyStoppingOptions } from './early-stopping';
export { saveCheckpoint, loadCheckpoint } from './checkpoint';
export type { SaveCheckpointOptions, LoadCheckpointOptions, LoadedCheckpoint } from './checkpoint';
export { Progress } from './progress';
export type { ProgressStream, ProgressOptions, EpochSummary } from './progress';
export type { Scheduler } from './scheduler';
export type { Batch } from './batch';
