/**
 * A tensor's elements as little-endian bytes, and back. Half types travel as their
 * 16-bit words (see half-bits.ts); bool as one byte 0/1 per element.
 */
import * as os from 'node:os';
import type { DType } from '../dtype';
import { itemSize } from '../dtype';
import { tensor } from '../ops/creation';
import type { Tensor } from '../tensor';
import { float32FromHalfWords, halfWordsFromFloat32 } from './half-bits';

const LITTLE = os.endianness() === 'LE';

/** Reverses each item's bytes in place (big-endian hosts only). */
function swapItems(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/** The tensor's values as little-endian bytes (reads the tensor through its public data()). */
export function tensorBytes(t: Tensor): Uint8Array {
  const values = t.data();
  let view: ArrayBufferView;
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') view = halfWordsFromFloat32(values as Float32Array, t.dtype);
  else view = values;
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  if (!LITTLE) {
    const copy = Uint8Array.from(bytes);
    swapItems(copy, itemSize(t.dtype));
    return copy;
  }
  return bytes;
}

/**
 * A new CPU tensor of `dtype` and `shape` from little-endian bytes. `bytes` must start
 * at an offset aligned for the dtype; the caller allocates it so.
 */
export function tensorFromBytes(bytes: Uint8Array, dtype: DType, shape: readonly number[]): Tensor {
  if (!LITTLE) swapItems(bytes, itemSize(dtype));
  const n = bytes.byteLength / itemSize(dtype);
  const { buffer, byteOffset } = bytes;
  switch (dtype) {
    case 'float64':
      return tensor(new Float64Array(buffer, byteOffset, n), { shape });
    case 'float32':
      return tensor(new Float32Array(buffer, byteOffset, n), { shape });
    case 'int32':
      return tensor(new Int32Array(buffer, byteOffset, n), { shape });
    case 'uint8':
      return tensor(bytes, { shape });
    case 'bool':
      return tensor(bytes, { shape, dtype: 'bool' });
    case 'float16':
    case 'bfloat16':
      return tensor(float32FromHalfWords(new Uint16Array(buffer, byteOffset, n), dtype), { shape, dtype });
  }
}
