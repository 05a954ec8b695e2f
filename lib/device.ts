/** Devices, and whether this binary and machine can use CUDA. */
import { native } from './binding';
import { expected } from './check';
import { CudaUnavailableError } from './errors';

export type Device = 'cpu' | 'cuda';

export const DEVICE_CODE: Record<Device, number> = { cpu: 0, cuda: 1 };

export function checkDevice(op: string, value: unknown, name = 'device'): Device {
  if (value !== 'cpu' && value !== 'cuda') expected(TypeError, op, "'cpu' or 'cuda'", name, value);
  if (value === 'cuda' && !cudaIsAvailable()) {
    throw new CudaUnavailableError(`${op}: CUDA is not available: ${native.cudaStatus().status}`);
  }
  return value;
}

export function cudaIsAvailable(): boolean {
  return native.cudaStatus().available;
}

export function cudaDeviceCount(): number {
  return native.cudaStatus().deviceCount;
}
