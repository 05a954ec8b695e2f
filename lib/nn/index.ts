/** tg.nn: modules, initializers (nn.init) and the functional forms and losses (nn.functional). */
export { Module, StateDictError, functionalCall } from './module';
export type { LoadStateDictOptions, LoadStateDictResult, RegisterBufferOptions } from './module';
export { Linear } from './linear';
export type { LinearOptions } from './linear';
export { Conv1d, Conv2d } from './conv';
export type { Conv1dLayerOptions, Conv2dLayerOptions } from './conv';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from './pooling';
export { Sequential, ModuleList } from './containers';
export { ReLU, LeakyReLU, ELU, GELU, SiLU, Sigmoid, Tanh, Softplus, Softmax, LogSoftmax } from './activation';
export { Flatten, Identity, Dropout, DropPath, Embedding } from './basic';
export type { EmbeddingOptions } from './basic';
export { LayerNorm, BatchNorm1d, BatchNorm2d, GroupNorm } from './normalization';
export type { LayerNormOptions, BatchNormOptions, GroupNormOptions } from './normalization';
export * as init from './init';
export * as functional from './functional';
export type { Reduction } from './losses';
