#!/usr/bin/env bash
# The GPU checks in one run, for a machine with an NVIDIA GPU, nvcc and (for the
# benchmark's peer columns) python3 with a CUDA build of torch:
#   bash scripts/gpu-check.sh [out-dir]
# builds the CUDA addon, runs the CUDA test suite (every op against the CPU, gradchecks,
# the MNIST CNN under float16 autocast) and a quick `bench cuda`, and leaves the logs
# and the bench JSON in out-dir (default gpu-check/).
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-gpu-check}"
mkdir -p "$out"
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
export npm_config_nodedir="${npm_config_nodedir:-$( [ -f /usr/include/node/node_api.h ] && echo /usr )}"
[ -d node_modules ] || npm ci --ignore-scripts > "$out/npm-ci.log" 2>&1
{ time npm run build:cuda; } > "$out/build.log" 2>&1 || { echo "build failed: $out/build.log"; tail -30 "$out/build.log"; exit 1; }
npm run build:ts > "$out/build-ts.log" 2>&1
node -e "const tg=require('.'); const { native }=require('./dist/cjs/binding.js'); console.log(tg.cuda.status(), '|', tg.cuda.deviceName(), '| half GEMMs on', native.cudaGemmTensorCores())" | tee "$out/device.txt"
npx vitest run test/cuda.test.ts --reporter=default --reporter=json --outputFile="$out/cuda-tests.json" > "$out/cuda-tests.log" 2>&1
tests=$?
grep -E "✓|×|↓|Tests|MNIST" "$out/cuda-tests.log" | tail -80
timeout 300 node dist/cjs/bench/run.js cuda --quick --json "$out/bench-cuda.json" > "$out/bench-cuda.log" 2>&1
cat "$out/bench-cuda.log" | tail -60
exit $tests
