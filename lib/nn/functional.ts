/** tg.nn.functional: the stateless forms of the layers, the activations and the losses. */
export {
  mseLoss, l1Loss, smoothL1Loss, huberLoss, nllLoss, crossEntropy, binaryCrossEntropy, binaryCrossEntropyWithLogits,
  diceLoss, iouLoss,
} from './losses';
export type {
  Reduction, ReductionOptions, SmoothL1LossOptions, HuberLossOptions, ClassLossOptions, CrossEntropyOptions,
  BinaryCrossEntropyOptions, BinaryCrossEntropyWithLogitsOptions, OverlapLossOptions,
} from './losses';
export { dropout, dropPath, embedding } from './basic';
export type { DropoutOptions, EmbeddingFunctionalOptions } from './basic';
export { layerNorm, batchNorm, groupNorm } from './normalization';
export type { LayerNormFunctionalOptions, BatchNormFunctionalOptions, GroupNormFunctionalOptions } from './normalization';
export { linear } from '../ops/linear';
export { conv1d, conv2d } from '../ops/conv';
export type { Conv1dOptions, Conv2dOptions } from '../ops/conv';
export { maxPool2d, maxPool2dWithIndices, avgPool2d, adaptiveAvgPool2d } from '../ops/pool';
export type { MaxPool2dOptions, AvgPool2dOptions, MaxPool2dResult } from '../ops/pool';
export { relu, leakyRelu, elu, gelu, silu, sigmoid, tanh, softplus } from '../ops/elementwise';
export type { GeluOptions, SoftplusOptions } from '../ops/elementwise';
export { softmax, logSoftmax } from '../ops/reduce';
export { oneHot } from '../ops/shape';
