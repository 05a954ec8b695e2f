#!/usr/bin/env node
// Builds the addon with its CUDA backend compiled for the host CUDA emulator
// (test/cuda-emu), so that the CUDA test suite can run our kernels on a machine
// without a GPU:
//   node scripts/cuda-emu.mjs            build build-emu/tensorgrad.node
//   node scripts/cuda-emu.mjs test [...] build it, then run test/cuda.test.ts (or the
//                                        vitest arguments given) against it
// It needs g++ and the CUDA headers (nvcc's include directory), not a GPU or driver.
// The cuda/ sources are copied with two rewrites the host compiler needs (kernel
// launches and dynamic shared memory, see rewrite()); the PTX wrappers mma.cuh,
// wgmma.cuh and tma.cuh are replaced by their emulations in test/cuda-emu/ptx/.
// Objects are rebuilt only when a source or header is newer than them.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'build-emu');
const emuDir = path.join(root, 'test', 'cuda-emu');
const require = createRequire(import.meta.url);

// kernel<<<grid, block, smem, stream>>>(args) -> ::tg_emu::launch(kernel, grid, block, smem, stream)(args)
function rewriteLaunches(text, file) {
  let result = '';
  let from = 0;
  for (let at = text.indexOf('<<<', from); at >= 0; at = text.indexOf('<<<', from)) {
    let start = at;
    for (let depth = 0; start > 0; --start) {
      const c = text[start - 1];
      if (c === '>' || c === ')') depth++;
      else if (c === '<' || c === '(') depth--;
      else if (depth === 0 && !/[\w:]/.test(c)) break;
      if (depth < 0) break;
    }
    const close = text.indexOf('>>>', at);
    if (close < 0) throw new Error(`${file}: unterminated kernel launch`);
    const paren = text.slice(close + 3).match(/^\s*\(/);
    if (!paren) throw new Error(`${file}: kernel launch without arguments`);
    result += text.slice(from, start) + `::tg_emu::launch(${text.slice(start, at)}, ${text.slice(at + 3, close)})(`;
    from = close + 3 + paren[0].length;
  }
  return result + text.slice(from);
}

// extern __shared__ __align__(n) char name[]; -> char* name = ::tg_emu::dynamic_shared();
function rewriteDynamicShared(text) {
  return text.replace(
    /extern\s+__shared__\s+(?:__align__\(\d+\)\s+)?(\w+)\s+(\w+)\s*\[\s*\]\s*;/g,
    (_, type, name) => `${type}* ${name} = reinterpret_cast<${type}*>(::tg_emu::dynamic_shared());`,
  );
}

function rewrite(text, file) {
  return rewriteDynamicShared(rewriteLaunches(text, file));
}

function writeIfChanged(file, text) {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return;
  fs.writeFileSync(file, text);
}

/** Copies cuda/ into build-emu/src/cuda (rewritten, the PTX wrappers emulated); returns the .cu files as .cc. */
function stageSources() {
  const src = path.join(out, 'src');
  const cudaOut = path.join(src, 'cuda');
  fs.mkdirSync(cudaOut, { recursive: true });
  const nativeLink = path.join(src, 'native');
  if (!fs.existsSync(nativeLink)) fs.symlinkSync(path.join(root, 'native'), nativeLink, 'dir');
  const units = [];
  for (const name of fs.readdirSync(path.join(root, 'cuda'))) {
    if (!/\.(cu|cuh)$/.test(name)) continue;
    const emulated = path.join(emuDir, 'ptx', name);
    const from = fs.existsSync(emulated) ? emulated : path.join(root, 'cuda', name);
    const text = fs.existsSync(emulated) ? fs.readFileSync(from, 'utf8') : rewrite(fs.readFileSync(from, 'utf8'), name);
    const target = path.join(cudaOut, name.endsWith('.cu') ? name.replace(/\.cu$/, '.cc') : name);
    writeIfChanged(target, text);
    if (name.endsWith('.cu')) units.push(target);
  }
  return units;
}

function cudaInclude() {
  const candidates = [process.env.CUDA_HOME && path.join(process.env.CUDA_HOME, 'include'), '/usr/local/cuda/include'];
  const nvcc = spawnSync('sh', ['-c', 'command -v nvcc'], { encoding: 'utf8' }).stdout.trim();
  if (nvcc) candidates.unshift(path.join(path.dirname(fs.realpathSync(nvcc)), '..', 'include'));
  const found = candidates.find((d) => d && fs.existsSync(path.join(d, 'cuda_runtime.h')));
  if (!found) throw new Error('cuda-emu: the CUDA headers (cuda_runtime.h) were not found; put nvcc on the PATH or set CUDA_HOME');
  return found;
}

/** binding.gyp's targets, as CMakeLists.txt reads them. */
function gypTargets() {
  const text = fs
    .readFileSync(path.join(root, 'binding.gyp'), 'utf8')
    .replace(/("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|#[^\n]*/g, (m, s) => s || '');
  const gyp = Function(`return (${text})`)();
  return gyp;
}

function nodeIncludes() {
  const dirs = [];
  const nodedir = process.env.npm_config_nodedir || path.join(process.execPath, '..', '..');
  const own = path.join(nodedir, 'include', 'node');
  if (fs.existsSync(path.join(own, 'js_native_api.h'))) dirs.push(own);
  dirs.push(require('node-addon-api').include_dir, require('node-api-headers').include_dir);
  return dirs.map((d) => path.resolve(root, d));
}

function newestInclude(file, seen = new Set()) {
  // the newest mtime of a file and the local headers it includes
  if (seen.has(file) || !fs.existsSync(file)) return 0;
  seen.add(file);
  let t = fs.statSync(file).mtimeMs;
  for (const m of fs.readFileSync(file, 'utf8').matchAll(/#include\s+"([^"]+)"/g)) {
    for (const dir of [path.dirname(file), emuDir]) t = Math.max(t, newestInclude(path.resolve(dir, m[1]), seen));
  }
  return t;
}

async function compileAll(jobs) {
  const queue = jobs.filter((j) => !fs.existsSync(j.obj) || fs.statSync(j.obj).mtimeMs < newestInclude(j.src));
  const failed = [];
  const workers = Array.from({ length: Math.max(1, os.cpus().length) }, async () => {
    while (queue.length) {
      const j = queue.shift();
      fs.mkdirSync(path.dirname(j.obj), { recursive: true });
      const code = await new Promise((resolve) => {
        const p = spawn('g++', [...j.flags, '-c', j.src, '-o', j.obj], { stdio: ['ignore', 'inherit', 'inherit'] });
        p.on('close', resolve);
      });
      if (code !== 0) failed.push(path.relative(root, j.src));
    }
  });
  await Promise.all(workers);
  if (failed.length) throw new Error(`cuda-emu: compiling ${failed.join(', ')} failed`);
}

async function build() {
  const gyp = gypTargets();
  const defaults = gyp.target_defaults;
  const base = ['-std=c++17', '-fPIC', '-fexceptions', '-fno-math-errno', '-Wno-sign-compare', '-Wno-unused-function',
    ...defaults.defines.map((d) => `-D${d}`), ...nodeIncludes().map((d) => `-I${d}`)];
  const jobs = [];
  const obj = (src) => path.join(out, 'obj', path.relative(root, src).replace(/\.(cc|cu)$/, '.o'));
  for (const t of gyp.targets) {
    const isaFlags = (t.conditions || []).flatMap(([, c]) => c.cflags_cc || []);
    for (const s of t.sources) {
      if (s === 'cuda/stub.cc') continue;
      const src = path.join(root, s);
      jobs.push({ src, obj: obj(src), flags: [...base, '-O2', ...isaFlags] });
    }
  }
  const emuFlags = [...base, '-O1', `-I${cudaInclude()}`, `-I${emuDir}`, '-include', path.join(emuDir, 'emu.h')];
  for (const src of stageSources()) jobs.push({ src, obj: obj(src), flags: emuFlags });
  for (const name of ['emu_runtime.cc', 'emu_tma.cc', 'emu_context.cc']) {
    const src = path.join(emuDir, name);
    jobs.push({ src, obj: obj(src), flags: [...base, '-O1', `-I${cudaInclude()}`] });
  }
  await compileAll(jobs);
  const addon = path.join(out, 'tensorgrad.node');
  const link = spawnSync('g++', ['-shared', '-o', addon, ...jobs.map((j) => j.obj), '-lpthread'], { stdio: 'inherit' });
  if (link.status !== 0) throw new Error('cuda-emu: linking failed');
  return addon;
}

const [command, ...rest] = process.argv.slice(2);
const addon = await build();
if (command === 'test') {
  const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
  const args = rest.length ? rest : ['test/cuda.test.ts'];
  const run = spawnSync(process.execPath, [vitest, 'run', ...args], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TENSORGRAD_ADDON: addon },
  });
  process.exit(run.status ?? 1);
} else {
  console.log(addon);
}
