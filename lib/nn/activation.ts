/** The activation functions as modules; each checks its settings when built and calls the op. */
import { checkInteger, checkNumber, checkOptions, expected } from '../check';
import { elu, gelu, leakyRelu, relu, sigmoid, silu, softplus, tanh, type GeluOptions, type SoftplusOptions } from '../ops/elementwise';
import { logSoftmax, softmax } from '../ops/reduce';
import type { Tensor } from '../tensor';
import { Module } from './module';

export class ReLU extends Module {
  forward(input: Tensor): Tensor {
    return relu(input);
  }
}

export class LeakyReLU extends Module {
  readonly negativeSlope: number;

  constructor(negativeSlope = 0.01) {
    super();
    this.negativeSlope = checkNumber('LeakyReLU', 'negativeSlope', negativeSlope);
  }

  forward(input: Tensor): Tensor {
    return leakyRelu(input, this.negativeSlope);
  }

  override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

export class ELU extends Module {
  readonly alpha: number;

  constructor(alpha = 1) {
    super();
    this.alpha = checkNumber('ELU', 'alpha', alpha);
  }

  forward(input: Tensor): Tensor {
    return elu(input, this.alpha);
  }

  override extraRepr(): string {
    return `alpha=${this.alpha}`;
  }
}

export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';

  constructor(options?: GeluOptions) {
    super();
    const a = checkOptions('GELU', options).approximate ?? 'none';
    if (a !== 'none' && a !== 'tanh') expected(TypeError, 'GELU', "'none' or 'tanh'", 'approximate', a);
    this.approximate = a;
  }

  forward(input: Tensor): Tensor {
    return gelu(input, { approximate: this.approximate });
  }

  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

export class SiLU extends Module {
  forward(input: Tensor): Tensor {
    return silu(input);
  }
}

export class Sigmoid extends Module {
  forward(input: Tensor): Tensor {
    return sigmoid(input);
  }
}

export class Tanh extends Module {
  forward(input: Tensor): Tensor {
    return tanh(input);
  }
}

export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;

  constructor(options?: SoftplusOptions) {
    super();
    const o = checkOptions('Softplus', options);
    this.beta = checkNumber('Softplus', 'beta', o.beta ?? 1);
    this.threshold = checkNumber('Softplus', 'threshold', o.threshold ?? 20);
    if (this.beta === 0) expected(RangeError, 'Softplus', 'a non-zero number', 'beta', this.beta);
  }

  forward(input: Tensor): Tensor {
    return softplus(input, { beta: this.beta, threshold: this.threshold });
  }

  override extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

export class Softmax extends Module {
  readonly dim: number;

  constructor(dim: number) {
    super();
    this.dim = checkInteger('Softmax', 'dim', dim);
  }

  forward(input: Tensor): Tensor {
    return softmax(input, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

export class LogSoftmax extends Module {
  readonly dim: number;

  constructor(dim: number) {
    super();
    this.dim = checkInteger('LogSoftmax', 'dim', dim);
  }

  forward(input: Tensor): Tensor {
    return logSoftmax(input, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
