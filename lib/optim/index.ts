/** tg.optim: optimizers (fused native updates, L-BFGS), LR schedulers and gradient clipping. */
export { Optimizer, OptimizerStateError } from './optimizer';
export type { ParamGroup, ParamGroupSpec, ParamSpec, ParamStateDict, OptimizerStateDict } from './optimizer';
export { FusedOptimizer } from './fused';
export type { AmpStepOptions, StateSlots } from './fused';
export { SGD } from './sgd';
export type { SGDOptions } from './sgd';
export { Adam, AdamW } from './adam';
export type { AdamOptions } from './adam';
export { RMSprop } from './rmsprop';
export type { RMSpropOptions } from './rmsprop';
export { Adagrad } from './adagrad';
export type { AdagradOptions } from './adagrad';
export { LBFGS } from './lbfgs';
export type { LBFGSOptions, LBFGSStateDict } from './lbfgs';
export { clipGradNorm_, clipGradValue_, NonFiniteNormError } from './clip';
export type { ClipGradNormOptions } from './clip';
export * as lrScheduler from './lr_scheduler';
export {
  LRScheduler, StepLR, ExponentialLR, CosineAnnealingLR, LinearLR, OneCycleLR, ReduceLROnPlateau,
} from './lr_scheduler';
export type { SchedulerOptimizer, LinearLROptions, OneCycleLROptions, ReduceLROnPlateauOptions } from './lr_scheduler';
