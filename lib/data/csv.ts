/**
 * readCsv: a numeric CSV file (raw or gzipped) as a float32 [rows, columns] tensor,
 * with the header names when the file has a header row. Cells may be quoted ("1.5"),
 * but a quoted cell cannot span lines. Blank lines are skipped. Numbers are decimal
 * (1, -2.5, 1e-3, .5) or inf, -inf, infinity and nan in any case; anything else,
 * including an empty cell, is an error naming the line and column.
 */
import { checkBoolean, checkOptions, expected } from '../check';
import { CorruptFileError } from '../errors';
import { tensor } from '../ops/creation';
import type { Tensor } from '../tensor';
import { readMaybeGzip } from './read-file';

export interface CsvOptions {
  /** The first non-blank line holds column names (default false). */
  header?: boolean;
  /** One character between cells (default ','). */
  delimiter?: string;
}

export interface Csv {
  /** float32 [rows, columns]. */
  data: Tensor;
  /** The column names, or null without a header row. */
  header: string[] | null;
}

const OP = 'readCsv';
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;

/** Splits one line into cells, honouring double quotes ("" inside quotes is a quote). */
function splitLine(line: string, delimiter: string, fail: (problem: string) => never): string[] {
  if (!line.includes('"')) return line.split(delimiter);
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch !== '"') cell += ch;
      else if (line[i + 1] === '"') {
        cell += '"';
        i++;
      } else quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === delimiter) {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  if (quoted) fail('a quoted cell is not closed on this line');
  cells.push(cell);
  return cells;
}

function parseNumber(cell: string): number {
  const s = cell.trim();
  if (NUMBER.test(s)) return Number(s);
  const m = SPECIAL.exec(s);
  if (m === null) return NaN;
  if (m[2].toLowerCase() === 'nan') return NaN;
  return m[1] === '-' ? -Infinity : Infinity;
}

function isNanText(cell: string): boolean {
  return /^[+-]?nan$/i.test(cell.trim());
}

export function readCsv(path: string, options?: CsvOptions): Csv {
  const o = checkOptions(OP, options);
  const hasHeader = o.header === undefined ? false : checkBoolean(OP, 'header', o.header);
  const delimiter = o.delimiter ?? ',';
  if (typeof delimiter !== 'string' || delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    expected(TypeError, OP, 'a single character other than a quote or newline', 'delimiter', delimiter);
  }
  let text = readMaybeGzip(OP, path).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // byte-order mark
  const lines = text.split('\n');

  let header: string[] | null = null;
  let columns = -1;
  let columnsLine = 0;
  const values: number[] = [];
  let rows = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (line.trim() === '') continue;
    const lineNo = i + 1;
    const fail = (problem: string): never => {
      throw new CorruptFileError(`${OP}: ${path} line ${lineNo}: ${problem}`);
    };
    const cells = splitLine(line, delimiter, fail);
    if (columns < 0) {
      columns = cells.length;
      columnsLine = lineNo;
      if (hasHeader) {
        header = cells.map((c) => c.trim());
        continue;
      }
    } else if (cells.length !== columns) {
      fail(`${cells.length} columns where line ${columnsLine} has ${columns}`);
    }
    for (let c = 0; c < cells.length; c++) {
      const v = parseNumber(cells[c]);
      if (Number.isNaN(v) && !isNanText(cells[c])) {
        const name = header === null ? '' : ` (${JSON.stringify(header[c])})`;
        const what = cells[c].trim() === '' ? 'the cell is empty' : `${JSON.stringify(cells[c])} is not a number`;
        fail(`column ${c + 1}${name}: ${what}`);
      }
      values.push(v);
    }
    rows++;
  }
  const data = tensor(Float32Array.from(values), { shape: [rows, Math.max(columns, 0)] });
  return { data, header };
}
