/** tensorgrad: tensors, autograd and native kernels for TypeScript on Node.js. */
import { native, type CpuInfo } from './binding';
import { checkInteger } from './check';
import { cudaDeviceCount, cudaIsAvailable } from './device';
import { gradcheck, GradcheckError } from './testing/gradcheck';

export { Tensor } from './tensor';
export type { NestedArray } from './tensor';
export type { DType, FloatDType } from './dtype';
export { promoteTypes } from './dtype';
export type { Device, DeviceLike } from './device';
export type { Shape } from './shape';
export type { CpuInfo } from './binding';
export { TensorgradError, DisposedError, DeviceMismatchError, CudaUnavailableError, AutogradError } from './errors';
export { noGrad, enableGrad, isGradEnabled, grad } from './autograd';
export type { BackwardOptions, GradOptions } from './autograd';

export { tensor, zeros, ones, full, arange, linspace, eye, zerosLike, onesLike, fullLike } from './ops/creation';
export type { CreateOptions } from './ops/creation';
export { manualSeed, rand, randn, randint, bernoulli, randLike, randnLike } from './ops/random';
export type { RandomOptions } from './ops/random';
export { to, detach, clone } from './ops/convert';
export {
  neg, abs, exp, log, log1p, sqrt, rsqrt, square, sin, cos, tanh, sigmoid, relu, leakyRelu, elu, gelu, silu,
  softplus, clamp, sign, reciprocal, erf,
  add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge, where,
} from './ops/elementwise';
export type { Operand, GeluOptions, SoftplusOptions } from './ops/elementwise';
export {
  sum, mean, prod, max, min, maxWithIndices, minWithIndices, argmax, argmin, variance as var, std, logSumExp, norm,
  softmax, logSoftmax,
} from './ops/reduce';
export type { ReduceOptions, VarOptions, ValuesIndices } from './ops/reduce';
export {
  reshape, reshape as view, flatten, transpose, permute, expand, expand as broadcastTo, squeeze, unsqueeze, slice,
  narrow, indexSelect, gather, scatterAdd, cat, stack, split, chunk, pad, repeat, tril, triu, oneHot,
} from './ops/shape';
export { matmul } from './ops/matmul';
export { linear } from './ops/linear';
export { conv1d, conv2d } from './ops/conv';
export type { Conv1dOptions, Conv2dOptions } from './ops/conv';
export { adaptiveAvgPool2d, avgPool2d, maxPool2d, maxPool2dWithIndices } from './ops/pool';
export type { AvgPool2dOptions, MaxPool2dOptions, MaxPool2dResult } from './ops/pool';
export * as nn from './nn';
export * as data from './data';
export * as optim from './optim';
export * as amp from './amp';
export * as train from './train';
export { save, load, saveSync, loadSync } from './io';
export type { Checkpoint, StateDict } from './io';
export { CorruptFileError } from './errors';

/** Threads of the native pool (default: all cores, or TENSORGRAD_NUM_THREADS). */
export function setNumThreads(n: number): void {
  checkInteger('setNumThreads', 'n', n, 1);
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

export interface MemoryInfo {
  /** Bytes held by live CPU tensors. */
  cpuBytes: number;
  cpuStorages: number;
  cpuPeakBytes: number;
  /** Freed CPU blocks kept for reuse (see emptyCache). */
  cpuCachedBytes: number;
  /** Bytes held by live CUDA tensors (as torch.cuda.memory_allocated). */
  cudaBytes: number;
  cudaStorages: number;
  cudaPeakBytes: number;
  /** Freed device blocks kept for reuse (see cuda.emptyCache). */
  cudaCachedBytes: number;
}

/** Native memory in use, for watching a training loop stay flat. */
export function memory(): MemoryInfo {
  const m = native.memory();
  return {
    cpuBytes: m.cpu.bytes,
    cpuStorages: m.cpu.storages,
    cpuPeakBytes: m.cpu.peakBytes,
    cpuCachedBytes: m.cpu.cachedBytes,
    cudaBytes: m.cuda.bytes,
    cudaStorages: m.cuda.storages,
    cudaPeakBytes: m.cuda.peakBytes,
    cudaCachedBytes: m.cuda.cachedBytes,
  };
}

/** Returns cached free CPU blocks to the system. */
export function emptyCache(): void {
  native.emptyCache();
}

/** The CPU features detected and the kernel ISA chosen at load. */
export function cpuInfo(): CpuInfo {
  return native.cpuInfo();
}

export const cuda = {
  isAvailable: cudaIsAvailable,
  deviceCount: cudaDeviceCount,
  /** Why CUDA is or is not usable, in one line. */
  status: (): string => native.cudaStatus().status,
  /** The first GPU's name (e.g. 'NVIDIA H100 80GB HBM3'); '' without one. */
  deviceName: (): string => native.cudaStatus().deviceName,
  /** Bytes held by live CUDA tensors (torch.cuda.memory_allocated). */
  memoryAllocated: (): number => native.memory().cuda.bytes,
  /** Bytes the caching allocator holds: live tensors plus cached free blocks (torch.cuda.memory_reserved). */
  memoryReserved: (): number => {
    const m = native.memory().cuda;
    return m.bytes + m.cachedBytes;
  },
  /** Returns cached free device blocks to the driver (torch.cuda.empty_cache). */
  emptyCache: (): void => native.cudaEmptyCache(),
  /** Waits for every queued kernel (torch.cuda.synchronize); reading values does this by itself. */
  synchronize: (): void => native.cudaSynchronize(),
};

export const testing = { gradcheck, GradcheckError };
