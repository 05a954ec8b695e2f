/**
 * Training checkpoints: one safetensors file (tg.save) with the model's state
 * dict under 'model.<name>' and the optimizer's state dict under 'optimizer.*'.
 * The optimizer's dict is a tree of options, numbers and tensors whose shape
 * depends on the optimizer (Adam: moments per parameter; L-BFGS: history
 * vectors), so it is stored whole as JSON in the metadata with each tensor
 * replaced by a reference to a stored tensor. loadCheckpoint() puts both back,
 * so a run can resume where the checkpoint was taken.
 */
import { checkOptions, expected } from '../check';
import { CorruptFileError } from '../errors';
import { load, save } from '../io';
import type { Module } from '../nn/module';
import type { Optimizer } from '../optim/optimizer';
import { Tensor } from '../tensor';
import { checkModel } from './evaluate';
import { checkPath } from './options';

const FORMAT = 'tensorgrad.train.checkpoint/1';
const MODEL = 'model.';
const OPTIMIZER = 'optimizer.';
/** The JSON key that marks a tensor reference in the optimizer's metadata. */
const REF = '$tensor';

type AnyOptimizer = Optimizer<object, unknown>;

export interface SaveCheckpointOptions {
  /** Also save this optimizer's state. */
  optimizer?: AnyOptimizer | null;
  /** Saved as JSON in the metadata (fit() saves the epoch's record). */
  info?: Record<string, unknown>;
}

/** The optimizer's state dict as JSON, its tensors moved into `tensors` under 'optimizer.<n>'. */
function optimizerJson(optimizer: AnyOptimizer, tensors: Record<string, Tensor>, owned: Tensor[]): string {
  return JSON.stringify(optimizer.stateDict(), (_key, value: unknown) => {
    if (!(value instanceof Tensor)) return value;
    const name = `${OPTIMIZER}${owned.length}`;
    tensors[name] = value;
    owned.push(value);
    return { [REF]: name };
  });
}

/** Writes model (and optimizer) state to path; the old file stays whole until the new one is complete. */
export async function saveCheckpoint(path: string, model: Module, options?: SaveCheckpointOptions): Promise<void> {
  const op = 'saveCheckpoint';
  checkPath(op, 'path', path);
  checkModel(op, model);
  const o = checkOptions(op, options) as SaveCheckpointOptions;
  const tensors: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(model.stateDict())) tensors[MODEL + name] = t;
  const metadata: Record<string, string> = { format: FORMAT, info: JSON.stringify(o.info ?? {}) };
  // stateDict() hands out copies of the optimizer's state: ours to free once written
  const owned: Tensor[] = [];
  try {
    if (o.optimizer) metadata.optimizer = optimizerJson(o.optimizer, tensors, owned);
    await save(path, tensors, metadata);
  } finally {
    for (const t of owned) t.dispose();
  }
}

export interface LoadedCheckpoint {
  /** What was saved as info (fit() saves the epoch's record). */
  info: Record<string, unknown>;
  /** Whether the file holds optimizer state. */
  hasOptimizer: boolean;
}

export interface LoadCheckpointOptions {
  /** Load the optimizer's state too (the file must have it). */
  optimizer?: AnyOptimizer | null;
}

function parseJson(file: string, key: string, text: string, reviver?: (key: string, value: unknown) => unknown): unknown {
  try {
    return JSON.parse(text, reviver);
  } catch (e) {
    if (e instanceof CorruptFileError) throw e;
    throw new CorruptFileError(`loadCheckpoint: ${file} has metadata '${key}' that is not JSON`);
  }
}

/** Loads a checkpoint written by saveCheckpoint() (or fit()) into model and, when given, optimizer. */
export async function loadCheckpoint(path: string, model: Module, options?: LoadCheckpointOptions): Promise<LoadedCheckpoint> {
  const op = 'loadCheckpoint';
  checkPath(op, 'path', path);
  checkModel(op, model);
  const o = checkOptions(op, options) as LoadCheckpointOptions;
  const { tensors, metadata } = await load(path);
  const modelState: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(tensors)) if (name.startsWith(MODEL)) modelState[name.slice(MODEL.length)] = t;
  try {
    if (metadata.format !== FORMAT) {
      throw new CorruptFileError(
        `${op}: ${path} is not a training checkpoint (its metadata format is ${JSON.stringify(metadata.format ?? null)}, expected '${FORMAT}')`,
      );
    }
    model.loadStateDict(modelState);
    const hasOptimizer = metadata.optimizer !== undefined;
    if (o.optimizer) {
      if (!hasOptimizer) throw new CorruptFileError(`${op}: ${path} holds no optimizer state`);
      const dict = parseJson(path, 'optimizer', metadata.optimizer, (_key, value) => {
        if (typeof value !== 'object' || value === null || !(REF in value)) return value;
        const name = (value as Record<string, unknown>)[REF];
        const t = typeof name === 'string' ? tensors[name] : undefined;
        if (t === undefined) throw new CorruptFileError(`${op}: ${path} refers to optimizer tensor ${JSON.stringify(name)}, which it does not hold`);
        return t;
      });
      o.optimizer.loadStateDict(dict as Parameters<AnyOptimizer['loadStateDict']>[0]);
    }
    return { info: parseJson(path, 'info', metadata.info ?? '{}') as Record<string, unknown>, hasOptimizer };
  } finally {
    // loadStateDict copied the values into the model's own tensors
    for (const t of Object.values(modelState)) t.dispose();
  }
}
