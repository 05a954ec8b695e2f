/**
 * Error classes. TypeError is for a wrong type or dtype and RangeError for a bad
 * shape, index or size; these are for everything else.
 */

export class TensorgradError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A tensor was used after dispose(). */
export class DisposedError extends TensorgradError {}

/** Operands live on different devices. */
export class DeviceMismatchError extends TensorgradError {}

/** CUDA was asked for but this binary or machine has none. */
export class CudaUnavailableError extends TensorgradError {}

/** A graph was used in a way autograd cannot follow (freed graph, no grad_fn). */
export class AutogradError extends TensorgradError {}

/** A file's bytes do not follow its format (safetensors, IDX, CSV); the message names the file and the problem. */
export class CorruptFileError extends TensorgradError {}
