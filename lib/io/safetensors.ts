/**
 * tg.save / tg.load: checkpoints in the safetensors format (see safetensors-format.ts).
 * Saving streams one tensor at a time into a temporary file that replaces the target
 * only when complete; loading checks the whole header against the file size before
 * reading any tensor data, and reads each tensor straight into its own buffer.
 */
import { checkTensor, expected } from '../check';
import { CorruptFileError } from '../errors';
import type { Tensor } from '../tensor';
import { readAsync, readSync, writeAtomic, writeAtomicSync, type ReadSteps, type WriteSteps } from './file-steps';
import { encodeHeader, headerLength, layout, METADATA_KEY, parseHeader, TO_SAFETENSORS } from './safetensors-format';
import { tensorBytes, tensorFromBytes } from './tensor-bytes';

export type StateDict = Record<string, Tensor> | ReadonlyMap<string, Tensor>;

export interface Checkpoint {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

function checkPath(op: string, file: unknown): string {
  if (typeof file !== 'string' || file.length === 0) expected(TypeError, op, 'a file path', 'path', file);
  return file;
}

function checkArgs(op: string, file: unknown, tensors: unknown, metadata: unknown) {
  checkPath(op, file);
  let pairs: Array<[string, unknown]>;
  if (tensors instanceof Map) pairs = [...tensors.entries()];
  else if (typeof tensors === 'object' && tensors !== null && !Array.isArray(tensors)) pairs = Object.entries(tensors);
  else return expected(TypeError, op, 'an object or Map of named tensors', 'tensors', tensors);
  const items = pairs.map(([name, t]) => {
    if (typeof name !== 'string') expected(TypeError, op, 'string names', 'tensors', name);
    if (name === METADATA_KEY) throw new TypeError(`${op}: the name '${METADATA_KEY}' is reserved for the file's metadata`);
    return { name, tensor: checkTensor(op, `tensors['${name}']`, t) };
  });
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      expected(TypeError, op, 'an object of strings', 'metadata', metadata);
    }
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') expected(TypeError, op, 'a string', `metadata.${k}`, v);
    }
  }
  return items;
}

function* saveSteps(items: ReadonlyArray<{ name: string; tensor: Tensor }>, metadata?: Record<string, string>): WriteSteps {
  const byName = new Map(items.map((i) => [i.name, i.tensor]));
  const entries = layout(items.map(({ name, tensor }) => ({ name, dtype: tensor.dtype, shape: tensor.shape })));
  yield encodeHeader(entries, metadata);
  for (const e of entries) {
    // read back one tensor at a time, so only one host copy is alive while writing
    yield tensorBytes(byName.get(e.name)!);
  }
}

function* loadSteps(op: string, file: string, size: number): ReadSteps<Checkpoint> {
  const prefix = size >= 8 ? yield { position: 0, length: 8 } : new Uint8Array(8);
  const n = headerLength(op, file, prefix, size);
  const header = parseHeader(op, file, yield { position: 8, length: n }, size);
  const tensors: Record<string, Tensor> = {};
  try {
    for (const e of header.entries) {
      const bytes = yield { position: header.dataStart + e.begin, length: e.end - e.begin };
      if (e.dtype === 'bool') {
        const bad = bytes.findIndex((b) => b > 1);
        if (bad >= 0) {
          throw new CorruptFileError(
            `${op}: ${file} is not a valid safetensors file: tensor '${e.name}' of dtype ${TO_SAFETENSORS.bool} holds byte ${bytes[bad]} at element ${bad} (expected 0 or 1)`,
          );
        }
      }
      tensors[e.name] = tensorFromBytes(bytes, e.dtype, e.shape);
    }
  } catch (err) {
    for (const t of Object.values(tensors)) t.dispose();
    throw err;
  }
  return { tensors, metadata: header.metadata };
}

/**
 * Writes named tensors (and optional string metadata) to a safetensors file. The old
 * file, if any, stays whole until the new one is complete and synced to disk.
 */
export async function save(path: string, tensors: StateDict, metadata?: Record<string, string>): Promise<void> {
  const items = checkArgs('save', path, tensors, metadata);
  await writeAtomic(path, saveSteps(items, metadata));
}

export function saveSync(path: string, tensors: StateDict, metadata?: Record<string, string>): void {
  const items = checkArgs('saveSync', path, tensors, metadata);
  writeAtomicSync(path, saveSteps(items, metadata));
}

/** Reads a safetensors file into CPU tensors; a malformed file throws CorruptFileError naming the problem. */
export async function load(path: string): Promise<Checkpoint> {
  const file = checkPath('load', path);
  return readAsync('load', file, (size) => loadSteps('load', file, size));
}

export function loadSync(path: string): Checkpoint {
  const file = checkPath('loadSync', path);
  return readSync('loadSync', file, (size) => loadSteps('loadSync', file, size));
}
