/**
 * The CPU kinds time calls that return when their work is done; on the GPU a call
 * returns once its kernels are queued, so every timed call there must end with a
 * device synchronize (as torch.cuda.synchronize() ends the PyTorch peer's).
 */
import type { Device } from '../device';
import * as tg from '../index';

/** What measure() runs after each call on `device`: nothing on the CPU, tg.cuda.synchronize on the GPU. */
export function syncFor(device: Device): (() => void) | undefined {
  return device === 'cuda' ? tg.cuda.synchronize : undefined;
}
