/**
 * loadMnist: the MNIST digits from the four standard IDX files in a directory
 * (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...). Nothing is
 * downloaded. Images come back float32 [N,1,28,28] scaled to [0,1], labels int32 [N].
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkOptions, expected } from '../check';
import { CorruptFileError } from '../errors';
import { noGrad } from '../autograd';
import { cast } from '../ops/convert';
import { div } from '../ops/elementwise';
import { reshape } from '../ops/shape';
import { formatShape } from '../shape';
import type { Tensor } from '../tensor';
import { readIdx } from './idx';

export type MnistSplit = 'train' | 'test';

export interface MnistOptions {
  /** 'train' (60,000 images, the default) or 'test' (10,000). */
  split?: MnistSplit;
}

export interface Mnist {
  /** float32 [N,1,28,28], pixel / 255. */
  images: Tensor;
  /** int32 [N], the digits 0..9. */
  labels: Tensor;
}

const OP = 'loadMnist';

/** The file for `stem` in dir: the gzipped name if present, else the raw one. */
function findFile(dir: string, stem: string): string {
  for (const name of [`${stem}.gz`, stem]) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  const err = new Error(`${OP}: ${dir} has neither ${stem}.gz nor ${stem} (nothing is downloaded; put the MNIST files there)`);
  throw Object.assign(err, { code: 'ENOENT' });
}

export function loadMnist(dir: string, options?: MnistOptions): Mnist {
  if (typeof dir !== 'string' || dir.length === 0) expected(TypeError, OP, 'a directory path', 'dir', dir);
  const o = checkOptions(OP, options);
  const split = o.split ?? 'train';
  if (split !== 'train' && split !== 'test') expected(TypeError, OP, "'train' or 'test'", 'split', split);
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesFile = findFile(dir, `${prefix}-images-idx3-ubyte`);
  const labelsFile = findFile(dir, `${prefix}-labels-idx1-ubyte`);
  const raw = readIdx(imagesFile);
  const rawLabels = readIdx(labelsFile);
  if (raw.dtype !== 'uint8' || raw.ndim !== 3 || raw.shape[1] !== 28 || raw.shape[2] !== 28) {
    throw new CorruptFileError(`${OP}: ${imagesFile} holds ${raw.dtype} ${formatShape(raw.shape)}, not uint8 images [N,28,28]`);
  }
  if (rawLabels.dtype !== 'uint8' || rawLabels.ndim !== 1) {
    throw new CorruptFileError(`${OP}: ${labelsFile} holds ${rawLabels.dtype} ${formatShape(rawLabels.shape)}, not uint8 labels [N]`);
  }
  if (rawLabels.shape[0] !== raw.shape[0]) {
    throw new CorruptFileError(`${OP}: ${imagesFile} has ${raw.shape[0]} images but ${labelsFile} has ${rawLabels.shape[0]} labels`);
  }
  return noGrad(() => {
    const wide = cast(raw, 'float32');
    raw.dispose();
    const images = reshape(div(wide, 255), [wide.shape[0], 1, 28, 28]);
    wide.dispose();
    const labels = cast(rawLabels, 'int32');
    rawLabels.dispose();
    return { images, labels };
  });
}
