/**
 * Loads the native addon through node-gyp-build (a prebuilt binary for this
 * platform, else the one built from source) and types its functions. A failed
 * load throws an error that lists what was looked for and how to fix it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DType } from './dtype';

export interface NativeStorage {
  readonly bytes: number;
  readonly disposed: boolean;
  free(): void;
}

export type UnaryName =
  | 'neg' | 'abs' | 'exp' | 'log' | 'log1p' | 'sqrt' | 'rsqrt' | 'square' | 'sin' | 'cos'
  | 'tanh' | 'sigmoid' | 'relu' | 'leakyRelu' | 'elu' | 'gelu' | 'geluTanh' | 'silu'
  | 'softplus' | 'clamp' | 'sign' | 'reciprocal' | 'erf';
export type BinaryName = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';
export type CompareName = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
export type ReduceName = 'sum' | 'prod' | 'max' | 'min';
export type RandomKind = 'uniform' | 'normal' | 'randint';
export type GemmActivation = 'none' | 'relu' | 'gelu' | 'geluTanh';
export type ConvKind = 'forward' | 'gradInput' | 'gradWeight' | 'gradBias';
export type PoolKind = 'max' | 'maxBackward' | 'avg' | 'avgBackward' | 'adaptiveAvg' | 'adaptiveAvgBackward';
export type OptimKind = 'sgd' | 'adam' | 'rmsprop' | 'adagrad';
/** Entries of optimStep's hyperparameter vector; flags are 0 or 1. */
export type OptimHyperName =
  | 'lr' | 'weightDecay' | 'momentum' | 'dampening' | 'beta1' | 'beta2' | 'alpha' | 'eps' | 'lrDecay'
  | 'invScale' | 'nesterov' | 'maximize' | 'decoupled' | 'amsgrad' | 'centered';

/** The CPU features detected and the GEMM micro-kernels chosen at load. */
export interface CpuInfo {
  /**
   * 'amx' (AVX-512 kernels, with bfloat16 GEMMs on AMX tiles), 'avx512bf16' (AVX-512
   * kernels, with bfloat16 GEMMs on AVX512-BF16 dot products), 'avx512', 'avx2' or
   * 'generic'; below 'avx512bf16', bfloat16 GEMMs run on the float32 micro-kernels,
   * widened while packed.
   */
  isa: string;
  /** Register tile (rows, columns of C) of the micro-kernel per dtype. */
  gemmTiles: { float32: [number, number]; float64: [number, number] };
  features: Record<string, boolean>;
}

type Ints = readonly number[];
type S = NativeStorage;
export type HostArray = Float64Array | Float32Array | Int32Array | Uint8Array;

export interface MemoryCounters {
  bytes: number;
  storages: number;
  peakBytes: number;
}

export interface NativeAddon {
  Storage: new (dtype: number, numel: number, device: number) => NativeStorage;
  dtypes: Record<DType, number>;
  unaryOps: Record<UnaryName, number>;
  binaryOps: Record<BinaryName, number>;
  compareOps: Record<CompareName, number>;
  reduceOps: Record<ReduceName, number>;
  randomKinds: Record<RandomKind, number>;
  convKinds: Record<ConvKind, number>;
  poolKinds: Record<PoolKind, number>;
  optimKinds: Record<OptimKind, number>;
  /** The position of each hyperparameter in optimStep's `hyper` vector. */
  optimHyper: Record<OptimHyperName, number>;
  upload(dst: S, src: HostArray): void;
  download(src: S, numel: number): HostArray;
  /** download() as a promise; a CUDA storage's kernels are waited for off the main thread. */
  downloadAsync(src: S, numel: number): Promise<HostArray>;
  fill(dst: S, numel: number, value: number): void;
  cast(src: S, dst: S, numel: number): void;
  transfer(src: S, dst: S): void;
  unary(op: number, x: S, y: S, numel: number, a: number, b: number): void;
  binary(op: number, out: S, a: S, b: S, shape: Ints, aStrides: Ints, bStrides: Ints): void;
  compare(op: number, out: S, a: S, b: S, shape: Ints, aStrides: Ints, bStrides: Ints): void;
  where(out: S, cond: S, a: S, b: S, shape: Ints, cStrides: Ints, aStrides: Ints, bStrides: Ints): void;
  copy(dst: S, dstOffset: number, dstStrides: Ints, src: S, srcOffset: number, srcStrides: Ints, shape: Ints): void;
  tri(src: S, dst: S, batch: number, rows: number, cols: number, k: number, upper: boolean): void;
  indexSelect(src: S, index: S, out: S, outer: number, srcDim: number, nIndex: number, inner: number, dim: number): void;
  gather(src: S, index: S, out: S, dim: number, indexShape: Ints, srcShape: Ints, outShape: Ints): void;
  scatterAdd(out: S, index: S, src: S, dim: number, indexShape: Ints, srcShape: Ints, outShape: Ints): void;
  reduce(op: number, x: S, y: S, indices: S | null, outer: number, r: number, inner: number): void;
  softmax(x: S, y: S, outer: number, r: number, inner: number, log: boolean): void;
  /**
   * Fused softmax cross-entropy at class indices: logits x (outer, c, inner), int32 target
   * (outer, inner), weight c class weights in x's dtype or null (all 1). Writes per position
   * the loss (x's dtype), lse (float32, or float64 for float64 x; kept for the backward) and,
   * unless null, weightUsed = weight[target] (0 where ignored), whose sum 'mean' divides by.
   * Throws a RangeError naming a target outside [0, c) that is not ignoreIndex.
   */
  crossEntropy(
    x: S, target: S, weight: S | null, outer: number, c: number, inner: number, ignoreIndex: number,
    smoothing: number, loss: S, lse: S, weightUsed: S | null,
  ): void;
  /** gx (x's shape) = gloss (one value per position) * dloss/dx, from crossEntropy's lse; 0 where ignored. */
  crossEntropyBackward(
    x: S, target: S, weight: S | null, outer: number, c: number, inner: number, ignoreIndex: number,
    smoothing: number, lse: S, gloss: S, gx: S,
  ): void;
  /**
   * C = act(alpha op(A) op(B) + beta C + bias) for each of `batch` matrices; bias (n values,
   * C's dtype, shared by the batch) and act (a gemmActivations code) are optional.
   */
  gemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: S, lda: number, strideA: number, b: S, ldb: number, strideB: number,
    beta: number, c: S, ldc: number, strideC: number, batch: number,
    bias?: S | null, act?: number,
  ): void;
  gemmActivations: Record<GemmActivation, number>;
  random(kind: number, out: S, numel: number, seed: number, offset: number, p1: number, p2: number): void;
  /**
   * forward: (x, w, bias | null, y); gradInput: (gy, w, null, gx); gradWeight: (x, gy, null, gw);
   * gradBias: (gy, null, null, gb).
   * geometry: [n, c, h, w, oc, kh, kw, oh, ow, strideH, strideW, padH, padW, dilationH, dilationW, groups].
   */
  conv2d(kind: number, a: S, b: S | null, bias: S | null, out: S, geometry: Ints): void;
  /**
   * max: (x, y, indices); maxBackward: (gy, gx, indices); the others: (src, dst, null).
   * geometry: [planes, h, w, oh, ow, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW].
   */
  pool2d(kind: number, src: S, dst: S, indices: S | null, geometry: Ints, countIncludePad: boolean): void;
  /**
   * One fused update of every parameter of a group, each in one pass over its memory.
   * hyper: numbers at the positions of optimHyper. The arrays hold one entry per parameter
   * (same dtype and device throughout); state slots per kind, null where unused:
   * sgd [momentum buffer], adam [expAvg, expAvgSq, maxExpAvgSq], rmsprop [squareAvg,
   * momentum buffer, gradAvg], adagrad [sum]. steps: this update's count, from 1 (SGD: 1 =
   * new momentum buffer). foundInf: a float32 flag; when non-zero nothing is updated and
   * the call returns false. Master weights: params (and state) float32, grads float16 or
   * bfloat16, and copies the half parameters, rewritten from the updated masters.
   */
  optimStep(
    kind: number, hyper: readonly number[], params: readonly S[], grads: readonly S[],
    state0: ReadonlyArray<S | null>, state1: ReadonlyArray<S | null>, state2: ReadonlyArray<S | null>,
    numels: readonly number[], steps: readonly number[], foundInf: S | null, copies?: readonly S[] | null,
  ): boolean;
  /**
   * The loss scaler's fused pass: every grads[k] (one floating dtype, numels[k] elements)
   * is multiplied by invScale in place, and foundInf (a float32 storage of one element)
   * is set to 1 when any value read was inf or NaN (it is never cleared).
   */
  ampUnscale(grads: readonly S[], numels: readonly number[], invScale: number, foundInf: S): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  memory(): { cpu: MemoryCounters & { cachedBytes: number }; cuda: MemoryCounters & { cachedBytes: number } };
  emptyCache(): void;
  cpuInfo(): CpuInfo;
  selectIsa(name: string): boolean;
  cudaStatus(): { available: boolean; deviceCount: number; status: string; deviceName: string };
  /** Returns every cached free block of device memory to the driver (waits for queued kernels). */
  cudaEmptyCache(): void;
  /** 'wgmma' (sm_90a) or 'mma.sync': the half GEMMs' tensor-core path on the GPU; throws without one. */
  cudaGemmTensorCores(): string;
  /** Waits until every queued kernel has run. */
  cudaSynchronize(): void;
}

/** The package root: the nearest folder upwards with tensorgrad's package.json. */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      const name = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name;
      if (name === 'tensorgrad') return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`tensorgrad: cannot find the package root above ${__dirname}`);
    dir = parent;
  }
}

function loadError(root: string, cause: unknown): Error {
  const platform = `${process.platform}-${process.arch}`;
  const prebuilds = path.join(root, 'prebuilds', platform);
  const found = fs.existsSync(prebuilds) ? fs.readdirSync(prebuilds).join(', ') || 'none' : 'none';
  const built = path.join(root, 'build', 'Release', 'tensorgrad.node');
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new Error(
    [
      `tensorgrad: could not load the native addon for ${platform} on Node ${process.version} (N-API 8).`,
      `  Looked for: prebuilt binaries in ${prebuilds} (found: ${found}) and ${built}.`,
      `  Loader said: ${reason.split('\n')[0]}`,
      'Possible solutions:',
      '  - Reinstall so the install step can build from source: npm rebuild tensorgrad',
      '    (needs python3, make and a C++17 compiler such as g++ 9 or newer).',
      process.platform === 'linux'
        ? '  - On Debian or Ubuntu: apt-get install -y python3 make g++, then npm rebuild tensorgrad.'
        : '  - Install your platform\'s C++ build tools (Xcode command line tools or Visual Studio Build Tools).',
      '  - If you copied node_modules from another machine, reinstall on this one.',
    ].join('\n'),
  );
}

/** The addon file loaded: TENSORGRAD_ADDON, else node-gyp-build's pick (a prebuilt binary, else the one built from source). */
export function addonPath(): string {
  if (process.env.TENSORGRAD_ADDON) return path.resolve(process.env.TENSORGRAD_ADDON);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const gypBuild = require('node-gyp-build') as { resolve(dir: string): string };
  return gypBuild.resolve(packageRoot());
}

/**
 * TENSORGRAD_ADDON names another build of the addon to load instead (a test build
 * such as the CUDA emulator's, scripts/cuda-emu.mjs).
 */
function load(): NativeAddon {
  const root = packageRoot();
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (process.env.TENSORGRAD_ADDON) return require(addonPath()) as NativeAddon;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const gypBuild = require('node-gyp-build') as (dir: string) => NativeAddon;
    return gypBuild(root);
  } catch (err) {
    throw loadError(root, err);
  }
}

export const native: NativeAddon = load();
