/**
 * loadDigits: the UCI 8x8 handwritten digits (1,797 images, scikit-learn's copy) that
 * ship with the package as data/digits.csv.gz: 64 pixel counts 0..16 and a label per
 * row. Images come back float32 [N,1,8,8] scaled to [0,1] (pixel / 16), labels int32 [N].
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { noGrad } from '../autograd';
import { checkOptions, expected } from '../check';
import { CorruptFileError } from '../errors';
import { cast } from '../ops/convert';
import { div } from '../ops/elementwise';
import { narrow, reshape } from '../ops/shape';
import { formatShape } from '../shape';
import type { Tensor } from '../tensor';
import { readCsv } from './csv';

export interface DigitsOptions {
  /** Another copy of digits.csv(.gz) to read instead of the bundled one. */
  path?: string;
}

/** data/digits.csv.gz in the nearest folder upwards that holds tensorgrad's package.json. */
function bundledPath(): string {
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'tensorgrad') {
      return path.join(dir, 'data', 'digits.csv.gz');
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`loadDigits: cannot find the tensorgrad package root above ${__dirname}`);
    dir = parent;
  }
}

export function loadDigits(options?: DigitsOptions): { images: Tensor; labels: Tensor } {
  const o = checkOptions('loadDigits', options);
  if (o.path !== undefined && typeof o.path !== 'string') expected(TypeError, 'loadDigits', 'a file path', 'path', o.path);
  const file = (o.path as string | undefined) ?? bundledPath();
  const { data } = readCsv(file);
  if (data.ndim !== 2 || data.shape[1] !== 65) {
    throw new CorruptFileError(`loadDigits: ${file} holds a table of shape ${formatShape(data.shape)}, not [N,65] (64 pixels and a label)`);
  }
  const n = data.shape[0];
  return noGrad(() => {
    const images = reshape(div(narrow(data, 1, 0, 64), 16), [n, 1, 8, 8]);
    const labels = cast(reshape(narrow(data, 1, 64, 1), [n]), 'int32');
    data.dispose();
    return { images, labels };
  });
}
