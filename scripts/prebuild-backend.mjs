#!/usr/bin/env node
// The build command prebuildify runs (its --node-gyp option) for `npm run prebuild`.
// prebuildify names, strips and places the binary; this decides how it is built:
// with nvcc on the PATH (and TG_CUDA not OFF) through cmake-js with the CUDA kernels,
// since node-gyp cannot drive nvcc; otherwise through node-gyp with the arguments
// prebuildify gave. Either way the result lands in build/Release, where prebuildify
// looks for it.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

function run(cmd, cmdArgs) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (r.error) {
    console.error(`prebuild: could not run ${cmd}: ${r.error.message}`);
    process.exit(1);
  }
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const hasNvcc = spawnSync('nvcc', ['--version'], { stdio: 'ignore' }).status === 0;
const cudaOff = /^(off|no|false|0)$/i.test(process.env.TG_CUDA ?? '');
const debug = args.includes('--debug');

if (hasNvcc && !cudaOff) {
  const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
  const out = ['--out', 'build-cmake', ...(debug ? ['--debug'] : [])];
  console.log('prebuild: nvcc found, building the CUDA-enabled addon with cmake-js');
  run(process.execPath, [cmakeJs, 'configure', ...out, '--CDTG_CUDA=ON']);
  run(process.execPath, [cmakeJs, 'build', ...out]);
  run(process.execPath, [join(root, 'scripts', 'place-addon.mjs'), 'build-cmake']);
} else {
  console.log('prebuild: no nvcc (or TG_CUDA=OFF), building the CPU addon with node-gyp');
  run(process.platform === 'win32' ? 'node-gyp.cmd' : 'node-gyp', args);
}
