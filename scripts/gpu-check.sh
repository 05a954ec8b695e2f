#!/usr/bin/env bash
# The GPU checks in one run, for a machine with an NVIDIA GPU and (for the
# benchmark's peer columns) python3 with a CUDA build of torch:
#   bash scripts/gpu-check.sh [out-dir]
# runs the CUDA test suite (every op against the CPU, gradchecks, the MNIST CNN under
# float16 autocast) and a quick `bench cuda`, then the GEMM tests and bench again on
# the TMA GEMM, and leaves the logs and the bench JSON in out-dir (default gpu-check/). What the machine lacks comes from .gpu-kit
# (scripts/gpu-kit.sh, run beforehand elsewhere): Node, the modules, the MNIST files;
# a carried CUDA addon and dist/ are used as they are, else they are built here
# (which needs npm and nvcc). With the device tool: run `bash scripts/gpu-check.sh
# $OUT` carrying .gpu-kit, dist and build/Release/tensorgrad.node (at most 8 files
# come back; this writes 7, or 8 with a build log).
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-gpu-check}"
kit=.gpu-kit
mkdir -p "$out"
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true

# the kit's Node before the machine's: the modules in the kit need the Node they were installed with
if [ -f "$kit/node.xz" ]; then
  mkdir -p /tmp/tg-node
  python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('$kit/node.xz'), open('/tmp/tg-node/node', 'wb'))"
  chmod +x /tmp/tg-node/node
  export PATH="/tmp/tg-node:$PATH"
elif ! command -v node > /dev/null; then
  echo "no node here and no $kit/node.xz: run scripts/gpu-kit.sh and carry $kit"
  exit 1
fi
if [ ! -d node_modules ]; then
  if [ -f "$kit/modules.tar.xz" ]; then
    python3 -c "import tarfile; tarfile.open('$kit/modules.tar.xz').extractall('.')"
  else
    npm ci --ignore-scripts > "$out/npm-ci.log" 2>&1
  fi
fi
[ -d "$kit/mnist" ] && export TENSORGRAD_SHARED_DATA="$PWD/$kit"
export npm_config_nodedir="${npm_config_nodedir:-$( [ -f /usr/include/node/node_api.h ] && echo /usr )}"
[ -f dist/cjs/index.js ] || npm run build:ts > "$out/build-ts.log" 2>&1
cuda_status() { node -e "console.log(require('./dist/cjs/index.js').cuda.status())" 2>&1; }
if [ ! -f build/Release/tensorgrad.node ] || cuda_status | grep -q "without CUDA"; then
  { time npm run build:cuda; } > "$out/build.log" 2>&1 || { echo "build failed: $out/build.log"; tail -30 "$out/build.log"; exit 1; }
fi
node -e "const tg=require('.'); const { native }=require('./dist/cjs/binding.js'); console.log(tg.cuda.status(), '|', tg.cuda.deviceName(), '| half GEMMs on', native.cudaGemmTensorCores())" 2>&1 | tee "$out/device.txt"
node node_modules/vitest/vitest.mjs run test/cuda.test.ts --reporter=default --reporter=json --outputFile="$out/cuda-tests.json" > "$out/cuda-tests.log" 2>&1
tests=$?
grep -E "✓|×|↓|Tests|MNIST" "$out/cuda-tests.log" | tail -80
timeout 300 node dist/cjs/bench/run.js cuda --quick --python "$(command -v python3)" --json "$out/bench-cuda.json" > "$out/bench-cuda.log" 2>&1
tail -60 "$out/bench-cuda.log"
# the warp-specialized TMA GEMM (TENSORGRAD_CUDA_WGMMA=tma, not yet the default): its
# GEMM tests, then the GEMM part of the bench; a hang is cut off by the timeouts
{
  TENSORGRAD_CUDA_WGMMA=tma timeout 180 node node_modules/vitest/vitest.mjs run test/cuda.test.ts -t "GEMM|matmul|linear"
  echo "tma tests exit $?"
  TENSORGRAD_CUDA_WGMMA=tma timeout 240 node dist/cjs/bench/run.js cuda --quick --python "$(command -v python3)" --no-json
} > "$out/tma.log" 2>&1
grep -E "✓|×|Tests|tma tests exit|wgmma|float16|bfloat16" "$out/tma.log" | tail -40
exit $tests
