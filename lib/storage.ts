/**
 * Allocation of native storage for a tensor. Several tensors may share one
 * storage (reshape, detach); dispose() frees it once the last of them lets go,
 * and the GC finalizer frees it for tensors that were never disposed.
 */
import * as os from 'node:os';
import { native, type NativeStorage } from './binding';
import { itemSize, type DType } from './dtype';
import { DEVICE_CODE, type Device } from './device';
import { formatShape, numel, type Shape } from './shape';

export class StorageRef {
  refs = 1;
  /** Kept here so checking for disposal needs no call into native code. */
  freed = false;
  constructor(readonly native: NativeStorage) {}

  release(): void {
    if (--this.refs === 0) {
      this.native.free();
      this.freed = true;
    }
  }
}

// read once: os.totalmem() is a system call, too slow for every allocation
const TOTAL_MEMORY = os.totalmem();

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/** Uninitialized storage for `shape`; too large a request is a RangeError, not a crash. */
export function allocate(op: string, shape: Shape, dtype: DType, device: Device): StorageRef {
  const count = numel(shape);
  const bytes = count * itemSize(dtype);
  const limit = device === 'cpu' ? TOTAL_MEMORY : Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(bytes) || bytes > limit) {
    throw new RangeError(
      `${op}: cannot allocate ${bytes} bytes for shape ${formatShape(shape)} of ${dtype}` +
        (device === 'cpu' ? ` (this machine has ${gib(limit)} of memory)` : ''),
    );
  }
  try {
    return new StorageRef(new native.Storage(native.dtypes[dtype], count, DEVICE_CODE[device]));
  } catch (err) {
    if (err instanceof RangeError) {
      throw new RangeError(`${op}: cannot allocate ${bytes} bytes for shape ${formatShape(shape)} of ${dtype}: ${err.message}`);
    }
    throw err;
  }
}
