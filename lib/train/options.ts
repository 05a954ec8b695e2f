/** Small checks shared by fit()'s option groups. */
import { expected } from '../check';

/** A nested options object (e.g. fit's earlyStopping), named in the error. */
export function checkOptionsNamed(op: string, name: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) expected(TypeError, op, 'an options object', name, value);
  return value as Record<string, unknown>;
}

export function checkPath(op: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') expected(TypeError, op, 'a file path', name, value);
  return value;
}
