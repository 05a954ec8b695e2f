/** The GPU bench's stdout: a header naming both sides' GPU and settings, then its GEMM, conv2d and training tables. */
import type { CudaSection } from './cuda';
import type { PeerName } from './peers';
import { cellText, formatTable, naSection, peerCells, peerColumns, type Column } from './table';

const pyBool = (b: boolean): string => (b ? 'True' : 'False');

/** Who ran on which GPU, how each call was timed, and torch's precision settings. */
function header(s: CudaSection): string[] {
  const lines = [
    `GPU bench: tensorgrad on ${s.deviceName || 'an unnamed GPU'} (${s.status}); half GEMMs on ${s.tensorCores}; ${s.threads} host thread(s)`,
  ];
  const t = s.torch;
  if (t.available) {
    lines.push(`torch-cuda: ${t.version}, CUDA ${t.cuda ?? 'unknown'}, on ${t.deviceName}`);
    if (t.deviceName !== s.deviceName) {
      lines.push(`warning: tensorgrad and torch name different GPUs (${s.deviceName} vs ${t.deviceName}): the ratios compare two devices`);
    }
    lines.push(
      `torch fp32: TF32 ${t.tf32Matmul ? 'on' : 'off'} for matmul (torch.backends.cuda.matmul.allow_tf32=${pyBool(t.tf32Matmul)}, ` +
        `PyTorch's default) and ${t.cudnnTf32 ? 'on' : 'off'} for cuDNN conv (torch.backends.cudnn.allow_tf32=${pyBool(t.cudnnTf32)})`,
    );
  } else {
    lines.push(`torch-cuda: n/a (${t.na}): ${t.detail}`);
  }
  lines.push('every timed call ends with a device synchronize: tg.cuda.synchronize() for ours, torch.cuda.synchronize() for torch');
  return lines;
}

function gemmTable(s: CudaSection, peerNames: readonly PeerName[]): string[] {
  const rows = s.gemm.rows;
  const columns: Column[] = [{ title: 'shape' }, { title: 'dtype' }, { title: 'ours TF/s', right: true }, ...peerColumns(peerNames, 'TF/s')];
  const body = rows.map((r) => [r.shape, r.dtype, cellText(r.ours), ...peerCells(r, peerNames)]);
  return [
    'GPU GEMM, TFLOP/s (2N^3 / median time); torch.mm(out=); half dtypes accumulate in fp32. ours/peer: higher is better for tensorgrad.',
    formatTable(columns, body),
    ...naSection(rows, peerNames, (r) => r.dtype),
  ];
}

function convTable(s: CudaSection, peerNames: readonly PeerName[]): string[] {
  const rows = s.conv.rows;
  const columns: Column[] = [
    { title: 'input * weight' }, { title: 'dtype' }, { title: 'pass' }, { title: 'ours ms', right: true }, ...peerColumns(peerNames, 'ms'),
  ];
  const body = rows.map((r) => [r.label, r.dtype, r.pass, cellText(r.ours), ...peerCells(r, peerNames)]);
  return [
    'GPU conv2d NCHW, 3x3, stride 1, padding 1, with bias; input, weight and bias in the dtype: ms per call (median). ' +
      'fwd+bwd: forward, sum, grads of input, weight, bias.',
    'ours/peer = ours ms / peer ms: lower is better for tensorgrad.',
    formatTable(columns, body),
    ...naSection(rows, peerNames, (r) => r.dtype),
  ];
}

function trainTable(s: CudaSection, peerNames: readonly PeerName[]): string[] {
  const rows = s.train.rows;
  const columns: Column[] = [
    { title: 'model' }, { title: 'batch', right: true }, { title: 'precision' }, { title: 'ours ms', right: true }, ...peerColumns(peerNames, 'ms'),
  ];
  const body = rows.map((r) => [r.label, String(r.batch), r.precision, cellText(r.ours), ...peerCells(r, peerNames)]);
  return [
    'GPU training step (zeroGrad, forward, cross-entropy, backward, Adam): ms per step (median). amp float16: forward and loss ' +
      'under autocast float16, backward and step through a GradScaler (tg.amp / torch.autocast + GradScaler).',
    'ours/peer = ours ms / peer ms: lower is better for tensorgrad.',
    formatTable(columns, body),
    ...naSection(rows, peerNames, (r) => r.precision),
  ];
}

export function cudaTables(s: CudaSection, peerNames: readonly PeerName[]): string {
  return [...header(s), '', ...gemmTable(s, peerNames), '', ...convTable(s, peerNames), '', ...trainTable(s, peerNames)].join('\n');
}
