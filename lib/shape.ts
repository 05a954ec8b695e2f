/** Pure shape arithmetic: sizes, strides, broadcasting, axis normalization. */

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= shape[i];
  }
  return strides;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy broadcasting; returns null when the shapes do not broadcast. */
export function tryBroadcast(a: Shape, b: Shape): number[] | null {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Strides (in elements) that read a contiguous tensor of `shape` as if it had
 * `target` shape: broadcast dimensions get stride 0.
 */
export function broadcastStrides(shape: Shape, target: Shape): number[] {
  const own = contiguousStrides(shape);
  const offset = target.length - shape.length;
  return target.map((_, i) => {
    const j = i - offset;
    if (j < 0 || shape[j] === 1) return 0;
    return own[j];
  });
}

/** Dims of `target` that `shape` was broadcast along (for summing gradients back). */
export function broadcastAxes(shape: Shape, target: Shape): number[] {
  const offset = target.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < target.length; i++) {
    const j = i - offset;
    if (j < 0 || (shape[j] === 1 && target[i] !== 1)) axes.push(i);
  }
  return axes;
}
