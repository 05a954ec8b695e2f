/** Reads a whole data file, gunzipping it when it starts with the gzip magic bytes (whatever its name). */
import * as fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { expected } from '../check';
import { CorruptFileError } from '../errors';

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export function readMaybeGzip(op: string, file: unknown): Buffer {
  if (typeof file !== 'string' || file.length === 0) expected(TypeError, op, 'a file path', 'path', file);
  const raw = fs.readFileSync(file);
  if (!isGzip(raw)) return raw;
  try {
    return gunzipSync(raw);
  } catch (err) {
    throw new CorruptFileError(`${op}: ${file} is not valid gzip data (${(err as Error).message})`);
  }
}
