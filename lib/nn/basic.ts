/**
 * Shape and regularization layers: Flatten, Identity, Dropout, DropPath and
 * Embedding, with the functional forms dropout, dropPath and embedding.
 */
import { noGrad } from '../autograd';
import { checkBoolean, checkInteger, checkNumber, checkOptions, checkSameDevice, checkTensor, expected } from '../check';
import { DEFAULT_FLOAT, isFloating, type FloatDType } from '../dtype';
import type { DeviceLike } from '../device';
import { arange, zeros } from '../ops/creation';
import { mul, ne, where } from '../ops/elementwise';
import { bernoulli } from '../ops/random';
import { max, min } from '../ops/reduce';
import { flatten, indexSelect, reshape, unsqueeze } from '../ops/shape';
import type { Tensor } from '../tensor';
import { normal_ } from './init';
import { assign, Module } from './module';

export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
    checkInteger('Flatten', 'startDim', startDim);
    checkInteger('Flatten', 'endDim', endDim);
  }

  forward(input: Tensor): Tensor {
    return flatten(input, this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}

export class Identity extends Module {
  forward(input: Tensor): Tensor {
    return input;
  }
}

// ------------------------------------------------------------------ dropout

export interface DropoutOptions {
  /** Drop only in training (default true); otherwise the input is returned as is. */
  training?: boolean;
  /** A fixed seed draws the same mask every call; by default masks come from the global generator (tg.manualSeed). */
  seed?: number;
}

function checkP(op: string, value: unknown): number {
  const p = checkNumber(op, 'p', value);
  if (!(p >= 0 && p <= 1)) expected(RangeError, op, 'a probability in [0, 1]', 'p', p);
  return p;
}

/** input times a keep mask of maskShape (broadcast over input), scaled by 1 / (1 - p). */
function drop(op: string, input: unknown, probability: unknown, options: unknown, maskShape: (x: Tensor) => number[]): Tensor {
  const x = checkTensor(op, 'input', input);
  if (!isFloating(x.dtype)) expected(TypeError, op, 'a floating-point tensor', 'input', x);
  const p = checkP(op, probability);
  const o = checkOptions(op, options) as DropoutOptions;
  const training = checkBoolean(op, 'training', o.training ?? true);
  if (!training || p === 0) return x;
  if (p === 1) return mul(x, 0);
  const keep = bernoulli(1 - p, { shape: maskShape(x), dtype: x.dtype, device: x.device, seed: o.seed });
  return mul(x, mul(keep, 1 / (1 - p)));
}

/** Zeroes each element with probability p and scales the rest by 1 / (1 - p) (torch.nn.functional.dropout). */
export function dropout(input: Tensor, p = 0.5, options?: DropoutOptions): Tensor {
  return drop('dropout', input, p, options, (x) => [...x.shape]);
}

/** Stochastic depth: zeroes whole samples (dim 0) with probability p and scales the rest by 1 / (1 - p). */
export function dropPath(input: Tensor, p = 0.1, options?: DropoutOptions): Tensor {
  return drop('dropPath', input, p, options, (x) => x.shape.map((d, i) => (i === 0 ? d : 1)));
}

/** Dropout in training mode, the identity in eval mode. Masks come from the global generator. */
export class Dropout extends Module {
  readonly p: number;

  constructor(p = 0.5) {
    super();
    this.p = checkP('Dropout', p);
  }

  forward(input: Tensor): Tensor {
    return dropout(input, this.p, { training: this.training });
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** Stochastic depth for residual branches (timm's DropPath): drops per sample in training. */
export class DropPath extends Module {
  readonly p: number;

  constructor(p = 0.1) {
    super();
    this.p = checkP('DropPath', p);
  }

  forward(input: Tensor): Tensor {
    return dropPath(input, this.p, { training: this.training });
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

// ------------------------------------------------------------------ embedding

export interface EmbeddingFunctionalOptions {
  /** Rows looked up at this index get no gradient (negative counts from the end). */
  paddingIdx?: number | null;
}

function checkPaddingIdx(op: string, paddingIdx: unknown, rows: number): number | null {
  if (paddingIdx === undefined || paddingIdx === null) return null;
  const p = checkInteger(op, 'paddingIdx', paddingIdx);
  if (p < -rows || p >= rows) expected(RangeError, op, `an index in [${-rows}, ${rows - 1}]`, 'paddingIdx', p);
  return p < 0 ? p + rows : p;
}

/** Rows of weight [numEmbeddings, dim] at int32 indices of any shape: [...indices.shape, dim] (torch.nn.functional.embedding). */
export function embedding(input: Tensor, weight: Tensor, options?: EmbeddingFunctionalOptions): Tensor {
  const op = 'embedding';
  const idx = checkTensor(op, 'input', input);
  const w = checkTensor(op, 'weight', weight);
  checkSameDevice(op, [idx, w]);
  if (idx.dtype !== 'int32') expected(TypeError, op, 'an int32 tensor of indices', 'input', idx);
  if (w.ndim !== 2) expected(RangeError, op, 'a 2-D tensor [numEmbeddings, embeddingDim]', 'weight', w);
  const rows = w.shape[0];
  const paddingIdx = checkPaddingIdx(op, checkOptions(op, options).paddingIdx, rows);
  if (idx.numel > 0) {
    const [lo, hi] = noGrad(() => [min(idx).item(), max(idx).item()]);
    if (lo < 0 || hi >= rows) throw new RangeError(`${op}: index ${lo < 0 ? lo : hi} is out of range for ${rows} embeddings`);
  }
  const out = reshape(indexSelect(w, 0, reshape(idx, [idx.numel])), [...idx.shape, w.shape[1]]);
  if (paddingIdx === null) return out;
  // the value is the row as stored; only its gradient is cut, as in PyTorch
  return where(unsqueeze(ne(idx, paddingIdx), -1), out, out.detach());
}

export interface EmbeddingOptions extends EmbeddingFunctionalOptions {
  /** Use this [numEmbeddings, embeddingDim] tensor as the weight (sharing its storage) instead of N(0, 1). */
  weight?: Tensor;
  dtype?: FloatDType;
  device?: DeviceLike;
}

/** A lookup table: int32 indices of any shape -> [...shape, embeddingDim]; initialized N(0, 1), padding row 0. */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;

  constructor(numEmbeddings: number, embeddingDim: number, options?: EmbeddingOptions) {
    super();
    this.numEmbeddings = checkInteger('Embedding', 'numEmbeddings', numEmbeddings, 1);
    this.embeddingDim = checkInteger('Embedding', 'embeddingDim', embeddingDim, 1);
    const o = checkOptions('Embedding', options) as EmbeddingOptions;
    this.paddingIdx = checkPaddingIdx('Embedding', o.paddingIdx, numEmbeddings);
    if (o.weight !== undefined) {
      const w = checkTensor('Embedding', 'weight', o.weight);
      if (w.ndim !== 2 || w.shape[0] !== numEmbeddings || w.shape[1] !== embeddingDim) {
        expected(RangeError, 'Embedding', `a tensor of shape [${numEmbeddings},${embeddingDim}]`, 'weight', w);
      }
      this.registerParameter('weight', w.isLeaf ? w : w.detach());
      return;
    }
    const w = normal_(zeros([numEmbeddings, embeddingDim], { dtype: o.dtype ?? DEFAULT_FLOAT, device: o.device }));
    if (this.paddingIdx !== null) {
      const pad = this.paddingIdx;
      noGrad(() => {
        const others = unsqueeze(ne(arange(numEmbeddings, undefined, 1, { device: o.device }), pad), 1);
        assign('Embedding', w, where(others, w, 0));
      });
    }
    this.registerParameter('weight', w);
  }

  /** A layer around pretrained vectors (shared, not copied); frozen unless freeze is false. */
  static fromPretrained(embeddings: Tensor, options?: { freeze?: boolean; paddingIdx?: number | null }): Embedding {
    const t = checkTensor('Embedding.fromPretrained', 'embeddings', embeddings);
    if (t.ndim !== 2) expected(RangeError, 'Embedding.fromPretrained', 'a 2-D tensor', 'embeddings', t);
    const o = checkOptions('Embedding.fromPretrained', options);
    const freeze = checkBoolean('Embedding.fromPretrained', 'freeze', o.freeze ?? true);
    const e = new Embedding(t.shape[0], t.shape[1], { weight: t.detach(), paddingIdx: o.paddingIdx as number | null | undefined });
    e.weight.requiresGrad_(!freeze);
    return e;
  }

  /** [numEmbeddings, embeddingDim] */
  get weight(): Tensor {
    return this.param('weight')!;
  }

  forward(input: Tensor): Tensor {
    return embedding(input, this.weight, { paddingIdx: this.paddingIdx });
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx === null ? '' : `, paddingIdx=${this.paddingIdx}`}`;
  }
}
