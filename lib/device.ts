/** Devices, and whether this binary and machine can use CUDA. */
import { native } from './binding';
import { expected } from './check';
import { CudaUnavailableError } from './errors';

/** Where a tensor's storage lives. */
export type Device = 'cpu' | 'cuda';

/** What a user may write for a device: 'cuda:0' names the same device as 'cuda'. */
export type DeviceLike = Device | `cuda:${number}`;

export const DEVICE_CODE: Record<Device, number> = { cpu: 0, cuda: 1 };

/**
 * The device `value` names, checked: 'cuda' and 'cuda:N' need CUDA, and N must be a
 * device this version drives (the first one; more GPUs per process come later).
 */
export function checkDevice(op: string, value: unknown, name = 'device'): Device {
  if (value === 'cpu') return value;
  const m = typeof value === 'string' ? /^cuda(?::(\d+))?$/.exec(value) : null;
  if (m === null) expected(TypeError, op, "'cpu', 'cuda' or 'cuda:N'", name, value);
  if (!cudaIsAvailable()) {
    throw new CudaUnavailableError(`${op}: CUDA is not available: ${native.cudaStatus().status}`);
  }
  const index = m[1] === undefined ? 0 : Number(m[1]);
  if (index >= cudaDeviceCount()) {
    throw new CudaUnavailableError(`${op}: ${name} ${value} does not exist: this machine has ${cudaDeviceCount()} CUDA device(s)`);
  }
  if (index !== 0) {
    throw new CudaUnavailableError(`${op}: ${name} ${value}: tensorgrad drives only the first GPU (cuda:0) in this version`);
  }
  return 'cuda';
}

export function cudaIsAvailable(): boolean {
  return native.cudaStatus().available;
}

export function cudaDeviceCount(): number {
  return native.cudaStatus().deviceCount;
}
