/** Element types, their sizes and PyTorch's type-promotion rules. */

export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int32' | 'uint8' | 'bool';
export type FloatDType = 'float32' | 'float64' | 'float16' | 'bfloat16';

export const DTYPES: readonly DType[] = [
  'float32',
  'float64',
  'float16',
  'bfloat16',
  'int32',
  'uint8',
  'bool',
];

export const DEFAULT_FLOAT: FloatDType = 'float32';

const ITEM_SIZE: Record<DType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int32: 4,
  uint8: 1,
  bool: 1,
};

export function itemSize(dtype: DType): number {
  return ITEM_SIZE[dtype];
}

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

export function isFloating(dtype: DType): dtype is FloatDType {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

/** Rank in the promotion lattice: bool < uint8 < int32 < half types < float32 < float64. */
const RANK: Record<DType, number> = {
  bool: 0,
  uint8: 1,
  int32: 2,
  float16: 3,
  bfloat16: 3,
  float32: 4,
  float64: 5,
};

/** The dtype two tensor operands are computed in (torch.promote_types). */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if (RANK[a] === 3 && RANK[b] === 3) return 'float32'; // float16 with bfloat16
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * The dtype of a tensor combined with a JS number: the number never widens the
 * tensor's dtype within its kind, as in PyTorch (float16 + 2.5 stays float16), but a
 * fractional number lifts an integer tensor to the default float type.
 */
export function promoteWithScalar(dtype: DType, value: number): DType {
  if (isFloating(dtype)) return dtype;
  if (!Number.isInteger(value)) return DEFAULT_FLOAT;
  if (dtype === 'bool') return 'int32';
  return dtype;
}
