/**
 * Checkpoints (tg.save / tg.load, safetensors): round trips for every dtype and odd
 * shape, bit-exact half types, files written byte by byte from the spec, an independent
 * reader of our output (in this file, and numpy when python3 has it), atomic writes
 * that survive a failure midway, and every corruption case with its exact message.
 */
import { afterAll, beforeEach, describe, expect, test, vi } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tg from '../lib/index';
import { CorruptFileError, DisposedError } from '../lib/errors';
import { rng } from './helpers';

// a switchable disk failure: node:fs as the library sees it, with writes that can fail
const disk = vi.hoisted(() => ({ failAfterWrites: -1, writes: 0 }));
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const shouldFail = () => disk.failAfterWrites >= 0 && ++disk.writes > disk.failAfterWrites;
  return {
    ...actual,
    writeSync: (...args: unknown[]) => {
      if (shouldFail()) throw enospc();
      return (actual.writeSync as (...a: unknown[]) => number)(...args);
    },
    promises: {
      ...actual.promises,
      open: async (...args: Parameters<typeof actual.promises.open>) => {
        const handle = await actual.promises.open(...args);
        return new Proxy(handle, {
          get(target, prop) {
            if (prop === 'write') {
              return (...a: unknown[]) =>
                shouldFail() ? Promise.reject(enospc()) : (target.write as (...x: unknown[]) => Promise<unknown>)(...a);
            }
            const v = Reflect.get(target, prop, target);
            return typeof v === 'function' ? v.bind(target) : v;
          },
        });
      },
    },
  };
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-io-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
const tmp = (name = 'ckpt') => path.join(dir, `${name}-${fileNo++}.safetensors`);

beforeEach(() => {
  disk.failAfterWrites = -1;
  disk.writes = 0;
});

// ---------------------------------------------------------------------------------
// An independent reader of the format, written from the spec with DataView only.

const SIZES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I32: 4, U8: 1, BOOL: 1 };

interface RefTensor {
  dtype: string;
  shape: number[];
  values: number[];
  raw: Uint8Array;
}

function f16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

function bf16ToNumber(b: number): number {
  const v = new DataView(new ArrayBuffer(4));
  v.setUint32(0, b << 16);
  return v.getFloat32(0);
}

function refRead(bytes: Uint8Array): { tensors: Record<string, RefTensor>; metadata: unknown; headerLength: number; header: string } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  const json = JSON.parse(header) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const base = 8 + n;
  const tensors: Record<string, RefTensor> = {};
  const spans: Array<[number, number]> = [];
  for (const [name, e] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    const size = SIZES[e.dtype];
    const [b, end] = e.data_offsets;
    const count = e.shape.reduce((a, c) => a * c, 1);
    expect(end - b, `size of ${name}`).toBe(count * size);
    spans.push([b, end]);
    const values: number[] = [];
    for (let i = 0; i < count; i++) {
      const at = base + b + i * size;
      switch (e.dtype) {
        case 'F64': values.push(view.getFloat64(at, true)); break;
        case 'F32': values.push(view.getFloat32(at, true)); break;
        case 'F16': values.push(f16ToNumber(view.getUint16(at, true))); break;
        case 'BF16': values.push(bf16ToNumber(view.getUint16(at, true))); break;
        case 'I32': values.push(view.getInt32(at, true)); break;
        default: values.push(view.getUint8(at));
      }
    }
    tensors[name] = { dtype: e.dtype, shape: e.shape, values, raw: bytes.slice(base + b, base + end) };
  }
  // the data section is tiled exactly by the tensors
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let at = 0;
  for (const [b, end] of spans) {
    expect(b).toBe(at);
    at = end;
  }
  expect(at).toBe(bytes.length - base);
  return { tensors, metadata: (json as Record<string, unknown>).__metadata__, headerLength: n, header };
}

/** Builds a safetensors file by hand: header text padded with spaces, then the given data bytes. */
function handFile(header: string, data: Uint8Array | number[] = [], pad = true): Buffer {
  const text = pad ? header.padEnd(Math.ceil(header.length / 8) * 8, ' ') : header;
  const h = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(8 + h.length + data.length);
  out.writeBigUInt64LE(BigInt(h.length), 0);
  h.copy(out, 8);
  Buffer.from(data).copy(out, 8 + h.length);
  return out;
}

function sameBits(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

// ---------------------------------------------------------------------------------

const DTYPES: tg.DType[] = ['float64', 'float32', 'float16', 'bfloat16', 'int32', 'uint8', 'bool'];
const SHAPES: number[][] = [[], [0], [3, 0, 2], [7], [2, 3, 5], [1, 1, 1, 1], [5, 1, 3]];

function sample(dtype: tg.DType, shape: number[], seed: number): tg.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const r = rng(seed);
  const v = Float64Array.from({ length: n }, () => r() * 200 - 100);
  if (dtype === 'int32') return tg.tensor(Int32Array.from(v, (x, i) => (i === 0 ? -2147483648 : i === 1 ? 2147483647 : Math.round(x * 1e6))), { shape });
  if (dtype === 'uint8') return tg.tensor(Uint8Array.from(v, (x) => Math.abs(Math.round(x * 2.55)) % 256), { shape });
  if (dtype === 'bool') return tg.tensor(Uint8Array.from(v, (x) => (x > 0 ? 1 : 0)), { shape, dtype: 'bool' });
  if (n > 0) v[0] = -0;
  return tg.tensor(v, { shape, dtype });
}

describe('save and load round trip', () => {
  test('every dtype, odd shapes, 0-d and empty tensors (sync and async)', async () => {
    const tensors: Record<string, tg.Tensor> = {};
    DTYPES.forEach((dtype, i) =>
      SHAPES.forEach((shape, j) => {
        tensors[`${dtype}/${shape.join('x') || 'scalar'}`] = sample(dtype, shape, 10 * i + j);
      }),
    );
    for (const mode of ['sync', 'async'] as const) {
      const file = tmp(mode);
      if (mode === 'sync') tg.saveSync(file, tensors, { format: 'pt', step: '12' });
      else await tg.save(file, tensors, { format: 'pt', step: '12' });
      const loaded = mode === 'sync' ? tg.loadSync(file) : await tg.load(file);
      expect(loaded.metadata).toEqual({ format: 'pt', step: '12' });
      expect(Object.keys(loaded.tensors).sort()).toEqual(Object.keys(tensors).sort());
      for (const [name, t] of Object.entries(tensors)) {
        const u = loaded.tensors[name];
        expect(u.dtype, name).toBe(t.dtype);
        expect(u.shape, name).toEqual(t.shape);
        expect(u.device).toBe('cpu');
        expect(sameBits(u.data(), t.data()), name).toBe(true);
      }
      // the independent reader sees the same values, and a -0 stays -0
      const ref = refRead(fs.readFileSync(file));
      expect(ref.headerLength % 8).toBe(0);
      expect(ref.header).toMatch(/^\{.*\} *$/);
      for (const [name, t] of Object.entries(tensors)) {
        expect(ref.tensors[name].shape).toEqual(t.shape);
        const want = Array.from(t.data());
        ref.tensors[name].values.forEach((v, k) => expect(Object.is(v, want[k]), `${name}[${k}]`).toBe(true));
      }
      expect(ref.tensors['bool/7'].dtype).toBe('BOOL');
      expect(ref.tensors['bfloat16/7'].dtype).toBe('BF16');
    }
  });

  test('no metadata means no __metadata__ entry; an empty dict saves an empty file body', async () => {
    const file = tmp();
    await tg.save(file, { w: tg.ones([2, 2]) });
    expect(refRead(fs.readFileSync(file)).metadata).toBeUndefined();
    expect((await tg.load(file)).metadata).toEqual({});
    const empty = tmp();
    tg.saveSync(empty, {});
    const bytes = fs.readFileSync(empty);
    expect(bytes.length).toBe(16);
    expect(bytes.subarray(8).toString()).toBe('{}      ');
    expect(tg.loadSync(empty)).toEqual({ tensors: {}, metadata: {} });
  });

  test('accepts a Map, keeps tensors aligned (largest items first), and saves CPU copies of any tensor', () => {
    const file = tmp();
    const m = new Map<string, tg.Tensor>([
      ['b.u8', tg.tensor(Uint8Array.from([1, 2, 3]))],
      ['a.f64', tg.tensor([1.5, 2.5], { dtype: 'float64' })],
      ['c.f32', tg.ones([3], { requiresGrad: true })],
    ]);
    tg.saveSync(file, m);
    const header = refRead(fs.readFileSync(file)).header;
    const json = JSON.parse(header);
    expect(json['a.f64'].data_offsets).toEqual([0, 16]);
    expect(json['c.f32'].data_offsets).toEqual([16, 28]);
    expect(json['b.u8'].data_offsets).toEqual([28, 31]);
    const { tensors } = tg.loadSync(file);
    expect(tensors['c.f32'].requiresGrad).toBe(false);
    expect(tensors['b.u8'].toArray()).toEqual([1, 2, 3]);
  });

  test('float16: every non-NaN bit pattern and the NaNs a tensor can hold round-trip bit-exactly', () => {
    const patterns: number[] = [];
    for (let h = 0; h < 65536; h++) if (!(((h >> 10) & 31) === 31 && (h & 1023) !== 0)) patterns.push(h);
    patterns.push(0x7e00, 0xfe00); // the quiet NaNs the library's kernels produce
    // values from the independent decoder; NaN signs set through the float32 bits
    const values = new Float32Array(patterns.map(f16ToNumber));
    const bits = new Uint32Array(values.buffer);
    bits[patterns.length - 2] = 0x7fc00000;
    bits[patterns.length - 1] = 0xffc00000;
    const t = tg.tensor(values, { dtype: 'float16' });
    const file = tmp();
    tg.saveSync(file, { h: t });
    const ref = refRead(fs.readFileSync(file)).tensors.h;
    expect(Array.from(new Uint16Array(ref.raw.buffer, ref.raw.byteOffset, patterns.length))).toEqual(patterns);
    const again = tmp();
    tg.saveSync(again, tg.loadSync(file).tensors);
    expect(fs.readFileSync(again).equals(fs.readFileSync(file))).toBe(true);
  });

  test('bfloat16: every pattern but signalling NaNs round-trips bit-exactly', () => {
    const patterns: number[] = [];
    for (let b = 0; b < 65536; b++) {
      const nan = ((b >> 7) & 0xff) === 0xff && (b & 0x7f) !== 0;
      if (!nan || b & 0x40) patterns.push(b);
    }
    const file = tmp();
    const words = Uint16Array.from(patterns);
    fs.writeFileSync(file, handFile(JSON.stringify({ b: { dtype: 'BF16', shape: [patterns.length], data_offsets: [0, 2 * patterns.length] } }), new Uint8Array(words.buffer)));
    const t = tg.loadSync(file).tensors.b;
    const f32bits = new Uint32Array((t.data() as Float32Array).buffer);
    expect(Array.from(f32bits, (x) => x >>> 16)).toEqual(patterns);
    const again = tmp();
    tg.saveSync(again, { b: t });
    expect(fs.readFileSync(again).equals(fs.readFileSync(file))).toBe(true);
  });

  test('NaN payloads the storage cannot hold load as NaN of the same sign', () => {
    const file = tmp();
    const words = Uint16Array.from([0x7c01, 0xfc01, 0x7f81]);
    fs.writeFileSync(
      file,
      handFile(
        JSON.stringify({ h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] }, b: { dtype: 'BF16', shape: [1], data_offsets: [4, 6] } }),
        new Uint8Array(words.buffer),
      ),
    );
    const { tensors } = tg.loadSync(file);
    const h = tensors.h.data() as Float32Array;
    expect(Number.isNaN(h[0]) && Number.isNaN(h[1])).toBe(true);
    const hb = new Uint32Array(h.buffer);
    expect([hb[0] >>> 31, hb[1] >>> 31]).toEqual([0, 1]);
    expect(Number.isNaN(tensors.b.item())).toBe(true);
  });
});

describe('files written from the spec, byte by byte', () => {
  test('a hand-built file with every dtype, unaligned offsets and metadata loads correctly', () => {
    // data section: U8 [2] at 0, F32 [2,2] at 2 (unaligned), I32 [3], BOOL [3], F16 [2], BF16 [1], F64 [1], empty F32 [0,3]
    const data = new Uint8Array(2 + 16 + 12 + 3 + 4 + 2 + 8);
    const v = new DataView(data.buffer);
    v.setUint8(0, 7);
    v.setUint8(1, 255);
    [1.5, -2, 0.25, 1e30].forEach((x, i) => v.setFloat32(2 + 4 * i, x, true));
    [-5, 0, 2147483647].forEach((x, i) => v.setInt32(18 + 4 * i, x, true));
    [1, 0, 1].forEach((x, i) => v.setUint8(30 + i, x));
    v.setUint16(33, 0x3c00, true); // 1.0
    v.setUint16(35, 0xc000, true); // -2.0
    v.setUint16(37, 0x3fc0, true); // bf16 1.5
    v.setFloat64(39, Math.PI, true);
    const header =
      '{"__metadata__":{"epoch":"3","note":"hand made"},' +
      '"bytes":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},' +
      '"m":{"dtype":"F32","shape":[2,2],"data_offsets":[2,18]},' +
      '"i":{"dtype":"I32","shape":[3],"data_offsets":[18,30]},' +
      '"flags":{"dtype":"BOOL","shape":[3],"data_offsets":[30,33]},' +
      '"h":{"dtype":"F16","shape":[2],"data_offsets":[33,37]},' +
      '"b":{"dtype":"BF16","shape":[],"data_offsets":[37,39]},' +
      '"d":{"dtype":"F64","shape":[1],"data_offsets":[39,47]},' +
      '"none":{"dtype":"F32","shape":[0,3],"data_offsets":[47,47]}}';
    const file = tmp('hand');
    fs.writeFileSync(file, handFile(header, data));
    const { tensors, metadata } = tg.loadSync(file);
    expect(metadata).toEqual({ epoch: '3', note: 'hand made' });
    expect(tensors.bytes.dtype).toBe('uint8');
    expect(tensors.bytes.toArray()).toEqual([7, 255]);
    expect(tensors.m.toArray()).toEqual([[1.5, -2], [0.25, Math.fround(1e30)]]);
    expect(tensors.i.dtype).toBe('int32');
    expect(tensors.i.toArray()).toEqual([-5, 0, 2147483647]);
    expect(tensors.flags.dtype).toBe('bool');
    expect(tensors.flags.toArray()).toEqual([true, false, true]);
    expect(tensors.h.dtype).toBe('float16');
    expect(tensors.h.toArray()).toEqual([1, -2]);
    expect(tensors.b.dtype).toBe('bfloat16');
    expect(tensors.b.shape).toEqual([]);
    expect(tensors.b.item()).toBe(1.5);
    expect(tensors.d.toArray()).toEqual([Math.PI]);
    expect(tensors.none.shape).toEqual([0, 3]);
    expect(Object.keys(tensors)).toEqual(['bytes', 'm', 'i', 'flags', 'h', 'b', 'd', 'none']);
  });

  test('an unpadded header and a header with trailing spaces both load', async () => {
    const data = new Uint8Array(new Float32Array([3, 4]).buffer);
    const header = '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    const a = tmp();
    fs.writeFileSync(a, handFile(header, data, false));
    expect((await tg.load(a)).tensors.x.toArray()).toEqual([3, 4]);
    const b = tmp();
    fs.writeFileSync(b, handFile(header + '                   ', data, false));
    expect(tg.loadSync(b).tensors.x.toArray()).toEqual([3, 4]);
  });

  const python = spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  const hasNumpy = python.status === 0;
  test.skipIf(!hasNumpy)('numpy reads our file with a plain Python parser of the spec (skipped without python3 + numpy)', () => {
    const file = tmp('numpy');
    tg.saveSync(file, {
      f: tg.tensor([[1.25, -3], [1e-3, 7]]),
      d: tg.tensor([Math.E], { dtype: 'float64' }),
      h: tg.tensor([0.5, -65504, 6e-8], { dtype: 'float16' }),
      i: tg.tensor(Int32Array.from([-7, 9])),
      u: tg.tensor(Uint8Array.from([0, 200])),
      k: tg.tensor([true, false, true]),
    }, { who: 'numpy' });
    const script = `
import json, struct, sys, numpy as np
raw = open(sys.argv[1], 'rb').read()
(n,) = struct.unpack('<Q', raw[:8])
assert n % 8 == 0
header = json.loads(raw[8:8 + n])
kinds = {'F32': '<f4', 'F64': '<f8', 'F16': '<f2', 'I32': '<i4', 'U8': 'u1', 'BOOL': '?'}
out = {'__metadata__': header.pop('__metadata__', None)}
for name, e in header.items():
    b, end = e['data_offsets']
    a = np.frombuffer(raw[8 + n + b: 8 + n + end], dtype=kinds[e['dtype']]).reshape(e['shape'])
    out[name] = [e['dtype'], list(a.shape), a.astype(float).ravel().tolist()]
print(json.dumps(out))
`;
    const r = spawnSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const got = JSON.parse(r.stdout);
    expect(got.__metadata__).toEqual({ who: 'numpy' });
    expect(got.f).toEqual(['F32', [2, 2], [1.25, -3, Math.fround(1e-3), 7]]);
    expect(got.d).toEqual(['F64', [1], [Math.E]]);
    expect(got.h).toEqual(['F16', [3], [0.5, -65504, f16ToNumber(1)]]);
    expect(got.i).toEqual(['I32', [2], [-7, 9]]);
    expect(got.u).toEqual(['U8', [2], [0, 200]]);
    expect(got.k).toEqual(['BOOL', [3], [1, 0, 1]]);
  });
});

describe('atomic writes', () => {
  function setup() {
    const sub = fs.mkdtempSync(path.join(dir, 'atomic-'));
    const file = path.join(sub, 'model.safetensors');
    tg.saveSync(file, { old: tg.tensor([1, 2, 3]) }, { v: 'old' });
    return { sub, file, before: fs.readFileSync(file) };
  }
  const big = () => ({ a: tg.ones([64]), b: tg.zeros([32], { dtype: 'int32' }), c: tg.ones([8], { dtype: 'float64' }) });

  test('a disk error midway (sync) keeps the old file and removes the temporary one', () => {
    const { sub, file, before } = setup();
    disk.failAfterWrites = 2; // header and the first tensor go out, the second fails
    expect(() => tg.saveSync(file, big())).toThrow('ENOSPC: no space left on device, write');
    expect(disk.writes).toBe(3);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(sub)).toEqual(['model.safetensors']);
    expect(tg.loadSync(file).metadata).toEqual({ v: 'old' });
  });

  test('a disk error midway (async) keeps the old file and removes the temporary one', async () => {
    const { sub, file, before } = setup();
    disk.failAfterWrites = 2;
    await expect(tg.save(file, big())).rejects.toThrow('ENOSPC: no space left on device, write');
    expect(disk.writes).toBe(3);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(sub)).toEqual(['model.safetensors']);
  });

  test('a tensor that fails to read back midway leaves the old file whole', async () => {
    const { sub, file, before } = setup();
    const tensors = big();
    // tensors are written largest item first: c (float64), then a and b; b fails
    const spy = vi.spyOn(tensors.b, 'data').mockImplementation(() => {
      throw new DisposedError('data: the tensor was disposed and cannot be used (shape [32], int32)');
    });
    expect(() => tg.saveSync(file, tensors)).toThrow(DisposedError);
    await expect(tg.save(file, tensors)).rejects.toThrow('data: the tensor was disposed and cannot be used (shape [32], int32)');
    expect(spy).toHaveBeenCalledTimes(2);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(sub)).toEqual(['model.safetensors']);
  });

  test('a disposed tensor is refused before anything is written', () => {
    const { sub, file, before } = setup();
    const t = tg.ones([2]);
    t.dispose();
    expect(() => tg.saveSync(file, { w: t })).toThrow(
      new DisposedError("saveSync: tensors['w'] was disposed and cannot be used (shape [2], float32)"),
    );
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(sub)).toEqual(['model.safetensors']);
  });

  test('a failed rename (the target is a directory) removes the temporary file', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'rename-'));
    fs.mkdirSync(path.join(sub, 'taken'));
    expect(() => tg.saveSync(path.join(sub, 'taken'), { a: tg.ones([1]) })).toThrow(/EISDIR|EPERM|ENOTEMPTY|EEXIST/);
    await expect(tg.save(path.join(sub, 'taken'), { a: tg.ones([1]) })).rejects.toThrow(/EISDIR|EPERM|ENOTEMPTY|EEXIST/);
    expect(fs.readdirSync(sub)).toEqual(['taken']);
  });

  test('replacing a file leaves only the new one', async () => {
    const { sub, file } = setup();
    await tg.save(file, { fresh: tg.ones([2]) });
    expect(fs.readdirSync(sub)).toEqual(['model.safetensors']);
    expect(Object.keys(tg.loadSync(file).tensors)).toEqual(['fresh']);
  });
});

describe('argument errors', () => {
  test('save validates its arguments', async () => {
    const t = tg.ones([1]);
    expect(() => tg.saveSync('', { t })).toThrow(new TypeError("saveSync: Expected a file path for path but received ''"));
    expect(() => tg.saveSync(tmp(), [t] as never)).toThrow(
      new TypeError('saveSync: Expected an object or Map of named tensors for tensors but received [a float32 tensor of shape [1]]'),
    );
    expect(() => tg.saveSync(tmp(), { t: [1] as never })).toThrow(new TypeError("saveSync: Expected a Tensor for tensors['t'] but received [1]"));
    expect(() => tg.saveSync(tmp(), { __metadata__: t })).toThrow(
      new TypeError("saveSync: the name '__metadata__' is reserved for the file's metadata"),
    );
    expect(() => tg.saveSync(tmp(), { t }, { step: 3 as never })).toThrow(
      new TypeError('saveSync: Expected a string for metadata.step but received 3'),
    );
    await expect(tg.save(tmp(), { t }, 'x' as never)).rejects.toThrow(
      new TypeError("save: Expected an object of strings for metadata but received 'x'"),
    );
  });

  test('load of a missing file reports the path', async () => {
    const missing = path.join(dir, 'nope.safetensors');
    expect(() => tg.loadSync(missing)).toThrow(`ENOENT: no such file or directory, open '${missing}'`);
    await expect(tg.load(missing)).rejects.toThrow(`ENOENT: no such file or directory, open '${missing}'`);
    expect(() => tg.loadSync(3 as never)).toThrow(new TypeError('loadSync: Expected a file path for path but received 3'));
  });
});

describe('corrupt files: each problem is a CorruptFileError naming the file and the problem', () => {
  const f32x2 = new Uint8Array(new Float32Array([1, 2]).buffer);
  const entry = (name: string, dtype: string, shape: unknown, offsets: unknown) =>
    `"${name}":${JSON.stringify({ dtype, shape, data_offsets: offsets })}`;

  async function expectCorrupt(bytes: Uint8Array, problem: string, cls: new (m: string) => Error = CorruptFileError) {
    const file = tmp('bad');
    fs.writeFileSync(file, bytes);
    const prefix = cls === CorruptFileError ? 'is not a valid safetensors file: ' : '';
    const sep = cls === CorruptFileError ? ' ' : ': ';
    let err: unknown = null;
    try {
      tg.loadSync(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(cls);
    expect((err as Error).message).toBe(`loadSync: ${file}${sep}${prefix}${problem}`);
    await expect(tg.load(file)).rejects.toThrow(new cls(`load: ${file}${sep}${prefix}${problem}`));
  }

  test('too short, header length past the end, over the limit, empty', async () => {
    await expectCorrupt(Buffer.from([1, 2, 3, 4, 5]), 'it has 5 bytes, fewer than the 8-byte header length');
    await expectCorrupt(new Uint8Array(0), 'it has 0 bytes, fewer than the 8-byte header length');
    const long = handFile('{}');
    long.writeBigUInt64LE(100n, 0);
    await expectCorrupt(long, 'the header length 100 runs past the end of the file (16 bytes)');
    const huge = handFile('{}');
    huge.writeBigUInt64LE(2n ** 63n, 0);
    await expectCorrupt(huge, 'the header length 9223372036854775808 runs past the end of the file (16 bytes)');
    await expectCorrupt(handFile('', [], false), 'the header is empty');
  });

  test('a header over 100 MB is refused before it is read', async () => {
    const file = tmp('sparse');
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(150_000_000n, 0);
    fs.writeFileSync(file, head);
    fs.truncateSync(file, 160_000_000); // sparse: no real disk use
    expect(() => tg.loadSync(file)).toThrow(
      new CorruptFileError(`loadSync: ${file} is not a valid safetensors file: the header length 150000000 exceeds the limit of 100000000 bytes`),
    );
    fs.rmSync(file);
  });

  test('header text: not UTF-8, not an object, not JSON', async () => {
    const bad = handFile('{"a":1}');
    bad[10] = 0xff;
    await expectCorrupt(bad, 'the header is not valid UTF-8');
    await expectCorrupt(handFile('[1,2]'), 'the header does not start with \'{\' (it starts with "[1,2]   ")');
    await expectCorrupt(handFile('{"a":'), "the header is not valid JSON (Unexpected end of JSON input)");
  });

  test('entries: shape of an entry, dtype, shape, offsets', async () => {
    await expectCorrupt(handFile('{"a":3}'), "tensor 'a' is not an object with dtype, shape and data_offsets");
    await expectCorrupt(handFile('{"a":{"shape":[2],"data_offsets":[0,8]}}', f32x2), "tensor 'a' has no dtype string");
    await expectCorrupt(handFile(`{${entry('a', 'F17', [2], [0, 8])}}`, f32x2), 'tensor \'a\' has unknown dtype "F17"');
    await expectCorrupt(
      handFile(`{${entry('a', 'F32', [-2], [0, 8])}}`, f32x2),
      "tensor 'a' has shape [-2], not an array of non-negative integers",
    );
    await expectCorrupt(
      handFile(`{${entry('a', 'F32', '2', [0, 8])}}`, f32x2),
      'tensor \'a\' has shape "2", not an array of non-negative integers',
    );
    await expectCorrupt(
      handFile(`{${entry('a', 'F32', [2], [0])}}`, f32x2),
      "tensor 'a' has data_offsets [0], not two non-negative integers",
    );
    await expectCorrupt(
      handFile(`{${entry('a', 'F32', [0], [8, 4])}}`, f32x2),
      "tensor 'a' has data_offsets [8,4] that end before they begin",
    );
  });

  test('a dtype tensorgrad has no tensor type for is a TypeError', async () => {
    await expectCorrupt(
      handFile(`{${entry('steps', 'I64', [1], [0, 8])}}`, f32x2),
      "tensor 'steps' has dtype I64, which tensorgrad cannot hold (supported: F64, F32, F16, BF16, I32, U8, BOOL)",
      TypeError,
    );
  });

  test('sizes and offsets: mismatch, out of range, overlap, gaps', async () => {
    await expectCorrupt(
      handFile(`{${entry('a', 'F32', [2, 3], [0, 8])}}`, f32x2),
      "tensor 'a' of dtype F32 and shape [2,3] needs 24 bytes but its data_offsets [0,8] span 8",
    );
    await expectCorrupt(
      handFile(`{${entry('a', 'F32', [4], [0, 16])}}`, f32x2),
      "tensor 'a' has data_offsets [0,16] past the end of the data section (8 bytes)",
    );
    const twelve = new Uint8Array(12);
    await expectCorrupt(
      handFile(`{${entry('a', 'F32', [2], [0, 8])},${entry('b', 'F32', [2], [4, 12])}}`, twelve),
      "tensors 'a' [0,8] and 'b' [4,12] overlap",
    );
    await expectCorrupt(
      handFile(`{${entry('a', 'F32', [1], [0, 4])},${entry('b', 'F32', [1], [8, 12])}}`, twelve),
      'data bytes 4 to 8 belong to no tensor',
    );
    await expectCorrupt(handFile(`{${entry('a', 'F32', [1], [4, 8])}}`, f32x2), 'data bytes 0 to 4 belong to no tensor');
    await expectCorrupt(
      handFile(`{${entry('a', 'F32', [1], [0, 4])}}`, f32x2),
      'data bytes 4 to 8 at the end of the file belong to no tensor',
    );
    await expectCorrupt(handFile('{}', [0, 0]), 'data bytes 0 to 2 at the end of the file belong to no tensor');
    await expectCorrupt(
      handFile(`{${entry('a', 'F32', [2], [0, 8])},${entry('e', 'U8', [0], [4, 4])}}`, f32x2),
      "tensors 'a' [0,8] and 'e' [4,4] overlap",
    );
  });

  test('metadata that is not a map of strings, and bool bytes other than 0 and 1', async () => {
    await expectCorrupt(handFile('{"__metadata__":[1]}'), '__metadata__ is not an object of strings');
    await expectCorrupt(handFile('{"__metadata__":{"epoch":3}}'), '__metadata__.epoch is 3, not a string');
    await expectCorrupt(
      handFile(`{${entry('k', 'BOOL', [3], [0, 3])}}`, [1, 0, 2]),
      "tensor 'k' of dtype BOOL holds byte 2 at element 2 (expected 0 or 1)",
    );
  });
});
