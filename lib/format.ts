/** toString() in the style of PyTorch's print: aligned columns, summarized when large. */
import { isFloating } from './dtype';
import type { Tensor } from './tensor';

const EDGE_ITEMS = 3;
const SUMMARIZE_ABOVE = 1000;

function formatter(values: ArrayLike<number>, floating: boolean, bool: boolean): (v: number) => string {
  if (bool) return (v) => (v !== 0 ? 'True' : 'False');
  if (!floating) return (v) => String(v);
  const finite = Array.from(values).filter((v) => Number.isFinite(v));
  const allInts = finite.every((v) => Number.isInteger(v));
  const absFinite = finite.map(Math.abs).filter((v) => v > 0);
  const maxAbs = absFinite.length ? Math.max(...absFinite) : 0;
  const minAbs = absFinite.length ? Math.min(...absFinite) : 0;
  const scientific = maxAbs >= 1e8 || (minAbs > 0 && minAbs < 1e-4) || (minAbs > 0 && maxAbs / minAbs > 1e3 && !allInts);
  return (v) => {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    if (scientific) return v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
    if (allInts) return `${v}.`;
    return v.toFixed(4);
  };
}

export function formatTensor(t: Tensor): string {
  if (t.disposed) return `tensor(<disposed>, shape=[${t.shape.join(', ')}], dtype=${t.dtype})`;
  const values = t.data();
  const summarize = t.numel > SUMMARIZE_ABOVE;
  const fmt = formatter(values, isFloating(t.dtype), t.dtype === 'bool');
  const strides = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const shown = (n: number): number[] =>
    summarize && n > 2 * EDGE_ITEMS
      ? [...Array.from({ length: EDGE_ITEMS }, (_, i) => i), -1, ...Array.from({ length: EDGE_ITEMS }, (_, i) => n - EDGE_ITEMS + i)]
      : Array.from({ length: n }, (_, i) => i);
  // width of the widest shown value, so columns align
  let width = 1;
  const visit = (dim: number, offset: number): void => {
    if (dim === t.ndim) {
      width = Math.max(width, fmt(values[offset]).length);
      return;
    }
    for (const i of shown(t.shape[dim])) if (i >= 0) visit(dim + 1, offset + i * strides[dim]);
  };
  visit(0, 0);
  const indent = 'tensor('.length;
  const render = (dim: number, offset: number): string => {
    if (dim === t.ndim) return fmt(values[offset]).padStart(width);
    const parts = shown(t.shape[dim]).map((i) => (i < 0 ? '...' : render(dim + 1, offset + i * strides[dim])));
    const depth = t.ndim - dim - 1;
    const sep = depth === 0 ? ', ' : ',' + '\n'.repeat(depth) + ' '.repeat(indent + dim + 1);
    return `[${parts.join(sep)}]`;
  };
  const body = t.numel === 0 ? '[]' : render(0, 0);
  const extras: string[] = [];
  if (t.numel === 0) extras.push(`size=(${t.shape.join(', ')})`);
  if (t.dtype !== 'float32' && t.dtype !== 'int32' && t.dtype !== 'bool') extras.push(`dtype=${t.dtype}`);
  if (t.device !== 'cpu') extras.push(`device='${t.device}'`);
  if (t.gradFn) extras.push(`gradFn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) extras.push('requiresGrad=true');
  return `tensor(${[body, ...extras].join(', ')})`;
}
