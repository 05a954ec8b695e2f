/**
 * The safetensors layout, as pure functions over bytes (no file access, no tensors):
 *
 *   u64 little-endian N | N bytes of JSON header, space-padded | data
 *
 * The header maps each name to {dtype, shape, data_offsets: [begin, end]} (offsets
 * relative to the start of the data) plus an optional "__metadata__" map of strings.
 * parseHeader checks everything a loader needs before it reads a byte of data: sizes,
 * dtypes, offsets that cover the data exactly once, in range, with no gaps.
 */
import type { DType } from '../dtype';
import { itemSize } from '../dtype';
import { CorruptFileError } from '../errors';
import { formatShape, numel } from '../shape';

export const METADATA_KEY = '__metadata__';
/** The reference implementation refuses larger headers; so do we. */
export const MAX_HEADER_BYTES = 100_000_000;

export const TO_SAFETENSORS: Record<DType, string> = {
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int32: 'I32',
  uint8: 'U8',
  bool: 'BOOL',
};

const FROM_SAFETENSORS: Record<string, DType> = Object.fromEntries(
  Object.entries(TO_SAFETENSORS).map(([k, v]) => [v, k as DType]),
);

/** Valid safetensors dtypes that tensorgrad has no tensor type for. */
const UNSUPPORTED = ['I8', 'I16', 'I64', 'U16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64'];

export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** Byte range in the data section. */
  begin: number;
  end: number;
}

export interface ParsedHeader {
  entries: TensorEntry[];
  metadata: Record<string, string>;
  /** Byte offset of the data section in the file. */
  dataStart: number;
}

/** Orders tensors as the reference writer does (largest item size first, then by name), keeping each aligned. */
export function layout(items: ReadonlyArray<{ name: string; dtype: DType; shape: readonly number[] }>): TensorEntry[] {
  const sorted = [...items].sort(
    (a, b) => itemSize(b.dtype) - itemSize(a.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  let at = 0;
  return sorted.map((t) => {
    const bytes = numel(t.shape) * itemSize(t.dtype);
    const entry = { name: t.name, dtype: t.dtype, shape: [...t.shape], begin: at, end: at + bytes };
    at += bytes;
    return entry;
  });
}

/** The 8-byte length prefix and the space-padded JSON header (length a multiple of 8). */
export function encodeHeader(entries: readonly TensorEntry[], metadata: Record<string, string> | undefined): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  for (const e of entries) {
    header[e.name] = { dtype: TO_SAFETENSORS[e.dtype], shape: e.shape, data_offsets: [e.begin, e.end] };
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const out = Buffer.alloc(8 + padded, 0x20);
  out.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(out, 8);
  return out;
}

/** Reads the length prefix; returns the header's byte length after checking it fits the file. */
export function headerLength(op: string, file: string, prefix: Uint8Array, fileSize: number): number {
  const fail = (problem: string): never => {
    throw new CorruptFileError(`${op}: ${file} is not a valid safetensors file: ${problem}`);
  };
  if (fileSize < 8) fail(`it has ${fileSize} bytes, fewer than the 8-byte header length`);
  const n = Buffer.from(prefix.buffer, prefix.byteOffset, 8).readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    if (n > BigInt(fileSize - 8)) fail(`the header length ${n} runs past the end of the file (${fileSize} bytes)`);
    fail(`the header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  const len = Number(n);
  if (len > fileSize - 8) fail(`the header length ${len} runs past the end of the file (${fileSize} bytes)`);
  if (len === 0) fail('the header is empty');
  return len;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isSize(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Validates the JSON header against the file size; nothing here reads tensor data. */
export function parseHeader(op: string, file: string, bytes: Uint8Array, fileSize: number): ParsedHeader {
  const fail = (problem: string): never => {
    throw new CorruptFileError(`${op}: ${file} is not a valid safetensors file: ${problem}`);
  };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail('the header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(`the header does not start with '{' (it starts with ${JSON.stringify(text.slice(0, 8))})`);
  let json: Record<string, unknown>; // a '{' start makes any valid JSON an object
  try {
    json = JSON.parse(text);
  } catch (err) {
    return fail(`the header is not valid JSON (${(err as Error).message})`);
  }
  const dataStart = 8 + bytes.length;
  const dataSize = fileSize - dataStart;

  const metadata: Record<string, string> = {};
  const rawMeta = json[METADATA_KEY];
  if (rawMeta !== undefined && rawMeta !== null) {
    if (!isRecord(rawMeta)) fail(`${METADATA_KEY} is not an object of strings`);
    for (const [k, v] of Object.entries(rawMeta as Record<string, unknown>)) {
      if (typeof v !== 'string') fail(`${METADATA_KEY}.${k} is ${JSON.stringify(v)}, not a string`);
      metadata[k] = v as string;
    }
  }

  const entries: TensorEntry[] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === METADATA_KEY) continue;
    const where = `tensor '${name}'`;
    if (!isRecord(raw)) fail(`${where} is not an object with dtype, shape and data_offsets`);
    const r = raw as Record<string, unknown>;
    if (typeof r.dtype !== 'string') fail(`${where} has no dtype string`);
    const code = r.dtype as string;
    const dtype = FROM_SAFETENSORS[code];
    if (dtype === undefined) {
      if (UNSUPPORTED.includes(code)) {
        throw new TypeError(
          `${op}: ${file}: ${where} has dtype ${code}, which tensorgrad cannot hold (supported: ${Object.keys(FROM_SAFETENSORS).join(', ')})`,
        );
      }
      fail(`${where} has unknown dtype ${JSON.stringify(code)}`);
    }
    if (!Array.isArray(r.shape) || !r.shape.every(isSize)) {
      fail(`${where} has shape ${JSON.stringify(r.shape)}, not an array of non-negative integers`);
    }
    const shape = r.shape as number[];
    const offsets = r.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isSize)) {
      fail(`${where} has data_offsets ${JSON.stringify(offsets)}, not two non-negative integers`);
    }
    const [begin, end] = offsets as number[];
    if (end < begin) fail(`${where} has data_offsets [${begin},${end}] that end before they begin`);
    const need = numel(shape) * itemSize(dtype);
    if (need !== end - begin) {
      fail(`${where} of dtype ${code} and shape ${formatShape(shape)} needs ${need} bytes but its data_offsets [${begin},${end}] span ${end - begin}`);
    }
    if (end > dataSize) {
      fail(`${where} has data_offsets [${begin},${end}] past the end of the data section (${dataSize} bytes)`);
    }
    entries.push({ name, dtype, shape, begin, end });
  }

  // the tensors must tile the data section exactly: no overlap, no gap, nothing after
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let prev: TensorEntry | null = null;
  for (const e of sorted) {
    if (e.begin < at && prev !== null) {
      fail(`tensors '${prev.name}' [${prev.begin},${prev.end}] and '${e.name}' [${e.begin},${e.end}] overlap`);
    }
    if (e.begin > at) fail(`data bytes ${at} to ${e.begin} belong to no tensor`);
    at = e.end;
    if (e.end > e.begin || prev === null) prev = e;
  }
  if (at < dataSize) fail(`data bytes ${at} to ${dataSize} at the end of the file belong to no tensor`);
  return { entries, metadata, dataStart };
}
