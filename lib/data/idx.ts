/**
 * readIdx: the IDX format of MNIST (http://yann.lecun.com/exdb/mnist/), raw or gzipped.
 *
 *   0x00 0x00 <type> <ndim> | ndim big-endian u32 sizes | data, big-endian, row-major
 *
 * Types: 0x08 uint8 -> uint8; 0x09 int8, 0x0B int16, 0x0C int32 -> int32;
 * 0x0D float32 -> float32; 0x0E float64 -> float64.
 */
import type { DType } from '../dtype';
import { CorruptFileError } from '../errors';
import { tensor } from '../ops/creation';
import { formatShape } from '../shape';
import type { Tensor } from '../tensor';
import { readMaybeGzip } from './read-file';

interface IdxType {
  name: string;
  size: number;
  dtype: DType;
}

const IDX_TYPES: Record<number, IdxType> = {
  0x08: { name: 'uint8', size: 1, dtype: 'uint8' },
  0x09: { name: 'int8', size: 1, dtype: 'int32' },
  0x0b: { name: 'int16', size: 2, dtype: 'int32' },
  0x0c: { name: 'int32', size: 4, dtype: 'int32' },
  0x0d: { name: 'float32', size: 4, dtype: 'float32' },
  0x0e: { name: 'float64', size: 8, dtype: 'float64' },
};

function hex(v: number, digits: number): string {
  return `0x${v.toString(16).padStart(digits, '0')}`;
}

/** Decodes big-endian elements into the host typed array of the tensor's dtype. */
function decode(type: IdxType, bytes: Uint8Array, count: number): Float64Array | Float32Array | Int32Array | Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type.name) {
    case 'uint8':
      return bytes;
    case 'int8':
      return Int32Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, count));
    case 'int16': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i);
      return out;
    }
    default: {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i);
      return out;
    }
  }
}

/** Reads an IDX file (gzip detected by its magic bytes) into a CPU tensor of its shape. */
export function readIdx(path: string): Tensor {
  const op = 'readIdx';
  const bytes = readMaybeGzip(op, path);
  const fail = (problem: string): never => {
    throw new CorruptFileError(`${op}: ${path} is not a valid IDX file: ${problem}`);
  };
  if (bytes.length < 4) fail(`it has ${bytes.length} bytes, fewer than the 4-byte magic number`);
  const magic = bytes.readUInt32BE(0);
  if (bytes[0] !== 0 || bytes[1] !== 0) fail(`the magic number ${hex(magic, 8)} does not start with two zero bytes`);
  const type = IDX_TYPES[bytes[2]];
  if (type === undefined) fail(`unknown data type ${hex(bytes[2], 2)} in the magic number ${hex(magic, 8)}`);
  const ndim = bytes[3];
  if (ndim === 0) fail(`the magic number ${hex(magic, 8)} declares 0 dimensions`);
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    fail(`the header declares ${ndim} dimensions (${headerBytes} header bytes) but the file has ${bytes.length} bytes`);
  }
  const shape = Array.from({ length: ndim }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  const count = shape.reduce((a, b) => a * b, 1);
  const need = count * type.size;
  const have = bytes.length - headerBytes;
  if (need !== have) {
    fail(`dims ${formatShape(shape)} of ${type.name} need ${need} data bytes but the file has ${have} after the ${headerBytes}-byte header`);
  }
  const data = bytes.subarray(headerBytes);
  return tensor(decode(type, data, count), { shape });
}
